"""The judge: grades one submission from outside its sandbox.

It starts a fresh sandbox (``jail``) with the agent in it, has the agent run the submission's definitions, then
runs each check here, in this process: a check calls the student's classes and functions across the channel
(``remote``) and computes every comparison, tolerance and point itself.  The submission cannot reach this
process: it sees only the requests, and what it answers is data.

Each check has ``check_seconds``; a check that runs past them costs that check only (a sandbox that ignores
the alarm is killed and a fresh one, with the definitions run again, takes the next check).  All of it has
``total_seconds``; the items not reached by then say so.  The sandbox is stopped, every process in it killed,
when the submission is done.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .assignments import ASSIGNMENTS
from .checks import Check, CheckTimeout, Fail, SessionEnded, StudentError, student_error
from .jail import Jail, Limits
from .remote import Remote, Session, printable
from .report import Item, Report
from .source import definitions, parse

STARTUP_SECONDS = 90.0          # starting the sandbox and importing torch, on a busy machine
RESTARTS = 3                    # fresh sandboxes after the first, per submission
MAX_NOTES = 20                  # notes about failed definitions, per submission


class Namespace:
    """The submission's top-level names, as a check sees them (``name in ns``, ``ns[name]``)."""

    def __init__(self, session: Session):
        self.session = session

    def __contains__(self, name: str) -> bool:
        return self.session.has(name)

    def __getitem__(self, name: str) -> Remote:
        return self.session.get(name)

    def get(self, name: str, default=None):
        """The name's object in the sandbox, or ``default`` when it is not defined."""
        if name in self:
            return self[name]
        return default


@dataclass
class _Run:
    code: str
    assignment: str
    limits: Limits
    sandboxed: bool
    deadline: float
    session: Session | None = None
    restarts: int = 0


def grade_code(code: str, assignment: str, limits: Limits, only: tuple[str, ...] = (),
               sandboxed: bool = True) -> Report:
    """Grade ``code`` (the submission's source, IPython lines already neutralised) as ``assignment``."""
    spec = ASSIGNMENTS[assignment]
    checks = {c.id: c for c in spec.load_checks()}
    wanted = spec.selected(only)
    run = _Run(code, assignment, limits, sandboxed, time.monotonic() + limits.total_seconds + STARTUP_SECONDS)
    items: dict[str, Item] = {}
    notes: list[str] = []
    try:
        notes += _start(run)
        # the time limit counts from the definitions (a start that ate the startup allowance leaves less)
        run.deadline = min(time.monotonic() + limits.total_seconds, run.deadline)
        for check in sorted((checks[i] for i, _ in wanted), key=lambda c: c.phase):
            if time.monotonic() > run.deadline:
                break
            items[check.id] = _one(run, check)
    finally:
        if run.session:
            run.session.stop("done")
    stopped = (f"not checked: the grading was stopped after {limits.total_seconds:g} s (the time limit)"
               if len(items) < len(wanted) else None)
    if stopped:
        notes.append(stopped)
    return Report(assignment, [items.get(i) or Item(i, 0, p, False, stopped) for i, p in wanted], notes)


def _start(run: _Run) -> list[str]:
    """A fresh sandbox with the submission's definitions run in it; the notes about statements that failed."""
    jail = Jail(ASSIGNMENTS[run.assignment].modules, run.limits, run.sandboxed)
    run.session = Session(jail.process, jail.stop)
    tree = parse(run.code)
    kept = {id(node) for node in definitions(tree)}
    indexes = [i for i, node in enumerate(tree.body) if id(node) in kept]
    run.session.limit(min(STARTUP_SECONDS + run.limits.check_seconds * (len(indexes) + 1),
                          run.deadline - time.monotonic()))
    try:
        answers = run.session.request("define", run.code, indexes, run.limits.check_seconds)
    except (CheckTimeout, SessionEnded, StudentError) as exc:
        reason = run.session.ended or "the sandbox did not start in time"
        run.session.stop(reason)
        return [f"the submission's definitions could not be run: {reason} ({type(exc).__name__})"]
    answers = [a for a in answers if isinstance(a, dict)] if isinstance(answers, list) else []
    notes = [f"{len(answers) - MAX_NOTES} more statements failed; the first {MAX_NOTES} follow"
             ] if len(answers) > MAX_NOTES else []
    packages = ", ".join(ASSIGNMENTS[run.assignment].modules)
    for answer in answers[:MAX_NOTES]:
        line = answer.get("line") if type(answer.get("line")) is int else "?"
        exc = _error(answer.get("error"))
        hint = (f" (graded code may import the standard library and {packages}, not rnnlab)"
                if getattr(exc, "type_name", "") == "ModuleNotFoundError" else "")
        notes.append(f"line {line}: {str(student_error('the statement', exc))[:300]}{hint}; "
                     f"the checks that need what it defines fail")
    return notes


def _error(problem) -> BaseException:
    """An error the agent reported (a dict, or anything a hostile sandbox wrote instead) as an exception."""
    problem = problem if isinstance(problem, dict) else {}
    if problem.get("type") == "Timeout":
        return CheckTimeout()
    lines = problem.get("lines") if isinstance(problem.get("lines"), list) else []
    return StudentError(printable(problem.get("type"))[:60], printable(problem.get("message"))[:300],
                        [n for n in lines if type(n) is int][-3:])


def _one(run: _Run, check: Check) -> Item:
    """Run one check in the current sandbox (a fresh one if the last was stopped); its item."""
    if run.session.ended:
        if run.restarts >= RESTARTS:
            return Item(check.id, 0, check.max_points, False,
                        f"not checked: the sandbox was stopped too often ({run.session.ended})")
        run.restarts += 1
        _start(run)
    seconds = min(run.limits.check_seconds, max(run.deadline - time.monotonic(), 0.1))
    run.session.limit(seconds)
    passed, feedback = False, ""
    try:
        feedback, passed = check.run(Namespace(run.session)), True
    except Fail as exc:
        feedback = str(exc)
    except CheckTimeout as exc:
        feedback = str(student_error(check.id, exc))
    except SessionEnded as exc:
        feedback = f"{check.id} stopped the sandbox: {exc}"
    except StudentError as exc:
        feedback = str(student_error(check.id, exc))
    except Exception as exc:                         # what the student's answers made a check trip on
        feedback = f"{check.id} got an answer it cannot use ({type(exc).__name__}: {str(exc)[:200]})"
    return Item(check.id, check.max_points if passed else 0, check.max_points, passed, feedback)
