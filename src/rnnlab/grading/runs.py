"""What a student *runs*: the exercise notebooks' training cells report their numbers with :func:`record_run`,
which prints a verdict against the assignment's bar (``assignments.Bar``) and a tag the grader reads back::

    RNN_Model.run: test accuracy 95.76 % (full size); the bar: test accuracy at least 90.00 %: passed
      [rnnlab-run lab-sheet-9 RNN_Model.run 0.9576 full]

The grader finds the tags in a notebook's saved outputs (``tags_in_notebook``), or, for ``rnnlab.check()``
inside the notebook, in this kernel's records (``RECORDED``), and makes one item per bar (``run_items``): no
points (no course document gives points for a run), passed when a full-size run met the bar.  The numbers
are the student's own run, as the teacher would read them in the notebook: a hand-edited output is as
trustworthy as any other; the written items, graded in the sandbox, are the ones with points.
"""
from __future__ import annotations

import json
import math
import re

from .assignments import ASSIGNMENTS, Bar
from .report import Item

TAG = re.compile(r"\[rnnlab-run (\S+) (\S+) (\S+) (full|quick)\]")
SIZE_VARIABLE = "RNNLAB_EXERCISE_SIZE"          # "quick": the exercise notebooks' tiny size (tests, a first try)
RECORDED: dict[tuple[str, str], tuple[float, bool]] = {}     # (assignment, bar id) -> (value, full size)


def full_size() -> bool:
    """Whether the exercise notebooks run at their full size (``RNNLAB_EXERCISE_SIZE`` unset or ``full``)."""
    import os
    size = os.environ.get(SIZE_VARIABLE, "full")
    if size not in ("full", "quick"):
        raise ValueError(f"{SIZE_VARIABLE}={size!r}: expected 'full' or 'quick' (or leave it unset: full)")
    return size == "full"


def _bar(assignment: str, item: str) -> Bar:
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"record_run: assignment {assignment!r} is unknown; expected one of {', '.join(ASSIGNMENTS)}")
    bars = {bar.id: bar for bar in ASSIGNMENTS[assignment].runs}
    if item not in bars:
        raise ValueError(f"record_run: {assignment} has no run {item!r}; expected one of {', '.join(bars) or 'none'}")
    return bars[item]


def record_run(assignment: str, item: str, value: float, full: bool | None = None) -> bool:
    """Report a run's number: print it against the bar (and the tag the grader reads) and keep it for
    ``rnnlab.check()`` in this kernel; whether it met the bar at the full size."""
    bar = _bar(assignment, item)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"record_run: {item}'s value is {value}; expected a finite number")
    full = full_size() if full is None else bool(full)
    RECORDED[assignment, item] = (value, full)
    verdict = _verdict(bar, value, full)
    print(f"{item}: {verdict}\n  [rnnlab-run {assignment} {item} {value:.6g} {'full' if full else 'quick'}]")
    return full and bar.met(value)


def _verdict(bar: Bar, value: float, full: bool) -> str:
    if not full:
        return (f"{bar.what} {bar.show(value)} at the quick size ({SIZE_VARIABLE}=quick); the bar ("
                f"{bar.sentence()}) is for the full size")
    verdict = "passed" if bar.met(value) else "not yet"
    return f"{bar.what} {bar.show(value)} (full size); the bar: {bar.sentence()}: {verdict}"


def tags_in_text(text: str) -> dict[tuple[str, str], tuple[float, bool]]:
    """The run tags in printed text, the last one per item winning."""
    found = {}
    for assignment, item, value, size in TAG.findall(text):
        try:
            found[assignment, item] = (float(value), size == "full")
        except ValueError:
            continue
    return found


def tags_in_notebook(text: str) -> dict[tuple[str, str], tuple[float, bool]]:
    """The run tags in a notebook's saved outputs (its code cells' printed text, in order)."""
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return {}
    printed = []
    for cell in cells if isinstance(cells, list) else []:
        for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
            if isinstance(output, dict):
                piece = output.get("text", "")
                printed.append("".join(piece) if isinstance(piece, list) else str(piece))
    return tags_in_text("\n".join(printed))


def run_items(assignment: str, recorded: dict, only: tuple[str, ...] = ()) -> list[Item]:
    """One item per bar of ``assignment`` from ``recorded``: all when ``only`` is empty, else the ones it names
    by their full id (``only="RNN"`` checks what the student wrote of the RNN, not its run)."""
    items = []
    for bar in ASSIGNMENTS[assignment].runs:
        if only and bar.id not in only:
            continue
        if (assignment, bar.id) not in recorded:
            items.append(Item(bar.id, 0, 0, False, f"not run: run the notebook's cell that trains it (full size) and "
                                                   f"hand in the .ipynb with its outputs; the bar: {bar.sentence()}"))
            continue
        value, full = recorded[assignment, bar.id]
        passed = full and bar.met(value)
        items.append(Item(bar.id, 0, 0, passed, _verdict(bar, value, full) + " (a run: no points)"))
    return items
