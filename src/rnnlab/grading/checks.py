"""What every check shares: the failure a check raises, calling student code with errors that point at its
line, comparing gradients and naming what is wrong with them, and running a list of checks under a time limit.

A check is a function of the submission's namespace that returns the feedback of a pass or raises ``Fail``
with the feedback of a failure.  Anything else it raises is student code failing, reported in one line.
"""
from __future__ import annotations

import signal
import traceback
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

SUBMISSION_FILE = "<submission>"
GRAD_TOLERANCE = 1e-4          # relative error (2-norm) of a gradient against central differences


class Fail(Exception):
    """A check's verdict: the TODO is not done right, and why."""


class CheckTimeout(BaseException):
    """A check ran past its time limit (student code looping, most likely); not an Exception, so that a
    student's `except Exception` cannot swallow it."""


@dataclass(frozen=True)
class Check:
    id: str
    max_points: float
    run: Callable[[dict], str]


def student_error(what: str, exc: BaseException) -> Fail:
    """One line for an exception raised inside student code: where (their line) and what."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == SUBMISSION_FILE]
    where = f" (line {lines[-1]} of the submission's code)" if lines else ""
    if isinstance(exc, MemoryError):
        return Fail(f"{what} ran out of memory (the grader's memory limit){where}")
    if isinstance(exc, CheckTimeout):
        return Fail(f"{what} did not finish within the time limit (an endless loop?){where}")
    return Fail(f"{what} raised {type(exc).__name__}: {str(exc)[:200]}{where}")


def call(what: str, fn: Callable, *args, **kwargs) -> object:
    """``fn(*args, **kwargs)``; an exception from student code becomes a ``Fail`` naming ``what``."""
    try:
        return fn(*args, **kwargs)
    except Fail:
        raise
    except (Exception, SystemExit, KeyboardInterrupt) as exc:     # sys.exit() in student code too
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


def raise_timeout(signum: int, frame: types.FrameType | None) -> NoReturn:
    raise CheckTimeout()


def run_checks(checks: Iterable[Check], namespace: dict, seconds: float,
               emit: Callable[[dict], None]) -> None:
    """Run each check with a wall-clock limit of ``seconds`` and emit its item as soon as it is known."""
    signal.signal(signal.SIGALRM, raise_timeout)
    for check in checks:
        passed, feedback = False, ""
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            feedback, passed = check.run(namespace), True
        except Fail as exc:
            feedback = str(exc)
        except CheckTimeout as exc:
            feedback = str(student_error(check.id, exc))
        except (Exception, SystemExit, KeyboardInterrupt) as exc:   # student code failing unexpectedly
            feedback = str(student_error(check.id, exc))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        emit({"id": check.id, "points": check.max_points if passed else 0, "max_points": check.max_points,
              "passed": passed, "feedback": feedback})
