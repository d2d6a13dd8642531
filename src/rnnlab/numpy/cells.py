"""One time step of each recurrent cell, forward and backward, written by hand.

Notation (Assignment 2, Lab sheet 9): x_t is the input at step t, h_{t-1} the previous hidden state,
a_t the pre-activation of all gates of one step in one fused product::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        (G*H, N)

Gate order is torch.nn's: LSTM [i ; f ; g ; o], GRU [r ; z ; n], RNN a single block.
The input part ``W_ih x_t + b_ih`` of every step is computed before the time loop in one
product (see ``recurrent.py``); these functions receive the pre-activations of one step.

Arrays are feature-major, as in the course's column vectors: ``(features, N)``, one column
per sequence of the batch, so that each gate is a contiguous block of rows (elementwise work on
contiguous blocks, and the per-step products, run about twice as fast as on batch-major rows).
For speed the functions work in place on preallocated buffers: the forward step overwrites the
pre-activations with the gate activations; the backward step overwrites the activations with
dL/da_t, the gradient of the loss with respect to the pre-activations, which is what the
weight gradients need.

The sigmoid is evaluated as sigma(a) = (1 + tanh(a / 2)) / 2, which never overflows.

Each cell has two layers of functions here.  The ``*_step_forward`` / ``*_step_backward``
functions are the mathematics of one step on plain arrays (the per-sample classes of
``rnnlab.classic`` call them directly).  The ``*_forward`` / ``*_backward`` functions below them
are the same step in the engine's uniform form, ``(sweep, t, prev, cur)``, with every array in a
:class:`~rnnlab.numpy.workspace.Sweep`.  The engine's table of implementations,
:data:`IMPLEMENTATIONS` at the end, maps each cell of the registry (``rnnlab/cells.py``) to its
pair; the engine binds the pair once before its time loop, so the loop never asks which cell it
runs.  These are the readable reference: where numba is installed the engine runs a cell's
compiled pair (``fused_steps.py``) if the table names one, the same uniform steps with each step's
elementwise work compiled into one loop (``fused.py`` chooses; ``RNNLAB_FUSED=0`` keeps these).

The recurrent product U_t = W_hh h_{t-1} and dL/dh_{t-1} = W_hh^T dU_t are the engine's
(``recurrence.py``, by the registry's ``recurrent_weight``): a full matrix, or the IndRNN's
diagonal u, for which both are elementwise products.  A step's backward calls ``sweep.hh_T``.

Layer normalisation in the cell (``sweep.gain`` not None): each gate's pre-activation is
normalised over its H units before its nonlinearity (``layer_norm.py``); x_hat and 1/std are
kept per step for the backward pass, which passes the gradient back through the normalisation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from . import linear, lru
from .layer_norm import layer_norm_backward, layer_norm_forward

if TYPE_CHECKING:
    from collections.abc import Callable

    from .workspace import Sweep


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """In place: a <- sigma(a) = 1 / (1 + exp(-a)) = (1 + tanh(a/2)) / 2."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


# ---------------------------------------------------------------------------------------
# Vanilla RNN
# ---------------------------------------------------------------------------------------

def rnn_step_forward(a: np.ndarray, h_out: np.ndarray, nonlinearity: str) -> None:
    """Vanilla RNN step.

    a: (H, N) pre-activation a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh.
    h_out: (H, N) receives  h_t = tanh(a_t)  or  h_t = relu(a_t) = max(a_t, 0).
    """
    if nonlinearity == "tanh":
        np.tanh(a, out=h_out)
    else:
        np.maximum(a, 0, out=h_out)


def rnn_step_backward(dh: np.ndarray, h: np.ndarray, nonlinearity: str, da_out: np.ndarray) -> None:
    """Backward of the vanilla RNN step.

    dh: (H, N) dL/dh_t (from the output at step t and from step t+1).
    h: (H, N) h_t as computed by the forward step.
    da_out: (H, N) receives dL/da_t:
        tanh:  dL/da_t = dL/dh_t * (1 - h_t^2)
        relu:  dL/da_t = dL/dh_t * [h_t > 0]
    The caller then forms dL/dh_{t-1} = W_hh^T dL/da_t.
    """
    if nonlinearity == "tanh":
        np.multiply(h, h, out=da_out)
        np.subtract(1.0, da_out, out=da_out)
        da_out *= dh
    else:
        np.greater(h, 0, out=da_out)  # 1.0 / 0.0 in the float buffer
        da_out *= dh


