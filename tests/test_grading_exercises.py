"""The exercise notebooks, end to end, for every course document that asks students to write or run something.

Each shipped .ipynb is the twin of its jupytext script and starts with the install cell.  Each answer key
(`rnnlab exercises DIR --answers`) executes top to bottom at the quick size (RNNLAB_EXERCISE_SIZE=quick, on
synthetic digits in MNIST's format instead of the network's MNIST) and its last cell, `rnnlab.check()`, gives
full marks with every run recorded.  Then a class folder of the handouts as written (empty answers) and the
executed answer keys is graded by `rnnlab check DIR --jobs 2 --out GRADES`: the handouts score zero with a
message per item, the keys full marks with their runs read back from the saved outputs (at the quick size: no
bar is met there, and runs carry no points)."""
import csv
import json
import subprocess
import sys

import nbformat
import pytest

from rnnlab.cli import main
from rnnlab.exercises import EXERCISES, HERE, INSTALL_CELL
from rnnlab.grading.assignments import ASSIGNMENTS
from rnnlab.grading.sandbox import availability

ASSIGNMENT = {a.notebook: name for name, a in ASSIGNMENTS.items()}
FAKE_DIGITS = '''
import numpy as np
import rnnlab.tasks
from rnnlab.data.mnist import ImageDataset

def _synthetic_digits(n, seed):
    templates = (np.random.default_rng(12345).random((10, 28, 28)) > 0.8) * 255.0
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = np.clip(templates[labels] + rng.normal(0, 20, (n, 28, 28)), 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)

_fake = ImageDataset("mnist", *_synthetic_digits(1500, 1), *_synthetic_digits(500, 2),
                     tuple(str(k) for k in range(10)), "synthetic digits (tests)")
rnnlab.tasks.load_dataset = lambda *args, **kwargs: _fake
'''


@pytest.mark.parametrize("name", EXERCISES)
def test_the_notebook_is_the_twin_of_its_script_and_starts_with_the_install_cell(name):
    import jupytext
    ours = [(c.cell_type, c.source.strip()) for c in jupytext.read(HERE / f"{name}.py").cells]
    stored = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    assert [(c.cell_type, c.source.strip()) for c in stored.cells] == ours, \
        f"{name}.ipynb differs from {name}.py: run `jupytext --to ipynb src/rnnlab/exercises/notebooks/{name}.py`"
    assert not any(c.get("outputs") for c in stored.cells if c.cell_type == "code"), "stored without outputs"
    first = next(c for c in stored.cells if c.cell_type == "code")
    assert first.source.strip() == INSTALL_CELL.strip()


def test_every_document_that_asks_for_work_has_an_exercise():
    assert set(ASSIGNMENT) == set(EXERCISES) and len(EXERCISES) == 5
    points = {name: sum(p for _, p in a.items) for name, a in ASSIGNMENTS.items()}
    assert points == {"assignment-2": 20, "gradient-flow": 18, "lab-sheet-9": 8, "rnn-warmup": 14,
                      "programming-assignment-4": 20}


def test_the_install_cell_installs_only_where_rnnlab_is_missing(tmp_path):
    """Run as a plain script: with rnnlab importable it does nothing; with it missing (a Python that cannot
    see it) it runs pip on RNNLAB_WHEEL, here a file that is not there, so pip fails and says which."""
    script = tmp_path / "cell.py"
    script.write_text(INSTALL_CELL + "\nprint('done')\n")
    env = {"PATH": "/usr/bin:/bin", "RNNLAB_WHEEL": str(tmp_path / "missing.whl")}
    here = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env={**env, "PYTHONPATH": str(HERE.parents[2])})
    assert here.returncode == 0 and here.stdout.strip() == "done" and "pip" not in here.stderr
    # -S: no site-packages, so no rnnlab (and no pip): the cell must try to install and fail loudly
    away = subprocess.run([sys.executable, "-S", str(script)], capture_output=True, text=True, timeout=60,
                          env=env, cwd=tmp_path)
    assert away.returncode != 0 and "missing.whl" in away.stderr and "done" not in away.stdout


def _execute(path, folder):
    from nbclient import NotebookClient
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FAKE_DIGITS))
    NotebookClient(notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                   allow_errors=False).execute()
    notebook.cells.pop(0)            # the class's copy is the student's notebook, as run
    return notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The answer keys executed at the quick size, saved with their outputs beside the empty handouts."""
    folder = tmp_path_factory.mktemp("class")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("RNNLAB_EXERCISE_SIZE", "quick")
        patch.setenv("OMP_NUM_THREADS", "1")        # the kernels' torch: one thread each, no oversubscription
        patch.setenv("RNNLAB_DATA", str(folder / "data"))
        patch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        assert main(["exercises", str(folder / "keys"), "--answers"]) == 0
        assert main(["exercises", str(folder / "handouts")]) == 0
        notebooks = {}
        for key in sorted((folder / "keys").glob("*.ipynb")):
            notebooks[key.stem.removesuffix("-answers")] = notebook = _execute(key, folder)
            nbformat.write(notebook, folder / f"{key.stem}.ipynb")
    for handout in (folder / "handouts").glob("*.ipynb"):
        handout.rename(folder / handout.name)
    return folder, notebooks


@pytest.mark.parametrize("name", EXERCISES)
def test_an_answer_key_runs_at_the_quick_size_and_grades_itself_full_marks(executed, name):
    _, notebooks = executed
    notebook = notebooks[name]
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs), "it shows its figures"
    last = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    spec = ASSIGNMENTS[ASSIGNMENT[name]]
    full = sum(p for _, p in spec.items)
    assert last.startswith(f"{spec.name}: {full} / {full} points"), last
    for bar in spec.runs:            # every run recorded, at the quick size (no bar applies there)
        line = next(line for line in last.splitlines() if f" {bar.id} " in line)
        assert "quick size" in line, line


@pytest.mark.skipif(availability() is not None, reason=str(availability()))
def test_a_class_of_handouts_and_answer_keys_through_the_gradebook(executed, capsys):
    folder, _ = executed
    out = folder / "grades"
    assert main(["check", str(folder), "--jobs", "2", "--out", str(out), "--check-seconds", "20"]) == 0
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert len(rows) == 10, sorted(rows)
    for name in EXERCISES:
        spec = ASSIGNMENTS[ASSIGNMENT[name]]
        full = sum(p for _, p in spec.items)
        empty, key = rows[name], rows[f"{name}-answers"]
        assert (empty["assignment"], empty["score"], empty["max_score"]) == (spec.name, "0", str(full)), empty
        assert (key["score"], key["status"], key["sandboxed"]) == (str(full), "graded", "yes"), key
        feedback = json.loads((out / "feedback" / f"{name}.json").read_text())
        items = {i["id"]: i for i in feedback["items"]}
        assert list(items) == [i for i, _ in spec.all_items]
        assert all(not i["passed"] and len(i["feedback"]) > 15 for i in items.values()), feedback
        assert all(items[bar.id]["feedback"].startswith("not run") for bar in spec.runs)
        ran = json.loads((out / "feedback" / f"{name}-answers.json").read_text())
        assert all("quick size" in i["feedback"] for i in ran["items"] if i["id"] in {b.id for b in spec.runs})
