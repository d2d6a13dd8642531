"""train / compare / evaluate / predict / runs end to end on tiny tasks, resume, NaN and bad input."""
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from rnnlab import engines, tasks
from rnnlab.cli import main
from rnnlab.config import PRESETS, OptimConfig, resolve
from rnnlab.train import TrainingDiverged, train_run
from rnnlab.trainer import lr_at
from stroke_digits import stroke_dataset, stroke_drawer

TINY_XOR = ["--task", "xor", "--opt", "n_train=256", "--opt", "n_val=32", "--opt", "n_test=64", "--opt", "length=8",
            "--hidden-size", "8", "--epochs", "2", "--batch-size", "32", "--lr", "0.01", "--quiet"]


def _metrics(run_dir):
    with open(run_dir / "metrics.csv") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


# One thread per training process: the kill/resume tests run two at once on small machines.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], capture_output=True, text=True, timeout=600,
                          env=ONE_THREAD)


@pytest.mark.parametrize("engine", ["numpy", "scratch", "torch"])
def test_train_writes_a_complete_run(tmp_path, engine, capsys):
    code = main(["train", *TINY_XOR, "--engine", engine, "--cell", "gru", "--runs-dir", str(tmp_path),
                 "--name", "run"])
    assert code == 0
    run = tmp_path / "run"
    checkpoint = "checkpoint.npz" if engine == "numpy" else "checkpoint.pt"    # each engine's own format
    for name in ("config.json", "task.json", "metrics.csv", "train.log", checkpoint, "model.npz",
                 "predictions.npz", "summary.json", "report.html", "curves.png", "samples.png"):
        assert (run / name).is_file(), name
    rows = _metrics(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["engine"] == engine and summary["epochs"] == 2
    assert summary["final_test_metric"] == pytest.approx(float(rows[-1]["test_metric"]))
    page = (run / "report.html").read_text()
    assert f"{100 * float(rows[-1]['test_metric']):.2f} %" in page      # the page shows metrics.csv's number
    assert "http" not in page.replace("http-equiv", "")                  # nothing from the network
    log = (run / "train.log").read_text().splitlines()
    assert log[0].startswith("threads: ") and [line.split(" epoch ")[1][:3] for line in log[1:]] == ["1/2", "2/2"]
    assert "epoch 2/2" in capsys.readouterr().out


def test_same_seed_same_numbers(tmp_path):
    for name in ("a", "b"):
        assert main(["train", *TINY_XOR, "--engine", "torch", "--runs-dir", str(tmp_path), "--name", name]) == 0
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")
    assert main(["train", *TINY_XOR, "--engine", "torch", "--seed", "1", "--runs-dir", str(tmp_path),
                 "--name", "c"]) == 0
    assert _metrics(tmp_path / "a") != _metrics(tmp_path / "c")


def test_compare_report_and_runs_listing(tmp_path, capsys):
    assert main(["compare", "rnn", "bilstm", *TINY_XOR, "--runs-dir", str(tmp_path), "--name", "cmp"]) == 0
    out = capsys.readouterr().out
    assert "| model | parameters | test bit_accuracy | training time |" in out      # the table of compare.json
    assert re.search(r"^\| rnn \| [\d,]+ \| [\d.]+ % \| [\d.]+ s \|$", out, re.M) and "| bilstm |" in out
    cmp = tmp_path / "cmp"
    page = (cmp / "report.html").read_text()
    for model in ("rnn", "bilstm"):
        rows = _metrics(cmp / model)
        assert f"<td>{model}</td>" in page
        assert f"{100 * float(rows[-1]['test_metric']):.2f} %" in page
    assert (cmp / "curves.png").stat().st_size > 1000
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "cmp/rnn" in listing and "cmp/bilstm" in listing and "bit_accuracy" in listing


def test_evaluate_on_every_engine_gives_the_same_metric(tmp_path, capsys):
    assert main(["train", *TINY_XOR, "--engine", "numpy", "--cell", "lstm", "--runs-dir", str(tmp_path),
                 "--name", "r"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    capsys.readouterr()
    for engine in ("numpy", "scratch", "torch"):
        assert main(["evaluate", str(tmp_path / "r"), "--engine", engine]) == 0
        shown = float(re.search(r"bit_accuracy ([\d.]+) %", capsys.readouterr().out).group(1))
        assert shown == pytest.approx(100 * summary["final_test_metric"], abs=0.006)
    assert main(["evaluate", str(tmp_path / "r"), "--task", "adding"]) == 2
    assert "choose a task of the same shape" in capsys.readouterr().err


def test_binary_addition_reports_every_length(tmp_path, capsys):
    args = ["train", "--task", "binary-add", "--opt", "n_train=64", "--opt", "n_val=8", "--opt", "n_test=4",
            "--opt", "max_test_bits=6", "--opt", "long_test_bits=[]", "--hidden-size", "8", "--epochs", "1",
            "--quiet", "--runs-dir", str(tmp_path), "--name", "b"]
    assert main(args) == 0
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert list(summary["extra_tests"]) == [f"bits={k}" for k in range(1, 7)]
    assert (tmp_path / "b" / "lengths.png").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "b")]) == 0
    assert "bits=6: bit_accuracy" in capsys.readouterr().out