# ---------------------------------------------------------------------------------------
# LSTM (Hochreiter & Schmidhuber 1997, with forget gate; torch.nn.LSTM gate order i, f, g, o)
# ---------------------------------------------------------------------------------------

def lstm_step_forward(gates: np.ndarray, c_prev: np.ndarray, c: np.ndarray, h: np.ndarray,
                      tmp: np.ndarray) -> None:
    """LSTM step.

    gates: (4H, N) pre-activations [a_i ; a_f ; a_g ; a_o] (row blocks); overwritten with [i ; f ; g ; o]:
        i_t = sigma(a_i)          input gate
        f_t = sigma(a_f)          forget gate
        g_t = tanh(a_g)           candidate cell
        o_t = sigma(a_o)          output gate
    c_prev: (H, N) c_{t-1};  c: (H, N) receives  c_t = f_t * c_{t-1} + i_t * g_t
    h: (H, N) receives  h_t = o_t * tanh(c_t);  tmp: (H, N) scratch.
    """
    H = c.shape[0]
    sigmoid_(gates[: 2 * H])
    np.tanh(gates[2 * H: 3 * H], out=gates[2 * H: 3 * H])
    sigmoid_(gates[3 * H:])
    i, f, g, o = gates[:H], gates[H: 2 * H], gates[2 * H: 3 * H], gates[3 * H:]
    np.multiply(f, c_prev, out=c)
    np.multiply(i, g, out=tmp)
    c += tmp
    np.tanh(c, out=tmp)
    np.multiply(o, tmp, out=h)


def lstm_step_backward(dh: np.ndarray, dc: np.ndarray, gates: np.ndarray, c_prev: np.ndarray,
                       c: np.ndarray, tmp1: np.ndarray, tmp2: np.ndarray) -> None:
    """Backward of the LSTM step.

    dh: (H, N) dL/dh_t (total: from the output at t and from step t+1).
    dc: (H, N) dL/dc_t arriving from step t+1; updated in place to dL/dc_{t-1}.
    gates: (4H, N) activations [i ; f ; g ; o] of step t; overwritten with dL/da_t.
    c_prev, c: (H, N) c_{t-1} and c_t.  tmp1, tmp2: (H, N) scratch.

        tanh_c   = tanh(c_t)                     (recomputed: cheaper than storing it)
        dc_t     = dc + dh * o * (1 - tanh_c^2)
        dL/da_o  = dh * tanh_c * o * (1 - o)
        dL/da_i  = dc_t * g * i * (1 - i)
        dL/da_g  = dc_t * i * (1 - g^2)
        dL/da_f  = dc_t * c_{t-1} * f * (1 - f)
        dc_{t-1} = dc_t * f
    The caller then forms dL/dh_{t-1} = W_hh^T dL/da_t.
    """
    H = c.shape[0]
    i, f, g, o = gates[:H], gates[H: 2 * H], gates[2 * H: 3 * H], gates[3 * H:]
    tanh_c = tmp2
    np.tanh(c, out=tanh_c)
    # dc_t = dc + dh * o * (1 - tanh_c^2)
    np.multiply(tanh_c, tanh_c, out=tmp1)
    np.subtract(1.0, tmp1, out=tmp1)
    tmp1 *= o
    tmp1 *= dh
    dc += tmp1
    # da_o = dh * tanh_c * o * (1 - o)     (o is last read here, so overwrite it)
    np.subtract(1.0, o, out=tmp1)
    tmp1 *= tanh_c
    tmp1 *= dh
    o *= tmp1
    # da_g = dc_t * i * (1 - g^2) into tmp2 (reads the original i and g)
    np.multiply(g, g, out=tmp2)
    np.subtract(1.0, tmp2, out=tmp2)
    tmp2 *= i
    tmp2 *= dc
    # da_i = dc_t * g * i * (1 - i), in place
    np.subtract(1.0, i, out=tmp1)
    tmp1 *= g
    tmp1 *= dc
    i *= tmp1
    np.copyto(g, tmp2)
    # da_f = dc_t * c_{t-1} * f * (1 - f); then dc_{t-1} = dc_t * f
    np.subtract(1.0, f, out=tmp1)
    tmp1 *= c_prev
    tmp1 *= dc
    dc *= f
    f *= tmp1


