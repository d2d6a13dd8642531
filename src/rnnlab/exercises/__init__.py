"""The exercise notebooks: the course's exercises with empty answer blocks, checks to run as you go and a last
cell that grades the notebook (``rnnlab exercises DIR`` writes them).

The sources are jupytext percent scripts in ``notebooks/`` (a folder, not a package: they are not modules of
rnnlab and importing them would run them); the ``.ipynb`` files next to them are generated from
them (``jupytext --to ipynb``) and shipped, so that an installed rnnlab needs no jupytext to hand them out;
``tests/test_grading_exercises.py`` checks that each pair agrees.
"""
from __future__ import annotations

from pathlib import Path

from ..grading.assignments import ASSIGNMENTS

HERE = Path(__file__).resolve().parent / "notebooks"
# The first code cell of every exercise notebook (and of the course notebooks): plain notebook code, since it
# runs before rnnlab can be imported.  tests/test_grading_exercises.py checks that each notebook starts with it.
INSTALL_CELL = """\
# Installs rnnlab where this Python lacks it (Colab, a fresh Jupyter) and does nothing where it is installed.
# RNNLAB_WHEEL=/path/to/rnnlab-VERSION-py3-none-any.whl installs that wheel instead of rnnlab's git repository.
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("rnnlab") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    os.environ.get("RNNLAB_WHEEL") or "git+https://github.com/rnnlab/rnnlab"], check=True)
    importlib.invalidate_caches()"""
# exercise notebook -> the course document it follows (from the grader's one list of assignments)
EXERCISES = {a.notebook: a.title for a in sorted(ASSIGNMENTS.values(), key=lambda a: a.notebook)}


def exercise_files() -> list[Path]:
    return [HERE / f"{name}.ipynb" for name in EXERCISES]


def write_exercises(folder: str | Path) -> list[Path]:
    """Write the exercise notebooks into ``folder`` (created if missing); refuse, before writing anything, if
    any of them is already there."""
    return _write(folder, {source.name: source.read_bytes() for source in exercise_files()})


def write_answers(folder: str | Path) -> list[Path]:
    """Write the teacher's answer keys into ``folder``: each exercise notebook with every answer block filled in
    (``NAME-answers.ipynb``), readable code that scores full marks.  Refuses to overwrite, like the exercises."""
    from .answers import ANSWERS, answer_key
    return _write(folder, {f"{source.stem}-answers.ipynb": answer_key(source, ANSWERS[source.stem]).encode()
                           for source in exercise_files()})


def _write(folder: str | Path, files: dict[str, bytes]) -> list[Path]:
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder}: a file is in the way; give a folder for the exercise notebooks")
    targets = [folder / name for name in files]
    present = [str(t) for t in targets if t.exists()]
    if present:
        raise ValueError(f"{', '.join(present)}: already there (a student's work?); move them away or give "
                         f"another folder")
    folder.mkdir(parents=True, exist_ok=True)
    from ..files import write_atomic
    for content, target in zip(files.values(), targets):
        write_atomic(target, content)
    return targets
