"""The LRU (Orvieto et al. 2023) on the NumPy engine: a complex diagonal linear recurrence, its backward by hand.

One layer and direction, T steps of N sequences, H complex units, feature-major (T, features, N)::

    [u_re; u_im] = W_ih x_t + b_ih                    u_t = u_re + i u_im = B x_t + b     (one product, all t)
    lambda = exp(-exp(nu_log) + i exp(theta_log))     gamma = exp(gamma_log)               (H,)
    h_t = lambda * h_{t-1} + gamma * u_t              the scan of ``linear.py`` with a = lambda, b = gamma u
    y_t = C_re Re(h_t) - C_im Im(h_t) + D x_t         weight_c = [C_re, C_im], weight_d = D
                                                      (each product over all steps at once: ``linear.product``)

The backward pass, g_t = dL/dy_t, complex gradients in PyTorch's convention dL/dz = dL/dRe z + i dL/dIm z::

    dC_re = sum_t g_t Re(h_t)^T     dC_im = -sum_t g_t Im(h_t)^T     dD = sum_t g_t x_t^T     dx_t += D^T g_t
    dL/dh_t (from y) = C^H g_t = C_re^T g_t - i C_im^T g_t           then the reverse scan: dh_t, dL/da_t
    dL/dlambda = sum_{t,n} dL/da_t      dL/dw = conj(lambda) dL/dlambda   (w = log lambda: lambda' = lambda)
    dL/dnu_log = Re(dL/dw) * (-exp(nu_log))       dL/dtheta_log = Im(dL/dw) * exp(theta_log)
    dL/du_t = gamma dh_t        dL/dgamma_log = gamma * sum_{t,n} Re(dh_t conj(u_t))
    [du_re; du_im] -> dW_ih, db_ih, dx_t as for every linear cell (``linear._parameter_grads``)

Padded steps have a_t = 1 and b_t = 0 (the state passes).  The LRU's state is complex and internal: it
starts at zero (a given h0 is refused), and h_n is the read-out y at each sequence's own last step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .linear import _parameter_grads, product, scan, scan_grads

if TYPE_CHECKING:
    from .recurrent import RecurrentNet
    from .workspace import Sweep, Workspace


def eigenvalues(nu_log: np.ndarray, theta_log: np.ndarray) -> np.ndarray:
    """lambda = exp(-exp(nu_log) + i exp(theta_log)): |lambda| < 1 for every nu_log."""
    return np.exp(-np.exp(nu_log) + 1j * np.exp(theta_log))


def _halves(C: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """weight_c = [C_re, C_im] (H, 2H) -> C_re, C_im, contiguous."""
    return np.ascontiguousarray(C[:, :H]), np.ascontiguousarray(C[:, H:])


def _last_steps(valid: np.ndarray | None, T: int, N: int) -> np.ndarray:
    """Each sequence's last step (T-1 without padding)."""
    return np.full(N, T - 1) if valid is None else valid[:, 0, :].sum(axis=0) - 1


