"""A submission as Python source: read a .py or .ipynb (or a notebook's own history), keep its definitions,
and recognise the assignment from the names it defines.  Nothing here runs the student's code: it is only parsed.

Only the top-level statements that define something are kept: imports, ``def``, ``class``, assignments without
a call (``scale = 0.1``, ``act = lambda x: x``) and ``try`` / ``if`` blocks made of those.  Test cells, training
loops, plots and downloads are left out: the grader runs its own checks, and a submission graded in seconds
must not train on MNIST first.

IPython syntax is read the way Jupyter runs it, per cell: a cell that is Python stays as it is; in one that is
not, a line magic or shell escape (``%matplotlib``, ``!pip install`` inside an ``if``) becomes ``pass`` with its
indentation, an assignment from one (``files = !ls``, ``t = %timeit -o f()``) assigns None, help (``obj?``,
``??obj``) becomes ``pass``; a cell magic that runs its body as Python (``%%time``, ``%%timeit``,
``%%capture``) loses only its first line, any other (``%%bash``, ``%%writefile``) its whole cell.  Line
numbers stay those of the file.
"""
from __future__ import annotations

import ast
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .assignments import ASSIGNMENTS

PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")     # their body runs as Python
_LINE_MAGIC = re.compile(r"^(\s*)[!%]")
_ASSIGNED = re.compile(r"^(\s*)([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[!%]")
_HELP = re.compile(r"^(\s*)(\?{1,2}[\w.]+|[\w.()\[\]]+\?{1,2})\s*$")
_PARSING = threading.Lock()


def parse(source: str) -> ast.Module:
    """``ast.parse``, one thread at a time.

    Submissions are graded on several threads (``run_many``, ``grade_class``).  CPython 3.11 counts the AST
    constructor's recursion depth in one counter shared by every thread of the interpreter; when two threads
    build trees at once (a garbage collection during one hands the GIL to the other) the counts mix and
    ``ast.parse`` fails with "SystemError: AST constructor recursion depth mismatch" on valid code.
    """
    with _PARSING:
        return ast.parse(source)


class SubmissionError(ValueError):
    """The submission could not be graded (missing, unreadable, not recognised): a one-line reason."""


@dataclass
class Submission:
    """The source (IPython lines blanked), the names its definitions define, how many top-level statements
    the grader leaves out, and why it is not Python if it is not."""
    name: str
    code: str
    defined: tuple[str, ...]
    skipped: int
    syntax_error: str | None = None
    runs: dict = field(default_factory=dict)     # (assignment, run id) -> (value, full size): ``runs``' tags


def read_submission(path: str | Path) -> Submission:
    """Read ``path`` (.py, or .ipynb: the code cells in order) and keep its definitions."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file; give the student's .py or .ipynb")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{path}: cannot be read as text ({exc}); give a .py or .ipynb file") from None
    if path.suffix == ".ipynb":
        from .runs import tags_in_notebook
        submission = from_source(notebook_cells(text, path.name), path.name)
        submission.runs = tags_in_notebook(text)
        return submission
    return from_source(percent_cells(text), path.name, "\n")


def notebook_cells(text: str, name: str = "notebook") -> list[str]:
    """The code cells of a notebook's JSON, in order."""
    try:
        cells = json.loads(text)["cells"]
        sources = [c["source"] for c in cells if c.get("cell_type") == "code"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SubmissionError(f"{name}: not a Jupyter notebook ({exc}); give the .ipynb as saved by Jupyter") from None
    return ["".join(s) if isinstance(s, list) else str(s) for s in sources]


def notebook_code(text: str, name: str = "notebook") -> str:
    """The code cells of a notebook's JSON, in order, each a block of lines."""
    return "\n\n".join(notebook_cells(text, name))


def percent_cells(text: str) -> list[str]:
    """A .py file's cells: split before each ``# %%`` line (jupytext's percent format); one cell otherwise."""
    cells, current = [], []
    for line in text.splitlines():
        if line.startswith("# %%") and current:
            cells.append("\n".join(current))
            current = []
        current.append(line)
    return [*cells, "\n".join(current)]


def neutralise(cell: str) -> str:
    """One cell as Jupyter would run it, with IPython syntax made inert (same number of lines)."""
    try:
        parse(cell)
        return cell
    except (SyntaxError, ValueError):
        pass
    lines = cell.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    out, blanking = [], False
    for i, line in enumerate(lines):
        if line.startswith("%%"):
            magic = (line[2:].split() or [""])[0]
            # a cell magic that is not Python: its cell (in a text of joined cells: up to the next empty line)
            blanking = "cell" if i == first else (magic not in PYTHON_CELL_MAGICS and "block")
            blanking = blanking if magic not in PYTHON_CELL_MAGICS else False
            out.append("")
        elif blanking == "block" and not line.strip():
            blanking = False
            out.append("")
        elif blanking:
            out.append("")
        elif (m := _ASSIGNED.match(line)):
            out.append(f"{m.group(1)}{m.group(2)} = None")
        elif (m := _LINE_MAGIC.match(line) or _HELP.match(line)):
            out.append(f"{m.group(1)}pass")
        else:
            out.append(line)
    return "\n".join(out)


def from_source(text: str | list[str], name: str = "submission", separator: str = "\n\n") -> Submission:
    """Keep the definitions of ``text`` (one source, or cells joined by ``separator``); a file that is not
    Python gets ``syntax_error`` and no code."""
    cells = [text] if isinstance(text, str) else text
    source = separator.join(neutralise(cell) for cell in cells)
    try:
        tree = parse(source)
    except (SyntaxError, ValueError) as exc:
        where = f"line {exc.lineno}: " if getattr(exc, "lineno", None) else ""
        return Submission(name, "", (), 0, f"{where}{getattr(exc, 'msg', exc)}")
    kept = definitions(tree)
    skipped = sum(1 for node in tree.body if not _is_definition(node) and not isinstance(node, (ast.Pass, ast.Expr))
                  or isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))
    return Submission(name, source, tuple(sorted(_defined_names(kept))), skipped)


