"""A whole LSTM sequence as one autograd node, with the backward pass through time by hand.

The layer-by-layer autograd graph of a Python time loop records about ten nodes per step;
at batch 64 and 28 steps their bookkeeping, not the arithmetic, dominates (about 3x
``torch.nn.LSTM``).  Here the forward loop runs without recording and keeps the gate
activations; the backward pass first computes, for all steps at once, every factor that does
not depend on the recurrence, and then walks back through time with five operations per step:

    P_t = o (1 - tanh(c_t)^2)      Q_t = tanh(c_t) o (1 - o)                 (all steps at once;
    R_t = [g i(1-i), c_{t-1} f(1-f), i (1-g^2)]                               tanh(c_t) kept from the forward)
    dh  = dh + dL/dh_t (the output's gradient)
    dc  = dc + dh P_t              [da_i, da_f, da_g] = dc R_t      da_o = dh Q_t
    dc_{t-1} = dc f                dh_{t-1} = da_t W_hh
    dW_hh = sum_t da_t^T h_{t-1}   dL/d(W_ih x_t + b) = da_t          (one product each)

The forward computes tanh(x) as 2 sigmoid(2x) - 1 (within a few float32 ulps), so that one sigmoid
covers all four gates: this CPU build of ATen computes tanh about five times slower than sigmoid
(22 us against 4 us for 64 x 128 floats on the AMD EPYC we measured), and the extra cheap operations
cost less.  Steps whose output gradient is zero (a classifier reads only the last step) skip adding it.

Padded steps (``mask`` False) carry h and c unchanged and pass their gradients straight through.

Higher-order derivatives: when the backward pass itself is recorded (``create_graph=True``: grad
mode is on inside ``backward``) or runs batched (``is_grads_batched=True``, torch.func), the
hand-written loop is not used: the forward is recomputed with ordinary autograd from the saved
inputs and differentiated with ``torch.autograd.grad`` (:func:`autograd_backward`), which is
itself differentiable and vmappable.  The plain first-order backward keeps the fast loop.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch.autograd.function import FunctionCtx
from torch.nn import functional as F

from .cells import lstm_cell


def lstm_sequence(xw: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, W_hh: torch.Tensor,
                  mask: torch.Tensor | None, reverse: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What :class:`LSTMSequence` computes, as an ordinary autograd graph of :func:`lstm_cell` steps."""
    hh = partial(F.linear, weight=W_hh)
    h, c = h0, c0
    outs: list[torch.Tensor] = [h0] * xw.shape[1]
    steps = list(enumerate(xw.unbind(1)))
    for t, xw_t in (reversed(steps) if reverse else steps):
        h_new, c_new = lstm_cell(xw_t, h, c, hh)
        if mask is not None:
            keep = mask[:, t:t + 1]
            h_new, c_new = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
            outs[t] = h_new * keep.to(h_new.dtype)
        else:
            outs[t] = h_new
        h, c = h_new, c_new
    return torch.stack(outs, dim=1), h, c


def higher_order(grads: tuple) -> bool:
    """Whether this backward must itself be differentiable or vmappable: grad mode on (create_graph=True)
    or batched gradients (is_grads_batched=True, torch.func transforms)."""
    functorch = torch._C._functorch
    return torch.is_grad_enabled() or any(
        g is not None and (functorch.is_functorch_wrapped_tensor(g) or functorch.is_legacy_batchedtensor(g))
        for g in grads)


def autograd_backward(ctx: FunctionCtx, reference: Callable, inputs: tuple, extra: tuple, grads: tuple) -> tuple:
    """The vector-Jacobian product by recomputing the forward as an autograd graph (``reference(*inputs, *extra)``)
    and differentiating it; the result is differentiable when grad mode is on (create_graph=True)."""
    wanted = [k for k, need in enumerate(ctx.needs_input_grad[:len(inputs)]) if need]
    result: list = [None] * len(ctx.needs_input_grad)
    with torch.enable_grad():
        outs = reference(*inputs, *extra)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
        if not pairs or not wanted:
            return tuple(result)
        got = torch.autograd.grad([o for o, _ in pairs], [inputs[k] for k in wanted], [g for _, g in pairs],
                                  create_graph=torch.is_grad_enabled() or ctx.create_graph, allow_unused=True)
    for k, g in zip(wanted, got):
        result[k] = g if g is not None else torch.zeros_like(inputs[k])
    return tuple(result)


def _live_steps(d_out: torch.Tensor | None, T: int) -> list[bool]:
    """Which of the T steps of a time-major output gradient (T, B, H) are not all zero."""
    if d_out is None or d_out.numel() == 0:
        return [False] * T
    return d_out.abs().amax(dim=(1, 2)).ne(0).tolist()


