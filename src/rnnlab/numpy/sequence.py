"""A whole sequence's time loop in one compiled call: the recurrent products inside it (BLAS), forward and backward.

The step-by-step loop of ``recurrent.py`` calls, per step, a matrix product and a compiled step from Python
(and, backward, three products); at 28 steps of batch 64 those calls cost 7-11 % of a training step
(``docs/engines.md``, Peers).  Here the same loop is compiled whole (numba): each step's products call
BLAS's gemm directly (:mod:`rnnlab.kernels.blas`) and its elementwise part is the fused steps' per-unit
code (:mod:`rnnlab.kernels.units`), so the mathematics is exactly that of ``fused_steps.py`` and ``cells.py``:

    forward, for each step t in the direction's order (prev, cur as in ``workspace.step_order``):
        U_t = W_hh h_prev (+ b_hh where a gate multiplies it: the GRU)
        the cell's unit step on A_t + U_t  ->  h_cur (c_cur), the activations written over A_t
    backward, in the opposite order, with dh = dL/dh_cur (+ the output's gradient at t):
        the unit's backward step  ->  dL/dA_t over the activations (dL/dU_t: the GRU's in ``u``), dc
        dW_hh += dU_t h_prev^T      dW_ih += dA_t x_t^T      dh = W_hh^T dU_t (+ dh z_t: the GRU)

The LSTM with layer norm in the cell runs its two compiled steps (``layer_norm_forward_kernel``, then
``lstm_forward_kernel``; backward the reverse) inside the same loop.

It runs where the step-by-step loop would run the compiled steps with a full W_hh and nothing per step to
keep apart: no padded steps (equal lengths), no recorded dL/dh_t, layer norm only in the LSTM, and BLAS
found (``kernels.blas.ADDRESSES``).  ``RecurrentNet(..., sequence=False)`` keeps the step-by-step loop; the
tests hold the two equal (``tests/test_sequence_kernels.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels.blas import ADDRESSES, NO, TRANS, gemm
from ..kernels.scalar import kernel
from ..kernels.units import (
    gru_unit_backward,
    gru_unit_forward,
    lstm_unit_backward,
    lstm_unit_forward,
    rnn_unit_backward,
    rnn_unit_forward,
)
from .fused_steps import (
    layer_norm_backward_kernel,
    layer_norm_forward_kernel,
    lstm_backward_kernel,
    lstm_forward_kernel,
    tanh_,
)
from .layer_norm import LN_EPS


@kernel
def _recurrent_product(address, W, h, u):
    """u = W h   (G*H, H) x (H, N)."""
    GH, H = W.shape
    N = h.shape[1]
    gemm(address, NO, NO, GH, N, H, W.dtype.type(1), W.ctypes.data, H, h.ctypes.data, N, W.dtype.type(0),
         u.ctypes.data, N)


@kernel
def _weight_grad(address, d, v, dW):
    """dW += d v^T   (G*H, N) x (N, K): dW_hh += dU_t h_{t-1}^T (K = H) and dW_ih += dA_t x_t^T (K = D)."""
    GH, N = d.shape
    K = v.shape[0]
    one = d.dtype.type(1)
    gemm(address, NO, TRANS, GH, K, N, one, d.ctypes.data, N, v.ctypes.data, N, one, dW.ctypes.data, K)


@kernel
def _back_product(address, W, du, dh, beta):
    """dh = W^T dU_t + beta dh   (H, G*H) x (G*H, N)."""
    GH, H = W.shape
    N = du.shape[1]
    gemm(address, TRANS, NO, H, N, GH, W.dtype.type(1), W.ctypes.data, H, du.ctypes.data, N, beta, dh.ctypes.data, N)


@kernel
def _step_products(address, W, du, da, h_prev, x, dh, beta, dW_hh, dW_ih):
    """The products of one backward step: dW_hh += dU_t h_{t-1}^T, dW_ih += dA_t x_t^T, dh = W^T dU_t + beta dh
    (dU_t = dA_t for the RNN and the LSTM; the GRU's recurrent side has its own, with beta = 1)."""
    _weight_grad(address, du, h_prev, dW_hh)
    _weight_grad(address, da, x, dW_ih)
    _back_product(address, W, du, dh, beta)


@kernel
def rnn_sequence_forward(address, W, a, hs, u, relu, reverse):
    """h_cur = tanh(A_t + W_hh h_prev) (or relu) for every step, in the direction's order."""
    T, H, N = a.shape
    for s in range(T):
        t = T - 1 - s if reverse else s
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        _recurrent_product(address, W, hs[prev], u)
        for j in range(H):
            for n in range(N):
                hs[cur, j, n] = rnn_unit_forward(a[t, j, n] + u[j, n], relu)


@kernel
def rnn_sequence_backward(address, W, a, hs, x, d_out, dh, dW_hh, dW_ih, relu, reverse):
    """BPTT of :func:`rnn_sequence_forward`: dA_t over a[t], dW_hh, dW_ih added to, dh <- dL/dh0.
    ``d_out`` (T, H, N) the outputs' gradient (T = 0: none)."""
    T, H, N = a.shape
    zero = a.dtype.type(0)
    for s in range(T):
        t = s if reverse else T - 1 - s
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        for j in range(H):
            for n in range(N):
                g = dh[j, n] + d_out[t, j, n] if d_out.shape[0] else dh[j, n]
                a[t, j, n] = rnn_unit_backward(g, hs[cur, j, n], relu)
        _step_products(address, W, a[t], a[t], hs[prev], x[t], dh, zero, dW_hh, dW_ih)


@kernel
def lstm_sequence_forward(address, W, a, hs, cs, u, reverse):
    """The LSTM step for every step: [i; f; g; o] over A_t, c_cur = f c_prev + i g, h_cur = o tanh(c_cur)."""
    T, GH, N = a.shape
    H = GH // 4
    for s in range(T):
        t = T - 1 - s if reverse else s
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        _recurrent_product(address, W, hs[prev], u)
        for j in range(H):
            for n in range(N):
                i, f, g, o, c, _, h = lstm_unit_forward(a[t, j, n] + u[j, n], a[t, H + j, n] + u[H + j, n],
                                                        a[t, 2 * H + j, n] + u[2 * H + j, n],
                                                        a[t, 3 * H + j, n] + u[3 * H + j, n], cs[prev, j, n])
                a[t, j, n], a[t, H + j, n], a[t, 2 * H + j, n], a[t, 3 * H + j, n] = i, f, g, o
                cs[cur, j, n] = c
                hs[cur, j, n] = h


@kernel
def lstm_sequence_backward(address, W, a, hs, cs, x, d_out, dh, dc, dW_hh, dW_ih, reverse):
    """BPTT of :func:`lstm_sequence_forward`; dc: dL/dc_T in, dL/dc_0 out."""
    T, GH, N = a.shape
    H = GH // 4
    zero = a.dtype.type(0)
    for s in range(T):
        t = s if reverse else T - 1 - s
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        for j in range(H):
            for n in range(N):
                g = dh[j, n] + d_out[t, j, n] if d_out.shape[0] else dh[j, n]
                da_i, da_f, da_g, da_o, dc_prev = lstm_unit_backward(
                    g, dc[j, n], a[t, j, n], a[t, H + j, n], a[t, 2 * H + j, n], a[t, 3 * H + j, n],
                    cs[prev, j, n], tanh_(cs[cur, j, n]))
                a[t, j, n], a[t, H + j, n], a[t, 2 * H + j, n], a[t, 3 * H + j, n] = da_i, da_f, da_g, da_o
                dc[j, n] = dc_prev
        _step_products(address, W, a[t], a[t], hs[prev], x[t], dh, zero, dW_hh, dW_ih)


@kernel
def ln_lstm_sequence_forward(address, W, a, hs, cs, u, xhat, rstd, gain, shift, eps, reverse):
    """The LSTM with layer norm in the cell for every step: U_t = W_hh h_prev, then LN(A_t + U_t) per gate block
    and the LSTM step on it, the two compiled steps of ``fused_steps.py`` (x_hat and 1/std kept per step)."""
    T = a.shape[0]
    for s in range(T):
        t = T - 1 - s if reverse else s
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        _recurrent_product(address, W, hs[prev], u)
        layer_norm_forward_kernel(a[t], u, xhat[t], rstd[t], gain, shift, eps)
        lstm_forward_kernel(a[t], u, cs[prev], cs[cur], hs[cur])


@kernel
def ln_lstm_sequence_backward(address, W, a, hs, cs, x, d_out, dh, dc, xhat, rstd, gain, d_gain, d_shift,
                              dW_hh, dW_ih, reverse):
    """BPTT of :func:`ln_lstm_sequence_forward`: per step the LSTM's backward step, then layer norm's (dA_t over
    a[t]; d_gain, d_shift added to), then the products; dc: dL/dc_T in, dL/dc_0 out."""
    T, _, N = a.shape
    H = dh.shape[0]
    zero = a.dtype.type(0)
    for s in range(T):
        t = s if reverse else T - 1 - s
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        if d_out.shape[0]:
            for j in range(H):
                for n in range(N):
                    dh[j, n] += d_out[t, j, n]
        lstm_backward_kernel(dh, dc, a[t], cs[prev], cs[cur])
        layer_norm_backward_kernel(a[t], xhat[t], rstd[t], gain, d_gain, d_shift)
        _step_products(address, W, a[t], a[t], hs[prev], x[t], dh, zero, dW_hh, dW_ih)


@kernel
def gru_sequence_forward(address, W, b_hh, a, hs, u, u_n, reverse):
    """The GRU step for every step: U_t = W_hh h_prev + b_hh; [r; z; n] over A_t; u_n[t] keeps W_hn h + b_hn."""
    T, GH, N = a.shape
    H = GH // 3
    for s in range(T):
        t = T - 1 - s if reverse else s
        prev, cur = (t + 1, t) if reverse else (t, t + 1)
        _recurrent_product(address, W, hs[prev], u)
        for j in range(H):
            for n in range(N):
                un = u[2 * H + j, n] + b_hh[2 * H + j]
                r, z, nn, h = gru_unit_forward(a[t, j, n] + (u[j, n] + b_hh[j]),
                                               a[t, H + j, n] + (u[H + j, n] + b_hh[H + j]), a[t, 2 * H + j, n],
                                               un, hs[prev, j, n])
                a[t, j, n], a[t, H + j, n], a[t, 2 * H + j, n] = r, z, nn
                u_n[t, j, n] = un
                hs[cur, j, n] = h


@kernel
def gru_sequence_backward(address, W, a, hs, u_n, x, d_out, dh, du, dW_hh, dW_ih, reverse):
    """BPTT of :func:`gru_sequence_forward`: dA_t over a[t], dL/du_n over u_n[t], dU_t in ``du``;
    dh <- dh z_t + W_hh^T dU_t per step."""
    T, GH, N = a.shape
    H = GH // 3
    one = a.dtype.type(1)
    for s in range(T):
        t = s if reverse else T - 1 - s
        prev = t + 1 if reverse else t
        for j in range(H):
            for n in range(N):
                g = dh[j, n] + d_out[t, j, n] if d_out.shape[0] else dh[j, n]
                da_r, da_z, da_n, du_n, d_direct = gru_unit_backward(g, a[t, j, n], a[t, H + j, n],
                                                                     a[t, 2 * H + j, n], u_n[t, j, n], hs[prev, j, n])
                a[t, j, n], a[t, H + j, n], a[t, 2 * H + j, n] = da_r, da_z, da_n
                u_n[t, j, n] = du_n
                du[j, n], du[H + j, n], du[2 * H + j, n] = da_r, da_z, du_n
                dh[j, n] = d_direct
        _step_products(address, W, du, a[t], hs[prev], x[t], dh, one, dW_hh, dW_ih)


# ---------------------------------------------------------------------------------------
# What the engine calls: one forward and one backward per layer and direction.
# ---------------------------------------------------------------------------------------

def _output_grad(sw, d_out) -> np.ndarray:
    """The outputs' gradient (T, H, N) as one contiguous array (one compiled variant), or an empty one."""
    return np.zeros((0, 1, 1), sw.hs.dtype) if d_out is None else np.ascontiguousarray(d_out)


def rnn_forward(sw, W, b_hh, reverse: bool) -> None:
    rnn_sequence_forward(ADDRESSES[W.dtype], W, sw.gates, sw.hs, sw.u, sw.nonlinearity == "relu", reverse)


def rnn_backward(sw, W, X, d_out, dW_hh, dW_ih, reverse: bool) -> None:
    rnn_sequence_backward(ADDRESSES[W.dtype], W, sw.gates, sw.hs, X, _output_grad(sw, d_out),
                          sw.dh, dW_hh, dW_ih, sw.nonlinearity == "relu", reverse)


def lstm_forward(sw, W, b_hh, reverse: bool) -> None:
    lstm_sequence_forward(ADDRESSES[W.dtype], W, sw.gates, sw.hs, sw.cs, sw.u, reverse)


def lstm_backward(sw, W, X, d_out, dW_hh, dW_ih, reverse: bool) -> None:
    lstm_sequence_backward(ADDRESSES[W.dtype], W, sw.gates, sw.hs, sw.cs, X,
                           _output_grad(sw, d_out), sw.dh, sw.dc, dW_hh, dW_ih, reverse)


def ln_lstm_forward(sw, W, b_hh, reverse: bool) -> None:
    ln_lstm_sequence_forward(ADDRESSES[W.dtype], W, sw.gates, sw.hs, sw.cs, sw.u, sw.ln_xhat, sw.ln_rstd, sw.gain,
                             sw.shift, sw.u.dtype.type(LN_EPS), reverse)


def ln_lstm_backward(sw, W, X, d_out, dW_hh, dW_ih, reverse: bool) -> None:
    ln_lstm_sequence_backward(ADDRESSES[W.dtype], W, sw.gates, sw.hs, sw.cs, X, _output_grad(sw, d_out), sw.dh,
                              sw.dc, sw.ln_xhat, sw.ln_rstd, sw.gain, sw.d_gain, sw.d_shift, dW_hh, dW_ih, reverse)


def gru_forward(sw, W, b_hh, reverse: bool) -> None:
    bias = np.zeros(W.shape[0], W.dtype) if b_hh is None else b_hh
    gru_sequence_forward(ADDRESSES[W.dtype], W, bias, sw.gates, sw.hs, sw.u, sw.u_n, reverse)


def gru_backward(sw, W, X, d_out, dW_hh, dW_ih, reverse: bool) -> None:
    gru_sequence_backward(ADDRESSES[W.dtype], W, sw.gates, sw.hs, sw.u_n, X,
                          _output_grad(sw, d_out), sw.dh, sw.u, dW_hh, dW_ih, reverse)


@dataclass(frozen=True)
class SequencePair:
    """forward(sweep, W_hh, b_hh or None, reverse); backward(sweep, W_hh, X, d_out or None, dW_hh, dW_ih, reverse)."""
    forward: object
    backward: object


# by the name of the compiled step pair (``fused_steps.COMPILED``) whose per-unit code these loops run
SEQUENCES: dict[str, SequencePair] = {
    "rnn": SequencePair(rnn_forward, rnn_backward),
    "lstm": SequencePair(lstm_forward, lstm_backward),
    "lstm-ln": SequencePair(ln_lstm_forward, ln_lstm_backward),     # with layer norm in the cell
    "gru": SequencePair(gru_forward, gru_backward),
}
