"""Results that keep: Result.save writes the run directory `rnnlab train` writes, lab.load reads any run directory
(made by the command line or by a notebook) back into a Result, and both refuse what they should."""
import json
import shutil

import numpy as np
import pytest

from rnnlab import lab
from rnnlab.cli import main
from rnnlab.report import write_report
from rnnlab.runs import list_runs

XOR = {"task": "xor", "task_options": {"n_train": 128, "n_val": 16, "n_test": 32, "length": 6}, "hidden_size": 6,
       "epochs": 2, "batch_size": 32, "lr": 0.01, "engine": "numpy"}
XOR_FLAGS = ["--task", "xor", "--opt", "n_train=128", "--opt", "n_val=16", "--opt", "n_test=32", "--opt", "length=6",
             "--hidden-size", "6", "--epochs", "2", "--batch-size", "32", "--lr", "0.01", "--engine", "numpy",
             "--quiet"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert main(["train", "--cell", "gru", *XOR_FLAGS, "--runs-dir", str(root), "--name", "cli"]) == 0
    return root / "cli"


@pytest.fixture(scope="module")
def trained():
    return lab.train("gru", echo=False, **XOR)


def test_a_command_line_run_loads_with_its_history_and_model(cli_run):
    result = lab.load(cli_run)
    summary = json.loads((cli_run / "summary.json").read_text())
    assert result.name == "gru" and result.config.data.task == "xor" and result.run_dir == cli_run
    assert result.history.column("epoch") == [1, 2] and len(result.history.iteration_loss) == 8
    assert result.test_metric == summary["final_test_metric"] and result.test_loss == summary["final_test_loss"]
    x = result.data.test.x[:3]
    assert result.predict(x).shape == (3, 6, 1)
    assert np.allclose(result.predict(x), result.test_outputs[:3])     # the model that made the evaluation
    assert lab.load(cli_run, data=result.data).test_metric == result.test_metric     # data given: loaded once


def test_a_saved_result_is_a_run_the_commands_read(trained, tmp_path, capsys):
    saved = trained.save(tmp_path / "kept")
    assert saved == tmp_path / "kept" == trained.run_dir
    for name in ("config.json", "task.json", "metrics.csv", "iterations.csv", "train.log", "checkpoint.npz",
                 "model.npz", "predictions.npz", "summary.json"):
        assert (saved / name).is_file(), name
    assert main(["evaluate", str(saved)]) == 0
    printed = capsys.readouterr().out
    assert f"bit_accuracy {100 * trained.test_metric:.2f} %" in printed, printed
    assert "<tr><td>kept</td><td>numpy</td>" in write_report(tmp_path / "report", [saved]).read_text()
    assert [row["model"] for row in list_runs(tmp_path)] == ["gru"]
    again = lab.load(saved)
    assert again.test_metric == trained.test_metric and again.history.epochs == trained.history.epochs
    assert again.history.iteration_loss == trained.history.iteration_loss
    assert (saved / "train.log").read_text().splitlines()[1].startswith("gru epoch 2/2: train loss")
    # the checkpoint is at the end of the last epoch: the command line adds epochs to it
    assert main(["train", "--resume", str(saved), "--epochs", "3", "--quiet"]) == 0
    assert lab.load(saved).history.column("epoch") == [1, 2, 3]


def test_save_refuses_another_run_and_saves_again_where_it_is(trained, cli_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(cli_run, other)
    before = (other / "summary.json").read_bytes()
    with pytest.raises(FileExistsError, match=r"already holds a run; pass force=True"):
        trained.save(other)
    assert (other / "summary.json").read_bytes() == before        # nothing touched
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file, not a folder"):
        trained.save(tmp_path / "file")
    with pytest.raises(TypeError, match="force"):
        trained.save(other, force="yes")
    assert trained.save(other, force=True) == other
    assert json.loads((other / "summary.json").read_text())["final_test_metric"] == trained.test_metric
    stamp = (other / "model.npz").stat().st_mtime_ns
    assert trained.save(other) == other and (other / "model.npz").stat().st_mtime_ns == stamp   # already there


def test_load_names_what_is_wrong(cli_run, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        lab.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"not a run directory \(no config.json\)"):
        lab.load(tmp_path / "empty")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(cli_run, unfinished)
    (unfinished / "model.npz").unlink()
    with pytest.raises(ValueError, match=r"has not finished .*rnnlab train --resume"):
        lab.load(unfinished)
    damaged = tmp_path / "damaged"
    shutil.copytree(cli_run, damaged)
    (damaged / "summary.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"summary.json: damaged"):
        lab.load(damaged)
    (damaged / "summary.json").write_bytes((cli_run / "summary.json").read_bytes())
    (damaged / "config.json").write_text(json.dumps({**json.loads((cli_run / "config.json").read_text()),
                                                     "config": {"optim": {"lr": "fast"}}}))
    with pytest.raises(ValueError, match=r"config.json: its settings cannot be read"):
        lab.load(damaged)
    with pytest.raises(TypeError, match="path"):
        lab.load(3)
