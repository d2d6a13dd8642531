"""Grading a submission's code in its own sandbox: the entry points ``run`` and ``run_many`` over ``judge``.

Each submission gets a fresh operating-system sandbox (``jail``: bubblewrap, namespaces, a read-only view of
the standard library and the assignment's packages, one small writable folder, limits) and is checked from
outside it (``judge``, ``remote``).  ``sandboxed=False`` runs the same agent as a plain process with the same
limits, for trusted code only (``--no-sandbox``, and a student checking their own notebook).
"""
from __future__ import annotations

from .jail import Limits, SandboxUnavailable, availability
from .judge import grade_code
from .report import Report

__all__ = ["Limits", "SandboxUnavailable", "availability", "run", "run_many"]

UNSANDBOXED = ("not sandboxed: the code ran as a plain process with time and memory limits only "
               "(for trusted code: a student's own notebook, or --no-sandbox)")


def run(code: str, assignment: str, limits: Limits, only: tuple[str, ...] = (), sandboxed: bool = True) -> Report:
    """Grade ``code`` as ``assignment``; never raises for what the submission does.  Raises
    ``SandboxUnavailable`` (one line: why, what to do) when ``sandboxed`` and no sandbox can be made here."""
    if sandboxed:
        reason = availability()
        if reason:
            raise SandboxUnavailable(reason)
    report = grade_code(code, assignment, limits, only, sandboxed)
    if not sandboxed:
        report.notes.insert(0, UNSANDBOXED)
    report.sandboxed = sandboxed
    return report


def run_many(codes: list[str], assignment: str, limits: Limits, only: tuple[str, ...] = (),
             sandboxed: bool = True, jobs: int = 1) -> list[Report]:
    """Grade several submissions of one assignment, ``jobs`` at a time, each in a fresh sandbox; the reports
    in the order of ``codes``."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda code: run(code, assignment, limits, only, sandboxed), codes))
