"""The GELU of the residual block between the layers of a linear recurrence, and its derivative, in one compiled
pass (numba); the NumPy engine's ``numpy/block.py`` holds the equations and the NumPy version::

    phi(v)  = v (1 + t) / 2,    t = tanh(sqrt(2/pi) (v + 0.044715 v^3))
    phi'(v) = (1 + t) / 2 + v (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 v^2) / 2

tanh in float32 is the vectorisable rational approximation of :mod:`rnnlab.kernels.scalar` (within 3e-7).
"""
from __future__ import annotations

import math

import numpy as np

from .scalar import kernel, vector_tanh

CONSTANTS = (1.0, 0.5, math.sqrt(2.0 / math.pi), 0.044715, 3 * 0.044715)


def gelu(v: np.ndarray, out: np.ndarray, d_phi: np.ndarray) -> None:
    """out = phi(v), d_phi = phi'(v) for contiguous arrays of one precision (float32 or float64)."""
    _gelu(v.reshape(-1), out.reshape(-1), d_phi.reshape(-1), np.array(CONSTANTS, v.dtype))


@kernel
def _gelu(v, out, d_phi, constants):
    one, half, c, k, k3 = constants[0], constants[1], constants[2], constants[3], constants[4]
    for j in range(v.shape[0]):
        x = v[j]
        x2 = x * x
        t = vector_tanh(x * (one + x2 * k) * c)
        out[j] = x * (one + t) * half
        d_phi[j] = (one + t) * half + x * (one - t * t) * (one + x2 * k3) * (c * half)
