"""The elementwise part of each step fused into one compiled loop (numba), beside the reference steps.

Each step's elementwise work is one loop over the H x N units that reads each value once and
writes each result once (the reference steps in ``cells.py`` make about 25 NumPy passes per LSTM
step); the matrix products stay NumPy's (BLAS).  The per-unit equations are the engine-neutral ones
of :mod:`rnnlab.kernels.units` (the same functions rnnlab.torch's compiled steps call), inlined into
these feature-major loops; the mathematics is exactly that of ``cells.py``.  ``fused.py`` chooses
between the two, through the table :data:`COMPILED`.  Kernels are compiled on first use and cached on
disk (``cache=True``); they run in the calling thread (no numba threads), so the denormal flushing of
:mod:`rnnlab.denormals` applies to them.

tanh in float32 is a rational approximation (:mod:`rnnlab.kernels.scalar`, within 3e-7 of tanh),
tanh(x) = x for |x| < 4e-4; float64 (the gradient checks) uses ``math.tanh``.
sigma(a) = (1 + tanh(a / 2)) / 2 as in ``cells.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..kernels.scalar import kernel, rational_tanh32, tanh_, vector_tanh  # noqa: F401  (re-exported)
from ..kernels.units import (
    gru_unit_backward,
    gru_unit_forward,
    lstm_unit_backward,
    lstm_unit_forward,
    rnn_unit_backward,
    rnn_unit_forward,
)
from .layer_norm import LN_EPS

if TYPE_CHECKING:
    from collections.abc import Callable

    from .workspace import Sweep


@kernel
def lstm_forward_kernel(a, u, c_prev, c, h):
    """a = A_t + U_t (4H, N); [i; f; g; o] = [sigma; sigma; tanh; sigma](a) written over a;
    c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)."""
    H, N = c.shape
    for j in range(H):
        for n in range(N):
            i, f, g, o, cn, _, hn = lstm_unit_forward(a[j, n] + u[j, n], a[H + j, n] + u[H + j, n],
                                                      a[2 * H + j, n] + u[2 * H + j, n],
                                                      a[3 * H + j, n] + u[3 * H + j, n], c_prev[j, n])
            a[j, n], a[H + j, n], a[2 * H + j, n], a[3 * H + j, n] = i, f, g, o
            c[j, n] = cn
            h[j, n] = hn


@kernel
def lstm_backward_kernel(dh, dc, a, c_prev, c):
    """a holds [i; f; g; o] of step t and receives dL/da_t; dc: dL/dc_t in, dL/dc_{t-1} out.

    dc_t = dc + dh o (1 - tanh(c_t)^2);  da_o = dh tanh(c_t) o (1 - o);  da_i = dc_t g i (1 - i);
    da_g = dc_t i (1 - g^2);  da_f = dc_t c_{t-1} f (1 - f);  dc_{t-1} = dc_t f."""
    H, N = c.shape
    for j in range(H):
        for n in range(N):
            da_i, da_f, da_g, da_o, dc_prev = lstm_unit_backward(
                dh[j, n], dc[j, n], a[j, n], a[H + j, n], a[2 * H + j, n], a[3 * H + j, n], c_prev[j, n],
                tanh_(c[j, n]))
            a[j, n], a[H + j, n], a[2 * H + j, n], a[3 * H + j, n] = da_i, da_f, da_g, da_o
            dc[j, n] = dc_prev


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
def rnn_forward_kernel(a, u, h, relu):
    """h_t = tanh(A_t + U_t), or max(A_t + U_t, 0) when ``relu``."""
    H, N = h.shape
    for j in range(H):
        for n in range(N):
            h[j, n] = rnn_unit_forward(a[j, n] + u[j, n], relu)


@kernel
def rnn_backward_kernel(dh, h, da, relu):
    """dL/da_t = dh (1 - h_t^2) (tanh), or dh [h_t > 0] (relu)."""
    H, N = h.shape
    for j in range(H):
        for n in range(N):
            da[j, n] = rnn_unit_backward(dh[j, n], h[j, n], relu)


@kernel
def gru_forward_kernel(a, u, h_prev, h, u_n):
    """r = sigma(x_r + u_r), z = sigma(x_z + u_z), n = tanh(x_n + r u_n), h_t = n + z (h_{t-1} - n);
    [r; z; n] written over a = [x_r; x_z; x_n]; u_n (H, N) keeps W_hn h_{t-1} + b_hn."""
    H, N = h.shape
    for j in range(H):
        for n in range(N):
            un = u[2 * H + j, n]
            r, z, nn, hn = gru_unit_forward(a[j, n] + u[j, n], a[H + j, n] + u[H + j, n], a[2 * H + j, n], un,
                                            h_prev[j, n])
            a[j, n], a[H + j, n], a[2 * H + j, n] = r, z, nn
            u_n[j, n] = un
            h[j, n] = hn


@kernel
def gru_backward_kernel(dh, a, u_n, h_prev, dh_direct, dU):
    """a: [r; z; n] in, [da_r; da_z; da_n] out;  u_n in, dL/du_n out;  dU = [da_r; da_z; du_n];
    dh_direct = dh z.   da_n = dh (1 - z)(1 - n^2),  da_z = dh (h_{t-1} - n) z (1 - z),
    da_r = da_n u_n r (1 - r),  du_n = da_n r."""
    H, N = dh.shape
    for j in range(H):
        for n in range(N):
            da_r, da_z, da_n, du_n, direct = gru_unit_backward(dh[j, n], a[j, n], a[H + j, n], a[2 * H + j, n],
                                                               u_n[j, n], h_prev[j, n])
            dh_direct[j, n] = direct
            a[j, n], a[H + j, n], a[2 * H + j, n] = da_r, da_z, da_n
            u_n[j, n] = du_n
            dU[j, n], dU[H + j, n], dU[2 * H + j, n] = da_r, da_z, du_n


# ---------------------------------------------------------------------------------------
# The engine's uniform steps (see the end of ``cells.py`` for what each must leave where).
# ---------------------------------------------------------------------------------------

def rnn_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """h_t = tanh(A_t + U_t) or relu(A_t + U_t), in one pass."""
    rnn_forward_kernel(sw.gates[t], sw.u, sw.hs[cur], sw.nonlinearity == "relu")


def rnn_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/dA_t in one pass;  dL/dh_{t-1} = W_hh^T dL/dA_t."""
    a = sw.gates[t]
    rnn_backward_kernel(sw.dh, sw.hs[cur], a, sw.nonlinearity == "relu")
    sw.hh_T(a, out=sw.dh)
    return a