@pytest.fixture
def tiny_images(monkeypatch):
    """An 'MNIST' of drawn strokes: class k is a line at angle k; loaded instead of the real files."""
    draw = stroke_drawer(0)
    dataset = stroke_dataset("tiny", 300, 240, draw)
    monkeypatch.setattr(tasks, "load_dataset", lambda *a, **k: dataset)
    return draw


def test_predict_custom_images(tmp_path, tiny_images, capsys):
    assert main(["train", "--task", "mnist-rows", "--opt", "split=official", "--hidden-size", "32", "--epochs",
                 "8", "--batch-size", "16", "--lr", "0.01", "--quiet", "--runs-dir", str(tmp_path), "--name",
                 "m"]) == 0
    folder = tmp_path / "mine"
    folder.mkdir()
    for k in (0, 5):   # a dark stroke on light paper, larger than 28 x 28, as a phone photo would be
        Image.fromarray(255 - tiny_images(k)).resize((112, 112)).save(folder / f"digit{k}.png")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "m"), str(folder)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("digit")]
    assert len(lines) == 2 and all(re.match(r"digit\d.png: \d  \(\d: [\d.]+ %", line) for line in lines)
    assert (tmp_path / "m" / "predictions.png").is_file()
    assert main(["predict", str(tmp_path / "m"), str(tmp_path / "nothing.png")]) == 2
    assert "nothing.png: no such file" in capsys.readouterr().err


def _wait_for(predicate, timeout=300):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


SLOW_ADDING = ["--task", "adding", "--opt", "n_train=1500", "--opt", "n_val=50", "--opt", "n_test=100",
               "--opt", "length=30", "--hidden-size", "24", "--epochs", "3", "--batch-size", "8", "--quiet"]


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_resume_after_kill_gives_identical_metrics(tmp_path, engine):
    args = ["train", *SLOW_ADDING, "--engine", engine, "--dropout", "0.3", "--layers", "2", "--runs-dir",
            str(tmp_path)]
    assert _cli(*args, "--name", "whole").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab", *args, "--name", "killed"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ONE_THREAD)
    killed = tmp_path / "killed"
    assert _wait_for(lambda: (killed / "metrics.csv").exists())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "summary.json").exists()
    assert 1 <= len(_metrics(killed)) < 3
    res = _cli("train", "--resume", str(killed), "--quiet")
    assert res.returncode == 0, res.stderr
    assert _metrics(killed) == _metrics(tmp_path / "whole")


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_exactly(tmp_path):
    args = ["train", *SLOW_ADDING, "--engine", "numpy", "--runs-dir", str(tmp_path)]
    assert _cli(*args, "--name", "whole").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab", *args, "--name", "stopped"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ONE_THREAD)
    stopped = tmp_path / "stopped"
    assert _wait_for(lambda: (stopped / "config.json").exists())
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err and f"rnnlab train --resume {stopped}" in err
    res = _cli("train", "--resume", str(stopped), "--quiet")
    assert res.returncode == 0, res.stderr
    assert _metrics(stopped) == _metrics(tmp_path / "whole")
    # the training loss of every step, too: the steps before Ctrl-C were kept, the rest continued exactly
    assert (stopped / "iterations.csv").read_text() == (tmp_path / "whole" / "iterations.csv").read_text()


