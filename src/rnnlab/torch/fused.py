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
    dW_hh = sum_t da_t^T h_{t-1}   dW_ih = sum_t da_t^T x_t   db = sum_t da_t   dx_t = da_t W_ih
                                                                      (one product or sum each)

The node takes x itself, not W_ih x_t + b: the input product of all steps is one matrix product
written straight into the buffer that the forward walk turns, step by step and in place, into the
gate activations (a separate input product would be copied into that buffer at every step).

On float32 and float64 CPU tensors, each step's elementwise part (all but the recurrent product) is one
compiled loop (``kernels.py``: ten ATen passes in the forward, six in the backward, each below the size
ATen splits over threads); every other dtype and device (and ``RNNLAB_FUSED=0``) runs the torch step's
own elementwise part, :func:`rnnlab.torch.cells.lstm_update`, in place on the walk's buffers.  It is
given tanh(x) as 2 sigmoid(2x) - 1 (within a few float32 ulps, :func:`sigmoid_tanh`): this CPU build of
ATen computes tanh about five times slower than sigmoid (22 us against 4 us for 64 x 128 floats on the
AMD EPYC we measured), and the extra cheap operations cost less.  Steps
whose output gradient is zero (a classifier reads only the last step) skip adding it.

Where those compiled loops run and torch has a GNU OpenMP team with MKL (:func:`team_walks`), a batch without
padding walks whole instead: both walks through time run on torch's own threads, each thread taking its share of
the batch's rows through every step, products included (``team.py``, ``team_walks.py``).  The equations are the
same; the walk also writes the output and sums the bias's gradient on the way.

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
from types import ModuleType

import torch
from torch.autograd.function import FunctionCtx
from torch.nn import functional as F

from ..kernels import compiled_default
from .cells import lstm_cell, lstm_update


