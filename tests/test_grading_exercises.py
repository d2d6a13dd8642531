"""The exercise notebooks: each shipped .ipynb is the twin of its jupytext script, and left unsolved each one
executes top to bottom and grades itself at zero, with one message per TODO and no traceback."""
import nbformat
import pytest

from rnnlab.exercises import EXERCISES, HERE, exercise_files
from rnnlab.grading.assignments import ASSIGNMENTS

ASSIGNMENTS_ITEMS = {name: list(a.items) for name, a in ASSIGNMENTS.items()}
ASSIGNMENT = {a.notebook: name for name, a in ASSIGNMENTS.items()}


@pytest.mark.parametrize("name", EXERCISES)
def test_the_notebook_is_the_twin_of_its_script(name):
    import jupytext
    ours = [(c.cell_type, c.source.strip()) for c in jupytext.read(HERE / f"{name}.py").cells]
    stored = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    assert [(c.cell_type, c.source.strip()) for c in stored.cells] == ours, \
        f"{name}.ipynb differs from {name}.py: run `jupytext --to ipynb src/rnnlab/exercises/notebooks/{name}.py`"
    assert not any(c.get("outputs") for c in stored.cells if c.cell_type == "code"), "stored without outputs"


@pytest.mark.parametrize("path", exercise_files(), ids=lambda p: p.stem)
def test_an_unsolved_notebook_runs_and_scores_zero_with_a_message_per_todo(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   allow_errors=False).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
    last = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    assert last.startswith(f"{ASSIGNMENT[path.stem]}: 0 / 18 points"), last
    lines = last.splitlines()
    for item, _ in ASSIGNMENTS_ITEMS[ASSIGNMENT[path.stem]]:
        line = next(line for line in lines if f" {item} " in line)
        assert "FAIL" in line and len(line.split(None, 3)[3]) > 10, line
