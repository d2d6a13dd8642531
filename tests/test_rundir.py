"""The run directory: names that are folders, nothing replaced before the new run is checked, damaged files named."""
import json

import pytest

from rnnlab.cli import main

TINY = ["train", "--task", "xor", "--opt", "n_train=64", "--opt", "n_val=8", "--opt", "n_test=8", "--opt", "length=4",
        "--hidden-size", "4", "--epochs", "1", "--quiet"]


@pytest.mark.parametrize("name", ["..", ".", "a/b", ""])
def test_a_run_name_is_one_folder_name(tmp_path, capsys, name):
    runs = tmp_path / "runs"
    runs.mkdir()
    (tmp_path / "keep.txt").write_text("mine")
    (runs / "other").mkdir()
    assert main([*TINY, "--runs-dir", str(runs), "--name", name, "--force"]) == 2
    assert "is not a folder name" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "mine" and (runs / "other").is_dir()


def test_force_replaces_a_run_only_once_the_new_one_is_checked(tmp_path, capsys):
    assert main([*TINY, "--runs-dir", str(tmp_path), "--name", "r"]) == 0
    before = (tmp_path / "r" / "metrics.csv").read_text()
    assert main([*TINY, "--runs-dir", str(tmp_path), "--name", "r", "--force", "--opt", "colour=red"]) == 2
    assert "unknown option(s) colour" in capsys.readouterr().err
    assert (tmp_path / "r" / "metrics.csv").read_text() == before
    assert main([*TINY, "--runs-dir", str(tmp_path), "--name", "new", "--cell", "gru", "--chrono", "5"]) == 2
    assert not (tmp_path / "new").exists()                        # no empty folder left behind


def test_damaged_files_are_named(tmp_path, capsys):
    assert main([*TINY, "--runs-dir", str(tmp_path), "--name", "r"]) == 0
    assert main([*TINY, "--runs-dir", str(tmp_path), "--name", "ok"]) == 0
    run = tmp_path / "r"
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    assert f"{run / 'checkpoint.pt'}: cannot be read as a torch checkpoint" in capsys.readouterr().err
    (run / "model.npz").write_bytes(b"\0" * 10)
    assert main(["evaluate", str(run)]) == 2
    assert "model.npz: damaged" in capsys.readouterr().err
    (run / "config.json").write_text("{}")
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "config.json: damaged (no config, model, task" in listing and f"{tmp_path / 'ok'}" in listing
    assert json.loads((tmp_path / "ok" / "config.json").read_text())["config"]["model"]["recurrent"]["cell"] == "lstm"


def test_a_checkpoint_in_another_engines_format_is_named(tmp_path, capsys):
    assert main([*TINY, "--engine", "numpy", "--runs-dir", str(tmp_path), "--name", "r"]) == 0
    (tmp_path / "r" / "checkpoint.npz").rename(tmp_path / "r" / "checkpoint.pt")   # as rnnlab 0.1 named it
    assert main(["train", "--resume", str(tmp_path / "r"), "--quiet"]) == 2
    assert "checkpoint.pt: not a numpy checkpoint (checkpoint.npz expected" in capsys.readouterr().err
