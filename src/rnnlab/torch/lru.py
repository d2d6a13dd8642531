"""The LRU (Orvieto et al. 2023) in rnnlab.torch: the NumPy engine's ``numpy/lru.py`` with autograd around the scan.

Batch-major, x (B, T, D); the parameters as the registry declares them (``rnnlab/cells.py``)::

    [u_re; u_im] = W_ih x_t + b_ih        u_t = u_re + i u_im
    lambda = exp(-exp(nu_log) + i exp(theta_log)),   gamma = exp(gamma_log)
    h_t = lambda * h_{t-1} + gamma * u_t              one node: rnnlab.torch.linear.LinearScan (backward by hand)
    y_t = C_re Re(h_t) - C_im Im(h_t) + D x_t         weight_c = [C_re, C_im], weight_d = D

Autograd differentiates the parts around the scan (complex numbers included: lambda from nu_log and
theta_log, u from W_ih x, y from h).  ``node=False`` walks :func:`lru_step` instead, step by step, so that
every complex state h_t is a tensor whose gradient can be kept (the gradient-flow analysis).
Padded steps (mask False) keep the state; the LRU's state starts at zero and h_n is y at each sequence's
last step.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from .linear import LinearScan


def eigenvalues(nu_log: torch.Tensor, theta_log: torch.Tensor) -> torch.Tensor:
    """lambda = exp(-exp(nu_log) + i exp(theta_log)): |lambda| < 1 for every nu_log."""
    return torch.exp(torch.complex(-torch.exp(nu_log), torch.exp(theta_log)))


def _pairs(blocks: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """(2, ...) [real block; imaginary block] -> the two interleaved along ``dim`` (re_0, im_0, re_1, im_1, ...)."""
    return torch.stack(tuple(blocks), dim=dim)


def lru_sequence(x: torch.Tensor, w: dict[str, torch.Tensor | None], mask: torch.Tensor | None, reverse: bool,
                 node: bool = True) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """x (B, T, D), mask (B, T) or None -> y (B, T, H), h_n (B, H) and, with ``node=False``, the complex states
    h_t of every step (else [])."""
    B, T, _ = x.shape
    lam, gamma = eigenvalues(w["nu_log"], w["theta_log"]), torch.exp(w["gamma_log"])
    H = lam.shape[0]
    # u_t = B x_t + b as complex numbers without a copy: the rows of [B_re; B_im] interleaved (re, im, re, ...)
    # make W_ih x_t + b the pairs that torch.view_as_complex reads
    bias = None if w["bias_ih"] is None else _pairs(w["bias_ih"].view(2, H)).reshape(2 * H)
    uw = F.linear(x, _pairs(w["weight_ih"].view(2, H, -1)).reshape(2 * H, -1), bias)
    u = torch.view_as_complex(uw.view(B, T, H, 2))
    keep = None if mask is None else mask.unsqueeze(2)
    h0 = torch.zeros(B, H, dtype=lam.dtype, device=x.device)
    steps: list[torch.Tensor] = []
    if node:
        a, b = lam.expand(1, 1, H), gamma * u
        if keep is not None:                                   # padded steps: a = 1, b = 0
            a, b = torch.where(keep, a, torch.ones_like(a)), torch.where(keep, b, torch.zeros_like(b))
        states, _ = LinearScan.apply(a, b, h0, reverse)
    else:
        h, steps, rows = h0, [h0] * T, u.unbind(1)
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            new = lam * h + gamma * rows[t]
            h = steps[t] = new if keep is None else torch.where(keep[:, t], new, h)
        states = torch.stack(steps, dim=1)
    # y_t = C_re Re(h_t) - C_im Im(h_t) + D x_t: one product with the columns [C_re, -C_im] interleaved, on the
    # (re, im) pairs that torch.view_as_real sees in h (no copy of h's real and imaginary parts)
    C = w["weight_c"]
    C_pairs = _pairs(torch.stack((C[:, :H], -C[:, H:])), dim=2).reshape(C.shape[0], 2 * H)
    y = F.linear(torch.view_as_real(states).reshape(B, T, 2 * H), C_pairs) + F.linear(x, w["weight_d"])
    if reverse:
        last = y[:, 0]
    elif mask is None:
        last = y[:, -1]
    else:
        last = y[torch.arange(B, device=x.device), mask.sum(1) - 1]
    return (y if keep is None else y * keep.to(y.dtype)), last, steps
