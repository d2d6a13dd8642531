"""Layer normalisation of gate blocks (Ba et al. 2016), forward and backward, in place.

The cells normalise each gate's pre-activation over its H units, separately for every sequence
(column) of the batch, then scale and shift it by the gate's own gain and shift::

    x_hat[k] = (a[k] - mean(a[k])) / sqrt(var(a[k]) + eps)        for each block k, eps = 1e-5
    y[k]     = gain[k] * x_hat[k] + shift[k]

Backward, with dx_hat = gain * dL/dy and r = 1 / sqrt(var + eps) of the block::

    dL/dgain  = sum_n dL/dy * x_hat         dL/dshift = sum_n dL/dy
    dL/da[k]  = r[k] * (dx_hat[k] - mean(dx_hat[k]) - x_hat[k] * mean(dx_hat[k] * x_hat[k]))

``a`` is ``(G*H, N)`` for G blocks (or a run of consecutive blocks of it: the GRU normalises its
r and z blocks before its n block); the forward pass keeps x_hat ``(G*H, N)`` and r ``(G, 1, N)``
for the backward pass.
"""
from __future__ import annotations

import numpy as np

LN_EPS = 1e-5


def layer_norm_forward(a: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, gain: np.ndarray,
                       shift: np.ndarray) -> None:
    """In place, per gate block k of a (G*H, N):  a[k] <- gain[k] * x_hat[k] + shift[k].

    xhat: (G*H, N) receives x_hat;  rstd: (G, 1, N) receives 1/std;  gain, shift: (G*H, 1).
    """
    G = rstd.shape[0]
    blocks = a.reshape(G, -1, a.shape[1])
    centred = xhat.reshape(blocks.shape)
    np.subtract(blocks, blocks.mean(axis=1, keepdims=True), out=centred)
    np.multiply(centred, centred, out=blocks)                          # a is scratch until the last line
    np.add(blocks.mean(axis=1, keepdims=True), LN_EPS, out=rstd)
    np.sqrt(rstd, out=rstd)
    np.divide(1.0, rstd, out=rstd)
    centred *= rstd                                                    # x_hat
    np.multiply(xhat, gain, out=a)
    a += shift


def layer_norm_backward(da: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, gain: np.ndarray,
                        d_gain: np.ndarray, d_shift: np.ndarray) -> None:
    """In place: da = dL/dy (G*H, N) becomes dL/da, the gradient of the block's input.

    d_gain, d_shift: (G*H,) accumulate dL/dgain and dL/dshift (``+=``).
    """
    G = rstd.shape[0]
    d_shift += da.sum(axis=1)
    d_gain += np.einsum("fn,fn->f", da, xhat)
    da *= gain                                                         # dx_hat
    blocks, xh = da.reshape(G, -1, da.shape[1]), xhat.reshape(G, -1, da.shape[1])
    proj = np.einsum("ghn,ghn->gn", blocks, xh)[:, None, :] / blocks.shape[1]
    blocks -= blocks.mean(axis=1, keepdims=True)
    blocks -= xh * proj
    blocks *= rstd
