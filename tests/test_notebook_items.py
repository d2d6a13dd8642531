"""docs/notebooks.md's tables of the course, item by item, are true.

For every row: the notebook section it names is a heading of that notebook (its jupytext script), the piece
of code it quotes is in that section (between the heading and the next one), every ``rnnlab.`` name it gives
imports, and every ``rnnlab`` command exists with the flags and values it shows.  The closing count of
items by status adds up.  Nothing runs: the notebooks themselves run in tests/test_notebooks.py.
"""
from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

import pytest

from rnnlab.cli import build_parser
from rnnlab.course import DOCUMENTS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "notebooks.md"
STATUSES = ("as the document", "fixed", "partial", "rnnlab's")


def _tables() -> dict[str, list[list[str]]]:
    """notebook name -> its table's rows (cells without the outer pipes), from the "### ... (`name`)" sections."""
    text = DOC.read_text()
    start = text.index("## The course, item by item")
    tables, current = {}, None
    for line in text[start:].splitlines():
        heading = re.match(r"^### .*\(`([a-z0-9-]+)`\)$", line)
        if heading:
            current = tables.setdefault(heading[1], [])
        elif line.startswith("## ") and tables:
            break
        elif current is not None and line.startswith("| ") and not line.startswith(("| item", "|---")):
            current.append([cell.strip() for cell in line.strip()[1:-1].split("|")])   # a table cell holds no pipe
    return tables


TABLES = _tables()
ROWS = [(name, row) for name, rows in TABLES.items() for row in rows]


def _quoted(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _section(script: str, heading: str) -> str:
    """The text of a notebook script from the heading line ``heading`` to the next heading."""
    lines = script.splitlines()
    found = [k for k, line in enumerate(lines) if re.fullmatch(r"# #+ (.*)", line)
             and re.fullmatch(r"# #+ (.*)", line)[1] == heading]
    assert len(found) == 1, f"heading {heading!r}: found {len(found)} times, expected once"
    end = next((k for k in range(found[0] + 1, len(lines)) if re.match(r"# #+ ", lines[k])), len(lines))
    return "\n".join(lines[found[0]:end])


def _check_command(command: str) -> None:
    """``rnnlab NAME [--flag [value]]...``: NAME is a command, each flag one of its options, each value allowed."""
    words = command.split()
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert words[1] in sub.choices, f"{command}: no command {words[1]!r}"
    options = {o: a for a in sub.choices[words[1]]._actions for o in a.option_strings}
    for k, word in enumerate(words[2:], 2):
        if word.startswith("--"):
            assert word in options, f"{command}: {words[1]} has no option {word}"
            value = words[k + 1] if k + 1 < len(words) else None
            if options[word].choices and value is not None:
                assert value in options[word].choices, f"{command}: {value!r} is not a choice of {word}"


def _check_name(dotted: str) -> None:
    """``rnnlab.module.attribute``: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            assert hasattr(obj, attribute), f"{dotted}: {'.'.join(parts[:cut])} has no {attribute!r}"
            obj = getattr(obj, attribute)
        return
    raise AssertionError(f"{dotted}: no such module")


def test_every_course_notebook_has_its_table():
    assert set(TABLES) == set(DOCUMENTS)
    assert all(len(rows) >= 10 for rows in TABLES.values()), {name: len(rows) for name, rows in TABLES.items()}


@pytest.mark.parametrize(("name", "row"), ROWS, ids=[f"{name}-{k}" for k, (name, _) in enumerate(ROWS)])
def test_the_row_is_true(name, row):
    assert len(row) == 5, f"{name}: a row of {len(row)} cells, expected 5: {row}"
    item, heading, code, names, status = row
    assert item and status.startswith(STATUSES), f"{name}: {item!r} has status {status!r}"
    section = _section((ROOT / "notebooks" / f"{name}.py").read_text(), heading)
    for quoted in _quoted(code):
        assert quoted in section, f"{name}: {quoted!r} is not in the section {heading!r}"
    for quoted in _quoted(names):
        if quoted.startswith("rnnlab."):
            _check_name(quoted)
        elif quoted.startswith("rnnlab "):
            _check_command(quoted)


def test_the_count_of_items_adds_up():
    statuses = [row[4] for _, row in ROWS if len(row) == 5]
    counts = [sum(s.startswith(prefix) for s in statuses) for prefix in STATUSES]
    summary = re.search(r"In all, (\d+) items: (\d+) as the document, (\d+) fixed .*?, (\d+) partial .*?, and (\d+) of",
                        " ".join(DOC.read_text().split()))
    assert summary, "the sentence that counts the items"
    assert [int(n) for n in summary.groups()] == [len(statuses), *counts]
