"""The report's section on text runs (rnnlab.text_report): `rnnlab train --task text` writes what the cells learned
into report.html, read from the run folder, whatever engine trained it."""
import json

from rnnlab.cli import main
from rnnlab.text.corpora import split_text
from rnnlab.text_report import cells_section, passage
from text_run import made_up_text


def test_rnnlab_train_reports_what_the_cells_learned(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus.txt").write_text(made_up_text(5000, seed=1))
    assert main(["train", "--task", "text", "--opt", "path=corpus.txt", "--bptt", "32", "--cell", "gru",
                 "--hidden-size", "12", "--epochs", "1", "--batch-size", "8", "--engine", "torch",
                 "--runs-dir", "runs", "--name", "gru", "--quiet"]) == 0
    page = (tmp_path / "runs" / "gru" / "report.html").read_text()
    assert "<h2>What the cells learned</h2>" in page
    for name in ("units", "connectivity", "saturation"):
        assert (tmp_path / "runs" / "gru" / f"cells-0-{name}.png").stat().st_size > 5_000
        assert f'src="cells-0-{name}.png"' in page
    info = json.loads((tmp_path / "runs" / "gru" / "task.json").read_text())
    text = passage(info)
    val = split_text((tmp_path / "corpus.txt").read_text())[1]                   # the last but one 5 %
    assert text == val[val.index("\n") + 1:][:600]
    blocks = page.count("r = ")
    assert 3 <= blocks <= 4 and page.count("<span") == blocks * len(text)       # one coloured passage per signal


def test_other_runs_add_nothing_and_a_broken_one_says_why(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "task.json").write_text(json.dumps({"task": "adding", "length": 5}))
    assert cells_section([{"dir": folder, "name": "adding", "config": {}}], tmp_path) == ""
    (folder / "task.json").write_text(json.dumps({"task": "text", "vocabulary": "ab", "path": "missing.txt"}))
    section = cells_section([{"dir": folder, "name": "broken", "config": {}}], tmp_path)
    assert "<b>broken</b>: the cells cannot be read (" in section and "model.npz" in section
