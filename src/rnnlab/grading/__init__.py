"""Grade a student's submission of a course exercise: ``grade`` (a Report) and ``check`` (the same, printed).

    rnnlab.check("student.ipynb")            # a file: .py or .ipynb
    rnnlab.check()                           # inside a notebook: the code this notebook has run
    rnnlab.check(only="RNN")                 # just one class's items (the checks to run as you go)

A file is graded in an operating-system sandbox (``jail``; refused, with the reason, where none can be made)
and checked from outside it (``judge``); ``sandbox=False`` is for trusted code only.  ``rnnlab.check()`` in a
student's own notebook grades that notebook's code unsandboxed (it is the student's own machine and code),
and the report says so.  A whole class: ``grading.batch.grade_class`` (``rnnlab check DIR``).
"""
from __future__ import annotations

from pathlib import Path

from .assignments import ASSIGNMENTS
from .jail import Limits, SandboxUnavailable
from .report import Item, Report
from .source import SubmissionError, from_source, read_submission, recognise

__all__ = ["ASSIGNMENTS", "Item", "Limits", "Report", "SandboxUnavailable", "SubmissionError", "check", "grade",
           "record_run"]


def record_run(assignment: str, item: str, value: float, full: bool | None = None) -> bool:
    """A run's number against its bar, printed and kept for the grader (``runs.record_run``)."""
    from .runs import record_run as record
    return record(assignment, item, value, full)


def _notebook_history() -> list[str]:
    """The code cells this IPython session has run, in order (outside IPython: an error that says what to do)."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is None:
        raise SubmissionError("rnnlab.check(): no submission given and not inside a notebook; "
                              "give the path of the student's .py or .ipynb")
    return list(shell.user_ns.get("In", [])[1:-1])


def grade(submission: str | Path | None = None, assignment: str | None = None, limits: Limits | None = None,
          only: str | tuple[str, ...] = (), sandbox: bool | None = None) -> Report:
    """Grade ``submission`` (a path; None inside a notebook: its own code) and return the Report.

    ``assignment``: one of ``ASSIGNMENTS`` (default: recognised from the names defined); ``only``: item ids
    or class names to check (default all); ``sandbox``: default True for a file, False for the notebook's own
    code.  Raises SubmissionError when it cannot grade at all (no such file, not recognised) and
    SandboxUnavailable when a sandbox is asked for and cannot be made; anything the submission does gives a
    Report."""
    if submission is None:
        from .runs import RECORDED
        parsed = from_source(_notebook_history(), "this notebook")
        parsed.runs = dict(RECORDED)
        sandbox = False if sandbox is None else sandbox
    else:
        parsed = read_submission(submission)
    sandbox = True if sandbox is None else sandbox
    name = recognise(parsed, assignment)
    only = (only,) if isinstance(only, str) else tuple(only)
    from .runs import run_items
    if parsed.syntax_error:
        reason = f"not graded: the submission is not Python ({parsed.syntax_error})"
        return Report(name, [Item(i, 0, p, False, reason) for i, p in ASSIGNMENTS[name].selected(only)]
                      + run_items(name, parsed.runs, only), sandboxed=sandbox)
    from .sandbox import run
    report = run(parsed.code, name, limits or Limits(), only, sandbox)
    report.items += run_items(name, parsed.runs, only)
    if parsed.skipped:
        report.notes.append(f"{parsed.skipped} top-level statement(s) (tests, training, plots) not run: "
                            f"the grader runs its own checks on the definitions")
    return report


def check(submission: str | Path | None = None, assignment: str | None = None, json_path: str | Path | None = None,
          only: str | tuple[str, ...] = (), limits: Limits | None = None, sandbox: bool | None = None) -> Report:
    """``grade`` and print the report (and write it as JSON to ``json_path``); returns the Report."""
    report = grade(submission, assignment, limits, only, sandbox)
    print(report.text())
    if json_path is not None:
        report.write_json(json_path)
    return report
