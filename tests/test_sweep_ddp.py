"""Sweeps (local processes and Ray) and data-parallel training with torch.distributed."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.sweep import aggregate, expand, read_sweep, run_sweep

SWEEP = """\
name: tiny
task: xor
fixed: {epochs: 2, hidden_size: 6, batch_size: 32, task_options: {n_train: 128, n_val: 16, n_test: 32, length: 6}}
grid: {cell: [rnn, gru], lr: [0.01, 0.003]}
random: {samples: 1, space: {hidden_size: {choice: [4, 8]}}}
seeds: [0, 1]
"""


def _write(tmp_path, text=SWEEP):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def _metrics(run_dir):
    with open(Path(run_dir) / "metrics.csv") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def test_sweep_expands_every_point_and_seed(tmp_path):
    runs = expand(read_sweep(_write(tmp_path)), tmp_path / "runs")
    assert len(runs) == (4 + 1) * 2
    names = {r.point for r in runs}
    assert {"cell=rnn,lr=0.01", "cell=gru,lr=0.003"} <= names and any(n.startswith("hidden_size=") for n in names)
    assert all(Path(r.run_dir).parent == tmp_path / "runs" / "tiny" for r in runs)


@pytest.mark.parametrize("doc,fragment", [
    ({"name": "a\nb"}, "sweep: name: 'a\\nb' is not a folder name"),
    ({"grid": {"init": ["course", "de\x1bfault"]}}, "sweep: the run of point 'init=de\\x1bfault'"),
])
def test_a_sweep_whose_run_names_are_not_folder_names_is_refused_before_anything_runs(tmp_path, doc, fragment):
    base = {"name": "ok", "task": "xor", "fixed": {"hidden_size": 4}, "seeds": [0]}
    with pytest.raises(ValueError) as info:
        expand({**base, **doc}, tmp_path / "runs")
    assert str(info.value).startswith(fragment) and not (tmp_path / "runs").exists()


def test_local_sweep_end_to_end_and_report(tmp_path, capsys):
    path = _write(tmp_path)
    assert main(["sweep", str(path), "--runs-dir", str(tmp_path / "runs"), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "runs" / "tiny"
    assert "sweep tiny: 10 runs, 0 already done, 10 to run (local)" in out and "10 finished, 0 failed" in out
    assert len(list(folder.glob("*/summary.json"))) == 10
    table = (folder / "sweep_results.md").read_text()
    assert table.count("| 2 | 0 |") == 5          # five points, two seeds each, none failed
    assert "+/-" in table and "Best: **" in table and (folder / "sweep.png").is_file()
    rows = aggregate(read_sweep(path), tmp_path / "runs")
    assert [r["mean"] for r in rows] == sorted((r["mean"] for r in rows), reverse=True)
    # each run is an ordinary run directory: the same numbers as `rnnlab train` with those settings
    assert main(["train", "--task", "xor", "--opt", "n_train=128", "--opt", "n_val=16", "--opt", "n_test=32",
                 "--opt", "length=6", "--epochs", "2", "--hidden-size", "6", "--batch-size", "32", "--cell", "gru",
                 "--lr", "0.003", "--seed", "1", "--quiet", "--runs-dir", str(tmp_path), "--name", "alone"]) == 0
    assert _metrics(folder / "cell=gru,lr=0.003-seed1") == _metrics(tmp_path / "alone")
    # a second pass has nothing to do
    assert main(["sweep", str(path), "--runs-dir", str(tmp_path / "runs"), "--workers", "2"]) == 0
    assert "10 already done, 0 to run" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_failing_run_is_recorded_and_the_others_finish(tmp_path, capsys):
    # a learning rate that makes SGD diverge passes every check and fails only while training
    text = SWEEP.replace("grid: {cell: [rnn, gru], lr: [0.01, 0.003]}", "grid: {lr: [1.0e+30, 0.01]}") \
                .replace("fixed: {", "fixed: {engine: numpy, optimizer: sgd, clip_norm: 1.0e+30, "
                                     "schedule: constant, ") \
                .replace("random: {samples: 1, space: {hidden_size: {choice: [4, 8]}}}\n", "") \
                .replace("task: xor", "task: adding")
    code = main(["sweep", str(_write(tmp_path, text)), "--runs-dir", str(tmp_path / "runs"), "--workers", "1"])
    assert code == 1
    out = capsys.readouterr().out
    assert "2 finished, 2 failed" in out and "the loss became" in out
    folder = tmp_path / "runs" / "tiny"
    assert (folder / "lr=1e+30-seed0" / "error.txt").read_text().startswith("TrainingDiverged: the loss became")
    assert (folder / "lr=0.01-seed1" / "summary.json").exists()
    assert "| 0 | 2 |" in (folder / "sweep_results.md").read_text()


def test_a_point_that_cannot_run_is_refused_before_anything_runs(tmp_path, capsys):
    text = SWEEP.replace("grid: {cell: [rnn, gru], lr: [0.01, 0.003]}", "grid: {engine: [numpy, torch]}") \
                .replace("fixed: {", "fixed: {head: layernorm, ")
    code = main(["sweep", str(_write(tmp_path, text)), "--runs-dir", str(tmp_path / "runs"), "--workers", "1"])
    assert code == 2
    assert "head: the NumPy engine has a plain linear head only" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_killed_sweep_resumes(tmp_path):
    path = _write(tmp_path, SWEEP.replace("epochs: 2", "epochs: 3").replace("n_train: 128", "n_train: 1024"))
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab", "sweep", str(path), "--runs-dir", str(runs),
                             "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + 120
    while time.time() < end and len(list(runs.glob("tiny/*/summary.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.parent.name: p.stat().st_mtime_ns for p in runs.glob("tiny/*/summary.json")}
    assert 2 <= len(done) < 10
    res = subprocess.run([sys.executable, "-m", "rnnlab", "sweep", str(path), "--runs-dir", str(runs)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert f"{len(done)} already done" in res.stdout
    assert len(list(runs.glob("tiny/*/summary.json"))) == 10
    assert all((runs / "tiny" / name / "summary.json").stat().st_mtime_ns == mtime for name, mtime in done.items())


def test_sweep_file_errors_are_named(tmp_path, capsys):
    assert main(["sweep", str(_write(tmp_path, "task: xor\ngird: {cell: [rnn]}\n"))]) == 2
    assert "unknown key(s) gird" in capsys.readouterr().err
    assert main(["sweep", str(_write(tmp_path, "task: xor\ngrid: {cells: [rnn]}\n"))]) == 2
    assert "'cells' is not a training setting" in capsys.readouterr().err
    assert main(["sweep", str(_write(tmp_path, "task: xor\ngrid: {cell: [cnn]}\n"))]) == 2
    assert "cell: unknown value 'cnn'" in capsys.readouterr().err


def test_ray_sweep_on_a_local_instance(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is optional: pip install ray (in a clone: pip install -e '.[ray]')")
    doc = read_sweep(_write(tmp_path, SWEEP.replace("seeds: [0, 1]", "seeds: [0]")))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        results = run_sweep(doc, tmp_path / "ray", backend="ray", echo=lambda line: None)
    finally:
        ray.shutdown()
    assert sorted(r["status"] for r in results) == ["done"] * 5
    local = run_sweep(doc, tmp_path / "local", backend="local", workers=1, echo=lambda line: None)
    assert len(local) == 5
    for run in expand(doc, tmp_path / "ray"):
        twin = Path(str(run.run_dir).replace(str(tmp_path / "ray"), str(tmp_path / "local")))
        assert _metrics(run.run_dir) == _metrics(twin)       # same numbers on either backend


TORCHRUN = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not found beside the Python interpreter")
def test_two_gloo_workers_equal_one_process_with_the_same_global_batch(tmp_path):
    common = ["train", "--task", "adding", "--opt", "n_train=512", "--opt", "n_val=16", "--opt", "n_test=64",
              "--opt", "length=12", "--engine", "torch", "--cell", "lstm", "--hidden-size", "16", "--epochs", "2",
              "--batch-size", "32", "--quiet", "--runs-dir", str(tmp_path)]
    single = subprocess.run([sys.executable, "-m", "rnnlab", *common, "--name", "single"], capture_output=True,
                            text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run([TORCHRUN, "--standalone", "--nproc-per-node", "2", "-m", "rnnlab", *common,
                          "--name", "ddp", "--ddp"], capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr
    one, two = _metrics(tmp_path / "single"), _metrics(tmp_path / "ddp")
    assert len(one) == len(two) == 2
    for a, b in zip(one, two):
        for key in ("train_loss", "val_loss", "test_loss", "test_metric"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-5), key
    assert json.loads((tmp_path / "ddp" / "config.json").read_text())["config"]["run"]["ddp"] is True
    assert ddp.stdout.count("epoch 2/2") == 1                  # only rank 0 speaks


def test_ddp_without_torchrun_says_how_to_launch(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    assert main(["train", "--task", "xor", "--ddp", "--quiet", "--runs-dir", str(tmp_path)]) == 2
    assert "launch with `torchrun --nproc-per-node N -m rnnlab train ... --ddp`" in capsys.readouterr().err
    assert main(["train", "--task", "xor", "--ddp", "--engine", "numpy", "--runs-dir", str(tmp_path)]) == 2
    assert "needs a PyTorch engine" in capsys.readouterr().err