def direction_forward(net: RecurrentNet, layer: int, d: int, X: np.ndarray, sw: Sweep, pad) -> None:
    """The LRU over one layer and direction: sw.hs receives the read-out y (its h_n slot y at each sequence's
    last step), sw.scan keeps u, a, the complex states, lambda and gamma for the backward pass."""
    def p(stem: str) -> np.ndarray:
        return net.params[net.param_name(stem, layer, d)]
    T, _, N = sw.gates.shape
    H = net.hidden_size
    start = T if d == 1 else 0
    if np.any(sw.hs[start]):
        raise ValueError("h0: the LRU takes no initial state (its state is complex and internal); pass no h0")
    product(p("weight_ih"), X, out=sw.gates)
    if net.bias:
        sw.gates += p("bias_ih")[:, None]
    cdtype = np.result_type(sw.gates.dtype, np.complex64)
    u = np.empty((T, H, N), cdtype)
    u.real, u.imag = sw.gates[:, :H], sw.gates[:, H:]
    lam, gamma = eigenvalues(p("nu_log"), p("theta_log")).astype(cdtype), np.exp(p("gamma_log"))
    b = gamma[:, None] * u
    a = np.repeat(lam[:, None], N, axis=1)[None]                 # (1, H, N): the same a at every step
    if pad is not None:                                          # padded steps: h_t = h_{t-1}
        a = np.where(pad, np.ones((), cdtype), a)
        np.copyto(b, 0, where=pad)
    S = np.zeros((T + 1, H, N), cdtype)
    scan(net.fused, a, b, S, d == 1)
    states, y = (S[:T], sw.hs[:T]) if d == 1 else (S[1:], sw.hs[1:])
    C_re, C_im = _halves(p("weight_c"), H)
    # y_t = C_re Re(h_t) - C_im Im(h_t) + D x_t (contiguous operands: a strided one takes NumPy's slow loop)
    product(C_re, states.real, out=y)
    y -= product(C_im, states.imag)
    y += product(p("weight_d"), X)
    if d == 0 and pad is not None:                               # h_n: y at each sequence's own last step
        n = np.arange(N)
        sw.hs[T][:, n] = y[_last_steps(~pad, T, N), :, n].T
    sw.scan = (u, a, S, lam, gamma)


def direction_backward(net: RecurrentNet, layer: int, d: int, ws: Workspace, d_out) -> None:
    """The LRU's backward pass over one layer and direction (the module docstring)."""
    def p(stem: str) -> np.ndarray:
        return net.params[net.param_name(stem, layer, d)]

    def grad(stem: str) -> np.ndarray:
        return net.grads[net.param_name(stem, layer, d)]
    sw, X = ws.sweeps[layer][d], ws.inputs[layer]
    valid = net._last["valid"]
    u, a, S, lam, gamma = sw.scan
    T, H, N = u.shape
    g = np.zeros((T, H, N), sw.hs.dtype) if d_out is None else np.array(d_out)
    if d == 0:                                                   # dL/dh_n reaches y at each last step
        n = np.arange(N)
        g[_last_steps(valid, T, N), :, n] += sw.dh.T
    else:
        g[0] += sw.dh
    sw.dh[...] = 0.0                                             # no h0
    states = S[:T] if d == 1 else S[1:]
    (C_re, C_im), D = _halves(p("weight_c"), H), p("weight_d")
    rows = g.transpose(1, 0, 2).reshape(H, T * N)

    def flat(v: np.ndarray) -> np.ndarray:
        return v.transpose(1, 0, 2).reshape(v.shape[1], T * N)
    grad("weight_c")[:, :H] = rows @ flat(states.real).T
    grad("weight_c")[:, H:] = -(rows @ flat(states.imag).T)
    grad("weight_d")[...] = rows @ flat(X).T
    dh = product(C_re.T, g) - 1j * product(C_im.T, g)             # C^H g
    da = scan_grads(net.fused, a, dh, S, np.zeros((H, N), dh.dtype), d == 1)
    if net.recorded_dh is not None:                              # gradient-flow analysis: dL/dh_t (complex)
        net.recorded_dh.setdefault((layer, d), {}).update({t: dh[t].copy() for t in range(T)})
    if valid is not None:
        da *= valid
        dh *= valid
    dw = np.conj(lam) * da.sum(axis=(0, 2))
    grad("nu_log")[...] = dw.real * -np.exp(p("nu_log"))
    grad("theta_log")[...] = dw.imag * np.exp(p("theta_log"))
    grad("gamma_log")[...] = gamma * np.einsum("thn,thn->h", dh.real, u.real) + \
        gamma * np.einsum("thn,thn->h", dh.imag, u.imag)
    du = gamma[:, None] * dh
    sw.gates[:, :H], sw.gates[:, H:] = du.real, du.imag        # dL/d[u_re; u_im]
    _parameter_grads(net, layer, d, ws, sw, X)
    ws.dX[layer] += product(D.T, g)                              # the skip D x_t
