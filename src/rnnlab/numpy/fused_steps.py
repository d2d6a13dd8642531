"""The elementwise part of each step fused into one compiled loop (numba), beside the reference steps.

Each step's elementwise work is one loop over the H x N units that reads each value once and
writes each result once (the reference steps in ``cells.py`` make about 25 NumPy passes per LSTM
step); the matrix products stay NumPy's (BLAS).  The mathematics is exactly that of ``cells.py``,
restated at each kernel.  ``fused.py`` chooses between the two.  Kernels are compiled on first use
and cached on disk (``cache=True``); they run in the calling thread (no numba threads), so the
denormal flushing of :mod:`rnnlab.denormals` applies to them.

tanh in float32 is a rational approximation (Eigen's, within 3e-7 of tanh, a few units in the last
place), because a call to the C library's tanhf per element cannot be vectorised; float64 (the
gradient checks) uses ``math.tanh``.  sigma(a) = (1 + tanh(a / 2)) / 2 as in ``cells.py``.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .layer_norm import LN_EPS

if TYPE_CHECKING:
    from .workspace import Sweep

# Eigen's rational approximation of tanh in float32: x clamped to [-C, C], tanh(x) ~ x P(x^2) / Q(x^2).
_C = np.float32(7.90531110763549805)
_ALPHA = [np.float32(v) for v in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                                  5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                                  4.89352455891786e-03)]
_BETA = [np.float32(v) for v in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                                 4.89352518554385e-03)]
A13, A11, A9, A7, A5, A3, A1 = _ALPHA
B6, B4, B2, B0 = _BETA
_TINY = np.float32(4e-4)


def tanh_(x):
    """tanh of one number: the float32 approximation or ``math.tanh`` (the kernels' choice by type)."""
    return math.tanh(x)


def rational_tanh32(x):
    """tanh(x) = x P(x^2) / Q(x^2) on x clamped to [-C, C], all in float32, without a branch (so that LLVM
    vectorises a loop of them)."""
    y = min(max(x, -_C), _C)
    y2 = y * y
    p = ((((((A13 * y2 + A11) * y2 + A9) * y2 + A7) * y2 + A5) * y2 + A3) * y2 + A1) * y
    q = ((B6 * y2 + B4) * y2 + B2) * y2 + B0
    return p / q


def vector_tanh(x):
    """tanh of one number, branch-free in float32 (:func:`rational_tanh32`), ``math.tanh`` otherwise."""
    return math.tanh(x)


@overload(vector_tanh)
def _vector_tanh_by_type(x):
    if x == types.float32:
        return rational_tanh32
    return lambda x: math.tanh(x)


def _tanh32(x):
    """:func:`rational_tanh32`, and x itself where |x| < 4e-4."""
    return x if abs(x) < _TINY else vector_tanh(x)


@overload(tanh_)
def _tanh_by_type(x):
    if x == types.float32:
        return _tanh32
    return lambda x: math.tanh(x)


kernel = numba.njit(cache=True, nogil=True, error_model="numpy")


@kernel
def lstm_forward_kernel(a, u, c_prev, c, h, one, half):
    """a = A_t + U_t (4H, N); [i; f; g; o] = [sigma; sigma; tanh; sigma](a) written over a;
    c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)."""
    H, N = c.shape
    for j in range(H):
        for n in range(N):
            i = half * (one + tanh_(half * (a[j, n] + u[j, n])))
            f = half * (one + tanh_(half * (a[H + j, n] + u[H + j, n])))
            g = tanh_(a[2 * H + j, n] + u[2 * H + j, n])
            o = half * (one + tanh_(half * (a[3 * H + j, n] + u[3 * H + j, n])))
            a[j, n], a[H + j, n], a[2 * H + j, n], a[3 * H + j, n] = i, f, g, o
            cn = f * c_prev[j, n] + i * g
            c[j, n] = cn
            h[j, n] = o * tanh_(cn)


@kernel
def lstm_backward_kernel(dh, dc, a, c_prev, c, one):
    """a holds [i; f; g; o] of step t and receives dL/da_t; dc: dL/dc_t in, dL/dc_{t-1} out.

    dc_t = dc + dh o (1 - tanh(c_t)^2);  da_o = dh tanh(c_t) o (1 - o);  da_i = dc_t g i (1 - i);
    da_g = dc_t i (1 - g^2);  da_f = dc_t c_{t-1} f (1 - f);  dc_{t-1} = dc_t f."""
    H, N = c.shape
    for j in range(H):
        for n in range(N):
            i, f, g, o = a[j, n], a[H + j, n], a[2 * H + j, n], a[3 * H + j, n]
            d, tc = dh[j, n], tanh_(c[j, n])
            dct = dc[j, n] + d * o * (one - tc * tc)
            a[j, n] = dct * g * i * (one - i)
            a[H + j, n] = dct * c_prev[j, n] * f * (one - f)
            a[2 * H + j, n] = dct * i * (one - g * g)
            a[3 * H + j, n] = d * tc * o * (one - o)
            dc[j, n] = dct * f


@kernel
def layer_norm_forward_kernel(a, u, xhat, rstd, gain, shift, eps):
    """Layer norm of the LSTM's pre-activation a + u per gate block (G blocks of H rows) and column, as
    ``layer_norm.py``:  x_hat = (v - mean v) / sqrt(var v + eps),  LN(v) = gain x_hat + shift.
    Writes LN(a + u) into u and clears a, so that the step kernel's a + u is the normalised value;
    keeps x_hat (G*H, N) and 1/std (G, 1, N).  The inner loops run along a row (the batch, contiguous)."""
    G = rstd.shape[0]
    GH, N = a.shape
    H = GH // G
    inv_h = a.dtype.type(1.0 / H)
    one = a.dtype.type(1)
    for k in range(G):
        mean = np.zeros(N, dtype=a.dtype)
        var = np.zeros(N, dtype=a.dtype)
        r = rstd[k, 0]
        for row in range(k * H, (k + 1) * H):
            for n in range(N):
                v = a[row, n] + u[row, n]
                xhat[row, n] = v
                mean[n] += v
        for row in range(k * H, (k + 1) * H):
            for n in range(N):
                d = xhat[row, n] - mean[n] * inv_h
                xhat[row, n] = d
                var[n] += d * d
        for n in range(N):
            r[n] = one / math.sqrt(var[n] * inv_h + eps)
        for row in range(k * H, (k + 1) * H):
            g, b = gain[row, 0], shift[row, 0]
            for n in range(N):
                x = xhat[row, n] * r[n]
                xhat[row, n] = x
                u[row, n] = g * x + b
                a[row, n] = 0


@kernel
def layer_norm_backward_kernel(da, xhat, rstd, gain, d_gain, d_shift):
    """In place: da = dL/dLN (G*H, N) becomes the gradient of the normalised input, as ``layer_norm.py``:
    d_shift += sum_n da,  d_gain += sum_n da x_hat,  dx_hat = gain da,
    da = r (dx_hat - mean(dx_hat) - x_hat mean(dx_hat x_hat))  per block and column."""
    G = rstd.shape[0]
    GH, N = da.shape
    H = GH // G
    inv_h = da.dtype.type(1.0 / H)
    for row in range(GH):
        s, sg = da.dtype.type(0), da.dtype.type(0)
        for n in range(N):
            s += da[row, n]
            sg += da[row, n] * xhat[row, n]
        d_shift[row] += s
        d_gain[row] += sg
    for k in range(G):
        m1 = np.zeros(N, dtype=da.dtype)
        m2 = np.zeros(N, dtype=da.dtype)
        for row in range(k * H, (k + 1) * H):
            g = gain[row, 0]
            for n in range(N):
                dx = da[row, n] * g
                da[row, n] = dx
                m1[n] += dx
                m2[n] += dx * xhat[row, n]
        r = rstd[k, 0]
        for row in range(k * H, (k + 1) * H):
            for n in range(N):
                da[row, n] = r[n] * (da[row, n] - m1[n] * inv_h - xhat[row, n] * m2[n] * inv_h)


@kernel
def rnn_forward_kernel(a, u, h, relu, one):
    """h_t = tanh(A_t + U_t), or max(A_t + U_t, 0) when ``relu``."""
    H, N = h.shape
    zero = one - one
    for j in range(H):
        for n in range(N):
            s = a[j, n] + u[j, n]
            h[j, n] = (s if s > zero else zero) if relu else tanh_(s)


@kernel
def rnn_backward_kernel(dh, h, da, relu, one):
    """dL/da_t = dh (1 - h_t^2) (tanh), or dh [h_t > 0] (relu)."""
    H, N = h.shape
    zero = one - one
    for j in range(H):
        for n in range(N):
            v = h[j, n]
            da[j, n] = (dh[j, n] if v > zero else zero) if relu else dh[j, n] * (one - v * v)


@kernel
def gru_forward_kernel(a, u, h_prev, h, u_n, one, half):
    """r = sigma(x_r + u_r), z = sigma(x_z + u_z), n = tanh(x_n + r u_n), h_t = n + z (h_{t-1} - n);
    [r; z; n] written over a = [x_r; x_z; x_n]; u_n (H, N) keeps W_hn h_{t-1} + b_hn."""
    H, N = h.shape
    for j in range(H):
        for n in range(N):
            r = half * (one + tanh_(half * (a[j, n] + u[j, n])))
            z = half * (one + tanh_(half * (a[H + j, n] + u[H + j, n])))
            un = u[2 * H + j, n]
            nn = tanh_(a[2 * H + j, n] + r * un)
            a[j, n], a[H + j, n], a[2 * H + j, n] = r, z, nn
            u_n[j, n] = un
            h[j, n] = nn + z * (h_prev[j, n] - nn)


@kernel
def gru_backward_kernel(dh, a, u_n, h_prev, dh_direct, dU, one):
    """a: [r; z; n] in, [da_r; da_z; da_n] out;  u_n in, dL/du_n out;  dU = [da_r; da_z; du_n];
    dh_direct = dh z.   da_n = dh (1 - z)(1 - n^2),  da_z = dh (h_{t-1} - n) z (1 - z),
    da_r = da_n u_n r (1 - r),  du_n = da_n r."""
    H, N = dh.shape
    for j in range(H):
        for n in range(N):
            r, z, nn, d = a[j, n], a[H + j, n], a[2 * H + j, n], dh[j, n]
            dh_direct[j, n] = d * z
            da_z = d * (h_prev[j, n] - nn) * z * (one - z)
            da_n = d * (one - z) * (one - nn * nn)
            da_r = da_n * u_n[j, n] * r * (one - r)
            du_n = da_n * r
            a[j, n], a[H + j, n], a[2 * H + j, n] = da_r, da_z, da_n
            u_n[j, n] = du_n
            dU[j, n], dU[H + j, n], dU[2 * H + j, n] = da_r, da_z, du_n


# ---------------------------------------------------------------------------------------
# The engine's uniform steps (see the end of ``cells.py`` for what each must leave where).
# ---------------------------------------------------------------------------------------

def _one_half(sw: Sweep) -> tuple[np.generic, np.generic]:
    scalar = sw.u.dtype.type
    return scalar(1), scalar(0.5)


def rnn_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """h_t = tanh(A_t + U_t) or relu(A_t + U_t), in one pass."""
    rnn_forward_kernel(sw.gates[t], sw.u, sw.hs[cur], sw.nonlinearity == "relu", _one_half(sw)[0])


def rnn_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/dA_t in one pass;  dL/dh_{t-1} = W_hh^T dL/dA_t."""
    a = sw.gates[t]
    rnn_backward_kernel(sw.dh, sw.hs[cur], a, sw.nonlinearity == "relu", _one_half(sw)[0])
    np.matmul(sw.W_hh_T, a, out=sw.dh)
    return a


def lstm_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """The LSTM step from (h, c)_{t-1} to (h, c)_t, in one pass (two with layer norm in the cell)."""
    if sw.gain is not None:
        layer_norm_forward_kernel(sw.gates[t], sw.u, sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.shift,
                                  sw.u.dtype.type(LN_EPS))
    lstm_forward_kernel(sw.gates[t], sw.u, sw.cs[prev], sw.cs[cur], sw.hs[cur], *_one_half(sw))


def lstm_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/dA_t and dL/dc_{t-1} in one pass;  dL/dh_{t-1} = W_hh^T dL/dA_t."""
    a = sw.gates[t]
    lstm_backward_kernel(sw.dh, sw.dc, a, sw.cs[prev], sw.cs[cur], _one_half(sw)[0])
    if sw.gain is not None:
        layer_norm_backward_kernel(a, sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.d_gain, sw.d_shift)
    np.matmul(sw.W_hh_T, a, out=sw.dh)
    return a


def gru_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """The GRU step from A_t = [x_r; x_z; x_n] and U_t = [u_r; u_z; u_n], in one pass."""
    gru_forward_kernel(sw.gates[t], sw.u, sw.hs[prev], sw.hs[cur], sw.u_n[t], *_one_half(sw))


def gru_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/dA_t, dL/dU_t in one pass;  dL/dh_{t-1} = dh z + W_hh^T dL/dU_t."""
    gru_backward_kernel(sw.dh, sw.gates[t], sw.u_n[t], sw.hs[prev], sw.t2, sw.u, _one_half(sw)[0])
    np.matmul(sw.W_hh_T, sw.u, out=sw.dh)
    sw.dh += sw.t2
    return sw.u


STEPS = {"rnn_forward": rnn_forward, "rnn_backward": rnn_backward, "lstm_forward": lstm_forward,
         "lstm_backward": lstm_backward, "gru_forward": gru_forward, "gru_backward": gru_backward}

