"""The trainer: its History in memory, its callbacks, TensorBoard's copy of metrics.csv, progress only on a terminal."""
import csv
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest

from rnnlab.config import OptimConfig, TrainConfig
from rnnlab.engines import build_trainable
from rnnlab.runs import load_history
from rnnlab.tasks import get_task
from rnnlab.train import train_run
from rnnlab.trainer import Callback, History, Trainer

OPTIONS = {"n_train": 96, "n_val": 16, "n_test": 32, "length": 6}


def _config(**settings):
    return TrainConfig.from_flat({"task": "xor", "task_options": OPTIONS, "hidden_size": 6, "epochs": 2,
                                  "batch_size": 32, "lr": 0.01, **settings})


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_history_holds_what_the_run_directory_holds(tmp_path, engine):
    history = train_run(_config(engine=engine), tmp_path / "r", progress=False, echo=lambda line: None)
    assert isinstance(history, History) and history.label == "lstm" and history.metric == "bit_accuracy"
    assert len(history.iteration_loss) == 2 * 3                     # 2 epochs of 96 / 32 batches
    rows = _rows(tmp_path / "r" / "metrics.csv")
    for record, row in zip(history.epochs, rows, strict=True):
        for name, value in vars(record).items():
            assert (row[name] == "" if value is None else float(row[name]) == pytest.approx(value)), name
    # every epoch's training loss is the mean of its steps' losses
    assert history.epochs[0].train_loss == pytest.approx(np.mean(history.iteration_loss[:3]))
    # ... and its training metric the mean of its steps' metrics (equal batches), each a share in [0, 1]
    assert len(history.iteration_metric) == len(history.iteration_loss)
    assert all(0 <= m <= 1 for m in history.iteration_metric)
    assert history.epochs[1].train_metric == pytest.approx(np.mean(history.iteration_metric[3:]))
    steps = _rows(tmp_path / "r" / "iterations.csv")
    assert [float(r["train_loss"]) for r in steps] == history.iteration_loss
    assert [float(r["train_metric"]) for r in steps] == pytest.approx(history.iteration_metric, rel=1e-12)
    assert history.summary["final_test_metric"] == pytest.approx(history.epochs[-1].test_metric)
    again = load_history(tmp_path / "r")                              # read back from the directory
    assert again.iteration_loss == history.iteration_loss and again.column("test_loss") == history.column("test_loss")
    assert again.iteration_metric == pytest.approx(history.iteration_metric, rel=1e-12)
    # a directory of an older version (no train_metric column) still reads, without the steps' metrics
    (tmp_path / "r" / "iterations.csv").write_text("step,train_loss\n" + "".join(
        f"{i},{v!r}\n" for i, v in enumerate(history.iteration_loss, 1)))
    older = load_history(tmp_path / "r")
    assert older.iteration_loss == history.iteration_loss and older.iteration_metric == []


def test_trainer_runs_in_memory_with_callbacks_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task = get_task("xor")
    data = task.load(seed=0, **OPTIONS)
    spec = _config().model.for_task(task)
    model = build_trainable(spec, "numpy", lr=0.01)
    calls = []

    class Recorder(Callback):
        def on_epoch_start(self, trainer, state, epoch):
            calls.append(("start", epoch, state.batch))

        def on_batch(self, trainer, state, loss):
            calls.append(("batch", state.step, round(loss, 6)))

        def on_epoch(self, trainer, state, record):
            calls.append(("epoch", record.epoch, state.epoch))

    trainer = Trainer(model, data, OptimConfig(epochs=2, batch_size=32, lr=0.01), "bce", "bit_accuracy", seed=0,
                      label="lstm", callbacks=(Recorder(),))
    history = trainer.fit()
    assert [c for c in calls if c[0] != "batch"] == [("start", 0, 0), ("epoch", 1, 1), ("start", 1, 0),
                                                     ("epoch", 2, 2)]
    assert [c[1] for c in calls if c[0] == "batch"] == list(range(1, 7))
    assert [c[2] for c in calls if c[0] == "batch"] == [round(v, 6) for v in history.iteration_loss]
    assert history.column("epoch") == [1, 2] and history.epochs[1].val_metric is not None
    assert list(tmp_path.iterdir()) == []                             # nothing on disk


def test_tensorboard_events_hold_the_numbers_of_metrics_csv(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    history = train_run(_config(tensorboard=True), tmp_path / "r", progress=False, echo=lambda line: None)
    events = EventAccumulator(str(tmp_path / "r"))
    events.Reload()
    rows = _rows(tmp_path / "r" / "metrics.csv")
    for column in ("train_loss", "train_metric", "val_loss", "val_metric", "test_loss", "test_metric", "lr"):
        logged = events.Scalars(f"epoch/{column}")
        assert [e.step for e in logged] == [1, 2]
        np.testing.assert_allclose([e.value for e in logged], [float(r[column]) for r in rows], rtol=1e-6)
    steps = events.Scalars("step/train_loss")
    np.testing.assert_allclose([e.value for e in steps], history.iteration_loss, rtol=1e-6)
    assert [e.step for e in steps] == list(range(1, 7))


ARGS = ["train", "--task", "xor", *[f"--opt={k}={v}" for k, v in OPTIONS.items()], "--hidden-size", "4",
        "--epochs", "2", "--batch-size", "16", "--engine", "numpy"]


def test_a_piped_run_prints_its_epoch_lines_and_no_progress_bar(tmp_path):
    res = subprocess.run([sys.executable, "-m", "rnnlab", *ARGS, "--runs-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(" epoch ") == 2 and "\r" not in res.stderr and "batch/s" not in res.stderr


def test_a_terminal_gets_a_progress_bar(tmp_path):
    main_fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # a 100-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab", *ARGS, "--runs-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=terminal, text=True)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:       # the terminal closed: the process has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    out, _ = proc.communicate(timeout=300)
    os.close(main_fd)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "lstm 1/2" in shown and "\r" in shown                      # tqdm's bar, redrawn in place
    assert out.count(" epoch ") == 2
