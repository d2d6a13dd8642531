"""One run plan (rnnlab.plan): every entry point refuses the same bad settings with the same message,
before any data loads or any file is written; a valid run resolves to what it trains."""
import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from rnnlab import lab, plan, tasks
from rnnlab.cli import main
from rnnlab.config import Settings, TrainConfig
from rnnlab.sweep import expand

XOR = {"task": "xor", "task_options": {"n_train": 64, "n_val": 8, "n_test": 8, "length": 4}, "hidden_size": 4,
       "epochs": 1, "batch_size": 16}
FLAGS = {"task": "--task", "loss": "--loss", "augment": "--augment", "hidden_size": "--hidden-size",
         "chrono": "--chrono", "engine": "--engine", "head": "--head", "device": "--device", "epochs": "--epochs",
         "batch_size": "--batch-size"}

# (what is checked, the model, settings over XOR, the message every entry point gives)
CASES = [
    ("task option", "gru", {"task_options": {"length": 0}},
     "task xor: option length: expected a positive whole number, got 0"),
    ("unknown task option", "gru", {"task_options": {"colour": "red"}},
     "task xor: unknown option(s) colour; it takes length, n_train, n_val, n_test"),
    ("option rule of a cell", "gru", {"chrono": 5},
     "chrono: only the LSTM, the minGRU and the minLSTM take chrono initialisation, not the GRU"),
    ("option rule of an engine", "gru", {"engine": "numpy", "device": "cuda"},
     "device: the NumPy engine has no GPU: it runs on the CPU only; use engine 'scratch' or 'torch'"),
    # known difference: lab.train accepted the one-hot MSE on a task that is not a classification
    ("one-hot loss on bits", "gru", {"loss": "mse_onehot"},
     "loss: 'mse_onehot' needs a classification task, xor is bce; use loss 'bce' or 'mse' or 'mse_sigmoid', or "
     "none for the task's own (bce)"),
    ("cross-entropy on real numbers", "gru", {"task": "adding", "task_options": {"n_train": 8, "length": 4},
                                              "loss": "cross_entropy"},
     "loss: 'cross_entropy' needs a classification task, adding is mse"),
    ("squared error on class labels", "gru", {"task": "copy", "task_options": {"n_train": 8, "delay": 3},
                                              "loss": "mse"},
     "loss: 'mse' needs real-valued targets, not class labels, copy is cross_entropy; use loss 'cross_entropy' "
     "or 'mse_onehot'"),
    # known difference: runs.compare did not check augmentation before loading the data
    ("augmentation of a task without images", "gru", {"augment": "rotate"},
     "augment: the task xor is not an image task; augmentation needs images"),
    ("an augmentation that does not exist", "gru", {"task": "mnist-rows", "task_options": {"n_train": 8},
                                                    "augment": "wobble"},
     "augment: 'wobble' is not one of recommended"),
    ("memory", "gru", {"hidden_size": 10_000_000}, "memory: this run needs about"),
    ("a GPU that is not there", "gru", {"device": "cuda"},
     "device: 'cuda' asked for, but PyTorch sees no CUDA device here; use --device cpu"),
]


def _settings(extra: dict) -> dict:
    """XOR's settings with ``extra`` over them (a case naming another task brings its own options)."""
    settings = {**XOR, **extra}
    if "task" not in extra:
        settings["task_options"] = {**XOR["task_options"], **extra.get("task_options", {})}
    return settings


def _flags(settings: dict) -> list[str]:
    argv = []
    for name, value in settings.items():
        if name == "task_options":
            argv += [arg for key, v in value.items() for arg in ("--opt", f"{key}={v}")]
        else:
            argv += [FLAGS[name], str(value)]
    return [*argv, "--quiet"]


