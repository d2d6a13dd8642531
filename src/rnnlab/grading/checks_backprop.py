"""Assignment 2's ``backward`` check (gradients, clipping, update rule), its short training run, and the list
of the assignment's checks.  See ``checks_classic`` for how each TODO is kept apart from the others."""
from __future__ import annotations

import contextlib
import copy
from functools import partial

import numpy as np

from . import classic_ref as ref
from .checks import Check, Fail, StudentError, call, describe_gradients, matches, need
from .checks_classic import (
    HUGE_CLIP,
    SPECS,
    D,
    ModelSpec,
    T,
    cache_right,
    canonical,
    check_activation,
    check_forward,
    check_init,
    close,
    forward_pair,
    in_either_layout,
    numeric_gradient,
    prepared_model,
)

TRAIN_BAR = 0.75                         # test accuracy of the short training run
TRAIN_RATE = {"RNN": 0.02, "LSTM": 0.05}  # SGD learning rates of the short training run


class _Backprop:
    """One student model with fixed parameters, input and upstream gradient g = dL/dy (L = sum(g * y))."""

    def __init__(self, spec: ModelSpec, namespace: dict, own_layout: bool):
        rng = np.random.default_rng(2)
        self.spec, self.names, self.shapes = spec, list(spec.template), spec.shapes()
        self.model, self.views = prepared_model(spec, namespace, rng, own_layout)
        self.X, self.g = rng.normal(size=(T, D)), rng.normal(size=(self.shapes["by"][0], 1))
        _, self.cache_ref = spec.forward(self.views, self.X)
        try:
            y, _ = forward_pair(spec, self.model, self.X)
            y_ref, _ = spec.forward(self.views, self.X)
            self.own_forward = close(y, y_ref) and cache_right(spec, getattr(self.model, "cache", None),
                                                                   self.cache_ref)
        except Fail:
            self.own_forward = False

    def objective(self) -> float:
        """L = sum(g * y) of the course's forward (in float64) with the student's parameters: when the
        student's forward is right it computes the same function, and float32 work is not differenced."""
        y, _ = self.spec.forward(self.views, self.X)
        return float(np.sum(self.g * np.asarray(y, dtype=float)))

    def step(self, learning_rate: float, clip_value: float) -> dict[str, np.ndarray]:
        """How far one backward call moves each parameter (course shape); the parameters are put back after."""
        saved = {n: getattr(self.model, n) for n in self.names}
        with contextlib.suppress(StudentError):  # the course's cache below is all backward needs then
            self.model.forward(self.X.copy())
        if not self.own_forward:
            self.model.cache = copy.deepcopy(self.cache_ref)
        name = self.spec.name
        call(f"{name}.backward", self.model.backward, self.g.copy(), learning_rate=learning_rate,
             clip_value=clip_value)
        moved = {n: saved[n].reshape(-1) for n in self.names}
        for n in self.names:
            after = np.asarray(canonical(getattr(self.model, n, None), self.shapes[n], n), dtype=float)
            moved[n] = np.asarray(canonical(saved[n], self.shapes[n], n), dtype=float) - after
            self.model.assign(n, saved[n])       # put back in place: views of a fused matrix stay views
            self.views[n] = np.array(canonical(getattr(self.model, n), self.shapes[n], n), dtype=float)
        return moved


def check_backward(spec: ModelSpec, namespace: dict) -> str:
    return in_either_layout(_check_backward, spec, namespace)


def _check_backward(spec: ModelSpec, namespace: dict, own_layout: bool) -> str:
    bp = _Backprop(spec, namespace, own_layout)
    numeric = {n: numeric_gradient(bp.objective, bp.views[n]) for n in bp.names}
    where = "" if bp.own_forward else " (checked on the course's forward cache, since forward is not right yet)"
    mistakes = {key: (ref.total(spec.backward(bp.views, bp.cache_ref, bp.g, key), bp.names), message)
                for key, message in spec.backward_mistakes.items()}
    problem = describe_gradients(bp.step(1.0, HUGE_CLIP), numeric, mistakes)
    if problem:
        raise Fail(problem + where)
    _check_clipping(bp, numeric)
    moved = bp.step(0.25, HUGE_CLIP)
    if not matches(moved, {n: 0.25 * v for n, v in numeric.items()}):
        if matches(moved, numeric):
            raise Fail("learning_rate is ignored: the update must be p -= learning_rate * grad")
        if matches(moved, {n: -0.25 * v for n, v in numeric.items()}):
            raise Fail("the parameters move up the gradient: use p -= learning_rate * grad, not +=")
        raise Fail("the update is not p -= learning_rate * grad")
    return ("gradients match central differences of the forward pass, clipping is elementwise at clip_value and "
            "the update is p -= learning_rate * grad" + where)


