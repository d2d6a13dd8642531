"""Numerical gradient checks (Assignment 2's helpers, and a checker for whole models).

The analytic gradients of the NumPy engine are compared with central differences

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)

element by element, in float64.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from .numpy import SequenceModel


def rel_error(x: ArrayLike, y: ArrayLike, eps: float = 1e-10) -> float:
    """Maximum relative error max |x - y| / max(eps, |x| + |y|) (Assignment 2)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(eps, np.abs(x) + np.abs(y))))


# central-difference weights w_k for f'(x) ~ sum_k w_k (f(x + k h) - f(x - k h)) / h
_STENCILS = {2: (1 / 2,), 4: (2 / 3, -1 / 12), 6: (3 / 4, -3 / 20, 1 / 60)}


def eval_numerical_gradient_array(f: Callable[[np.ndarray], object], x: np.ndarray, df: ArrayLike = 1.0,
                                  h: float = 1e-5, order: int = 2) -> np.ndarray:
    """Numerical gradient of f with respect to x, by central differences (Assignment 2).

    ``f(x)`` may return a scalar or an array; ``df`` is the upstream gradient dL/df, so the result
    is sum(df * df/dx_i) for every element i of x.  ``x`` is perturbed in place and restored.

    order 2 (Assignment 2):  (f(x+h) - f(x-h)) / 2h                                    error O(h^2)
    order 4:             (8 [f(x+h) - f(x-h)] - [f(x+2h) - f(x-2h)]) / 12h           error O(h^4)
    order 6:             (45 [f(x+h) - f(x-h)] - 9 [f(x+2h) - f(x-2h)]
                          + [f(x+3h) - f(x-3h)]) / 60h                               error O(h^6)
    Higher orders allow a larger h, hence less rounding error, and so resolve gradient
    elements far smaller than the seed's stencil can at the same relative error.
    """
    if order not in _STENCILS:
        raise ValueError(f"order: expected one of {sorted(_STENCILS)}, got {order!r}")
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])

    def at(idx: tuple[int, ...], value: float) -> np.ndarray:
        x[idx] = value
        return np.array(f(x), dtype=np.float64, copy=True)

    while not it.finished:
        idx = it.multi_index
        old = x[idx]
        total = 0.0
        for k, w in enumerate(_STENCILS[order], start=1):
            total = total + w * (at(idx, old + k * h) - at(idx, old - k * h))
        x[idx] = old
        grad[idx] = np.sum(total * df) / h
        it.iternext()
    return grad


def check_model_gradients(model: SequenceModel, x: np.ndarray, target: np.ndarray, loss: str = "mse",
                          lengths: np.ndarray | None = None, h: float = 1e-2, order: int = 6) -> dict[str, float]:
    """Maximum relative error between analytic and numerical gradients, per parameter and input.

    ``model`` is a :class:`rnnlab.numpy.SequenceModel` (use float64).  Returns a dictionary
    ``{parameter name: error, ..., "input": error}``.
    """
    if model.dtype != np.float64:
        raise ValueError(f"model: gradient checks need a float64 model, got {model.dtype}; "
                         "build it with dtype=np.float64")
    x = np.array(x, dtype=np.float64, copy=True)

    def loss_value(_: object = None) -> float:
        return model.loss(model.forward(x, lengths), target, loss, lengths)[0]

    logits = model.forward(x, lengths)
    _, dy = model.loss(logits, target, loss, lengths)
    dx = model.backward(dy)
    analytic = {name: g.copy() for name, g in model.grads.items()}
    errors = {}
    for name, p in model.params.items():
        numeric = eval_numerical_gradient_array(loss_value, p, h=h, order=order)
        errors[name] = rel_error(analytic[name], numeric)
    numeric_x = eval_numerical_gradient_array(loss_value, x, h=h, order=order)
    errors["input"] = rel_error(dx, numeric_x)
    return errors
