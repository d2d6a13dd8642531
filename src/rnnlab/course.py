"""The course notebooks, for a student who installed rnnlab: ``rnnlab notebooks DIR`` writes them out.

The notebooks live in the repository's ``notebooks/`` folder (jupytext pairs: the ``.py`` script and the
``.ipynb`` made from it).  The wheel carries the ``.ipynb`` files in ``rnnlab/course_notebooks/`` (copied
there by ``setup.py`` when the wheel is built); a source checkout or an editable install reads them from
``notebooks/`` directly.  :func:`write_notebooks` writes the five course notebooks into a folder and, in its
``exercises/`` subfolder, the exercise notebooks (``rnnlab exercises``): the same course with empty answers.
"""
from __future__ import annotations

import argparse
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "course_notebooks"     # in an installed wheel
CHECKOUT = Path(__file__).resolve().parents[2] / "notebooks"        # in a source checkout (src/rnnlab/..)
# course notebook -> what it is: first the five that do a course document, then rnnlab's own
DOCUMENTS = {"rnn-warmup": "RNN Warmup: the three layers, their parameters and shapes, memory tasks",
             "lab-sheet-9-rnn-and-lstm-in-pytorch": "Lab sheet 9: RNN and LSTM in PyTorch on MNIST",
             "assignment-2-rnn-and-lstm-on-mnist": "Assignment 2: RNN and LSTM from scratch in NumPy on MNIST",
             "programming-assignment-4-recurrent-networks": "Programming Assignment 4: recurrent networks",
             "gradient-flow-in-rnns-and-lstms": "Gradient flow in RNNs and LSTMs"}
COURSE = {**DOCUMENTS,
          "character-level-language-model": "A character-level language model: a corpus, truncated BPTT, what the "
                                            "cells learned",
          "beyond-the-lstm": "Beyond the LSTM: linear recurrences, the parallel scan, minGRU, the LRU, memory over "
                             "1,000 steps"}
EXERCISES_DIR = "exercises"
# where the first cell of a course notebook installs rnnlab from when it is missing (rnnlab is not on PyPI):
# a wheel file named by this environment variable, else the repository on GitHub
WHEEL_VARIABLE = "RNNLAB_WHEEL"
GIT_SOURCE = "git+https://github.com/rnnlab/rnnlab"
# what each notebook needs besides rnnlab (module -> what pip installs), and lines that follow the install
EXTRA_NEEDS = {"gradient-flow-in-rnns-and-lstms": {"ipywidgets": "ipywidgets>=8"}}
EXTRA_LINES = {"gradient-flow-in-rnns-and-lstms": """

import contextlib

with contextlib.suppress(ImportError):    # Colab shows ipywidgets through its custom widget manager
    from google.colab import output
    output.enable_custom_widget_manager()"""}
INSTALL_CELL = """\
# Opens anywhere (Colab, a fresh Jupyter): installs what this notebook needs if it is missing, else does nothing.
# rnnlab comes from the wheel file ${variable} names, if set, else from GitHub; torch is kept as it is.
import importlib.util
import os
import subprocess
import sys

NEEDS = {{"rnnlab": os.environ.get("{variable}", "{git}"){extra}}}
missing = [source for module, source in NEEDS.items() if importlib.util.find_spec(module) is None]
if missing:
    print("installing", *missing)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
    importlib.invalidate_caches()"""


def install_cell(name: str) -> str:
    """The first code cell of course notebook ``name``: it installs what the notebook needs when it is missing
    (in Colab or a fresh Jupyter) with the kernel's own pip, and does nothing where everything is there.  torch
    is left as the environment has it (rnnlab asks for a range that Colab's satisfies)."""
    if name not in COURSE:
        raise ValueError(f"name: expected one of {', '.join(COURSE)}, got {name!r}")
    extra = "".join(f', "{module}": "{source}"' for module, source in EXTRA_NEEDS.get(name, {}).items())
    return INSTALL_CELL.format(variable=WHEEL_VARIABLE, git=GIT_SOURCE, extra=extra) + EXTRA_LINES.get(name, "")


def notebook_folder() -> Path:
    """Where this installation's course notebooks are: the wheel's copy, else the checkout's ``notebooks/``."""
    for folder in (PACKAGED, CHECKOUT):
        if all((folder / f"{name}.ipynb").is_file() for name in COURSE):
            return folder
    raise FileNotFoundError(f"the course notebooks ({', '.join(COURSE)}) are neither in {PACKAGED} nor in "
                            f"{CHECKOUT}: this rnnlab was installed without them; install it from a wheel "
                            f"built with `python -m build` or from a clone with `pip install -e .`")


def course_files() -> list[Path]:
    folder = notebook_folder()
    return [folder / f"{name}.ipynb" for name in COURSE]


def write_notebooks(folder: str | Path) -> list[Path]:
    """Write the course notebooks into ``folder`` and the exercise notebooks into ``folder/exercises``
    (created if missing); refuse, before writing anything, if any of them is already there."""
    from .exercises import exercise_files
    from .files import write_atomic
    folder = Path(folder)
    pairs = [(source, folder / source.name) for source in course_files()]
    pairs += [(source, folder / EXERCISES_DIR / source.name) for source in exercise_files()]
    for path in (folder, folder / EXERCISES_DIR):
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path}: a file is in the way; give a folder for the notebooks (or move the file)")
    present = [str(target) for _, target in pairs if target.exists()]
    if present:
        raise ValueError(f"{', '.join(present)}: already there (your work?); nothing was written; move them away "
                         f"or give another folder")
    for source, target in pairs:
        write_atomic(target, source.read_bytes())
    return [target for _, target in pairs]


def notebooks_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="folder to write the notebooks into (created if missing)")


def notebooks(args: argparse.Namespace) -> int:
    """``rnnlab notebooks DIR``: write the notebooks and say what each one is and how to open them."""
    written = write_notebooks(args.dir)
    for index, path in enumerate(written):
        what = COURSE[path.stem] if index < len(COURSE) else "the exercise: empty answers to fill, checks, grading"
        print(f"wrote {path}  ({what})")
    print(f"open them with `jupyter lab {args.dir}` (JupyterLab: pip install jupyterlab ipywidgets), or upload one "
          f"to Colab; `rnnlab check NOTEBOOK` grades an exercise")
    return 0