def lstm_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """The LSTM step from (h, c)_{t-1} to (h, c)_t, in one pass (two with layer norm in the cell)."""
    if sw.gain is not None:
        layer_norm_forward_kernel(sw.gates[t], sw.u, sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.shift,
                                  sw.u.dtype.type(LN_EPS))
    lstm_forward_kernel(sw.gates[t], sw.u, sw.cs[prev], sw.cs[cur], sw.hs[cur])


def lstm_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/dA_t and dL/dc_{t-1} in one pass;  dL/dh_{t-1} = W_hh^T dL/dA_t."""
    a = sw.gates[t]
    lstm_backward_kernel(sw.dh, sw.dc, a, sw.cs[prev], sw.cs[cur])
    if sw.gain is not None:
        layer_norm_backward_kernel(a, sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.d_gain, sw.d_shift)
    sw.hh_T(a, out=sw.dh)
    return a


def gru_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """The GRU step from A_t = [x_r; x_z; x_n] and U_t = [u_r; u_z; u_n], in one pass."""
    gru_forward_kernel(sw.gates[t], sw.u, sw.hs[prev], sw.hs[cur], sw.u_n[t])


def gru_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/dA_t, dL/dU_t in one pass;  dL/dh_{t-1} = dh z + W_hh^T dL/dU_t."""
    gru_backward_kernel(sw.dh, sw.gates[t], sw.u_n[t], sw.hs[prev], sw.t2, sw.u)
    sw.hh_T(sw.u, out=sw.dh)
    sw.dh += sw.t2
    return sw.u


@dataclass(frozen=True)
class Compiled:
    """A compiled step pair; ``layer_norm``: it does layer norm in the cell too (else the reference runs)."""
    forward: Callable
    backward: Callable
    layer_norm: bool = False


COMPILED: dict[str, Compiled] = {
    "rnn": Compiled(rnn_forward, rnn_backward),
    "lstm": Compiled(lstm_forward, lstm_backward, layer_norm=True),
    "gru": Compiled(gru_forward, gru_backward),
}