def _check_clipping(bp: _Backprop, numeric: dict) -> None:
    clip = float(np.quantile(np.abs(np.concatenate([v.ravel() for v in numeric.values()])), 0.6))
    moved = bp.step(1.0, clip)
    if matches(moved, {n: np.clip(v, -clip, clip) for n, v in numeric.items()}):
        return
    steps = bp.spec.backward(bp.views, bp.cache_ref, bp.g)
    per_step = ref.clipped_per_step(steps, bp.names, clip)
    if matches(moved, per_step) or matches(moved, {n: np.clip(v, -clip, clip) for n, v in per_step.items()}):
        raise Fail("gradients are clipped at each time step before they are summed: clip the summed gradients "
                   "once, after the loop over time")
    if matches(moved, numeric):
        raise Fail("gradients are not clipped at clip_value: np.clip(grad, -clip_value, clip_value, out=grad) "
                   "for every gradient before the update")
    largest = max(float(np.max(np.abs(v))) for v in moved.values())
    if largest > clip * (1 + 1e-6):
        raise Fail(f"gradients are not clipped at clip_value: with clip_value {clip:.3g} and learning_rate 1 a "
                   f"parameter moved by {largest:.3g}")
    raise Fail("clipping is not elementwise np.clip(grad, -clip_value, clip_value) of the summed gradient")


def check_training(spec: ModelSpec, namespace: dict) -> str:
    """Not worth points: the student's model, as written, trained per sample for a few epochs on a small task
    (is the sum of the first feature over 6 steps positive?) must pass a test-accuracy bar.  The loop runs in
    the sandbox (a submission could make this item's feedback lie; it is worth nothing)."""
    cls = need(namespace, spec.name)
    namespace.session.request("seed", 3)
    rng = np.random.default_rng(3)
    model = call(f"{spec.name}(3, 16, 2)", cls, 3, 16, 2)
    X = rng.normal(size=(300, 6, 3))
    labels = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    order = np.concatenate([rng.permutation(200) for _ in range(3)])
    session = namespace.session        # the loop runs in the sandbox (one request); the accuracy is computed here
    predicted = call(f"training {spec.name}", session.request, "train_classic", model, X[:200], labels[:200],
                     X[200:], order, TRAIN_RATE[spec.name], 5.0)
    if not isinstance(predicted, list) or len(predicted) != 100:
        raise Fail("the training run did not return a prediction per test sequence")
    accuracy = float(np.mean(np.array(predicted) == labels[200:]))
    if not accuracy >= TRAIN_BAR:
        raise Fail(f"after 3 epochs of the course's training loop on a small task the test accuracy is "
                   f"{accuracy:.0%}, below the bar of {TRAIN_BAR:.0%} (0 points: fix the TODOs above)")
    return f"trained on a small task: test accuracy {accuracy:.0%} (bar {TRAIN_BAR:.0%}; no points, a sanity run)"


# the document's values in its training cell, under "TODO 3: try to use different parameters"
DOCUMENT_PARAMETERS = {"learning_rate": 0.005, "batch_size": 64, "epochs": 9, "hidden_dim": 128}
PARAMETER_RANGES = {"learning_rate": (float, 1e-6, 1.0), "batch_size": (int, 1, 5000), "epochs": (int, 1, 200),
                    "hidden_dim": (int, 1, 1024)}


def check_hyperparameters(namespace) -> str:
    """TODO 3 of the training cell: the hyperparameters defined as numbers in their ranges, and at least one of
    them not the document's (the TODO asks to try different ones)."""
    values = {}
    for name, (kind, low, high) in PARAMETER_RANGES.items():
        if name not in namespace:
            raise Fail(f"{name} is not defined: TODO 3 sets learning_rate, batch_size, epochs and hidden_dim at the "
                       f"top level of the training cell (plain numbers, e.g. learning_rate = 0.01)")
        value = namespace.session.request("value", name)
        if kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
            raise Fail(f"{name} = {value!r}: expected a whole number")
        if not (isinstance(value, (int, float)) and low <= value <= high):
            raise Fail(f"{name} = {value!r}: expected a number from {low:g} to {high:g}")
        values[name] = value
    changed = [f"{k} {v:g} (the document's {DOCUMENT_PARAMETERS[k]:g})" for k, v in values.items()
               if v != DOCUMENT_PARAMETERS[k]]
    if not changed:
        raise Fail("learning_rate, batch_size, epochs and hidden_dim are the document's (0.005, 64, 9, 128): TODO 3 "
                   "asks you to try different parameters; keep the ones that did best and say what you saw")
    return "your parameters: " + ", ".join(changed)


def assignment_checks(items: tuple[tuple[str, float], ...]) -> list[Check]:
    """Assignment 2's checks for ``items`` ((id, points), from ``assignments``, the one place they are defined):
    per model its ``__init__``, activations, ``forward``, ``backward`` and a training run; and TODO 3, the
    hyperparameters."""
    parts = {"__init__": check_init, "forward": check_forward, "backward": check_backward, "training": check_training}
    checks = []
    for item, points in items:
        if item == "hyperparameters":
            checks.append(Check(item, points, check_hyperparameters))
            continue
        model, part = item.split(".")
        spec = SPECS[model]
        run = partial(check_activation, spec, part) if part in spec.activations else partial(parts[part], spec)
        checks.append(Check(item, points, run))
    return checks
