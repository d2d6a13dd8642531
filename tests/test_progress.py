"""Progress where it is shown: a widget bar per epoch in a Jupyter notebook and nothing in red (standard error) but
warnings, the data download's bar and messages included; plain epoch lines, without carriage returns, in a log."""
import os
import sys
from pathlib import Path

import pytest

import rnnlab
from rnnlab import progress
from rnnlab.cli import main

nbformat = pytest.importorskip("nbformat", reason="pip install nbclient (in the test extra)")
nbclient = pytest.importorskip("nbclient", reason="pip install nbclient (in the test extra)")

WIDGET = "application/vnd.jupyter.widget-view+json"

# A tiny dataset served from a folder as a mirror (file:// URLs), fetched in the kernel as MNIST is on first use.
FETCH = '''
import gzip, hashlib, pathlib
import numpy as np
from rnnlab.data import idx, mnist
from rnnlab.data.mnist import DatasetSpec, IdxFile
www = pathlib.Path("www"); www.mkdir()
rng = np.random.default_rng(0)
arrays = [rng.integers(0, 256, (7, 28, 28), dtype=np.uint8), rng.integers(0, 10, 7, dtype=np.uint8),
          rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), rng.integers(0, 10, 4, dtype=np.uint8)]
names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
files = []
for name, a in zip(names, arrays):
    gz = gzip.compress(idx.idx_bytes(a), mtime=0)
    (www / f"{name}.gz").write_bytes(gz)
    files.append(IdxFile(name, hashlib.md5(gz).hexdigest(), idx.sha256(idx.idx_bytes(a)), a.shape))
spec = DatasetSpec("tiny", "Tiny", tuple(files), mirrors=(www.resolve().as_uri() + "/",), torchvision_folder="TINY",
                   classes=tuple("0123456789"))
print("fetched", len(mnist.fetch(spec, "cache").train_labels))
'''

TRAIN = '''
from rnnlab import lab
result = lab.train("gru", engine="numpy", task="xor", hidden_size=6, epochs=2, batch_size=16, lr=0.01,
                   task_options={"n_train": 256, "n_val": 16, "n_test": 32, "length": 6})
'''


def _run_notebook(tmp_path, cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    dirs = {name: tmp_path / name.lower() for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
                                                       "IPYTHONDIR", "MPLCONFIGDIR")}
    saved = {name: os.environ.get(name) for name in [*dirs, "PYTHONPATH", "RNNLAB_FUSED"]}
    os.environ["RNNLAB_FUSED"] = "0"     # the reference steps: nothing for numba to compile in the kernel
    for name, path in dirs.items():
        path.mkdir()
        os.environ[name] = str(path)
    # the kernel imports the rnnlab this test imported (a relative PYTHONPATH would not reach it from tmp_path)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(rnnlab.__file__).resolve().parents[1]),
                                                *filter(None, [saved["PYTHONPATH"]])])
    try:
        nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return nb


def test_a_notebook_shows_widget_bars_and_nothing_in_red(tmp_path):
    """Training and a first download in a real kernel: widget bars (tqdm.auto), the epoch lines and the fetch
    message on standard output, no standard-error output at all (Jupyter shows it in red)."""
    pytest.importorskip("ipywidgets", reason="pip install ipywidgets (in the notebooks extra)")
    nb = _run_notebook(tmp_path, [FETCH, TRAIN])
    for cell in nb.cells:
        red = [o.get("text", "") for o in cell.outputs if o.get("name") == "stderr"]
        assert red == [], f"standard error shown in red: {red}"
    fetch, train = (list(cell.outputs) for cell in nb.cells)
    text = "".join(o.get("text", "") for o in fetch if o.get("output_type") == "stream")
    assert "Tiny is not on disk yet; fetching it into" in text and "fetched 7" in text
    assert sum(WIDGET in o.get("data", {}) for o in fetch) == 4              # a bar per file downloaded
    bars = [o for o in train if WIDGET in o.get("data", {})]
    assert len(bars) == 2, "one progress bar per epoch"
    lines = "".join(o.get("text", "") for o in train if o.get("output_type") == "stream").splitlines()
    assert lines[0].startswith("threads: ")                                  # the thread policy's choice first
    assert [line.split(":")[0] for line in lines[1:]] == ["gru epoch 1/2", "gru epoch 2/2"]


def test_a_log_keeps_plain_epoch_lines(tmp_path, capsys, monkeypatch):
    """`rnnlab train` with its output going to files (a log, a pipe: not a terminal): one plain line per epoch,
    no bar, no carriage return; standard error stays empty."""
    monkeypatch.setenv("RNNLAB_FUSED", "0")
    assert main(["train", "--task", "xor", "--opt", "n_train=128", "--opt", "n_val=16", "--opt", "n_test=32", "--opt",
                 "length=6", "--hidden-size", "6", "--epochs", "2", "--batch-size", "16", "--engine", "numpy",
                 "--runs-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in out + err and err == ""
    epochs = [line.split(":")[0] for line in out.splitlines() if " epoch " in line]
    assert epochs == ["lstm epoch 1/2", "lstm epoch 2/2"]


def test_outside_a_notebook_a_bar_only_on_a_terminal(capsys):
    class Terminal:
        def isatty(self):
            return True

        def write(self, text):
            self.written = getattr(self, "written", "") + text

        def flush(self):
            pass
    assert not progress.in_notebook()
    assert progress.bar_shown(Terminal()) and not progress.bar_shown(sys.stderr)   # pytest captures stderr
    terminal = Terminal()
    with progress.bar(total=3, desc="steps", stream=terminal) as bar:
        bar.update(3)
    drawn, cleared = terminal.written.rsplit("\r", 2)[0], terminal.written.rsplit("\r", 2)[1]
    assert "steps:   0%" in drawn and cleared.strip() == "" and terminal.written.endswith("\r")   # leave=False
    with progress.bar(total=3, desc="quiet") as bar:       # not a terminal: nothing at all
        bar.update(3)
    progress.say("fetching")
    captured = capsys.readouterr()
    assert captured.err == "fetching\n" and "quiet" not in captured.err + captured.out
