"""Assignment 2's checks: per class (the NumPy ``RNN`` and ``LSTM``), one item per TODO, two points each.

Each TODO is checked on its own: the activations are checked on a bare instance; ``forward`` runs with the
course's activations put in place of the student's and with parameters the grader sets (random, biases too, in
the shapes the student chose); ``backward`` runs on the course's cache when the student's forward is not right
yet.  So one mistake costs the points of the TODO it is in, and only those.

The gradient check: with ``clip_value`` huge and ``learning_rate`` 1, one call of ``backward`` moves every
parameter by exactly -dL/dparameter, for L = sum(g * y) and ``dLdy = g``.  That step is compared with central
differences of the student's own forward (of the course's forward while the student's is wrong).  Then the
clipping (a small ``clip_value``: each element of the summed gradient clipped to [-clip_value, clip_value])
and the update rule (``learning_rate`` 0.25) are checked apart.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import classic_ref as ref
from .checks import Fail, StudentError, call, need
from .wire import Function

D, H, O, T = 4, 5, 2, 4                 # the course's test sizes (input 4, hidden 5, output 2), 4 steps
HUGE_CLIP = 1e12
ACTIVATIONS = {"tanh": np.tanh, "sigmoid": ref.sigmoid}
DIMENSION_NAMES = {"H": "hidden_dim", "D": "input_dim", "O": "output_dim", "1": "1"}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    template: dict
    forward: object
    backward: object
    forward_mistakes: dict
    backward_mistakes: dict
    activations: tuple[str, ...]
    h_index: int                         # where h_t sits in a cache tuple
    cache_layout: str

    def shapes(self, d: int = D, h: int = H, o: int = O) -> dict[str, tuple[int, int]]:
        return ref.shapes(self.template, d, h, o)


SPECS = {
    "RNN": ModelSpec("RNN", ref.RNN_SHAPES, ref.rnn_forward, ref.rnn_backward, ref.RNN_FORWARD_MISTAKES,
                     ref.RNN_BACKWARD_MISTAKES, ("tanh",), 2, "(h_prev, x_t, h_t)"),
    "LSTM": ModelSpec("LSTM", ref.LSTM_SHAPES, ref.lstm_forward, ref.lstm_backward, ref.LSTM_FORWARD_MISTAKES,
                      ref.LSTM_BACKWARD_MISTAKES, ("sigmoid", "tanh"), 8,
                      "(x_t, h_prev, c_prev, i_t, f_t, o_t, c_tilde, c_t, h_t)"),
}


def canonical(value: object, shape: tuple[int, int], name: str) -> np.ndarray:
    """The parameter in the course's shape, as a view of the student's array (a transposed or flat one too)."""
    if not isinstance(value, np.ndarray):
        raise Fail(f"{name} is a {type(value).__name__}, expected a NumPy array")
    if value.shape == shape:
        return value
    if value.shape == shape[::-1]:
        return value.T
    if value.shape == (value.size,) and value.size == shape[0] * shape[1]:
        return value.reshape(shape)
    raise Fail(f"{name} has shape {value.shape}, expected {shape}")


RTOL, ATOL = 1e-4, 1e-6                  # float32 work (relative error about 1e-7 per operation) passes


def close(a: object, b: np.ndarray) -> bool:
    """``a`` (the student's value, any float dtype) equals ``b`` within float32-friendly tolerances."""
    try:
        a = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def check_init(spec: ModelSpec, namespace: dict) -> str:
    cls = need(namespace, spec.name)
    namespace.session.request("seed", 0)
    model = call(f"{spec.name}({D}, {H}, {O})", cls, D, H, O)
    missing = [name for name in spec.template if getattr(model, name, None) is None]
    problems = [f"__init__ does not set {', '.join(f'self.{n}' for n in missing)}"] if missing else []
    for name, shape in spec.shapes().items():
        value = getattr(model, name, None)
        meaning = ", ".join(DIMENSION_NAMES[s] for s in spec.template[name])
        if value is None:
            continue
        if not isinstance(value, np.ndarray):
            problems.append(f"{name} is a {type(value).__name__}, expected a NumPy array")
        elif value.shape != shape:
            problems.append(f"{name} has shape {value.shape}, expected {shape} = ({meaning})")
        elif name.startswith("b") and np.any(value):
            problems.append(f"{name} should start at zero (np.zeros)")
        elif not name.startswith("b") and not 0.02 < float(value.std()) < 0.5:
            problems.append(f"{name}'s entries have standard deviation {float(value.std()):.3g}; "
                            f"draw them as np.random.randn(...) * 0.1")
    if problems:
        raise Fail("; ".join(problems))
    return f"all {len(spec.template)} parameters have the course's shapes, small random weights and zero biases"


def check_activation(spec: ModelSpec, which: str, namespace: dict) -> str:
    method = getattr(instance(spec, namespace), which, None)
    if method is None:
        raise Fail(f"{spec.name}.{which} is not defined")
    x = np.linspace(-4, 4, 9)[:, None]
    out = call(f"{spec.name}.{which}", method, x.copy())
    if out is None:
        raise Fail(f"{which} returns None: return {which}(x) of the array it gets")
    expected = ACTIVATIONS[which](x)
    if not close(out, expected):
        other = next((k for k, f in ACTIVATIONS.items() if k != which and close(out, f(x))), None)
        if other:
            raise Fail(f"{which} computes {other}, not {which}")
        got = np.asarray(out, dtype=float).ravel()
        shown = np.round(got, 4).tolist() if got.size == x.size else f"shape {got.shape}"
        raise Fail(f"{which}(x) is wrong: at x = {x.ravel().tolist()} expected "
                   f"{np.round(expected.ravel(), 4).tolist()}, got {shown}")
    if which == "sigmoid":
        with np.errstate(all="ignore"):
            big = np.asarray(call("LSTM.sigmoid", method, np.array([[-1000.0], [1000.0]])), dtype=float)
        if not (np.all(np.isfinite(big)) and np.allclose(big.ravel(), [0.0, 1.0])):
            raise Fail("sigmoid is not safe for large |x| (x = -1000 or 1000 gives nan or inf): clip x first")
    return f"{which} matches the definition" + (", and is safe for large |x|" if which == "sigmoid" else "")


def instance(spec: ModelSpec, namespace: dict) -> object:
    """The student's model as they build it (``__init__`` run: an activation may use what it sets); a bare
    instance with the course's sizes only when ``__init__`` itself fails (that costs ``__init__``'s points)."""
    cls = need(namespace, spec.name)
    try:
        return cls(D, H, O)
    except StudentError:
        model = cls.bare()
        model.input_dim, model.hidden_dim, model.output_dim = D, H, O
        return model


def prepared_model(spec: ModelSpec, namespace: dict, rng: np.random.Generator,
                   own_layout: bool = False) -> tuple[object, dict[str, np.ndarray]]:
    """A student model with the course's activations in place and random parameters (biases not zero), in the
    course's shapes or (``own_layout``) in the student's own, transposed or flat ones; returns the model and
    the parameters as course-shaped views."""
    model = instance(spec, namespace)
    for which in spec.activations:
        setattr(model, which, Function(which))
    views = {}
    for name, shape in spec.shapes().items():
        current = getattr(model, name, None)
        ok = own_layout and isinstance(current, np.ndarray) and current.shape in (shape, shape[::-1],
                                                                                  (shape[0] * shape[1],))
        value = rng.normal(0.0, 0.5, current.shape if ok else shape)
        # written into the student's own array when it has the shape (views of a fused matrix stay views)
        model.assign(name, value)
        # read back, in the student's dtype: the reference computes with exactly these numbers
        views[name] = np.array(canonical(getattr(model, name, None), shape, name), dtype=float)
    return model, views


def forward_pair(spec: ModelSpec, model: object, X: np.ndarray) -> tuple[object, object]:
    out = call(f"{spec.name}.forward", model.forward, X.copy())
    if not isinstance(out, tuple) or len(out) != 2:
        raise Fail(f"forward must return the pair (y, h_t), got {type(out).__name__}")
    return out


def cache_right(spec: ModelSpec, cache: object, cache_ref: list) -> bool:
    if not isinstance(cache, list) or len(cache) != len(cache_ref):
        return False
    return all(isinstance(step, tuple | list) and len(step) == len(step_ref) and
               all(close(np.asarray(a, dtype=float).reshape(np.shape(b)), b) for a, b in zip(step, step_ref))
               for step, step_ref in zip(cache, cache_ref))


def in_either_layout(check: Callable[..., str], *args) -> str:
    """``check(*args, own_layout)`` with the parameters in the course's shapes, then, if that fails, in the
    student's own (a wrong shape in __init__ costs __init__'s points, not forward's or backward's)."""
    try:
        return check(*args, False)
    except Fail as first:
        try:
            return check(*args, True)
        except Fail:
            raise first from None


def check_forward(spec: ModelSpec, namespace: dict) -> str:
    return in_either_layout(_check_forward, spec, namespace)


def _check_forward(spec: ModelSpec, namespace: dict, own_layout: bool) -> str:
    rng = np.random.default_rng(1)
    model, views = prepared_model(spec, namespace, rng, own_layout)
    X = rng.normal(size=(T, D))
    y, h = forward_pair(spec, model, X)
    y_ref, cache_ref = spec.forward(views, X)
    h_ref = cache_ref[-1][spec.h_index]
    for name, value, shape in (("y", y, (O, 1)), ("h_t", h, (H, 1))):
        if np.shape(value) != shape:
            raise Fail(f"forward returns {name} of shape {np.shape(value)}, expected {shape}")
    if not (close(y, y_ref) and close(h, h_ref)):
        for mistake, message in spec.forward_mistakes.items():
            y_m, cache_m = spec.forward(views, X, mistake)
            if close(y, y_m) and close(h, cache_m[-1][spec.h_index]):
                raise Fail(message)
        state = "h_T is right, so the output layer is wrong" if close(h, h_ref) else "h_T differs too"
        raise Fail(f"y differs from the course's recurrence (largest difference "
                   f"{float(np.max(np.abs(np.asarray(y, dtype=float) - y_ref))):.3g}); {state}")
    if not cache_right(spec, getattr(model, "cache", None), cache_ref):
        raise Fail(f"y and h_T are right but self.cache is not one {spec.cache_layout} tuple per step, "
                   f"which backward reads")
    return f"y and h_T match the recurrence on a {T}-step sequence; the cache holds {spec.cache_layout} per step"


def numeric_gradient(objective: Callable[[], float], x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central differences: (f(x + h e_i) - f(x - h e_i)) / 2h for every element of x (changed in place)."""
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + step
        up = objective()
        x[index] = old - step
        down = objective()
        x[index] = old
        grad[index] = (up - down) / (2 * step)
    return grad