# ---------------------------------------------------------------------------------------
# GRU (Cho et al. 2014, as in torch.nn.GRU: r applied to W_hn h + b_hn; gate order r, z, n)
# ---------------------------------------------------------------------------------------

def gru_step_forward(gates: np.ndarray, hw: np.ndarray, h_prev: np.ndarray, h: np.ndarray,
                     hw_n_out: np.ndarray, ln: tuple | None = None) -> None:
    """GRU step.

    gates: (3H, N) input part W_ih x_t + b_ih  = [x_r ; x_z ; x_n]; overwritten with [r ; z ; n].
    hw: (3H, N) recurrent part W_hh h_{t-1} + b_hh = [u_r ; u_z ; u_n] (read, then scratch).
        r_t = sigma(x_r + u_r)
        z_t = sigma(x_z + u_z)
        n_t = tanh(x_n + r_t * u_n)
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}  =  n_t + z_t * (h_{t-1} - n_t)
    h_prev: (H, N) h_{t-1};  h: (H, N) receives h_t;  hw_n_out: (H, N) keeps u_n for backward.

    ln: layer norm in the cell, ``(x_hat (3H, N), 1/std (3, 1, N), gain (3H, 1), shift (3H, 1))``
    of this step, or None.  Each gate's pre-activation is normalised before its nonlinearity;
    the new state's pre-activation is the reset sum a_n = x_n + r_t * u_n::

        r_t = sigma(LN_r(x_r + u_r))    z_t = sigma(LN_z(x_z + u_z))    n_t = tanh(LN_n(x_n + r_t * u_n))
    """
    H = h.shape[0]
    rz = gates[: 2 * H]
    rz += hw[: 2 * H]
    if ln is not None:
        xhat, rstd, gain, shift = ln
        layer_norm_forward(rz, xhat[: 2 * H], rstd[:2], gain[: 2 * H], shift[: 2 * H])
    sigmoid_(rz)
    r, z, n = gates[:H], gates[H: 2 * H], gates[2 * H:]
    np.copyto(hw_n_out, hw[2 * H:])
    tmp = hw[:H]  # u_r is consumed: reuse as scratch
    np.multiply(r, hw_n_out, out=tmp)
    n += tmp
    if ln is not None:
        layer_norm_forward(n, xhat[2 * H:], rstd[2:], gain[2 * H:], shift[2 * H:])
    np.tanh(n, out=n)
    np.subtract(h_prev, n, out=h)
    h *= z
    h += n


