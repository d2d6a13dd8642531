"""Whole vanilla-RNN and GRU sequences as one autograd node each, the backward pass by hand (as ``fused.py``).

Time-major, h0 (B, H), W_hh (G*H, H).  The RNN's node takes x (T, B, I) with W_ih and b (as the LSTM's:
its input product xw_t = W_ih x_t + b is written straight into the states' buffer; dW_ih = sum_t da_t^T x_t,
dx_t = da_t W_ih); the GRU's takes xw (T, B, 3H), the input part of every step.  Both skip adding
all-zero output gradients (``fused.live_steps``).  The RNN's forward step applies its nonlinearity in one
compiled loop on float32 and float64 CPU tensors (``kernels.rnn_forward_step``); elsewhere it computes tanh
as 2 sigmoid(2x) - 1, as the LSTM's node does (ATen's tanh is about five times slower than its sigmoid
on this CPU build).
The GRU's forward step is one compiled loop on float32 and float64 CPU tensors (``kernels.gru_forward_step``),
elsewhere the torch step's own elementwise part (:func:`rnnlab.torch.cells.gru_update`), in place on a
contiguous copy of xw that becomes r, z, n (a strided xw, batch-first input seen time-major, would keep the
compiled loop from vectorising).  The forward loop runs without recording; the backward pass computes
the factors that do not depend on the recurrence for all steps at once, then walks back through time:

    RNN (sigma = tanh or relu):     h_t = sigma(xw_t + W_hh h_{t-1})
        D_t = 1 - h_t^2 (tanh) or [h_t > 0] (relu)
        da_t = dh D_t                 dh_{t-1} = da_t W_hh + dL/dh_{t-1}       dW_hh = sum_t da_t^T h_{t-1}

    GRU:  u = W_hh h_{t-1} + b_hh,  r, z = sigma(xw_rz + u_rz),  n = tanh(xw_n + r u_n),  h_t = n + z (h_{t-1} - n)
        da_n = dh (1 - z)(1 - n^2)    da_z = dh (h_{t-1} - n) z (1 - z)    da_r = da_n u_n r (1 - r)
        du = [da_r, da_z, da_n r]     dxw = [da_r, da_z, da_n]
        dh_{t-1} = dh z + du W_hh     dW_hh = sum_t du^T h_{t-1}            db_hh = sum_t du

Higher-order graphs and batched gradients recompute the forward with autograd instead
(:func:`rnnlab.torch.fused.autograd_backward`).
"""
from __future__ import annotations

from functools import partial

import torch
from torch.autograd.function import FunctionCtx
from torch.nn import functional as F

from .cells import gru_cell, gru_update, rnn_cell
from .fused import (
    autograd_backward,
    compiled_kernels,
    higher_order,
    input_gradients,
    input_product,
    live_steps,
    sigmoid_tanh,
    transposed_product,
)


