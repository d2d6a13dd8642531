"""Every command-line entry point given bad input: one line naming the bad value, the exit code, no
traceback, and nothing on disk changed (the matrix of the issue "Nothing lost, no traceback")."""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rnnlab.cli import main

XOR = ["--task", "xor", "--opt", "n_train=64", "--opt", "n_val=8", "--opt", "n_test=8", "--opt", "length=4",
       "--hidden-size", "4", "--epochs", "1", "--quiet"]
TRAIN = ["train", *XOR]


def _tree(root: Path) -> dict:
    """Every file and folder under root with its size and modification time."""
    return {str(p.relative_to(root)): (p.is_dir(), p.stat().st_size if p.is_file() else 0, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:          # argparse's own refusals
        return exc.code


def _check(root: Path, capsys, argv: list[str], code: int, fragment: str) -> None:
    before = _tree(root)
    assert _run(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    message = err.strip().splitlines()[-1]
    assert fragment in message, err
    assert len(err.strip().splitlines()) <= 3                 # one line (after argparse's usage lines)
    assert _tree(root) == before                               # nothing created, changed or removed


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    (tmp_path / "runs" / "old").mkdir(parents=True)
    (tmp_path / "runs" / "old" / "metrics.csv").write_text("epoch\n1\n")
    return tmp_path


# ------------------------------------------------------------------------------------- flags of train
INT_FLAGS = ("--hidden-size", "--layers", "--dense-size", "--batch-size", "--epochs")
FLOAT_FLAGS = ("--lr", "--clip-value", "--clip-norm")
FLAG_CASES = (
    [([flag, value], 2, f"{flag}: expected a positive integer")
     for flag in INT_FLAGS for value in ("0", "-1", "abc", "1.5", "")]
    + [([flag, value], 2, f"{flag}: expected a positive number")
       for flag in FLOAT_FLAGS for value in ("0", "-1", "abc", "nan", "")]
    + [([flag, "inf"], 2, f"{flag.lstrip('-').replace('-', '_')}: expected a positive number, got inf")
       for flag in FLOAT_FLAGS]
    + [([flag, value], 2, f"argument {flag}: invalid choice: '{value}'")
       for flag, value in (("--engine", "jax"), ("--optimizer", "rmsprop"), ("--schedule", "step"),
                           ("--head", "mlp"), ("--nonlinearity", "gelu"), ("--init", "xavier"),
                           ("--recurrent-init", "eye"), ("--device", "tpu"), ("--loss", "hinge"),
                           ("--task", "mnist"), ("--cell", "transformer"), ("--preset", "colab"))]
    + [(["--momentum", "abc"], 2, "--momentum: invalid float value: 'abc'"),
       (["--momentum", "-0.5"], 2, "momentum: expected a non-negative number, got -0.5"),
       (["--dropout", "1.5"], 2, "dropout: expected a probability in [0, 1), got 1.5"),
       (["--dropout", "-0.1"], 2, "dropout: expected a probability in [0, 1), got -0.1"),
       (["--dropout", "1"], 2, "dropout: expected a probability in [0, 1), got 1.0"),
       (["--forget-bias", "nan"], 2, "forget_bias: expected a number, got nan"),
       (["--forget-bias", "inf"], 2, "forget_bias: expected a number, got inf"),
       (["--chrono", "1"], 2, "chrono: expected an integer T_max >= 2"),
       (["--chrono", "1.5"], 2, "--chrono: invalid int value: '1.5'"),
       (["--seed", "-1"], 2, "seed: expected a whole number >= 0, got -1"),
       (["--seed", "x"], 2, "--seed: invalid int value: 'x'"),
       (["--proj-size", "-2"], 2, "proj_size: expected a non-negative integer, got -2"),
       (["--proj-size", "8"], 2, "proj_size: expected an integer in 0..3 (smaller than hidden_size), got 8")]
)


@pytest.mark.parametrize("flags,code,fragment", FLAG_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_flags(workdir, capsys, flags, code, fragment):
    _check(workdir, capsys, [*TRAIN, *flags], code, fragment)


# ------------------------------------------------------------------------------------- options that do not apply
RULE_CASES = [
    (["--cell", "rnn", "--forget-bias", "1"], "forget_bias: only the LSTM has a forget gate, not the vanilla RNN"),
    (["--cell", "gru", "--chrono", "5"],
     "chrono: only the LSTM, the minGRU and the minLSTM take chrono initialisation, not the GRU"),
    (["--cell", "lstm", "--nonlinearity", "relu"],
     "nonlinearity: 'relu' applies to the vanilla RNN, the IndRNN and the orthogonal RNN only"),
    (["--cell", "gru", "--proj-size", "2"], "proj_size: only the LSTM has a projection, not the GRU"),
    (["--engine", "numpy", "--proj-size", "2"], "proj_size: the NumPy engine has no LSTM projection"),
    (["--engine", "torch", "--layer-norm"], "layer_norm: torch.nn has no layer-normalised cell"),
    (["--engine", "numpy", "--head", "dense"], "head: the NumPy engine has a plain linear head only"),
    (["--engine", "numpy", "--device", "cuda"], "device: the NumPy engine has no GPU"),
    (["--chrono", "5", "--forget-bias", "1"], "chrono and forget_bias both set the forget-gate bias"),
    (["--no-clip-norm", "--clip-norm", "2"], "--no-clip-norm and --clip-norm 2 contradict each other"),
    (["--loss", "mse_onehot"], "loss: 'mse_onehot' needs a classification task, xor is bce"),
    (["--engine", "numpy", "--ddp"], "ddp: the NumPy engine has no data-parallel training"),
]


@pytest.mark.parametrize("flags,fragment", RULE_CASES)
def test_options_that_do_not_apply(workdir, capsys, flags, fragment):
    _check(workdir, capsys, [*TRAIN, *flags], 2, fragment)


# ------------------------------------------------------------------------------------- task options
OPT_CASES = [
    ("xor", "length=abc", "option length: expected a positive whole number, got 'abc'"),
    ("xor", "length=2.5", "option length: expected a positive whole number, got 2.5"),
    ("xor", "length=[5,6]", "option length: expected a positive whole number, got [5, 6]"),
    ("xor", "length=0", "option length: expected a positive whole number, got 0"),
    ("xor", "length=-3", "option length: expected a positive whole number, got -3"),
    ("xor", "length=true", "option length: expected a positive whole number, got True"),
    ("xor", "n_train=abc", "option n_train: expected a positive whole number, got 'abc'"),
    ("xor", "n_train=0", "option n_train: expected a positive whole number, got 0"),
    ("xor", "n_val=1e-3", "option n_val: expected a positive whole number, got 0.001"),
    ("xor", "n_test=-1", "option n_test: expected a positive whole number, got -1"),
    ("xor", "colour=red", "task xor: unknown option(s) colour; it takes length, n_train, n_val, n_test"),
    ("xor", "noequals", "--opt: expected KEY=VALUE such as length=20, got 'noequals'"),
    ("adding", "length=nan", "option length: expected a positive whole number, got nan"),
    ("copy", "delay=abc", "option delay: expected a positive whole number, got 'abc'"),
    ("copy-seed", "features=0", "option features: expected a positive whole number, got 0"),
    ("binary-add", "bits=0", "option bits: expected a positive whole number, got 0"),
    ("binary-add", "long_test_bits=abc", "option long_test_bits: expected a list of positive whole numbers"),
    ("binary-add", "long_test_bits=[5,x]", "option long_test_bits: expected a list of positive whole numbers"),
    ("mnist-rows", "split=foo", "option split: expected one of official, validation, got 'foo'"),
    ("mnist-rows", "scaling=bar", "option scaling: expected one of unit, symmetric, standard, got 'bar'"),
    ("mnist-rows", "permutation_seed=-1", "option permutation_seed: expected a whole number >= 0, got -1"),
    ("mnist-rows", "n_val=abc", "option n_val: expected a positive whole number, got 'abc'"),
    ("fashion-rows", "n_train=2.5", "option n_train: expected a positive whole number, got 2.5"),
]


@pytest.mark.parametrize("task,option,fragment", OPT_CASES)
def test_bad_task_options(workdir, capsys, task, option, fragment):
    _check(workdir, capsys, ["train", "--task", task, "--opt", option, "--quiet"], 2, fragment)


def test_numbers_written_as_people_write_them_work(workdir, capsys):
    assert main([*TRAIN, "--opt", "n_train=6.4e1", "--name", "sci"]) == 0     # 64 sequences
    assert (workdir / "runs" / "sci" / "summary.json").exists()
    (workdir / "c.yaml").write_text("lr: 1e-3\nclip_norm: 5e-1\n")
    assert main([*TRAIN, "--config", "c.yaml", "--name", "yaml"]) == 0
    assert '"lr": 0.001' in (workdir / "runs" / "yaml" / "config.json").read_text()


# ------------------------------------------------------------------------------------- sizes that cannot fit
@pytest.mark.parametrize("flags,fragment", [
    (["--hidden-size", "10000000"], "memory: this run needs about"),
    (["--opt", "length=1000000000000"], "memory: this run needs about"),
    (["--batch-size", "100000000", "--opt", "length=100000"], "memory: this run needs about"),
    (["--layers", "9", "--hidden-size", "300000"], "Use a smaller --hidden-size or fewer --layers"),
])
def test_sizes_that_cannot_fit_are_refused_with_the_estimate(workdir, capsys, flags, fragment):
    _check(workdir, capsys, [*TRAIN, *flags], 2, fragment)


# ------------------------------------------------------------------------------------- config files
CONFIG_CASES = [
    (None, "config: missing.yaml does not exist"),
    ("folder", "is a folder; give the YAML file inside it"),
    (b"\xff\xfe\x00binary", "is not a text file"),
    ("a: [1, 2\n", "is not valid YAML"),
    ("- a\n- b\n", "must hold a mapping of setting, got list"),
    ("epochz: 3\n", "has unknown setting(s) epochz"),
    ("models: 5\n", "models: expected a list of model names such as [rnn, lstm], got 5"),
    ("task_options: [1, 2]\n", "task_options: expected a mapping of option to value, got [1, 2]"),
    ("lr: abc\n", "lr: expected a positive number, got 'abc'"),
    ("epochs: 1.5\n", "epochs: expected a positive integer, got 1.5"),
    ("hidden_size: true\n", "hidden_size: expected a positive integer, got True"),
    ("engine: jax\n", "engine: unknown value 'jax'"),
    ("bidirectional: maybe\n", "bidirectional"),
    ("seed: -4\n", "seed: expected a whole number >= 0, got -4"),
]


@pytest.mark.parametrize("content,fragment", CONFIG_CASES)
def test_bad_config_files(workdir, capsys, content, fragment):
    name = "missing.yaml"
    if content == "folder":
        name = "folder"
        (workdir / name).mkdir()
    elif content is not None:
        name = "c.yaml"
        (workdir / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    _check(workdir, capsys, ["train", "--config", name, "--quiet"], 2, fragment)


# ------------------------------------------------------------------------------------- compare
@pytest.mark.parametrize("models,fragment", [
    (["lstmx"], "model 'lstmx': expected [bi][ln]CELL[LAYERS]"),
    (["bi"], "model 'bi': expected"),
    (["lstm10"], "model 'lstm10': expected"),
    (["gru-relu"], "nonlinearity: 'relu' applies to the vanilla RNN, the IndRNN and the orthogonal RNN only; "
                   "the GRU uses"),
    (["lnlstm"], "layer_norm: torch.nn has no layer-normalised cell"),
    (["rnn", "lstm", "--chrono", "4"], "chrono: only the LSTM, the minGRU and the minLSTM take chrono initialisation, "
     "not the vanilla RNN"),
])
def test_bad_compare_models(workdir, capsys, models, fragment):
    _check(workdir, capsys, ["compare", *models, *XOR], 2, fragment)


# ------------------------------------------------------------------------------------- saved runs
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("finished")
    assert main([*TRAIN, "--runs-dir", str(root), "--name", "xor"]) == 0
    return root / "xor"


def _copy(run: Path, workdir: Path) -> Path:
    target = workdir / "runs" / "copy"
    shutil.copytree(run, target)
    return target


SAVED_CASES = [
    (["evaluate", "runs/none"], None, "runs/none: no such run directory; `rnnlab runs` lists the runs"),
    (["evaluate", "runs/old"], None, "runs/old: no model.npz (the run did not finish"),
    (["evaluate", "RUN", "--task", "adding"], None, "task adding: takes 2 inputs"),
    (["evaluate", "RUN", "--task", "nope"], None, "unknown task 'nope'"),
    (["evaluate", "RUN", "--opt", "length=abc"], None, "option length: expected a positive whole number"),
    (["evaluate", "RUN"], ("model.npz", b""), "model.npz: damaged, not a model file of rnnlab"),
    (["evaluate", "RUN"], ("model.npz", b"PK\x03\x04garbage"), "model.npz: damaged"),
    (["evaluate", "RUN"], ("config.json", b"{}"), "config.json: damaged (no config, model, task"),
    (["evaluate", "RUN"], ("config.json", b"not json"), "config.json: damaged"),
    (["predict", "runs/none", "x.png"], None, "runs/none: no such run directory"),
    (["train", "--resume", "runs/none"], None, "--resume: runs/none is not a run directory (no config.json)"),
    (["train", "--resume", "RUN", "--lr", "0.5"], None, "--resume: --lr cannot change when a run resumes"),
    (["train", "--resume", "RUN", "--opt", "length=9"], None, "--resume: --opt cannot change when a run resumes"),
    (["train", "--resume", "RUN", "--cell", "gru"], None, "--resume: --cell cannot change when a run resumes"),
    (["train", "--resume", "RUN"], ("checkpoint.pt", b""), "checkpoint.pt: cannot be read as a torch checkpoint"),
    (["train", "--resume", "RUN"], ("checkpoint.pt", os.urandom(200)), "cannot be read as a torch checkpoint"),
    (["train", "--resume", "RUN"], ("config.json", b"[]"), "config.json: expected a JSON object"),
    (["train", "--resume", "RUN"], ("metrics.csv", b"epoch,train_loss\nx,y\n"), "metrics.csv: damaged"),
    (["train", "--resume", "RUN"], ("iterations.csv", b"step\n1\n"), "iterations.csv: damaged"),
    (["train", "--resume", "RUN"], ("config.json", b'{"config": {"optim": {"lr": "x"}}, "model": {}, "task": "xor", '
                                                   b'"engine": "torch", "loss": "bce", "metric": "a"}'),
     "config.json: its settings cannot be used"),
    (["predict", "RUN", "x.png"], ("task.json", None), "task.json: missing"),
]


@pytest.mark.parametrize("argv,damage,fragment", SAVED_CASES)
def test_bad_saved_runs(workdir, capsys, finished, argv, damage, fragment):
    run = _copy(finished, workdir)
    if damage and damage[1] is None:
        (run / damage[0]).unlink()
    elif damage:
        (run / damage[0]).write_bytes(damage[1])
    argv = [str(run) if a == "RUN" else a for a in argv]
    _check(workdir, capsys, argv, 2, fragment)


def test_resume_can_add_epochs_and_writes_its_report(workdir, capsys, finished):
    run = _copy(finished, workdir)
    (run / "report.html").unlink()
    same = ["--hidden-size", "4", "--task", "xor", "--opt", "length=4", "--cell", "lstm"]   # as it was trained
    assert main(["train", "--resume", str(run), "--epochs", "2", *same, "--quiet"]) == 0
    assert len((run / "metrics.csv").read_text().splitlines()) == 3 and (run / "report.html").exists()
    _check(workdir, capsys, ["train", "--resume", str(run), "--epochs", "1"], 2,
           "copy has already finished 2 epochs; give more epochs")


def test_a_checkpoint_of_another_model_is_named(workdir, capsys, finished):
    run = _copy(finished, workdir)
    assert main([*TRAIN, "--hidden-size", "6", "--runs-dir", str(workdir / "other"), "--name", "wide"]) == 0
    shutil.copy(workdir / "other" / "wide" / "checkpoint.pt", run / "checkpoint.pt")
    _check(workdir, capsys, ["train", "--resume", str(run)], 2, "cannot be read as a torch checkpoint of this model")


def test_a_pickle_in_a_checkpoint_is_never_run(workdir, capsys, finished, tmp_path):
    import pickle

    import torch
    run = _copy(finished, workdir)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))
    torch.save({"weights": Payload()}, run / "checkpoint.pt", pickle_module=pickle)
    _check(workdir, capsys, ["train", "--resume", str(run)], 2, "cannot be read as a torch checkpoint")
    assert not marker.exists()


def test_predict_on_a_run_that_is_not_an_image_task(workdir, capsys, finished):
    run = _copy(finished, workdir)
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(workdir / "d.png")
    _check(workdir, capsys, ["predict", str(run), "d.png"], 2, "trained on xor, not on images")


# ------------------------------------------------------------------------------------- files in the way
def test_files_in_the_way(workdir, capsys, finished):
    (workdir / "afile").write_text("x")
    _check(workdir, capsys, [*TRAIN, "--runs-dir", "afile"], 2, "afile")
    _check(workdir, capsys, [*TRAIN, "--runs-dir", "afile/runs"], 2, "a file is in the way")
    _check(workdir, capsys, ["gradients", "--out", "afile/g", "--epochs", "1", "--length", "4"], 2,
           "a file is in the way")
    run = _copy(finished, workdir)
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(workdir / "d.png")
    before = _tree(workdir)
    assert main(["predict", str(run), "d.png", "--picture", "afile/p.png"]) == 2
    assert _tree(workdir) == before


# ------------------------------------------------------------------------------------- other commands
@pytest.mark.parametrize("argv,fragment", [
    (["bench", "--only", "seed005"], "--only: unknown entry seed005"),
    (["bench", "--seeds", "0"], "--seeds: expected a positive integer, got 0"),
    (["inspect", "lstm", "--proj-size", "30"], "proj_size: expected an integer in 0..19"),
    (["inspect", "lstm", "--batch", "3", "--seq-len", "8", "--lengths", "1,2"], "lengths: expected 3 lengths"),
    (["inspect", "lstm", "--engine", "numpy", "--proj-size", "5"], "proj_size: the NumPy engine has no"),
    (["inspect", "lstm", "--dropout", "2"], "dropout: expected a probability in [0, 1), got 2.0"),
    (["inspect", "gru", "--nonlinearity", "relu"],
     "nonlinearity: 'relu' applies to the vanilla RNN, the IndRNN and the orthogonal RNN only"),
    (["inspect"], "inspect: name a cell"),
    (["data", "fetch", "cifar"], "argument dataset: invalid choice: 'cifar'"),
    (["gradients", "--length", "0"], "--length: expected a positive integer, got 0"),
    (["sweep", "missing.yaml"], "sweep: missing.yaml does not exist"),
    (["runs", "--runs-dir", "keep.txt"], "no runs yet"),
])
def test_other_commands(workdir, capsys, argv, fragment):
    before = _tree(workdir)
    code = _run(argv)
    captured = capsys.readouterr()
    text = (captured.err or captured.out).strip()
    assert "Traceback" not in captured.err and fragment in text.splitlines()[-1], text
    assert code == (0 if argv[0] == "runs" else 2) and _tree(workdir) == before


@pytest.mark.parametrize("content,fragment", [
    ("task: xor\ngird: {cell: [rnn]}\n", "has unknown key(s) gird"),
    ("task: xor\ngrid: {cells: [rnn]}\n", "'cells' is not a training setting"),
    ("task: xor\ngrid: {cell: [cnn]}\n", "cell: unknown value 'cnn'"),
    ("task: xor\ngrid: {lr: [abc]}\n", "lr: expected a positive number, got 'abc'"),
    ("task: xor\nrandom: {samples: 2, space: {lr: {gauss: [1, 2]}}}\n", "unknown rule 'gauss'"),
    ("task: xor\nrandom: {samples: 2, space: {lr: {loguniform: [1e-4, 1e-2]}}}\nfixed: {epochs: 0}\n",
     "epochs: expected a positive integer, got 0"),
    ("task: xor\nfixed: {task_options: {length: abc}}\n", "option length: expected a positive whole number"),
    ("[1, 2]\n", "must hold a mapping of key"),
])
def test_bad_sweep_files(workdir, capsys, content, fragment):
    (workdir / "s.yaml").write_text(content)
    _check(workdir, capsys, ["sweep", "s.yaml", "--runs-dir", "runs"], 2, fragment)


def test_the_readmes_sweep_example_with_loguniform_works(workdir, capsys):
    (workdir / "s.yaml").write_text(
        "name: tiny\ntask: xor\nfixed: {epochs: 1, hidden_size: 4, task_options: {n_train: 32, n_val: 8, "
        "n_test: 8, length: 4}}\nrandom: {samples: 2, space: {lr: {loguniform: [1e-4, 1e-2]}}}\n")
    assert main(["sweep", "s.yaml", "--runs-dir", "runs", "--workers", "1"]) == 0
    assert "3 finished, 0 failed" in capsys.readouterr().out          # the base point and 2 samples