def gru_step_backward(dh: np.ndarray, gates: np.ndarray, hw_n: np.ndarray, h_prev: np.ndarray,
                      dh_prev: np.ndarray, tmp: np.ndarray, ln: tuple | None = None) -> None:
    """Backward of the GRU step.

    dh: (H, N) dL/dh_t (total).
    gates: (3H, N) activations [r ; z ; n]; overwritten with dL/d(x part) = [da_r ; da_z ; da_n].
    hw_n: (H, N) u_n = W_hn h_{t-1} + b_hn; overwritten with dL/du_n = da_n * r.
    h_prev: (H, N) h_{t-1}.  dh_prev: (H, N) receives the direct part dh * z of dL/dh_{t-1}.
    tmp: (H, N) scratch.

        dn     = dh * (1 - z)
        dz     = dh * (h_{t-1} - n)
        da_n   = dn * (1 - n^2)
        dr     = da_n * u_n
        da_r   = dr * r * (1 - r)
        da_z   = dz * z * (1 - z)
        du_n   = da_n * r
        dh_{t-1} = dh * z + W_hh^T [da_r ; da_z ; du_n]      (the product is the caller's)

    ln: ``(x_hat, 1/std, gain, d_gain (3H,), d_shift (3H,))`` of this step with layer norm in the
    cell, or None.  Then the expressions above give dL/dLN_k (the gradient of each normalised
    pre-activation), and each passes back through its normalisation (``layer_norm.py``), which
    also adds to d_gain and d_shift: n's before dr and du_n are formed (they need dL/da_n of the
    sum a_n = x_n + r * u_n), r's and z's at the end.
    """
    H = dh.shape[0]
    r, z, n = gates[:H], gates[H: 2 * H], gates[2 * H:]
    np.multiply(dh, z, out=dh_prev)
    # da_z = dh * (h_prev - n) * z * (1 - z), kept in tmp until z is no longer needed
    np.subtract(h_prev, n, out=tmp)
    tmp *= dh
    tmp *= z
    np.subtract(1.0, z, out=z)    # z <- 1 - z
    # da_n = dh * (1 - z) * (1 - n^2), written over n
    np.multiply(n, n, out=n)
    np.subtract(1.0, n, out=n)
    n *= z
    n *= dh
    if ln is not None:
        xhat, rstd, gain, d_gain, d_shift = ln
        layer_norm_backward(n, xhat[2 * H:], rstd[2:], gain[2 * H:], d_gain[2 * H:], d_shift[2 * H:])
    tmp *= z                      # da_z complete
    np.copyto(z, tmp)
    # da_r = da_n * u_n * r * (1 - r);  du_n = da_n * r
    np.multiply(n, hw_n, out=tmp)
    np.multiply(n, r, out=hw_n)
    tmp *= r
    np.subtract(1.0, r, out=r)
    r *= tmp
    if ln is not None:
        rz = gates[: 2 * H]
        layer_norm_backward(rz, xhat[: 2 * H], rstd[:2], gain[: 2 * H], d_gain[: 2 * H], d_shift[: 2 * H])


# ---------------------------------------------------------------------------------------
# The engine's uniform steps, named by its table (IMPLEMENTATIONS, below) and bound once before the
# time loop.
#
#   forward(sweep, t, prev, cur):   sweep.u holds U_t = W_hh h_{t-1} (+ b_hh where it is kept
#       apart); sweep.gates[t] holds the input part A_t = W_ih x_t + b.  Writes the state ``cur``
#       from the state ``prev`` and leaves in gates[t] what the backward step needs.
#   backward(sweep, t, prev, cur) -> dL/dU_t:   sweep.dh holds dL/dh_t (sweep.dc dL/dc_t).
#       Leaves dL/dA_t in gates[t], dL/dh_{t-1} = W_hh^T dL/dU_t (sweep.hh_T) in sweep.dh
#       (dL/dc_{t-1} in sweep.dc) and returns dL/dU_t, the gradient of the recurrent part, for
#       dW_hh += dL/dU_t h_{t-1}^T (the engine's, by the recurrence: ``recurrence.py``).
# ---------------------------------------------------------------------------------------

def rnn_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """a_t = A_t + U_t;  [a_t <- LN(a_t)];  h_t = tanh(a_t) or relu(a_t)."""
    a = sw.gates[t]
    a += sw.u
    if sw.gain is not None:
        layer_norm_forward(a, sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.shift)
    rnn_step_forward(a, sw.hs[cur], sw.nonlinearity)


def rnn_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/da_t from dL/dh_t;  [back through LN];  dL/dh_{t-1} = W_hh^T dL/da_t.  dL/dU_t = dL/dA_t."""
    a = sw.gates[t]
    rnn_step_backward(sw.dh, sw.hs[cur], sw.nonlinearity, a)
    if sw.gain is not None:
        layer_norm_backward(a, sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.d_gain, sw.d_shift)
    sw.hh_T(a, out=sw.dh)
    return a


def lstm_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """a_t = A_t + U_t;  [a_t <- LN(a_t), per gate block];  the LSTM step from (h, c)_{t-1} to (h, c)_t."""
    a = sw.gates[t]
    a += sw.u
    if sw.gain is not None:
        layer_norm_forward(a, sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.shift)
    lstm_step_forward(a, sw.cs[prev], sw.cs[cur], sw.hs[cur], sw.t1)


def lstm_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/da_t and dL/dc_{t-1};  [back through LN];  dL/dh_{t-1} = W_hh^T dL/da_t.  dL/dU_t = dL/dA_t."""
    a = sw.gates[t]
    lstm_step_backward(sw.dh, sw.dc, a, sw.cs[prev], sw.cs[cur], sw.t1, sw.t2)
    if sw.gain is not None:
        layer_norm_backward(a, sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.d_gain, sw.d_shift)
    sw.hh_T(a, out=sw.dh)
    return a