def _cli(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


def _via_cli_train(model, settings, root, capsys):
    return _cli(["train", "--cell", model, *_flags(settings), "--runs-dir", str(root / "runs")], capsys)


def _via_cli_compare(model, settings, root, capsys):     # the first model is fine, the second is not
    return _cli(["compare", "lstm", model, *_flags(settings), "--runs-dir", str(root / "runs")], capsys)


def _via_cli_sweep(model, settings, root, capsys):        # the first point is fine, the second is not
    doc = {"name": "bad", "fixed": settings, "grid": {"cell": ["lstm", model]}}
    (root / "bad.yaml").write_text(yaml.safe_dump(doc))
    return _cli(["sweep", str(root / "bad.yaml"), "--runs-dir", str(root / "runs"), "--workers", "1"], capsys)


def _raised(call) -> str:
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def _via_lab_train(model, settings, root, capsys):
    return _raised(lambda: lab.train(model, echo=False, **settings))


def _via_lab_train_on_disk(model, settings, root, capsys):
    return _raised(lambda: lab.train(model, echo=False, run_dir=root / "runs" / "kept", **settings))


def _via_lab_compare(model, settings, root, capsys):
    return _raised(lambda: lab.compare(["lstm", model], echo=False, **settings))


ENTRY_POINTS = {"rnnlab train": _via_cli_train, "rnnlab compare": _via_cli_compare, "rnnlab sweep": _via_cli_sweep,
                "lab.train": _via_lab_train, "lab.train(run_dir=...)": _via_lab_train_on_disk,
                "lab.compare": _via_lab_compare}


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """A working folder, no GPU, and a data loader that records any call (none may happen)."""
    import torch
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    calls = []

    def load(self, *args, **kwargs):
        calls.append(self.name)
        raise AssertionError(f"the data of {self.name} was loaded")
    monkeypatch.setattr(tasks.Task, "load", load)
    return calls


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name != "bad.yaml")


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("what,model,extra,message", CASES, ids=[case[0] for case in CASES])
def test_every_entry_point_refuses_alike_before_data_or_files(entry, what, model, extra, message, tmp_path,
                                                                no_data, capsys):
    said = ENTRY_POINTS[entry](model, _settings(extra), tmp_path, capsys)
    assert message in said
    if entry.startswith("rnnlab"):
        assert said.startswith(f"{entry}: {message.split(';')[0]}")     # one line, the same message
    assert no_data == []                                               # no data loaded
    assert _files(tmp_path) == []                                      # no run directory, no file


def test_the_same_message_word_for_word_everywhere(tmp_path, no_data, capsys):
    settings = _settings({"loss": "mse_onehot"})
    with pytest.raises(ValueError) as info:
        plan.resolve({**settings, "cell": "gru"})
    said = {entry: call("gru", settings, tmp_path, capsys) for entry, call in ENTRY_POINTS.items()}
    expected = str(info.value)
    assert all(text == expected or text == f"{entry}: {expected}" for entry, text in said.items()), said


def test_unknown_task_is_refused_by_the_python_entry_points_alike(tmp_path, no_data, capsys):
    """The command line offers the tasks as choices (argparse refuses others); the rest go through the plan."""
    settings = {**XOR, "task": "nope", "task_options": {}}
    for entry in ("lab.train", "lab.train(run_dir=...)", "lab.compare"):
        assert "unknown task 'nope'; choose one of" in ENTRY_POINTS[entry]("gru", settings, tmp_path, capsys)
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        expand({"name": "s", "fixed": settings}, tmp_path)
    assert no_data == [] and _files(tmp_path) == []


def test_a_plan_holds_what_the_run_needs():
    p = plan.resolve({**XOR, "cell": "gru"})
    assert isinstance(p.config, TrainConfig) and p.task.name == "xor" and p.name == "gru" and p.loss == "bce"
    assert (p.spec.input_size, p.spec.output_size, p.spec.readout) == (1, 1, "every")   # sized for the task
    assert p.config.model.input_size is None                                          # the configuration's is not
    assert p.options == {"length": 4, "n_train": 64, "n_val": 8, "n_test": 8} and p.metric == "bit_accuracy"
    assert plan.resolve(p.config, "mine").name == "mine"
    assert plan.resolve(Settings({**XOR, "cell": "gru"})).config == p.config
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.loss = "mse"                                                                 # frozen
    data = p.load()
    assert data.info["task"] == "xor" and len(data.train) == 64