def lstm_sequence(x: torch.Tensor, W_ih: torch.Tensor, bias: torch.Tensor | None, h0: torch.Tensor,
                  c0: torch.Tensor, W_hh: torch.Tensor, mask: torch.Tensor | None,
                  reverse: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What :class:`LSTMSequence` computes, as an ordinary autograd graph of :func:`lstm_cell` steps."""
    hh = partial(F.linear, weight=W_hh)
    h, c = h0, c0
    outs: list[torch.Tensor] = [h0] * x.shape[0]
    steps = list(enumerate(F.linear(x, W_ih, bias).unbind(0)))
    for t, xw_t in (reversed(steps) if reverse else steps):
        h_new, c_new = lstm_cell(xw_t, h, c, hh)
        if mask is not None:
            keep = mask[t].unsqueeze(1)
            h_new, c_new = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
            outs[t] = h_new * keep.to(h_new.dtype)
        else:
            outs[t] = h_new
        h, c = h_new, c_new
    return torch.stack(outs), h, c


def compiled_kernels(*tensors: torch.Tensor) -> ModuleType | None:
    """The compiled step kernels (``kernels.py``) where they run on these tensors: CPU, float32 or float64,
    and compiled kernels on (:func:`rnnlab.kernels.compiled_default`: numba importable, ``RNNLAB_FUSED`` not 0);
    else None (ATen steps).  numba is imported on first use."""
    if not all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors) or \
            not compiled_default():
        return None
    from . import kernels
    return kernels


def team_walks(*tensors: torch.Tensor) -> ModuleType | None:
    """The whole walks on torch's OpenMP team (``team_walks.py``) where they run on these tensors: where the
    compiled kernels do (:func:`compiled_kernels`) and torch has a GNU OpenMP team and a Fortran gemm
    (:data:`rnnlab.torch.team.AVAILABLE`), all of one dtype; else None (the step-by-step walk)."""
    if compiled_kernels(*tensors) is None or len({t.dtype for t in tensors}) > 1:
        return None                             # (mixed dtypes: the step-by-step walk's products refuse them)
    from . import team
    if not team.AVAILABLE:
        return None
    from . import team_walks as walks
    return walks


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


def live_steps(d_out: torch.Tensor | None, T: int) -> list[bool]:
    """Which of the T steps of a time-major output gradient (T, B, H) are not all zero."""
    if d_out is None or d_out.numel() == 0:
        return [False] * T
    return d_out.abs().amax(dim=(1, 2)).ne(0).tolist()


def sigmoid_tanh(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """tanh(x) = 2 sigmoid(2x) - 1 (within a few float32 ulps): this CPU build of ATen's sigmoid is about five
    times faster than its tanh (see the module docstring)."""
    return torch.mul(x, 2, out=out).sigmoid_().mul_(2).sub_(1)


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


def _walk_forward(gates: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, W_hh: torch.Tensor,
                  mask: torch.Tensor | None, reverse: bool, walks: ModuleType | None = None,
                  bias: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The forward walk.  ``gates`` (T, B, 4H) holds W_ih x_t + b on entry and the activations i, f, g, o on
    exit (the recurrent product is added in place: no copy per step); returns hs, cs (T + 1, B, H),
    tanh(c_t) (T, B, H) and, from the walk on torch's team (``walks``, :func:`team_walks`), the output h_1 .. h_T
    as a tensor of its own (else None).  On the team walk ``gates`` may hold W_ih x_t alone and the walk adds
    ``bias`` to each row before its recurrent product, while the row is in cache (the input product's bias,
    broadcast into the buffer first, was a copy of the whole buffer).  A zero h0 (the usual start) skips the
    first step's recurrent product W_hh h0 = 0."""
    T, B, G = gates.shape
    H = G // 4
    hs = torch.empty(T + 1, B, H, dtype=gates.dtype, device=gates.device)
    cs = torch.empty_like(hs)
    tanhs = torch.empty(T, B, H, dtype=gates.dtype, device=gates.device)
    start = T if reverse else 0
    hs[start], cs[start] = h0, c0
    zero_start = not bool(h0.any())
    if walks is not None:                       # the whole walk on torch's team, rows split between its threads
        return hs, cs, tanhs, walks.walk_forward(gates, hs, cs, tanhs, W_hh, reverse, zero_start, bias)
    assert bias is None, "only the walk on torch's team adds the bias"
    W_hh_t = W_hh.t()
    kernels = compiled_kernels(gates)
    compiled = None if kernels is None else \
        partial(kernels.lstm_forward_step, *(a.numpy() for a in (gates, hs, cs, tanhs)))
    gate_steps, h_steps, c_steps, tanh_steps = gates.unbind(0), hs.unbind(0), cs.unbind(0), tanhs.unbind(0)
    for t in _steps(T, reverse):
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        a = gate_steps[t] if zero_start and prev == start else gate_steps[t].addmm_(h_steps[prev], W_hh_t)
        if compiled is not None:
            compiled(t, prev, cur)
        else:       # the torch step's elementwise part, in place: a becomes [i, f, g, o]
            lstm_update(a, c_steps[prev], (a, c_steps[cur], tanh_steps[t], h_steps[cur]), sigmoid_tanh)
        if mask is not None:
            pad = ~mask[t].unsqueeze(1)
            hs[cur] = torch.where(pad, hs[prev], hs[cur])
            cs[cur] = torch.where(pad, cs[prev], cs[cur])
    return hs, cs, tanhs, None


def _walk_back(ctx: FunctionCtx, d_out: torch.Tensor | None, dh: torch.Tensor,
               dc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
    """The backward walk: dA (T, B, 4H), the gradient of every step's gate pre-activations, and the gradients
    of h0 and c0, from the output's gradient d_out (T, B, H) and those of h_n and c_n.  dh and dc live in
    buffers of the walk's own that each step's elementwise part and the recurrent product update in place.
    When h0 needs no gradient (a zero start made by the layer), the last step's dh0 = dA_0 W_hh is skipped
    and None is returned for it.  Last, the bias's gradient sum_t sum_n dA_t where the walk on torch's team
    summed it on the way (else None)."""
    gates, hs, cs, tanhs, W_hh, mask = ctx.saved_tensors[:6]
    reverse, T = ctx.reverse, gates.shape[0]
    dA = torch.empty_like(gates)
    dh, dc = torch.empty_like(hs[0]).copy_(dh), torch.empty_like(cs[0]).copy_(dc)
    need_dh0 = ctx.needs_input_grad[3]
    walks = team_walks(gates, W_hh) if mask is None and T and gates.shape[1] else None
    if walks is not None:                       # the whole walk on torch's team, rows split between its threads
        d_bias = walks.walk_back(gates, cs, tanhs, dA, dh, dc, W_hh, d_out, reverse, need_dh0)
        return dA, dh if need_dh0 else None, dc, d_bias
    elementwise = _backward_step(gates, cs, tanhs, dA, dh, dc, reverse)
    m = None if mask is None else mask.unsqueeze(2).to(gates.dtype)
    if d_out is not None and m is not None:
        d_out = d_out * m
    live = live_steps(d_out, T)
    dA_steps = dA.unbind(0)
    last = T - 1 if reverse else 0
    for t in _steps(T, not reverse):
        if live[t]:
            dh.add_(d_out[t])
        if m is not None:
            keep_h, keep_c = dh * (1 - m[t]), dc * (1 - m[t])
            dh.mul_(m[t])
            dc.mul_(m[t])
        elementwise(t)
        if t == last and not need_dh0:
            return dA, None, dc.add_(keep_c) if m is not None else dc, None
        torch.mm(dA_steps[t], W_hh, out=dh)
        if m is not None:
            dh.add_(keep_h)
            dc.add_(keep_c)
    return dA, dh, dc, None


def _backward_step(gates: torch.Tensor, cs: torch.Tensor, tanhs: torch.Tensor, dA: torch.Tensor, dh: torch.Tensor,
                   dc: torch.Tensor, reverse: bool) -> Callable[[int], None]:
    """The elementwise part of backward step t: dA[t] from dh and dc, and dc <- dL/dc_{t-1}, in place; the
    compiled kernel (``kernels.lstm_backward_step``) or ATen operations on the factors of
    :func:`_step_factors`, computed here for all steps at once."""
    T, B, G = gates.shape
    kernels = compiled_kernels(gates)
    if kernels is not None:
        step = partial(kernels.lstm_backward_step, *(a.numpy() for a in (gates, cs, tanhs, dA, dh, dc)))
        return lambda t: step(t, t + 1 if reverse else t)
    H = G // 4
    i, f, g, o = gates.view(T, B, 4, H).unbind(2)
    P, Q, (R_i, R_f, R_g) = _step_factors(i, f, g, o, tanhs, cs[1:] if reverse else cs[:T])
    dA4 = dA.view(T, B, 4, H)

    def step(t: int) -> None:
        dc.addcmul_(dh, P[t])
        torch.mul(dc, R_i[t], out=dA4[t, :, 0])
        torch.mul(dc, R_f[t], out=dA4[t, :, 1])
        torch.mul(dc, R_g[t], out=dA4[t, :, 2])
        torch.mul(dh, Q[t], out=dA4[t, :, 3])
        dc.mul_(f[t])
    return step


def transposed_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """b^T a as (a^T b)^T, contiguous: for the weight gradients dW = dA^T X, this orientation of the product
    is about twice as fast in MKL when X is narrow (2.5 against 2.7-3.2 ms for H = 128, 0.7 against 1.3 ms
    for 28 inputs, at 28 x 64 rows)."""
    return (a.t() @ b).t().contiguous()


def input_product(x: torch.Tensor, W_ih: torch.Tensor, bias: torch.Tensor | None,
                  out: torch.Tensor) -> torch.Tensor:
    """W_ih x_t + b of every step of x (T, B, I), as one product written into ``out`` (T * B rows)."""
    rows = x.reshape(x.shape[0] * x.shape[1], x.shape[2])
    return torch.mm(rows, W_ih.t(), out=out) if bias is None else torch.addmm(bias, rows, W_ih.t(), out=out)


def input_gradients(ctx: FunctionCtx, dA: torch.Tensor, x: torch.Tensor, W_ih: torch.Tensor,
                    bias: torch.Tensor | None, d_bias: torch.Tensor | None = None) -> tuple[torch.Tensor | None, ...]:
    """The gradients of x (laid out as x), W_ih and the bias from dA (T, B, G), the gradient of the input
    product W_ih x_t + b of every step, for the node's first three inputs (None where not needed); the bias's
    is ``d_bias`` where the walk summed it already."""
    T, B, G = dA.shape
    dA_rows, need = dA.reshape(T * B, G), ctx.needs_input_grad
    dx = None
    if need[0]:
        dx = torch.empty_like(x)                    # laid out as x (a batch-first input keeps its layout)
        dx.copy_((dA_rows @ W_ih).view_as(x))
    dW_ih = transposed_product(x.reshape(T * B, x.shape[2]), dA_rows) if need[1] else None
    if bias is None or not need[2]:
        d_bias = None
    elif d_bias is None:
        d_bias = dA_rows.sum(0)
    return dx, dW_ih, d_bias


class LSTMSequence(torch.autograd.Function):
    """all_h, h_n, c_n = LSTMSequence.apply(x, W_ih, bias, h0, c0, W_hh, mask, reverse)

    x: (T, B, I) time-major (any strides); W_ih: (4H, I); bias: (4H,) (b_ih + b_hh) or None; h0, c0: (B, H);
    W_hh: (4H, H); mask: (T, B) bool or None; reverse: walk from the last step.  all_h: (T, B, H).
    The input product W_ih x_t + b of all steps is one matrix product written straight into the buffer the
    walk turns into the gate activations (the walk on torch's team adds b itself); the backward returns x's
    gradient laid out as x.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor, W_ih: torch.Tensor, bias: torch.Tensor | None,
                h0: torch.Tensor, c0: torch.Tensor, W_hh: torch.Tensor, mask: torch.Tensor | None,
                reverse: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        T, B, _ = x.shape
        gates = torch.empty(T, B, W_ih.shape[0], dtype=x.dtype, device=x.device)
        walks = team_walks(x, W_hh, *(() if bias is None else (bias,))) if mask is None and T and B else None
        input_product(x, W_ih, None if walks else bias, out=gates.view(T * B, W_ih.shape[0]))
        hs, cs, tanhs, all_h = _walk_forward(gates, h0, c0, W_hh, mask, reverse, walks, bias if walks else None)
        if all_h is None:
            outs = hs[:T] if reverse else hs[1:]
            all_h = outs * mask.unsqueeze(2).to(outs.dtype) if mask is not None else outs.clone()
        end = 0 if reverse else T
        ctx.save_for_backward(gates, hs, cs, tanhs, W_hh, mask, x, W_ih, bias, h0, c0)
        ctx.reverse = reverse
        return all_h, hs[end].clone(), cs[end].clone()

    @staticmethod
    def backward(ctx: FunctionCtx, d_all_h: torch.Tensor, d_hn: torch.Tensor, d_cn: torch.Tensor) -> tuple:
        ctx.create_graph = torch.is_grad_enabled()
        W_hh, mask, x, W_ih, bias, h0, c0 = ctx.saved_tensors[4:]
        if higher_order((d_all_h, d_hn, d_cn)):
            return autograd_backward(ctx, lstm_sequence, (x, W_ih, bias, h0, c0, W_hh), (mask, ctx.reverse),
                                     (d_all_h, d_hn, d_cn))
        dh = torch.zeros_like(h0) if d_hn is None else d_hn
        dc = torch.zeros_like(c0) if d_cn is None else d_cn
        dA, dh, dc, d_bias = _walk_back(ctx, d_all_h, dh, dc)
        T, B, G = dA.shape
        hs = ctx.saved_tensors[1]
        H_prev = hs[1:] if ctx.reverse else hs[:T]
        dW_hh = transposed_product(H_prev.reshape(T * B, H_prev.shape[2]), dA.view(T * B, G)) \
            if ctx.needs_input_grad[5] else None
        return (*input_gradients(ctx, dA, x, W_ih, bias, d_bias), dh, dc, dW_hh, None, None)
