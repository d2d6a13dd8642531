"""The course as notebooks: each one in notebooks/ executes top to bottom at its quick size (FULL = False)
and asserts the numbers it shows; each .ipynb is the twin of its jupytext script.

No test reaches the network: before a notebook runs, a first cell (not saved in it) gives
``rnnlab.tasks`` synthetic digits in MNIST's format instead of the real MNIST, so the image
notebooks train on pictures whose class is easy to read (the quick size does not check the
course's accuracy bars; the full size does, by hand: see docs/results.md)."""
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

FAKE_DIGITS = '''
import numpy as np
import rnnlab.tasks
from rnnlab.data.mnist import ImageDataset

def _synthetic_digits(n, seed):
    """n 28x28 uint8 pictures: class k is the fixed random stroke pattern k, shifted and noisy."""
    templates = (np.random.default_rng(12345).random((10, 28, 28)) > 0.8) * 255.0
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = np.roll(templates[labels], rng.integers(-1, 2), axis=2) * rng.uniform(0.7, 1.0, (n, 1, 1))
    images += rng.normal(0, 20, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.uint8)

_train, _test = _synthetic_digits(12000, 1), _synthetic_digits(2000, 2)
_fake = ImageDataset("mnist", *_train, *_test, tuple(str(k) for k in range(10)), "synthetic digits (tests)")
rnnlab.tasks.load_dataset = lambda *args, **kwargs: _fake
'''


def _quick(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with FULL = False in its parameters cell and the synthetic digits first."""
    params = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and "FULL = True" in params[0].source, "a single parameters cell with FULL = True"
    params[0].source = params[0].source.replace("FULL = True", "FULL = False")
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FAKE_DIGITS))
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_at_its_quick_size(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNNLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = _quick(nbformat.read(path, as_version=4))
    NotebookClient(notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   allow_errors=False).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {}) for o in outputs), \
        "the notebook shows its figures inline"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_the_twin_of_its_script(path):
    import jupytext
    script = path.with_suffix(".py")
    assert script.exists(), f"{script.name}: the jupytext script the notebook is made from"
    ours = [(c.cell_type, c.source.strip()) for c in jupytext.read(script).cells]
    stored = nbformat.read(path, as_version=4)
    assert [(c.cell_type, c.source.strip()) for c in stored.cells] == ours, \
        f"{path.name} differs from {script.name}: run `jupytext --to ipynb {script}`"
    assert not any(c.get("outputs") for c in stored.cells if c.cell_type == "code"), "stored without outputs"


def test_every_course_notebook_is_here():
    names = {p.stem for p in NOTEBOOKS}
    expected = {"assignment-2-rnn-and-lstm-on-mnist", "lab-sheet-9-rnn-and-lstm-in-pytorch",
                "gradient-flow-in-rnns-and-lstms", "rnn-warmup", "programming-assignment-4-recurrent-networks"}
    missing = expected - names
    assert not missing, f"missing notebooks: {', '.join(sorted(missing))}"
