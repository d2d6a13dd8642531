"""Grade a student's submission of a course exercise: ``grade`` (a Report) and ``check`` (the same, printed).

    rnnlab.check("student.ipynb")            # a file: .py or .ipynb
    rnnlab.check()                           # inside a notebook: the code this notebook has run
    rnnlab.check(only="RNN")                 # just one class's items (the checks to run as you go)

The student's code runs in a separate, walled-in process (see ``sandbox``); this process only parses it.
"""
from __future__ import annotations

from pathlib import Path

from .report import Item, Report
from .sandbox import Limits
from .source import ASSIGNMENTS, SubmissionError, from_source, read_submission, recognise

__all__ = ["ASSIGNMENTS", "Item", "Limits", "Report", "SubmissionError", "check", "grade"]


def _notebook_history() -> str:
    """The code cells this IPython session has run, in order (outside IPython: an error that says what to do)."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is None:
        raise SubmissionError("rnnlab.check(): no submission given and not inside a notebook; "
                              "give the path of the student's .py or .ipynb")
    return "\n\n".join(shell.user_ns.get("In", [])[1:-1])


def grade(submission: str | Path | None = None, assignment: str | None = None, limits: Limits | None = None,
          only: str | tuple[str, ...] = ()) -> Report:
    """Grade ``submission`` (a path; None inside a notebook: its own code) and return the Report.

    ``assignment``: 'assignment-2' or 'gradient-flow' (default: recognised from the names defined);
    ``only``: item ids or class names to check (default all).  Raises SubmissionError only when it cannot
    grade at all (no such file, not recognised); anything the submission does gives a Report."""
    if submission is None:
        parsed = from_source(_notebook_history(), "this notebook")
    else:
        parsed = read_submission(submission)
    name = recognise(parsed, assignment)
    only = (only,) if isinstance(only, str) else tuple(only)
    if parsed.syntax_error:
        from .catalogue import ITEMS
        reason = f"not graded: the submission is not Python ({parsed.syntax_error})"
        return Report(name, [Item(i, 0, p, False, reason) for i, p in ITEMS[name]
                             if not only or i in only or i.split(".")[0] in only])
    from .sandbox import run
    report = run(parsed.code, name, limits or Limits(), only)
    if parsed.skipped:
        report.notes.append(f"{parsed.skipped} top-level statement(s) (tests, training, plots) not run: "
                            f"the grader runs its own checks on the definitions")
    return report


def check(submission: str | Path | None = None, assignment: str | None = None, json_path: str | Path | None = None,
          only: str | tuple[str, ...] = (), limits: Limits | None = None) -> Report:
    """``grade`` and print the report (and write it as JSON to ``json_path``); returns the Report."""
    report = grade(submission, assignment, limits, only)
    print(report.text())
    if json_path is not None:
        report.write_json(json_path)
    return report