@pytest.mark.parametrize("task,loss", [("xor", "mse"), ("adding", "bce"), ("copy", "mse_onehot"),
                                       ("mnist-rows", "cross_entropy")])
def test_losses_that_fit_a_task_pass(task, loss):
    p = plan.resolve({"task": task, "loss": loss})
    assert p.loss == loss and loss in plan.LOSSES_FOR[p.task.loss]


def test_data_of_another_task_is_refused_before_training(tmp_path):
    adding = lab.load_data("adding", n_train=8, n_val=4, n_test=4, length=4)      # two inputs per step
    with pytest.raises(ValueError, match=r"data: its training inputs are shaped \(8, 4, 2\), task xor takes "
                                         r"\(sequences, steps, 1\)"):
        lab.train("gru", data=adding, echo=False, **XOR)
    with pytest.raises(ValueError, match="task xor takes"):
        lab.train("gru", data=adding, echo=False, run_dir=tmp_path / "run", **XOR)
    assert not (tmp_path / "run").exists()


def test_runs_compared_on_one_set_of_data_share_task_options_and_seed():
    configs = {"a": TrainConfig.from_flat(XOR), "b": TrainConfig.from_flat({**XOR, "seed": 3})}
    with pytest.raises(ValueError, match="b: trains on task xor .* with seed 3, a on xor .* with seed 0; models "
                                         "compared on one set of data need the same task, options and seed"):
        plan.resolve_all(configs, shared_data=True)
    assert list(plan.resolve_all(configs)) == ["a", "b"]


def test_a_sweep_report_does_not_check_runs_against_this_machine(tmp_path, monkeypatch):
    """Reporting runs made on a bigger machine needs no memory here; running them does."""
    import rnnlab.memory as memory
    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    doc = {"name": "s", "fixed": XOR, "grid": {"cell": ["rnn", "gru"]}}
    assert len(expand(doc, tmp_path, check=False)) == 2
    with pytest.raises(ValueError, match="memory: this run needs about"):
        expand(doc, tmp_path)


def test_a_resumed_run_is_resolved_from_its_own_settings(tmp_path, monkeypatch):
    """`rnnlab train --resume` goes through the plan too: with its saved settings, before the data loads."""
    assert main(["train", "--cell", "gru", *_flags(XOR), "--runs-dir", str(tmp_path), "--name", "r"]) == 0
    seen = []
    real = plan.resolve
    monkeypatch.setattr(plan, "resolve", lambda cfg, *a: seen.append(cfg) or real(cfg, *a))
    import rnnlab.train as train_module
    monkeypatch.setattr(train_module, "resolve", plan.resolve)
    assert main(["train", "--resume", str(tmp_path / "r"), "--epochs", "2", "--quiet"]) == 0
    saved = json.loads((tmp_path / "r" / "config.json").read_text())["config"]
    assert len(seen) == 1 and seen[0] == TrainConfig.from_dict(saved) and seen[0].optim.epochs == 2


def test_the_results_suite_checks_every_run_before_the_first_trains(tmp_path, monkeypatch):
    """`rnnlab bench`: a bad second case is refused before the first case's runs train."""
    from rnnlab import bench
    good = bench.Case("good", "xor", dict(XOR["task_options"]))
    bad = bench.Case("bad", "xor", dict(XOR["task_options"]), settings={"loss": "mse_onehot"})
    entry = bench.Entry("t", "t", (good, bad), ("gru",), protocol={"hidden_size": 4, "epochs": 1},
                        notebook_protocol=False)
    trained = []
    monkeypatch.setattr(bench, "_run_once", lambda *a: trained.append(a) or {})
    with pytest.raises(ValueError, match="loss: 'mse_onehot' needs a classification task, xor is bce"):
        bench.run_entry(entry, tmp_path)
    assert trained == [] and list(tmp_path.iterdir()) == []
