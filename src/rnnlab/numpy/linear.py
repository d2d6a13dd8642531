"""Linear recurrences on the NumPy engine: h_t = a_t * h_{t-1} + b_t, all steps by a scan.

A cell whose registry entry says ``recurrence="linear"`` computes a_t and b_t from x_t alone, so the
whole sequence needs no step-by-step matrix product: the engine forms a_t and b_t for every step in
one product, then runs a *scan* of the affine maps h -> a_t * h + b_t.  Three scans, the same numbers:

- :func:`scan_loop`, the sequential reference: two NumPy calls per step (``fused=False`` or
  ``RNNLAB_FUSED=0`` runs it);
- :func:`rnnlab.kernels.scan.scan_forward`, what the engine runs where compiled kernels run: the same
  sequence of steps as one compiled pass over time, each step's H*N values in one vectorised loop, no
  Python call per step;
- :func:`scan_doubling`, the Hillis-Steele parallel prefix scan, kept as the vectorised reference and for
  teaching.  Composing two steps is again a step, (a2, b2) o (a1, b1) = (a2 a1, a2 b1 + b2), so after
  pass k every position holds the composition of the 2^k steps ending there; ceil(log2 T) passes, each
  one vectorised over all T*H*N values.  It is used instead of cumulative products in log space because
  b_t may take either sign (the log-space form needs b_t > 0, or divides by prod a, which underflows
  at hundreds of steps when a_t is small); the doubling scan only multiplies numbers in (0, 1] and adds.

On a CPU the doubling scan's O(T log T) work is its cost; on 2 cores (float32, milliseconds per scan)::

    T x H x N          loop     doubling    compiled
    784 x 128 x 64     11.5     ~140         5.6
    784 x 128 x 128    19.5     276          15.2
    784 x 16 x 4       0.71     0.30         0.02

(``benchmarks/linear_recurrence_speed.py`` times whole training steps; see docs/engines.md.)

The backward pass is the same scan run backwards in time::

    dh_t = dL/dh_t + a_{t+1} dh_{t+1}        (dh_{T-1} also gets dL/dh_n)
    dL/da_t = dh_t * h_{t-1}    dL/db_t = dh_t    dL/dh0 = a_0 * dh_0

Variable lengths: at a padded step a_t = 1 and b_t = 0, so the state passes through unchanged and
(backwards) its gradient does too; the gradients of a_t and b_t there are zero.  A reverse direction
runs the same scans on time-reversed views.

The cells (Feng et al. 2024, "Were RNNs All We Needed?"), their gates from ``weight_ih`` alone::

    minGRU   [z ; h~] (2H, D):      z = sigma(W_z x + b_z)   h~ = W_h x + b_h    a_t = 1 - z   b_t = z * h~
    minLSTM  [f ; i ; h~] (3H, D):  f = sigma(W_f x + b_f)   i = sigma(W_i x + b_i)   h~ = W_h x + b_h
                                    a_t = f / (f + i)   b_t = i / (f + i) * h~      (the normalised gates)

Each cell is a pair here, (a_t, b_t) from its gates and their backward; :func:`direction_forward` and
:func:`direction_backward` do the rest for every linear cell (the engine's table binds the pair).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .recurrent import RecurrentNet
    from .workspace import Sweep, Workspace


def scan_loop(a: np.ndarray, b: np.ndarray, h0: np.ndarray, out: np.ndarray) -> None:
    """out[t] = a[t] * out[t-1] + b[t] (out[-1] = h0), one step at a time.  a, b, out: (T, ...)."""
    h = h0
    for t in range(a.shape[0]):
        np.multiply(a[t], h, out=out[t])
        out[t] += b[t]
        h = out[t]


def scan_doubling(a: np.ndarray, b: np.ndarray, h0: np.ndarray, out: np.ndarray) -> None:
    """The same as :func:`scan_loop` by recursive doubling (see the module docstring); a is not changed."""
    A = a.copy()
    np.copyto(out, b)
    out[0] += a[0] * h0
    k, T = 1, a.shape[0]
    while k < T:
        out[k:] += A[k:] * out[:-k]      # the right side is computed before the add: the old values
        A[k:] *= A[:-k].copy()
        k *= 2


DOUBLING_MAX_SIZE = 256      # H*N at or below which the doubling scan beats the loop (table above)


def choose_scan(fused: bool, step_size: int):
    """The scan for steps of ``step_size`` = H*N values: the doubling scan where ``fused`` and it is faster."""
    return scan_doubling if fused and step_size <= DOUBLING_MAX_SIZE else scan_loop


def _sigmoid_(a: np.ndarray) -> None:
    """In place: a <- sigma(a) = (1 + tanh(a / 2)) / 2 (never overflows)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def mingru_coefficients(gates: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """minGRU: gates [a_z ; h~] (T, 2H, N) become [z ; h~] in place; returns a_t = 1 - z, b_t = z * h~."""
    _sigmoid_(gates[:, :H])
    z, h_tilde = gates[:, :H], gates[:, H:]
    return 1.0 - z, z * h_tilde


def mingru_coefficient_grads(gates: np.ndarray, da: np.ndarray, db: np.ndarray, H: int) -> None:
    """[z ; h~] -> dL/d[a_z ; h~]:  dz = -da + db * h~,  dh~ = db * z,  da_z = dz * z (1 - z)."""
    z, h_tilde = gates[:, :H], gates[:, H:]
    dz = db * h_tilde - da
    np.multiply(db, z, out=h_tilde)
    dz *= z
    dz *= 1.0 - z
    z[...] = dz


def minlstm_coefficients(gates: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """minLSTM: gates [a_f ; a_i ; h~] (T, 3H, N) become [f ; i ; h~] in place; returns the normalised gates
    a_t = f / (f + i) and b_t = i / (f + i) * h~."""
    _sigmoid_(gates[:, :2 * H])
    f, i, h_tilde = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    s = f + i
    return f / s, i / s * h_tilde


def minlstm_coefficient_grads(gates: np.ndarray, da: np.ndarray, db: np.ndarray, H: int) -> None:
    """[f ; i ; h~] -> dL/d[a_f ; a_i ; h~].  With s = f + i, f' = f / s, i' = i / s:
    di' = db * h~,  dh~ = db * i',  df = i (da - di') / s^2,  di = -f (da - di') / s^2, then * sigma'."""
    f, i, h_tilde = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    s = f + i
    g = (da - db * h_tilde) / (s * s)                     # (da - di') / s^2
    np.multiply(db, i / s, out=h_tilde)
    df, di = g * i * f * (1.0 - f), -g * f * i * (1.0 - i)
    f[...] = df
    i[...] = di


def product(W: np.ndarray, V: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """W (P, Q) times every step of V (T, Q, N): (T, P, N), as one 2-D matrix product over all T*N columns (a
    batch of T small products, or strided operands, run several times slower); Q = 1: an outer product."""
    T, Q, N = V.shape
    if Q == 1:
        return np.multiply(V, W, out=out)
    flat = np.ascontiguousarray(W) @ V.transpose(1, 0, 2).reshape(Q, T * N)
    result = flat.reshape(W.shape[0], T, N).transpose(1, 0, 2)
    if out is None:
        return np.ascontiguousarray(result)
    np.copyto(out, result)
    return out


def direction_forward(coefficients, net: RecurrentNet, layer: int, d: int, X: np.ndarray, sw: Sweep, pad) -> None:
    """One layer and direction: the gates for all steps in one product, a_t and b_t (``coefficients``), the
    scan.  ``sw.gates`` keeps the gate activations (for backward and for reading), ``sw.u_n`` the a_t."""
    product(net.params[net.param_name("weight_ih", layer, d)], X, out=sw.gates)
    if net.bias:
        sw.gates += net.params[net.param_name("bias_ih", layer, d)][:, None]
    a, b = coefficients(sw.gates, net.hidden_size)
    if pad is not None:                                  # padded steps: h_t = h_{t-1}
        np.copyto(a, 1.0, where=pad)
        np.copyto(b, 0.0, where=pad)
    sw.u_n = a
    scan(net.fused, a, b, sw.hs, d == 1)


def scan(compiled: bool, a: np.ndarray, b: np.ndarray, hs: np.ndarray, reverse: bool) -> None:
    """hs[t+1] = a_t hs[t] + b_t over a direction (reverse: hs[t] = a_t hs[t+1] + b_t): a, b (T, ...) (a may
    have one step for all), hs (T+1, ...) holding h0.  ``compiled``: one compiled pass
    (:func:`rnnlab.kernels.scan.scan_forward`, the T steps as one sequence of H*N values), else the
    step-by-step reference :func:`scan_loop`."""
    T = b.shape[0]
    if compiled:
        from ..kernels.scan import scan_forward
        h0, out = (hs[T], hs[:T]) if reverse else (hs[0], hs[1:])
        scan_forward(_rows(a), _rows(b), h0.reshape(1, -1), out.reshape(1, T, -1), reverse)
        return
    if a.shape[0] != T:
        a = np.broadcast_to(a, b.shape)
    if reverse:
        scan_loop(a[::-1], b[::-1], hs[-1], hs[-2::-1])
    else:
        scan_loop(a, b, hs[0], hs[1:])


def _rows(v: np.ndarray) -> np.ndarray:
    """(T, ...) -> a contiguous (1, T, values) view (or copy) for the compiled scan."""
    return np.ascontiguousarray(v).reshape(1, v.shape[0], -1)


def scan_grads(compiled: bool, a: np.ndarray, g: np.ndarray, hs: np.ndarray, carry: np.ndarray,
               reverse: bool) -> np.ndarray:
    """The backward scan (the module docstring): g (T, ...) holds dL/dh_t from the outputs and becomes dh_t;
    carry holds dL/dh_n and becomes dL/dh0; returns dL/da_t = dh_t conj(h_{t-1}), (T, ...), or where one a serves
    every step (a: (1, ...)), its sum over the steps (1, ...)."""
    T = g.shape[0]
    if compiled:
        from ..kernels.scan import scan_backward
        da = np.zeros(a.shape, g.dtype)
        h0, out = (hs[T], hs[:T]) if reverse else (hs[0], hs[1:])
        scan_backward(_rows(a), g.reshape(1, T, -1), h0.reshape(1, -1), out.reshape(1, T, -1), carry.reshape(1, -1),
                      da.reshape(1, a.shape[0], -1), reverse)
        return da
    da, shared = np.empty_like(g), a.shape[0] != T
    a = np.broadcast_to(a, g.shape) if shared else a
    order = range(T) if reverse else range(T - 1, -1, -1)
    for t in order:                          # dh_t = g_t + conj(a_{t+1}) dh_{t+1}; dL/dh_{t-1} += conj(a_t) dh_t
        g[t] += carry
        np.multiply(np.conj(a[t]), g[t], out=carry)
        np.multiply(g[t], np.conj(hs[t + 1 if reverse else t]), out=da[t])
    return da.sum(axis=0, keepdims=True) if shared else da


def direction_backward(coefficient_grads, net: RecurrentNet, layer: int, d: int, ws: Workspace, d_out) -> None:
    """The reverse scan for dh_t, then dL/da_t, dL/db_t, through a_t, b_t (``coefficient_grads``) to the
    gates, W_ih, b_ih and x."""
    sw, X = ws.sweeps[layer][d], ws.inputs[layer]
    valid = net._last["valid"]
    a = sw.u_n
    g = np.zeros_like(a) if d_out is None else np.array(d_out)      # dL/dh_t from the outputs
    da = scan_grads(net.fused, a, g, sw.hs, sw.dh, d == 1)           # g <- dh_t; sw.dh <- dL/dh0
    if net.recorded_dh is not None:                                  # gradient-flow analysis
        rec = net.recorded_dh.setdefault((layer, d), {})
        for t in range(a.shape[0]):
            rec[t] = g[t].copy()
    db = g
    if valid is not None:
        da *= valid
        db *= valid
    coefficient_grads(sw.gates, da, db, net.hidden_size)            # gates now hold dL/dA_t
    _parameter_grads(net, layer, d, ws, sw, X)


def recurrence_factors(net: RecurrentNet, layer: int = 0, d: int = 0) -> np.ndarray:
    """After a forward call, the a_t of one layer and direction's linear recurrence: (T, H, N), or (1, H, N) where
    one a serves every step (the LRU's lambda, complex); 1 at padded steps.  What the gradient is multiplied by
    per step on its way back (``dh_{t-1} = conj(a_t) dh_t + ...``): the analysis's eigenvalues."""
    if net._last is None:
        raise RuntimeError("recurrence_factors() called before forward(): run forward on a batch first")
    sw = net._workspace(net._last["T"], net._last["N"]).sweeps[layer][d]
    return (sw.scan[1] if sw.scan is not None else sw.u_n).copy()


def _parameter_grads(net: RecurrentNet, layer: int, d: int, ws: Workspace, sw: Sweep, X: np.ndarray) -> None:
    """dW_ih = sum_t dA_t x_t^T, db_ih = sum_t dA_t, and dX = W_ih^T dA (the second direction adds)."""
    T, G, N = sw.gates.shape
    D = X.shape[1]
    dA = sw.gates
    net.grads[net.param_name("weight_ih", layer, d)][...] = (dA.transpose(1, 0, 2).reshape(G, T * N)
                                                             @ X.transpose(1, 0, 2).reshape(D, T * N).T)
    if net.bias:
        dA.sum(axis=0).sum(axis=1, out=net.grads[net.param_name("bias_ih", layer, d)])
    W = net.params[net.param_name("weight_ih", layer, d)]
    if d == 0:
        product(W.T, dA, out=ws.dX[layer])
    else:
        ws.dX[layer] += product(W.T, dA)
