"""The recurrent product of a step and its backward, by the registry's ``recurrent_weight``.

The time loop does not ask which cell it runs, nor what shape its recurrent weight has: it binds one of
these before the loop and calls what it hands back.  ``U_t`` is the recurrent part of the step's
pre-activations, ``dU_t`` its gradient (what a step's backward returns)::

    full       W_hh (G*H, H):  U_t = W_hh h_{t-1}      dL/dh_{t-1} = W_hh^T dU_t    dW_hh += dU_t h_{t-1}^T
    diagonal   u (H,):         U_t = u * h_{t-1}       dL/dh_{t-1} = u * dU_t       du += sum_n dU_t * h_{t-1}
    cayley     M (H, H):       U_t = W h_{t-1},  W = (I + A)^-1 (I - A),  A = M - M^T    (as full, with W;
               then, once after the loop, ``finish``: dL/dA = -2 B^T dW B^T, B = (I + A)^-1; dM = dL/dA - dL/dA^T)

(the diagonal one is the IndRNN's: each unit reads only its own past; the Cayley one is the orthogonal RNN's:
A is skew-symmetric, so W is orthogonal for every M, before and after every update, Lezcano-Casado &
Martinez-Rubio 2019.  W = 2B - I, so dW = 2 dB = -2 B dA B, whence ``finish``).  Arrays are feature-major,
``(features, N)``; the products write into the buffers they are given.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np


@dataclass(frozen=True)
class Recurrence:
    """How a step's recurrent part is computed from W_hh, as ``product``, ``transposed`` and ``weight_grad``."""
    kind: str
    product: Callable[[np.ndarray, np.ndarray], Callable]            # (W_hh, u) -> h_prev -> writes U_t into u
    transposed: Callable[[np.ndarray], Callable]                     # W_hh -> (dU, out=dh) -> dL/dh_{t-1}
    weight_grad: Callable[[np.ndarray, np.ndarray], Callable]        # (dW_hh, scratch) -> (dU, h_prev) -> dW_hh +=
    scratch: Callable[[tuple[int, ...], int], tuple[int, ...]]       # (W_hh's shape, N) -> the scratch's shape
    finish: Callable[[np.ndarray, np.ndarray], None] = lambda dW_hh, W_hh: None   # after the loop, in place


def _full_weight_grad(dW: np.ndarray, tmp: np.ndarray) -> Callable:
    def add(dU: np.ndarray, h_prev: np.ndarray) -> None:
        """dW_hh += dU_t h_{t-1}^T   (G*H, N) x (N, H)"""
        np.matmul(dU, h_prev.T, out=tmp)
        np.add(dW, tmp, out=dW)
    return add


def _diagonal_weight_grad(du: np.ndarray, tmp: np.ndarray) -> Callable:
    def add(dU: np.ndarray, h_prev: np.ndarray) -> None:
        """du += sum_n dU_t * h_{t-1}   (H, N) -> (H,)"""
        np.multiply(dU, h_prev, out=tmp)
        np.add(du, tmp.sum(axis=1), out=du)
    return add


def cayley(M: np.ndarray) -> np.ndarray:
    """W = (I + A)^-1 (I - A) with A = M - M^T: an orthogonal matrix for every M (H, H)."""
    A = M - M.T
    eye = np.eye(M.shape[0], dtype=M.dtype)
    return np.linalg.solve(eye + A, eye - A)


def _cayley_finish(dW: np.ndarray, M: np.ndarray) -> None:
    """dW_hh (the gradient of W, accumulated by the loop) -> the gradient of M, in place."""
    A = M - M.T
    B = np.linalg.inv(np.eye(M.shape[0], dtype=M.dtype) + A)
    dA = -2.0 * (B.T @ dW @ B.T)
    np.subtract(dA, dA.T, out=dW)


RECURRENCES = {
    "full": Recurrence(
        "full",
        product=lambda W_hh, u: partial(np.matmul, W_hh, out=u),
        transposed=lambda W_hh: partial(np.matmul, W_hh.T),
        weight_grad=_full_weight_grad,
        scratch=lambda shape, N: shape),
    "diagonal": Recurrence(
        "diagonal",
        product=lambda w, u: partial(np.multiply, w[:, None], out=u),
        transposed=lambda w: partial(np.multiply, w[:, None]),
        weight_grad=_diagonal_weight_grad,
        scratch=lambda shape, N: (shape[0], N)),
    "cayley": Recurrence(
        "cayley",
        product=lambda M, u: partial(np.matmul, cayley(M), out=u),
        transposed=lambda M: partial(np.matmul, np.ascontiguousarray(cayley(M).T)),
        weight_grad=_full_weight_grad,
        scratch=lambda shape, N: shape,
        finish=_cayley_finish),
}
