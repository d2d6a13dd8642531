"""The elementwise part of a step of the whole-sequence nodes, compiled (numba), for float32 and float64 CPU tensors.

Per step, the LSTM node's forward made about ten ATen passes over 64 x 128 floats after its recurrent
product, and its backward six; each pass costs a dispatch and a trip through memory, and none is big
enough for ATen to split over threads.  Here each is one compiled loop over the step's rows (batch-major,
as the nodes' buffers are laid out), written so that LLVM vectorises it; the matrix products stay ATen's.
The kernels work in place on NumPy views of the nodes' own buffers (``Tensor.numpy()`` shares memory), are
compiled on first use and cached on disk (``cache=True``), and run in the calling thread, so torch's
denormal flushing applies to them.  The nodes import this module only through
:func:`rnnlab.torch.fused.compiled_kernels`, which chooses the kernels as the NumPy engine chooses its
fused steps (numba importable, ``RNNLAB_FUSED`` not 0), for float32 and float64 CPU tensors.  float32
uses the NumPy engine's branch-free rational tanh (:func:`rnnlab.numpy.fused_steps.vector_tanh`, within
3.3e-7 of tanh), float64 ``math.tanh``.

LSTM forward, step t, on a = W_ih x_t + b + W_hh h_{t-1} (B, 4H), one loop each:

    [i, f, g, o] = [sigma, sigma, tanh, sigma](a)    as  slope_k tanh(slope_k a_k) + shift_k  per column k
                                                     (sigma(x) = (1 + tanh(x / 2)) / 2)
    c_t = f c_{t-1} + i g        tanh(c_t) kept       h_t = o tanh(c_t)

LSTM backward, step t (dh: dL/dh_t, dc: dL/dc_t in and dL/dc_{t-1} out):

    dc   = dc + dh o (1 - tanh(c_t)^2)               da_o = dh tanh(c_t) o (1 - o)
    da_i = dc g i (1 - i)    da_g = dc i (1 - g^2)    da_f = dc c_{t-1} f (1 - f)     dc_{t-1} = dc f

RNN forward, step t, on a = W_ih x_t + b + W_hh h_{t-1}:  h_t = tanh(a) or max(a, 0).
"""
from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
import torch

from ..numpy.fused_steps import vector_tanh

kernel = numba.njit(cache=True, nogil=True, error_model="numpy")


@lru_cache(maxsize=32)
def gate_coefficients(hidden: int, dtype: torch.dtype) -> tuple[np.ndarray, np.ndarray]:
    """slope, shift (4H,) with which one tanh gives every gate as slope tanh(slope a) + shift: 1/2, 1/2 for
    the sigmoid gates i, f, o, and 1, 0 for the candidate g."""
    slope = np.full(4 * hidden, 0.5, dtype=torch.empty((), dtype=dtype).numpy().dtype)
    slope[2 * hidden:3 * hidden] = 1
    shift = slope.copy()
    shift[2 * hidden:3 * hidden] = 0
    for array in (slope, shift):
        array.flags.writeable = False
    return slope, shift


@kernel
def lstm_forward_step(gates, hs, cs, tanhs, slope, shift, t, prev, cur):
    """gates[t] (B, 4H): the pre-activations in, [i, f, g, o] out; writes cs[cur], tanhs[t] and hs[cur]."""
    a = gates[t]
    B, G = a.shape
    H = G // 4
    for n in range(B):
        for k in range(G):
            a[n, k] = slope[k] * vector_tanh(slope[k] * a[n, k]) + shift[k]
    for n in range(B):
        row, c_prev, c, tanh_c, h = a[n], cs[prev, n], cs[cur, n], tanhs[t, n], hs[cur, n]
        for j in range(H):
            c_new = row[H + j] * c_prev[j] + row[j] * row[2 * H + j]
            c[j] = c_new
            tc = vector_tanh(c_new)
            tanh_c[j] = tc
            h[j] = row[3 * H + j] * tc


@kernel
def lstm_backward_step(gates, cs, tanhs, dA, dh, dc, t, prev):
    """Writes dA[t] (B, 4H) from dh, dc (B, H) and step t's [i, f, g, o]; dc becomes dL/dc_{t-1}.
    Four short loops per row: one loop writing five arrays does not vectorise."""
    a = gates[t]
    B, G = a.shape
    H = G // 4
    one = a.dtype.type(1)
    for n in range(B):
        row, tanh_c, da, d_h, d_c, c_prev = a[n], tanhs[t, n], dA[t, n], dh[n], dc[n], cs[prev, n]
        for j in range(H):
            tc = tanh_c[j]
            d_c[j] += d_h[j] * row[3 * H + j] * (one - tc * tc)
        for j in range(H):
            o = row[3 * H + j]
            da[3 * H + j] = d_h[j] * tanh_c[j] * o * (one - o)
        for j in range(H):
            i, g = row[j], row[2 * H + j]
            da[j] = d_c[j] * g * i * (one - i)
            da[2 * H + j] = d_c[j] * i * (one - g * g)
        for j in range(H):
            f = row[H + j]
            da[H + j] = d_c[j] * c_prev[j] * f * (one - f)
            d_c[j] *= f


@kernel
def rnn_forward_step(hs, cur, relu):
    """hs[cur] (B, H): the pre-activation in, h_t = tanh(a) or max(a, 0) out (NaN stays NaN, as torch.relu)."""
    a = hs[cur]
    B, H = a.shape
    zero = a.dtype.type(0)
    for n in range(B):
        for j in range(H):
            v = a[n, j]
            a[n, j] = (zero if v < zero else v) if relu else vector_tanh(v)
