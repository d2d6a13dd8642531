"""What every check shares: the failure a check raises, calling student code with errors that point at its
line, comparing gradients and naming what is wrong with them, and running a list of checks under a time limit.

A check is a function of the submission's namespace that returns the feedback of a pass or raises ``Fail``
with the feedback of a failure.  Anything else it raises is student code failing, reported in one line.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

GRAD_TOLERANCE = 1e-4          # relative error (2-norm) of a gradient against central differences


class Fail(Exception):
    """A check's verdict: the TODO is not done right, and why."""


class CheckTimeout(BaseException):
    """A check ran past its time limit (student code looping, most likely); not an Exception, so that a
    student's `except Exception` cannot swallow it."""


class StudentError(Exception):
    """An exception raised by the student's code in the sandbox, as text: its type, message and the
    submission's lines it went through."""

    def __init__(self, type_name: str, message: str, lines: list[int]):
        super().__init__(message)
        self.type_name, self.message, self.lines = type_name, message, lines


class SessionEnded(Exception):
    """The sandbox is gone (killed, crashed, or it broke the protocol): the reason in words."""


@dataclass(frozen=True)
class Check:
    """One item: its id, points, the check (a function of the submission's namespace), and its phase: checks
    run by phase, so that a check that lends the submission a piece runs after the checks of that piece."""
    id: str
    max_points: float
    run: Callable[[dict], str]
    phase: int = 0


def student_error(what: str, exc: BaseException) -> Fail:
    """One line for an exception raised by student code (a ``remote.StudentError``): where (their line) and what."""
    lines = getattr(exc, "lines", None) or []
    where = f" (line {lines[-1]} of the submission's code)" if lines else ""
    kind = getattr(exc, "type_name", type(exc).__name__)
    if kind == "MemoryError":
        return Fail(f"{what} ran out of memory (the grader's memory limit){where}")
    if isinstance(exc, CheckTimeout):
        return Fail(f"{what} did not finish within the time limit (an endless loop?){where}")
    return Fail(f"{what} raised {kind}: {str(exc)[:200]}{where}")


def call(what: str, fn: Callable, *args, **kwargs) -> object:
    """``fn(*args, **kwargs)``; an exception from student code becomes a ``Fail`` naming ``what``."""
    try:
        return fn(*args, **kwargs)
    except StudentError as exc:            # sys.exit() in student code too: it arrives as text
        raise student_error(what, exc) from None


def need(namespace: dict, name: str, kind: str = "class") -> object:
    if name not in namespace:
        raise Fail(f"{kind} {name} is not defined")
    return namespace[name]


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| (0 when both are zero)."""
    scale = float(np.linalg.norm(b))
    diff = float(np.linalg.norm(a - b))
    return diff / scale if scale > 1e-12 else diff


def matches(student: dict, target: dict, tolerance: float = GRAD_TOLERANCE) -> bool:
    return all(relative_error(student[k], target[k]) < tolerance for k in target)


def describe_gradients(student: dict, true: dict, mistakes: dict[str, tuple[dict, str]]) -> str | None:
    """None when ``student`` matches ``true``; else what is wrong: a known mistake whose gradients it matches,
    one factor for all of them, or per parameter: zero, off by a factor, or just different."""
    if matches(student, true):
        return None
    if not any(np.any(v) for v in student.values()):
        return "backward does not move any parameter: every gradient is zero (is the TODO written yet?)"
    for grads, message in mistakes.values():
        if matches(student, grads):
            return message
    s, t = (np.concatenate([d[k].ravel() for k in true]) for d in (student, true))
    factor = float(s @ t / (t @ t)) if t @ t > 0 else 0.0
    if relative_error(s, factor * t) < 1e-3 and abs(factor - 1) > 1e-3:
        if abs(factor + 1) < 1e-3:
            return "every gradient has the wrong sign (the update must be p -= learning_rate * grad)"
        return f"every gradient differs from the numerical gradient by a factor of about {factor:.3g}"
    wrong = [_describe_one(f"d{k}", student[k], true[k]) for k in true if relative_error(student[k], true[k])
             >= GRAD_TOLERANCE]
    right = [f"d{k}" for k in true if relative_error(student[k], true[k]) < GRAD_TOLERANCE]
    return "; ".join(wrong) + (f" ({', '.join(right)} right)" if right else "")


def _describe_one(name: str, student: np.ndarray, true: np.ndarray) -> str:
    if not np.any(student):
        return f"{name} is zero: it is never accumulated"
    factor = float(np.sum(student * true) / max(np.sum(true * true), 1e-300))
    if relative_error(student, factor * true) < 1e-3:
        return f"{name} has the right shape but differs from the numerical gradient by a factor of about {factor:.3g}"
    return f"{name} differs from the numerical gradient (relative error {relative_error(student, true):.2g})"