def test_nan_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real = engines.build_trainable
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        model = real(*args, **kwargs)
        train_batch = model.train_batch

        def step(*a, **k):
            calls["n"] += 1
            value, out = train_batch(*a, **k)
            return (float("nan"), out) if calls["n"] == 11 else (value, out)
        model.train_batch = step
        return model

    monkeypatch.setattr("rnnlab.train.build_trainable", poisoned)
    cfg = resolve(task="xor", task_options={"n_train": 256, "n_val": 8, "n_test": 8, "length": 6}, hidden_size=4,
                  epochs=3, batch_size=32).config()
    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 2, step 3; the checkpoint of epoch 1 "
                                               r"is kept .*--clip-norm.*--lr"):
        train_run(cfg, tmp_path / "r", progress=False, echo=lambda line: None)
    assert len(_metrics(tmp_path / "r")) == 1 and (tmp_path / "r" / "checkpoint.pt").exists()


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_divergence_through_the_cli_exits_3(tmp_path, capsys):
    code = main(["train", "--task", "adding", "--opt", "n_train=256", "--opt", "length=5", "--engine", "numpy",
                 "--optimizer", "sgd", "--lr", "1e30", "--schedule", "constant", "--clip-norm", "1e30",
                 "--epochs", "2", "--quiet", "--runs-dir", str(tmp_path)])
    assert code == 3
    assert re.search(r"loss became (nan|inf) at epoch \d, step \d+", capsys.readouterr().err)


