"""Scalar functions of the compiled kernels (numba): tanh and the sigmoid in float32 and float64.

tanh in float32 is a rational approximation (Eigen's, within 3e-7 of tanh, a few units in the last
place), because a call to the C library's tanhf per element cannot be vectorised; float64 (the
gradient checks) uses ``math.tanh``.  Two flavours, each kept by the loops that have always used it:

    vector_tanh(x)   branch-free everywhere (rnnlab.torch's compiled steps)
    tanh_(x)         the same, but x itself where |x| < 4e-4 (the NumPy engine's fused steps)

    sigmoid(x)        = (1 + tanh_(x / 2)) / 2            never overflows
    vector_sigmoid(x) = (1 + vector_tanh(x / 2)) / 2

Each picks its float32 or float64 form by the type of x (``numba.extending.overload``), so the
constants stay in x's precision.  Called from Python (not compiled), they fall back to ``math``.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

kernel = numba.njit(cache=True, nogil=True, error_model="numpy")     # a loop over arrays: compiled once, cached
inline = numba.njit(inline="always", error_model="numpy")           # a per-unit function: inlined where called

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
_ONE32, _HALF32 = np.float32(1), np.float32(0.5)


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


def tanh_(x):
    """tanh of one number: the float32 approximation (x itself near 0) or ``math.tanh`` (by type)."""
    return math.tanh(x)


@overload(tanh_)
def _tanh_by_type(x):
    if x == types.float32:
        return _tanh32
    return lambda x: math.tanh(x)


def sigmoid(x):
    """sigma(x) = (1 + tanh_(x / 2)) / 2 of one number, in x's precision."""
    return 0.5 * (1.0 + math.tanh(0.5 * x))


@overload(sigmoid)
def _sigmoid_by_type(x):
    if x == types.float32:
        return lambda x: _HALF32 * (_ONE32 + tanh_(_HALF32 * x))
    return lambda x: 0.5 * (1.0 + tanh_(0.5 * x))


def vector_sigmoid(x):
    """sigma(x) = (1 + vector_tanh(x / 2)) / 2 of one number, in x's precision."""
    return 0.5 * (1.0 + math.tanh(0.5 * x))


@overload(vector_sigmoid)
def _vector_sigmoid_by_type(x):
    if x == types.float32:
        return lambda x: _HALF32 * (_ONE32 + vector_tanh(_HALF32 * x))
    return lambda x: 0.5 * (1.0 + vector_tanh(0.5 * x))


def one_like(x):
    """1 in x's precision (float32 or float64), for the kernels' ``1 - x``."""
    return 1.0


@overload(one_like)
def _one_like_by_type(x):
    if x == types.float32:
        return lambda x: _ONE32
    return lambda x: 1.0