def gru_forward(sw: Sweep, t: int, prev: int, cur: int) -> None:
    """The GRU step from A_t = [x_r ; x_z ; x_n] and U_t = [u_r ; u_z ; u_n] (b_hh included)."""
    ln = None if sw.gain is None else (sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.shift)
    gru_step_forward(sw.gates[t], sw.u, sw.hs[prev], sw.hs[cur], sw.u_n[t], ln)


def gru_backward(sw: Sweep, t: int, prev: int, cur: int) -> np.ndarray:
    """dL/dA_t = [da_r ; da_z ; da_n],  dL/dU_t = [da_r ; da_z ; du_n],
    dL/dh_{t-1} = dh * z + W_hh^T dL/dU_t."""
    a, du_n, dU = sw.gates[t], sw.u_n[t], sw.u
    ln = None if sw.gain is None else (sw.ln_xhat[t], sw.ln_rstd[t], sw.gain, sw.d_gain, sw.d_shift)
    gru_step_backward(sw.dh, a, du_n, sw.hs[prev], sw.t2, sw.t1, ln)
    H = du_n.shape[0]
    dU[: 2 * H] = a[: 2 * H]          # x_r + u_r and x_z + u_z are sums: the same gradient
    dU[2 * H:] = du_n
    sw.hh_T(dU, out=sw.dh)
    sw.dh += sw.t2                    # the direct path dh * z
    return dU


# ---------------------------------------------------------------------------------------
# IndRNN (Li et al. 2018): the vanilla RNN's step on a diagonal recurrence
#
#   a_t = W_ih x_t + b_ih + u * h_{t-1} + b_hh        u: (H,), each unit reads only its own past
#   h_t = relu(a_t)  (or tanh(a_t))
#   backward:  dL/da_t = dL/dh_t * [h_t > 0]  (or * (1 - h_t^2));  dL/dh_{t-1} = u * dL/da_t;
#              dL/du = sum_t sum_n dL/da_t * h_{t-1}
#
# U_t = u * h_{t-1}, u * dL/da_t and dL/du are the diagonal recurrence's (``recurrence.py``); the
# step itself is ``rnn_forward`` / ``rnn_backward`` above, and its compiled twin the RNN's.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Implementation:
    """How the NumPy engine computes one cell: its reference step pair and, optionally, the name of its
    compiled pair in ``fused_steps.COMPILED`` (None: the reference runs even where numba is there).
    ``whole_sequence``: the pair computes a whole layer and direction, ``(net, layer, d, ...)``, as the
    linear recurrences do (``linear.py``: a scan, vectorised where ``fused``, else the step-by-step loop)."""
    forward: Callable
    backward: Callable
    compiled: str | None = None
    whole_sequence: bool = False


IMPLEMENTATIONS: dict[str, Implementation] = {
    "rnn": Implementation(rnn_forward, rnn_backward, compiled="rnn"),
    "lstm": Implementation(lstm_forward, lstm_backward, compiled="lstm"),
    "gru": Implementation(gru_forward, gru_backward, compiled="gru"),
    "indrnn": Implementation(rnn_forward, rnn_backward, compiled="rnn"),
    "orthogonal": Implementation(rnn_forward, rnn_backward, compiled="rnn"),   # the RNN's step, W = Cayley(M)
    # the linear recurrences (``linear.py``): each a whole-sequence pair, the scan bound to the cell's a_t, b_t
    "mingru": Implementation(partial(linear.direction_forward, linear.mingru_coefficients),
                             partial(linear.direction_backward, linear.mingru_coefficient_grads), whole_sequence=True),
    "minlstm": Implementation(partial(linear.direction_forward, linear.minlstm_coefficients),
                              partial(linear.direction_backward, linear.minlstm_coefficient_grads),
                              whole_sequence=True),
    "lru": Implementation(lru.direction_forward, lru.direction_backward, whole_sequence=True),   # ``lru.py``
}
