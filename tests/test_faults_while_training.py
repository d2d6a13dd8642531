"""Faults while training: a non-finite validation loss stops the run before anything of that epoch is written, and a
full disk keeps the last good checkpoint; both runs then resume to exactly the numbers of an uninterrupted run."""
from pathlib import Path

import pytest

from rnnlab.cli import main

XOR = ["--task", "xor", "--opt", "n_train=64", "--opt", "n_val=8", "--opt", "n_test=8", "--opt", "length=4",
       "--hidden-size", "4", "--epochs", "1", "--quiet"]
TRAIN = ["train", *XOR]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_non_finite_validation_loss_stops_before_anything_is_written(workdir, capsys, monkeypatch):
    from rnnlab import trainer
    real, calls = trainer.evaluate_split, {"n": 0}

    def poisoned(model, split, loss, metric, batch_size, *rest):
        calls["n"] += 1
        value, measure, outputs = real(model, split, loss, metric, batch_size, *rest)
        return (float("inf") if calls["n"] == 3 else value), measure, outputs   # epoch 2's validation
    monkeypatch.setattr(trainer, "evaluate_split", poisoned)
    assert main([*TRAIN, "--epochs", "3", "--name", "r"]) == 3
    assert "the val loss became inf at the end of epoch 2" in capsys.readouterr().err
    run = workdir / "runs" / "r"
    assert len((run / "metrics.csv").read_text().splitlines()) == 2          # epoch 1 only
    monkeypatch.setattr(trainer, "evaluate_split", real)
    assert main(["train", "--resume", str(run), "--quiet"]) == 0            # the epoch-1 checkpoint resumes
    assert len((run / "metrics.csv").read_text().splitlines()) == 4


def test_a_full_disk_keeps_the_last_good_checkpoint(workdir, capsys, monkeypatch):
    import errno

    from rnnlab import rundir
    real, calls = rundir.write_atomic, {"n": 0}

    def full(path, data):
        if Path(path).name.startswith("checkpoint"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)
    monkeypatch.setattr(rundir, "write_atomic", full)
    assert main([*TRAIN, "--epochs", "3", "--name", "r"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "No space left on device; free some disk space" in err
    monkeypatch.setattr(rundir, "write_atomic", real)
    run = workdir / "runs" / "r"
    assert not list(run.glob(".checkpoint*"))                                # no half-written file left
    assert main(["train", "--resume", str(run), "--quiet", "--name", "x"]) == 2   # a resume takes no new name
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert main([*TRAIN, "--epochs", "3", "--name", "whole"]) == 0
    assert (run / "metrics.csv").read_text().splitlines()[1:] != []
    metrics = [line.split(",")[:7] for line in (run / "metrics.csv").read_text().splitlines()]
    whole = [line.split(",")[:7] for line in (workdir / "runs" / "whole" / "metrics.csv").read_text().splitlines()]
    assert metrics == whole                                                  # resumed exactly
