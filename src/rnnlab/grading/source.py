"""A submission as Python source: read a .py or .ipynb (or a notebook's own history), keep its definitions,
and recognise the assignment from the names it defines.  Nothing here runs the student's code: it is only parsed.

Only the top-level statements that define something are kept: imports, ``def``, ``class``, assignments without
a call (``scale = 0.1``, ``act = lambda x: x``) and ``try`` / ``if`` blocks made of those.  Test cells, training
loops, plots and downloads are left out: the grader runs its own checks, and a submission graded in seconds
must not train on MNIST first.  IPython lines (``%matplotlib``, ``!pip``) are skipped.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

# the names each assignment's students write (or the course gives them), to recognise a submission
ASSIGNMENTS: dict[str, tuple[str, ...]] = {
    "assignment-2": ("RNN", "LSTM"),
    "gradient-flow": ("RNNLayer", "RecurrentRegressionModel", "loss_fn", "GradientVisualizer"),
}
TITLES = {"assignment-2": "Assignment 2: RNN and LSTM on MNIST (NumPy)",
          "gradient-flow": "the gradient-flow notebook (PyTorch RNNLayer, RNN, regression model)"}


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
        text = notebook_code(text, path.name)
    return from_source(text, path.name)


def notebook_code(text: str, name: str = "notebook") -> str:
    """The code cells of a notebook's JSON, in order, each a block of lines."""
    try:
        cells = json.loads(text)["cells"]
        sources = [c["source"] for c in cells if c.get("cell_type") == "code"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SubmissionError(f"{name}: not a Jupyter notebook ({exc}); give the .ipynb as saved by Jupyter") from None
    return "\n\n".join("".join(s) if isinstance(s, list) else str(s) for s in sources)


def from_source(text: str, name: str = "submission") -> Submission:
    """Keep the definitions of ``text``; a file that is not Python gets ``syntax_error`` and no code."""
    # IPython lines become empty lines, so that line numbers stay those of the file
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in _drop_cell_magics(text.splitlines())]
    source = "\n".join(lines)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        where = f"line {exc.lineno}: " if getattr(exc, "lineno", None) else ""
        return Submission(name, "", (), 0, f"{where}{getattr(exc, 'msg', exc)}")
    kept = definitions(tree)
    return Submission(name, source, tuple(sorted(_defined_names(kept))), len(tree.body) - len(kept))


def definitions(tree: ast.Module) -> list[ast.stmt]:
    """The top-level statements of ``tree`` that define something (the ones the grader runs)."""
    return [node for node in tree.body if _is_definition(node)]


def _drop_cell_magics(lines: list[str]) -> list[str]:
    """A cell that starts with a cell magic (%%bash ...) is not Python: blank it up to the next empty line."""
    out, skipping = [], False
    for line in lines:
        if line.startswith("%%"):
            skipping = True
        elif skipping and not line.strip():
            skipping = False
        out.append("" if skipping else line)
    return out


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
        return all(_is_definition(n) for n in node.body + node.orelse) and not _has_call(node.test)
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
    found = {name: len(set(names) & set(submission.defined)) for name, names in ASSIGNMENTS.items()}
    if found["gradient-flow"]:
        return "gradient-flow"
    if found["assignment-2"]:
        return "assignment-2"
    raise SubmissionError(f"{submission.name}: defines none of the course's names "
                          f"({', '.join(n for names in ASSIGNMENTS.values() for n in names)}); "
                          f"give --assignment {' or '.join(ASSIGNMENTS)}")