def _steps(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


def _step_factors(i: torch.Tensor, f: torch.Tensor, g: torch.Tensor, o: torch.Tensor, tanh_c: torch.Tensor,
                  c_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
    """P, Q and the three parts of R of the module docstring for all steps, (T, B, H) each and contiguous
    (products into strided slices of one tensor are several times slower than into whole tensors):

        P = o (1 - tanh(c)^2)     Q = tanh(c) o (1 - o)     R = [g i (1-i), c_prev f (1-f), i (1-g^2)]
    """
    P = torch.mul(tanh_c, tanh_c).neg_().add_(1).mul_(o)
    Q = torch.addcmul(o, o, o, value=-1).mul_(tanh_c)
    R = (torch.addcmul(i, i, i, value=-1).mul_(g), torch.addcmul(f, f, f, value=-1).mul_(c_prev),
         torch.mul(g, g).neg_().add_(1).mul_(i))
    return P, Q, R


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
        tanhs = torch.empty(T, B, H, dtype=xw.dtype, device=xw.device)     # tanh(c_t), for the backward
        start = T if reverse else 0
        hs[start], cs[start] = h0, c0
        W_hh_t = W_hh.t()
        for t in _steps(T, reverse):
            prev, cur = (t + 1, t) if reverse else (t, t + 1)
            a = torch.addmm(xw[:, t], hs[prev], W_hh_t, out=gates[t])
            i, f, g, o = a.chunk(4, dim=1)
            g.mul_(2)                                   # g = tanh(a_g) = 2 sigmoid(2 a_g) - 1, and i, f, o =
            a.sigmoid_()                                # sigmoid(a): one sigmoid over all four gates
            g.mul_(2).sub_(1)
            c = torch.mul(f, cs[prev], out=cs[cur]).addcmul_(i, g)
            tanh_c = torch.mul(c, 2, out=tanhs[t]).sigmoid_().mul_(2).sub_(1)     # tanh(c), likewise
            torch.mul(o, tanh_c, out=hs[cur])
            if mask is not None:
                pad = ~mask[:, t:t + 1]
                hs[cur] = torch.where(pad, hs[prev], hs[cur])
                cs[cur] = torch.where(pad, cs[prev], cs[cur])
        outs = hs[:T] if reverse else hs[1:]
        all_h = outs.transpose(0, 1)
        all_h = all_h * mask.unsqueeze(2).to(all_h.dtype) if mask is not None else all_h.clone()
        end = 0 if reverse else T
        ctx.save_for_backward(gates, hs, cs, tanhs, W_hh, mask, xw, h0, c0)
        ctx.reverse = reverse
        return all_h, hs[end].clone(), cs[end].clone()

    @staticmethod
    def backward(ctx: FunctionCtx, d_all_h: torch.Tensor, d_hn: torch.Tensor, d_cn: torch.Tensor) -> tuple:
        ctx.create_graph = torch.is_grad_enabled()
        if higher_order((d_all_h, d_hn, d_cn)):
            W_hh, mask, xw, h0, c0 = ctx.saved_tensors[4:]
            return autograd_backward(ctx, lstm_sequence, (xw, h0, c0, W_hh), (mask, ctx.reverse),
                                     (d_all_h, d_hn, d_cn))
        gates, hs, cs, tanhs, W_hh, mask = ctx.saved_tensors[:6]
        reverse = ctx.reverse
        T, B, G = gates.shape
        H = G // 4
        i, f, g, o = gates.view(T, B, 4, H).unbind(2)
        P, Q, (R_i, R_f, R_g) = _step_factors(i, f, g, o, tanhs, cs[1:] if reverse else cs[:T])
        dA_bt = torch.empty_like(ctx.saved_tensors[6])   # laid out as xw, so that its gradient needs no copy
        dA = dA_bt.transpose(0, 1)
        dA4 = dA.unflatten(2, (4, H))
        dh = torch.zeros(B, H, dtype=gates.dtype, device=gates.device) if d_hn is None else d_hn
        dc = torch.zeros_like(dh) if d_cn is None else d_cn
        d_out = None
        if d_all_h is not None:
            d_out = (d_all_h * mask.unsqueeze(2).to(d_all_h.dtype) if mask is not None else d_all_h).transpose(0, 1)
        live = _live_steps(d_out, T)
        m = None if mask is None else mask.t().unsqueeze(2).to(gates.dtype)
        for t in _steps(T, not reverse):
            if live[t]:
                dh = dh + d_out[t]
            if m is not None:
                keep_h, keep_c = dh * (1 - m[t]), dc * (1 - m[t])
                dh, dc = dh * m[t], dc * m[t]
            dc = torch.addcmul(dc, dh, P[t])
            torch.mul(dc, R_i[t], out=dA4[t, :, 0])
            torch.mul(dc, R_f[t], out=dA4[t, :, 1])
            torch.mul(dc, R_g[t], out=dA4[t, :, 2])
            torch.mul(dh, Q[t], out=dA4[t, :, 3])
            dc = dc * f[t]
            dh = dA[t] @ W_hh
            if m is not None:
                dh, dc = dh + keep_h, dc + keep_c
        H_prev = hs[1:] if reverse else hs[:T]
        # dW_hh = (H_prev^T dA)^T: this orientation of the product is faster in MKL than dA^T H_prev
        if dA_bt.is_contiguous():       # batch-major: copy the (smaller) states to batch-major instead
            dW_hh = (H_prev.transpose(0, 1).reshape(B * T, H).t() @ dA_bt.reshape(B * T, G)).t().contiguous()
        else:
            dW_hh = (H_prev.reshape(T * B, H).t() @ dA.reshape(T * B, G)).t().contiguous()
        return dA_bt, dh, dc, dW_hh, None, None