def definitions(tree: ast.Module) -> list[ast.stmt]:
    """The top-level statements of ``tree`` that define something (the ones the grader runs).  The exercise
    notebooks' own imports of rnnlab (``import rnnlab`` for ``rnnlab.check``, ``NOTEBOOK_IMPORTS``) are left out
    without a note: the sandbox has no rnnlab, and that concerns no student."""
    return [node for node in tree.body if _is_definition(node) and not _imports_rnnlab(node)]


# what the exercise notebooks themselves import from rnnlab (the data, and the runs' record), left out silently;
# any other import of rnnlab (``from rnnlab.classic import RNN``) runs, fails in the sandbox and says so in a note
NOTEBOOK_IMPORTS = {"rnnlab": {"lab"}, "rnnlab.grading": {"record_run"}, "rnnlab.grading.runs": {"full_size"}}


def _imports_rnnlab(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        names = {a.name for a in node.names}
        return node.level == 0 and names <= NOTEBOOK_IMPORTS.get(node.module or "", set())
    return isinstance(node, ast.Import) and all(a.name == "rnnlab" for a in node.names)


def _has_call(node: ast.AST) -> bool:
    """A call anywhere in ``node`` outside a lambda's body (a lambda is defined, not run)."""
    if isinstance(node, ast.Lambda):
        return False
    return isinstance(node, ast.Call) or any(_has_call(child) for child in ast.iter_child_nodes(node))


def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return node.value is not None and not _has_call(node.value)
    if isinstance(node, ast.Try):
        return all(_is_definition(n) or isinstance(n, ast.Pass) for n in node.body)
    if isinstance(node, ast.If):
        return (all(_is_definition(n) or isinstance(n, ast.Pass) for n in node.body + node.orelse)
                and not _has_call(node.test))
    return False


def _defined_names(nodes: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Try, ast.If)):
            names |= _defined_names(node.body + getattr(node, "orelse", []))
    return names


def recognise(submission: Submission, assignment: str | None = None) -> str:
    """The assignment: ``assignment`` if given (checked), else the one whose names the submission defines."""
    if assignment is not None:
        if assignment not in ASSIGNMENTS:
            raise SubmissionError(f"--assignment {assignment!r}: unknown; expected one of {', '.join(ASSIGNMENTS)}")
        return assignment
    if submission.syntax_error:
        raise SubmissionError(f"{submission.name}: not Python ({submission.syntax_error}); nothing to grade "
                              f"(give --assignment NAME to grade it as zero)")
    for name, spec in ASSIGNMENTS.items():          # in the registry's order: the first one defined wins
        if set(spec.names) & set(submission.defined):
            return name
    raise SubmissionError(f"{submission.name}: defines none of the course's names "
                          f"({', '.join(n for a in ASSIGNMENTS.values() for n in a.names)}); "
                          f"give --assignment {' or '.join(ASSIGNMENTS)}")