@pytest.mark.parametrize("argv,message", [
    (["train", "--hidden-size", "0"], "--hidden-size: expected a positive integer, got 0"),
    (["train", "--lr", "-1"], "--lr: expected a positive number, got -1"),
    (["train", "--task", "mnist"], "argument --task: invalid choice: 'mnist'"),
    (["train", "--engine", "jax"], "argument --engine: invalid choice: 'jax'"),
])
def test_bad_flags_name_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["compare", "lstmx"], "model 'lstmx': expected [bi][ln]CELL[LAYERS]"),
    (["train", "--task", "xor", "--no-clip-norm", "--clip-norm", "2"], "--no-clip-norm and --clip-norm 2 contradict"),
    (["train", "--task", "xor", "--layer-norm"], "layer_norm: torch.nn has no layer-normalised cell"),
    (["train", "--task", "xor", "--cell", "gru", "--chrono", "10"], "chrono: only the LSTM, the minGRU"),
    (["train", "--task", "xor", "--cell", "rnn", "--forget-bias", "1.0"], "forget_bias: only the LSTM has a forget"),
    (["compare", "gru", "lstm", "--task", "xor", "--chrono", "10"], "take chrono initialisation, not the"),
    (["train", "--task", "xor", "--opt", "lenght=3"], "task xor: unknown option(s) lenght; it takes length"),
    (["train", "--task", "xor", "--engine", "numpy", "--head", "layernorm"], "head: the NumPy engine has a plain"),
    (["train", "--task", "xor", "--dropout", "1.5"], "dropout: expected a probability in [0, 1), got 1.5"),
    (["train", "--task", "xor", "--device", "cuda"], "device: 'cuda' asked for"),
])
def test_bad_settings_are_named(tmp_path, argv, message, capsys):
    if "cuda" in argv and __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main([*argv, "--runs-dir", str(tmp_path), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_no_clip_norm_and_layer_norm_reach_the_run(tmp_path):
    args = ["train", *TINY_XOR, "--runs-dir", str(tmp_path), "--name", "r", "--epochs", "1", "--engine", "numpy",
            "--cell", "rnn", "--layer-norm", "--no-clip-norm", "--quiet"]
    assert main(args) == 0
    doc = json.loads((tmp_path / "r" / "config.json").read_text())
    assert doc["config"]["optim"]["clip_norm"] is None and doc["config"]["model"]["recurrent"]["layer_norm"] is True
    assert doc["model"]["recurrent"]["layer_norm"] is True and doc["label"] == "lnrnn"


def test_a_layer_normalised_gru_trains_from_the_cli(tmp_path, capsys):
    assert main(["compare", "lngru", *TINY_XOR, "--engine", "numpy", "--runs-dir", str(tmp_path), "--name", "c"]) == 0
    doc = json.loads((tmp_path / "c" / "lngru" / "config.json").read_text())
    assert doc["label"] == "lngru" and doc["model"]["recurrent"]["layer_norm"] is True
    out = capsys.readouterr().out
    assert "| model | parameters | test bit_accuracy |" in out and "| lngru |" in out


def test_existing_run_is_not_overwritten_without_force(tmp_path, capsys):
    args = ["train", *TINY_XOR, "--runs-dir", str(tmp_path), "--name", "r", "--epochs", "1"]
    assert main(args) == 0
    before = (tmp_path / "r" / "metrics.csv").read_text()
    assert main(args) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "r" / "metrics.csv").read_text() == before
    assert main([*args, "--force"]) == 0


def test_config_precedence_and_bad_files(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: xor\nepochs: 7\nlr: 0.5\ntask_options: {length: 9}\n")
    cfg = resolve("lab", path, lr=0.25, task_options={"n_train": 10}).config()
    assert (cfg.data.task, cfg.optim.epochs, cfg.optim.lr, cfg.optim.batch_size) == \
        ("xor", 7, 0.25, PRESETS["lab"]["batch_size"])
    assert cfg.data.options == {"length": 9, "n_train": 10}      # another task: the preset's options dropped
    path.write_text("epochs: 7\ntask_options: {n_train: 500}\n")
    cfg = resolve("lab", path, task_options={"n_test": 20}).config()
    assert cfg.data.options == {"split": "official", "scaling": "symmetric", "n_train": 500, "n_test": 20}
    path.write_text("epochz: 3\n")
    with pytest.raises(ValueError, match="unknown setting\\(s\\) epochz; valid: activation_reg, augment, batch_size"):
        resolve(None, path)
    path.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        resolve(None, path)
    with pytest.raises(ValueError, match="preset: unknown value 'colab'; expected one of quick, course"):
        resolve("colab")


def test_learning_rate_schedules():
    cfg = OptimConfig(lr=1.0, schedule="onecycle")
    values = [lr_at(cfg, s, 100) for s in range(100)]
    assert values[0] == pytest.approx(1 / 25) and max(values) == pytest.approx(1.0, abs=1e-9)
    assert int(np.argmax(values)) == 15 and values[-1] < 1e-3
    cosine = OptimConfig(lr=2.0, schedule="cosine")
    assert lr_at(cosine, 0, 10) == 2.0 and lr_at(cosine, 5, 10) == pytest.approx(1.0)
    assert lr_at(OptimConfig(lr=0.3, schedule="constant"), 77, 100) == 0.3


def test_presets_are_valid_configs():
    for name, _preset in PRESETS.items():
        settings = resolve(name)
        for model in settings.models:
            settings.config(model)
    assert resolve().models == ("rnn", "lstm", "gru") and resolve().config().data.task == "mnist-rows"
