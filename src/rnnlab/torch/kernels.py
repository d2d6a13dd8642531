"""The elementwise part of a step of the whole-sequence nodes, compiled (numba), for float32 and float64 CPU tensors.

Per step, the LSTM node's forward made about ten ATen passes over 64 x 128 floats after its recurrent
product, and its backward six; each pass costs a dispatch and a trip through memory, and none is big
enough for ATen to split over threads.  Here each is one compiled loop over the step's rows (batch-major,
as the nodes' buffers are laid out); the matrix products stay ATen's.  The equations are not written
here: each loop calls, for every unit of every row, the engine-neutral per-unit functions of
:mod:`rnnlab.kernels.units` (inlined by numba), the same ones the NumPy engine's compiled loops call, in
their branch-free ``*_vector`` flavour (float32 tanh: :func:`rnnlab.kernels.scalar.vector_tanh`, within
3.3e-7 of tanh; float64 ``math.tanh``).

The kernels work in place on NumPy views of the nodes' own buffers (``Tensor.numpy()`` shares memory), are
compiled on first use and cached on disk (``cache=True``), and run in the calling thread, so torch's
denormal flushing applies to them.  The nodes import this module only through
:func:`rnnlab.torch.fused.compiled_kernels`, which chooses the kernels by :func:`rnnlab.kernels.compiled_default`
(numba importable, ``RNNLAB_FUSED`` not 0), for float32 and float64 CPU tensors.

LSTM forward, step t, on a = W_ih x_t + b + W_hh h_{t-1} (B, 4H):  ``lstm_unit_forward_vector`` per unit

    [i, f, g, o] = [sigma, sigma, tanh, sigma](a)   written over a
    c_t = f c_{t-1} + i g        tanh(c_t) kept       h_t = o tanh(c_t)

LSTM backward, step t (dh: dL/dh_t, dc: dL/dc_t in and dL/dc_{t-1} out):  ``lstm_unit_backward`` per unit

    dc   = dc + dh o (1 - tanh(c_t)^2)               da_o = dh tanh(c_t) o (1 - o)
    da_i = dc g i (1 - i)    da_g = dc i (1 - g^2)    da_f = dc c_{t-1} f (1 - f)     dc_{t-1} = dc f

RNN forward, step t, on a = W_ih x_t + b + W_hh h_{t-1}:  h_t = tanh(a) or max(a, 0)  (``rnn_unit_forward_vector``).

GRU forward, step t, from xw = W_ih x_t + b_ih and u = W_hh h_{t-1} + b_hh (B, 3H):  ``gru_unit_forward_vector``

    r = sigma(x_r + u_r)    z = sigma(x_z + u_z)    n = tanh(x_n + r u_n)    h_t = n + z (h_{t-1} - n)
"""
from __future__ import annotations

from ..kernels.scalar import inline, kernel
from ..kernels.units import (
    gru_unit_forward_vector,
    lstm_unit_backward,
    lstm_unit_forward_vector,
    rnn_unit_forward_vector,
)


@kernel
def lstm_forward_step(gates, hs, cs, tanhs, t, prev, cur):
    """gates[t] (B, 4H): the pre-activations in, [i, f, g, o] out; writes cs[cur], tanhs[t] and hs[cur]."""
    lstm_forward_rows(gates, hs, cs, tanhs, t, prev, cur, 0, gates.shape[1])


@inline
def lstm_forward_rows(gates, hs, cs, tanhs, t, prev, cur, lo, hi):
    """:func:`lstm_forward_step` for rows lo .. hi - 1.  Each gate's block is its own view (one contiguous
    stream per result: the loop vectorises)."""
    H = gates.shape[2] // 4
    for n in range(lo, hi):
        a = gates[t, n]
        i, f, g, o = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        c_prev, c, tanh_c, h = cs[prev, n], cs[cur, n], tanhs[t, n], hs[cur, n]
        for j in range(H):
            i[j], f[j], g[j], o[j], c[j], tanh_c[j], h[j] = lstm_unit_forward_vector(i[j], f[j], g[j], o[j],
                                                                                     c_prev[j])


@kernel
def lstm_backward_step(gates, cs, tanhs, dA, dh, dc, t, prev):
    """Writes dA[t] (B, 4H) from dh, dc (B, H) and step t's [i, f, g, o]; dc becomes dL/dc_{t-1}."""
    lstm_backward_rows(gates, cs, tanhs, dA, dh, dc, t, prev, 0, gates.shape[1])


@inline
def lstm_backward_rows(gates, cs, tanhs, dA, dh, dc, t, prev, lo, hi):
    """:func:`lstm_backward_step` for rows lo .. hi - 1."""
    H = gates.shape[2] // 4
    for n in range(lo, hi):
        a, da = gates[t, n], dA[t, n]
        i, f, g, o = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        da_i, da_f, da_g, da_o = da[:H], da[H:2 * H], da[2 * H:3 * H], da[3 * H:]
        tanh_c, d_h, d_c, c_prev = tanhs[t, n], dh[n], dc[n], cs[prev, n]
        for j in range(H):
            da_i[j], da_f[j], da_g[j], da_o[j], d_c[j] = lstm_unit_backward(d_h[j], d_c[j], i[j], f[j], g[j], o[j],
                                                                             c_prev[j], tanh_c[j])


@kernel
def rnn_forward_step(hs, cur, relu):
    """hs[cur] (B, H): the pre-activation in, h_t = tanh(a) or max(a, 0) out (NaN stays NaN, as torch.relu)."""
    a = hs[cur]
    B, H = a.shape
    for n in range(B):
        for j in range(H):
            a[n, j] = rnn_unit_forward_vector(a[n, j], relu)


@kernel
def gru_forward_step(acts, us, hs, t, prev, cur):
    """acts[t] (B, 3H): xw = [x_r; x_z; x_n] in, [r; z; n] out, with us[t] (B, 3H); hs[cur] <- h_t from hs[prev]."""
    a, u = acts[t], us[t]
    B, G = a.shape
    H = G // 3
    for n in range(B):
        r, z, new = a[n, :H], a[n, H:2 * H], a[n, 2 * H:]
        u_r, u_z, u_n = u[n, :H], u[n, H:2 * H], u[n, 2 * H:]
        h_prev, h = hs[prev, n], hs[cur, n]
        for j in range(H):
            r[j], z[j], new[j], h[j] = gru_unit_forward_vector(r[j] + u_r[j], z[j] + u_z[j], new[j], u_n[j], h_prev[j])
