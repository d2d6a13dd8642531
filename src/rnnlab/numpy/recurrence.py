"""The recurrent product of a step and its backward, by the registry's ``recurrent_weight``.

The time loop does not ask which cell it runs, nor what shape its recurrent weight has: it binds one of
these before the loop and calls what it hands back.  ``U_t`` is the recurrent part of the step's
pre-activations, ``dU_t`` its gradient (what a step's backward returns)::

    full       W_hh (G*H, H):  U_t = W_hh h_{t-1}      dL/dh_{t-1} = W_hh^T dU_t    dW_hh += dU_t h_{t-1}^T
    diagonal   u (H,):         U_t = u * h_{t-1}       dL/dh_{t-1} = u * dU_t       du += sum_n dU_t * h_{t-1}

(the diagonal one is the IndRNN's: each unit reads only its own past).  Arrays are feature-major,
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
}
