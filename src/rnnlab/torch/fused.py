"""A whole LSTM sequence as one autograd node, with the backward pass through time by hand.

The layer-by-layer autograd graph of a Python time loop records about ten nodes per step;
at batch 64 and 28 steps their bookkeeping, not the arithmetic, dominates (about 3x
``torch.nn.LSTM``).  Here the forward loop runs without recording, keeps the gate activations,
and the backward loop applies the LSTM's derivatives directly (the same equations as
``rnnlab.numpy.cells.lstm_step_backward``), with dW_hh as one product over all steps:

    dc_t     = dc + dh * o * (1 - tanh(c_t)^2)
    da_i = dc_t * g * i(1-i)     da_f = dc_t * c_{t-1} * f(1-f)
    da_g = dc_t * i * (1-g^2)    da_o = dh * tanh(c_t) * o(1-o)
    dc_{t-1} = dc_t * f          dh_{t-1} = da_t W_hh
    dW_hh = sum_t da_t^T h_{t-1}       dL/d(W_ih x_t + b) = da_t

Padded steps (``mask`` False) carry h and c unchanged and pass their gradients straight through.
"""
from __future__ import annotations

import torch
from torch.autograd.function import FunctionCtx


class LSTMSequence(torch.autograd.Function):
    """all_h, h_n, c_n = LSTMSequence.apply(xw, h0, c0, W_hh, mask, reverse)

    xw: (B, T, 4H) input part W_ih x_t + b of every step; h0, c0: (B, H); W_hh: (4H, H);
    mask: (B, T) bool or None; reverse: walk from the last step.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, xw: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, W_hh: torch.Tensor,
                mask: torch.Tensor | None, reverse: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, G = xw.shape
        H = G // 4
        gates = torch.empty(T, B, G, dtype=xw.dtype, device=xw.device)
        hs = torch.empty(T + 1, B, H, dtype=xw.dtype, device=xw.device)
        cs = torch.empty_like(hs)
        start = T if reverse else 0
        hs[start], cs[start] = h0, c0
        W_hh_t = W_hh.t()
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            prev, cur = (t + 1, t) if reverse else (t, t + 1)
            a = torch.addmm(xw[:, t], hs[prev], W_hh_t, out=gates[t])
            i, f, g, o = a.chunk(4, dim=1)
            a[:, :2 * H].sigmoid_()
            g.tanh_()
            o.sigmoid_()
            c = torch.addcmul(f * cs[prev], i, g, out=cs[cur])
            torch.mul(o, torch.tanh(c), out=hs[cur])
            if mask is not None:
                pad = ~mask[:, t:t + 1]
                hs[cur] = torch.where(pad, hs[prev], hs[cur])
                cs[cur] = torch.where(pad, cs[prev], cs[cur])
        outs = hs[:T] if reverse else hs[1:]
        all_h = outs.transpose(0, 1)
        if mask is not None:
            all_h = all_h * mask.unsqueeze(2).to(all_h.dtype)
        else:
            all_h = all_h.clone()
        end = 0 if reverse else T
        ctx.save_for_backward(gates, hs, cs, W_hh, mask)
        ctx.reverse = reverse
        return all_h, hs[end].clone(), cs[end].clone()

    @staticmethod
    def backward(ctx: FunctionCtx, d_all_h: torch.Tensor, d_hn: torch.Tensor, d_cn: torch.Tensor) -> tuple:
        gates, hs, cs, W_hh, mask = ctx.saved_tensors
        reverse = ctx.reverse
        T, B, G = gates.shape
        H = G // 4
        dA = torch.empty_like(gates)
        dh = torch.zeros(B, H, dtype=gates.dtype, device=gates.device) if d_hn is None else d_hn.clone()
        dc = torch.zeros_like(dh) if d_cn is None else d_cn.clone()
        if d_all_h is not None and mask is not None:
            d_all_h = d_all_h * mask.unsqueeze(2).to(d_all_h.dtype)
        for t in (range(T) if reverse else range(T - 1, -1, -1)):
            prev, cur = (t + 1, t) if reverse else (t, t + 1)
            if d_all_h is not None:
                dh = dh + d_all_h[:, t]
            if mask is not None:
                m = mask[:, t:t + 1].to(dh.dtype)
                keep_h, keep_c = dh * (1 - m), dc * (1 - m)
                dh, dc = dh * m, dc * m
            i, f, g, o = gates[t].chunk(4, dim=1)
            tanh_c = torch.tanh(cs[cur])
            dc = dc + dh * o * (1 - tanh_c * tanh_c)
            da_i, da_f, da_g, da_o = dA[t].chunk(4, dim=1)
            torch.mul(dc * g, i * (1 - i), out=da_i)
            torch.mul(dc * cs[prev], f * (1 - f), out=da_f)
            torch.mul(dc * i, 1 - g * g, out=da_g)
            torch.mul(dh * tanh_c, o * (1 - o), out=da_o)
            dc = dc * f
            dh = dA[t] @ W_hh
            if mask is not None:
                dh, dc = dh + keep_h, dc + keep_c
        H_prev = hs[1:] if reverse else hs[:T]
        dW_hh = dA.reshape(T * B, G).t() @ H_prev.reshape(T * B, H)
        return dA.transpose(0, 1), dh, dc, dW_hh, None, None
