"""The residual block between the layers of a linear recurrence (the registry's ``block="residual"``), NumPy engine.

A linear recurrence stacked plainly, output into input, is a weak deep net: the LRU is linear in its
input, and a stack of linear maps is one linear map.  Feng et al. 2024 (minGRU, minLSTM) and Orvieto et
al. 2023 (LRU) stack their layers as pre-norm residual blocks, a nonlinearity after each recurrence and
a normalisation before the next.  rnnlab's form, r_k the outputs of layer k's recurrence (all its
directions side by side, (T, F, N)), x the net's input::

    o_0 = phi(r_0),                     r_0 = L_0(x)                the first layer reads x as it is
    o_k = o_{k-1} + phi(r_k),           r_k = L_k(LN(o_{k-1}))      k = 1 .. L-1
    output = o_{L-1}

    phi(v) = v/2 (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3)))          GELU (torch's approximate="tanh")
    LN(v)  = (v - mean(v)) / sqrt(var(v) + 1e-5)                    over the F features of each step and sequence

The papers' block has the same three parts (Orvieto et al. 2023, Fig. 1: norm -> LRU -> GELU -> skip; Feng
et al. 2024: x + minRNN(norm(x))); here the first layer is also the papers' linear encoder (x has D features,
the blocks F), so it has no skip, and there is no MLP after each recurrence.  LN has no gain or shift:
the next layer's input weights absorb both, W (g * v + s) + b = (W diag(g)) v + (W s + b).  A padded
step has r = 0, so phi(r) = 0, LN(0) = 0 and its outputs stay zero.  The backward pass, g = dL/do_k::

    dL/dr_k     = g_k * phi'(r_k)
    g_{k-1}     = g_k + LN'(dL/d(layer k's input))        (the skip, and the path through layer k)
    phi'(v)     = (1 + t)/2 + v/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 v^2),   t = tanh(...)
    LN'(g)      = (g - mean(g) - v_hat mean(g v_hat)) / sqrt(var(v) + eps)

rnnlab.torch's twin is :func:`rnnlab.torch.stacks.residual_block`.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-5
_C = np.sqrt(2.0 / np.pi)
_K = 0.044715


def gelu(v: np.ndarray, compiled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """phi(v) and phi'(v) (the module docstring): in one compiled pass (``kernels/gelu.py``), or in a few NumPy
    passes in place (``v ** 3`` would be NumPy's slow power)."""
    if compiled:
        from ..kernels.gelu import gelu as fused
        v = np.ascontiguousarray(v)
        out, d_phi = np.empty_like(v), np.empty_like(v)
        fused(v, out, d_phi)
        return out, d_phi
    v2 = v * v
    t = v2 * _K                         # t <- tanh(C (v + K v^3))
    t += 1.0
    t *= v
    t *= _C
    np.tanh(t, out=t)
    half = 0.5 * (1.0 + t)              # (1 + t) / 2
    d_phi = v2                          # phi' = (1 + t)/2 + v/2 (1 - t^2) C (1 + 3K v^2)
    d_phi *= 3 * _K
    d_phi += 1.0
    d_phi *= _C * 0.5
    d_phi *= v
    t *= t
    np.subtract(1.0, t, out=t)
    d_phi *= t
    d_phi += half
    return v * half, d_phi


class ResidualBlock:
    """The block between a stack's layers: :meth:`forward` after each layer's recurrence, :meth:`backward`
    before each layer's backward pass, top layer first.  Feature axis 1 of (T, F, N) arrays."""

    def __init__(self, num_layers: int, compiled: bool = False) -> None:
        self.num_layers, self.compiled = num_layers, compiled      # compiled: the GELU in one numba pass
        self._cache: list = [None] * num_layers
        self._o: np.ndarray | None = None           # o_{k-1} during the forward pass
        self._carry: np.ndarray | None = None       # dL/do_k from the skip during the backward pass

    def forward(self, k: int, r: np.ndarray) -> np.ndarray:
        """The recurrence's outputs r_k -> the next layer's input LN(o_k), or the output o_{L-1} after the last."""
        out, d_phi = gelu(r, self.compiled)
        o = out if k == 0 else self._o + out
        self._o = o
        if k == self.num_layers - 1:
            self._cache[k] = (d_phi, None, None)
            return o
        mean = o.mean(axis=1, keepdims=True)
        rstd = 1.0 / np.sqrt(o.var(axis=1, keepdims=True) + EPS)
        v_hat = (o - mean) * rstd
        self._cache[k] = (d_phi, v_hat, rstd)
        return v_hat

    def backward(self, k: int, g: np.ndarray | None) -> np.ndarray | None:
        """dL/d(what :meth:`forward` returned for layer k) -> dL/dr_k (None: nothing reaches layer k)."""
        d_phi, v_hat, rstd = self._cache[k]
        if v_hat is None:                           # the last layer: g = dL/do_{L-1}
            d_o = g
        else:                                       # g = dL/dLN(o_k), plus the skip's dL/do_{k+1}
            d_o = None if g is None else rstd * (g - g.mean(axis=1, keepdims=True)
                                                 - v_hat * (g * v_hat).mean(axis=1, keepdims=True))
            d_o = self._carry if d_o is None else (d_o if self._carry is None else d_o + self._carry)
        self._carry = d_o
        return None if d_o is None else d_o * d_phi