def _order(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


def rnn_sequence(x: torch.Tensor, W_ih: torch.Tensor, bias: torch.Tensor | None, h0: torch.Tensor,
                 W_hh: torch.Tensor, relu: bool, reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """What :class:`RNNSequence` computes, as an ordinary autograd graph of :func:`rnn_cell` steps."""
    hh, act = partial(F.linear, weight=W_hh), torch.relu if relu else torch.tanh
    xw = F.linear(x, W_ih, bias)
    h, outs, steps = h0, [h0] * xw.shape[0], xw.unbind(0)     # unbind: indexing xw[t] would make autograd
    for t in _order(xw.shape[0], reverse):                     # build a full-size zero tensor per step
        h = outs[t] = rnn_cell(steps[t], h, hh, act)
    return torch.stack(outs), h


def gru_sequence(xw: torch.Tensor, h0: torch.Tensor, W_hh: torch.Tensor, b_hh: torch.Tensor | None,
                 reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """What :class:`GRUSequence` computes, as an ordinary autograd graph of :func:`gru_cell` steps."""
    hh = partial(F.linear, weight=W_hh, bias=b_hh)
    h, outs, steps = h0, [h0] * xw.shape[0], xw.unbind(0)
    for t in _order(xw.shape[0], reverse):
        h = outs[t] = gru_cell(steps[t], h, hh)
    return torch.stack(outs), h


class RNNSequence(torch.autograd.Function):
    """all_h (T, B, H), h_n = RNNSequence.apply(x, W_ih, bias, h0, W_hh, relu, reverse)

    x: (T, B, I) time-major (any strides); bias: b_ih + b_hh or None.  As the LSTM's node, it takes x
    itself: the input product of all steps is written straight into the states' buffer, to which each
    step adds its recurrent product in place, and x's gradient comes back laid out as x.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor, W_ih: torch.Tensor, bias: torch.Tensor | None,
                h0: torch.Tensor, W_hh: torch.Tensor, relu: bool, reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        T, B, _ = x.shape
        H = W_hh.shape[1]
        hs = torch.empty(T + 1, B, H, dtype=x.dtype, device=x.device)
        input_product(x, W_ih, bias, out=(hs[:T] if reverse else hs[1:]).view(T * B, H))
        start = T if reverse else 0
        hs[start] = h0
        W_hh_t = W_hh.t()
        kernels = compiled_kernels(hs)
        compiled = None if kernels is None else partial(kernels.rnn_forward_step, hs.numpy())
        h_steps = hs.unbind(0)
        for t in _order(T, reverse):
            prev, cur = (t + 1, t) if reverse else (t, t + 1)
            a = h_steps[cur].addmm_(h_steps[prev], W_hh_t)
            if compiled is not None:
                compiled(cur, relu)
            else:
                a.relu_() if relu else sigmoid_tanh(a, out=a)       # tanh(a) = 2 sigmoid(2a) - 1
        ctx.save_for_backward(hs, W_hh, x, W_ih, bias, h0)
        ctx.relu, ctx.reverse = relu, reverse
        outs = hs[:T] if reverse else hs[1:]
        return outs.clone(), hs[0 if reverse else T].clone()

    @staticmethod
    def backward(ctx: FunctionCtx, d_out: torch.Tensor, d_hn: torch.Tensor) -> tuple:
        ctx.create_graph = torch.is_grad_enabled()
        hs, W_hh, x, W_ih, bias, h0 = ctx.saved_tensors
        if higher_order((d_out, d_hn)):
            return autograd_backward(ctx, rnn_sequence, (x, W_ih, bias, h0, W_hh), (ctx.relu, ctx.reverse),
                                     (d_out, d_hn))
        reverse, T = ctx.reverse, x.shape[0]
        h_now, h_prev = (hs[:T], hs[1:]) if reverse else (hs[1:], hs[:T])
        D = (h_now > 0).to(hs.dtype) if ctx.relu else 1 - h_now * h_now
        dA = torch.empty_like(h_now)
        dh = torch.zeros_like(hs[0]) if d_hn is None else d_hn
        live = live_steps(d_out, T)
        for t in _order(T, not reverse):
            if live[t]:
                dh = dh + d_out[t]
            torch.mul(dh, D[t], out=dA[t])
            dh = dA[t] @ W_hh
        dW_hh = transposed_product(h_prev.flatten(0, 1), dA.flatten(0, 1)) if ctx.needs_input_grad[4] else None
        return (*input_gradients(ctx, dA, x, W_ih, bias), dh, dW_hh, None, None)


class GRUSequence(torch.autograd.Function):
    """all_h (T, B, H), h_n = GRUSequence.apply(xw, h0, W_hh, b_hh, reverse)  (b_hh may be None)"""

    @staticmethod
    def forward(ctx: FunctionCtx, xw: torch.Tensor, h0: torch.Tensor, W_hh: torch.Tensor,
                b_hh: torch.Tensor | None, reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        T, B, G = xw.shape
        H = G // 3
        hs = torch.empty(T + 1, B, H, dtype=xw.dtype, device=xw.device)
        us = torch.empty(T, B, G, dtype=xw.dtype, device=xw.device)     # W_hh h_{t-1} + b_hh
        acts = torch.empty(T, B, G, dtype=xw.dtype, device=xw.device).copy_(xw)   # xw in, r, z, n out
        start = T if reverse else 0
        hs[start] = h0
        W_hh_t = W_hh.t()
        h_steps, act_steps = hs.unbind(0), acts.unbind(0)
        kernels = compiled_kernels(xw, hs)
        compiled = None if kernels is None else \
            partial(kernels.gru_forward_step, acts.numpy(), us.numpy(), hs.numpy())
        for t in _order(T, reverse):
            prev, cur = (t + 1, t) if reverse else (t, t + 1)
            u = torch.mm(h_steps[prev], W_hh_t, out=us[t]) if b_hh is None else \
                torch.addmm(b_hh, h_steps[prev], W_hh_t, out=us[t])
            if compiled is not None:
                compiled(t, prev, cur)
            else:           # the torch step's elementwise part, in place
                gru_update(act_steps[t], u, h_steps[prev], out=(act_steps[t], h_steps[cur]))
        ctx.save_for_backward(hs, us, acts, W_hh, xw, h0, b_hh)
        ctx.reverse = reverse
        outs = hs[:T] if reverse else hs[1:]
        return outs.clone(), hs[0 if reverse else T].clone()

    @staticmethod
    def backward(ctx: FunctionCtx, d_out: torch.Tensor, d_hn: torch.Tensor) -> tuple:
        ctx.create_graph = torch.is_grad_enabled()
        hs, us, acts, W_hh, xw, h0, b_hh = ctx.saved_tensors
        if higher_order((d_out, d_hn)):
            return autograd_backward(ctx, gru_sequence, (xw, h0, W_hh, b_hh), (ctx.reverse,), (d_out, d_hn))
        reverse = ctx.reverse
        T, B, G = xw.shape
        H = G // 3
        r, z, n = acts.view(T, B, 3, H).unbind(2)
        h_prev = hs[1:] if reverse else hs[:T]
        one_minus_z = torch.sub(1, z)
        P_n = torch.mul(n, n).neg_().add_(1).mul_(one_minus_z)            # da_n = dh P_n
        Q_z = torch.sub(h_prev, n).mul_(z).mul_(one_minus_z)               # da_z = dh Q_z
        S_r = torch.addcmul(r, r, r, value=-1).mul_(us[:, :, 2 * H:])     # da_r = da_n S_r
        dU = torch.empty_like(us)
        dN = torch.empty(T, B, H, dtype=xw.dtype, device=xw.device)
        dh = torch.zeros_like(hs[0]) if d_hn is None else d_hn
        live = live_steps(d_out, T)
        for t in _order(T, not reverse):
            if live[t]:
                dh = dh + d_out[t]
            da_n = torch.mul(dh, P_n[t], out=dN[t])
            torch.mul(dh, Q_z[t], out=dU[t, :, H:2 * H])
            torch.mul(da_n, S_r[t], out=dU[t, :, :H])
            torch.mul(da_n, r[t], out=dU[t, :, 2 * H:])
            dh = torch.addmm(dh * z[t], dU[t], W_hh)
        dXW = torch.cat([dU[:, :, :2 * H], dN], dim=2)
        dW_hh = dU.flatten(0, 1).t() @ h_prev.flatten(0, 1)
        db_hh = dU.sum((0, 1)) if b_hh is not None and ctx.needs_input_grad[3] else None
        return dXW, dh, dW_hh, db_hh, None
