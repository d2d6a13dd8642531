"""The linear recurrence h_t = a_t * h_{t-1} + b_t over a whole sequence as one autograd node, the backward by hand.

The NumPy twin is ``rnnlab/numpy/linear.py``; both run the compiled scan of :mod:`rnnlab.kernels.scan` on
float32, float64, complex64 and complex128 CPU tensors where compiled kernels run
(:func:`rnnlab.kernels.compiled_default`), and elsewhere (a GPU, ``RNNLAB_FUSED=0``) a loop of
``torch.addcmul`` steps.  Batch-major, as the layers keep their sequences: a (B, T, H), or 1 in place of B
or T (one a for every sequence or step: the LRU's lambda), b (B, T, H), h0 (B, H)::

    forward:   h_t = a_t * h_{t-1} + b_t                     (reverse: t from T-1 down to 0)
    backward:  dh_t = dL/dh_t + conj(a_{t+1}) dh_{t+1}        (the last step's dh also gets dL/dh_n)
               dL/da_t = dh_t conj(h_{t-1})    dL/db_t = dh_t    dL/dh0 = conj(a_0) dh_0

(conj(.) is PyTorch's convention for complex gradients and the identity on real numbers.)  Without the node,
autograd would keep a graph of T steps and walk it back one small kernel at a time; the node keeps only
the states.  Higher-order gradients (create_graph=True) and batched gradients (torch.func) recompute the
forward as an autograd graph of :func:`linear_sequence` (:func:`rnnlab.torch.fused.autograd_backward`), as
the LSTM's node does.
"""
from __future__ import annotations

import torch
from torch.autograd.function import FunctionCtx

from ..kernels.switch import compiled_default
from .cells import COEFFICIENTS
from .fused import autograd_backward, higher_order

_COMPILED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def linear_sequence(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, reverse: bool
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """What :class:`LinearScan` computes, as an ordinary autograd graph of steps h_t = a_t * h_{t-1} + b_t."""
    T = b.shape[1]
    a_steps = a.expand_as(b).unbind(1)
    h, outs, b_steps = h0, [h0] * T, b.unbind(1)
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = outs[t] = torch.addcmul(b_steps[t], a_steps[t], h)
    return torch.stack(outs, dim=1), h


def recurrence_factors(layer, x: torch.Tensor) -> torch.Tensor:
    """The a_t of a linear-recurrence layer on x (batch, T, D), one row per step and sequence: (B*T, H), or (1, H)
    where one a serves every step (the LRU's lambda, from ``layer.recurrence()``); the analysis's eigenvalues."""
    if hasattr(layer, "recurrence"):
        return layer.recurrence()[0].detach()[None]
    a, _ = COEFFICIENTS[layer.cell](layer.ih(x))
    return a.detach().reshape(-1, a.shape[-1])


def _compiled(*tensors: torch.Tensor) -> bool:
    return compiled_default() and all(t.device.type == "cpu" and t.dtype in _COMPILED_DTYPES for t in tensors)


def _array(t: torch.Tensor):
    """A contiguous NumPy view (or copy) of t, for the compiled kernels."""
    return t.detach().contiguous().numpy()


class LinearScan(torch.autograd.Function):
    """all_h (B, T, H), h_n = LinearScan.apply(a, b, h0, reverse)   (see the module docstring)"""

    @staticmethod
    def forward(ctx: FunctionCtx, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor,
                reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        T = b.shape[1]
        out = torch.empty(b.shape, dtype=b.dtype, device=b.device)
        if _compiled(a, b, out):
            from ..kernels.scan import scan_forward
            scan_forward(_array(a), _array(b), _array(h0), out.numpy(), reverse)
        else:
            a_steps, h = a.expand_as(b), h0
            for t in (range(T - 1, -1, -1) if reverse else range(T)):
                h = torch.addcmul(b[:, t], a_steps[:, t], h, out=out[:, t])
        ctx.save_for_backward(a, b, h0, out)
        ctx.reverse = reverse
        return out, out[:, 0 if reverse else T - 1].clone()

    @staticmethod
    def backward(ctx: FunctionCtx, d_out: torch.Tensor | None, d_hn: torch.Tensor | None) -> tuple:
        ctx.create_graph = torch.is_grad_enabled()
        a, b, h0, out = ctx.saved_tensors
        reverse = ctx.reverse
        if higher_order((d_out, d_hn)):
            return autograd_backward(ctx, linear_sequence, (a, b, h0), (reverse,), (d_out, d_hn))
        B, T = out.shape[:2]
        g = torch.zeros_like(out) if d_out is None else d_out.to(out.dtype).clone(memory_format=torch.contiguous_format)
        carry = torch.zeros_like(h0) if d_hn is None else d_hn.to(h0.dtype).clone(memory_format=torch.contiguous_format)
        if _compiled(a, g, out):
            from ..kernels.scan import scan_backward
            da = torch.zeros(a.shape, dtype=g.dtype)         # summed over what shares an a (the LRU's lambda)
            scan_backward(_array(a), g.numpy(), _array(h0), out.numpy(), carry.numpy(), da.numpy(), reverse)
        else:
            da = torch.empty_like(g)
            a_steps = a.expand_as(out)
            for t in (range(T) if reverse else range(T - 1, -1, -1)):
                g[:, t] += carry                                     # dh_t = g_t + conj(a_{t+1}) dh_{t+1}
                carry = a_steps[:, t].conj() * g[:, t]
                first = t == (T - 1 if reverse else 0)
                h_prev = h0 if first else out[:, t + 1 if reverse else t - 1]
                torch.mul(g[:, t], h_prev.conj(), out=da[:, t])      # dL/da_t = dh_t conj(h_{t-1})
            if a.shape[1] == 1 and T > 1:
                da = da.sum(1, keepdim=True)
            if a.shape[0] == 1 and B > 1:
                da = da.sum(0, keepdim=True)
        need = ctx.needs_input_grad
        return (da if need[0] else None, g if need[1] else None, carry if need[2] else None, None)

