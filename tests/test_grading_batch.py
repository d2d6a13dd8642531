"""Grading a class: `rnnlab check DIR --jobs 2 --out GRADES` writes the gradebook, feedback per student and the
similarity report; a hostile or broken file costs its own row only; a second run skips the unchanged files;
and the answer keys of `rnnlab exercises DIR --answers` score full marks."""
import csv
import json
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.grading.sandbox import availability

HERE = Path(__file__).resolve().parent / "grading"
A2 = (HERE / "assignment2_solution.py").read_text()

pytestmark = pytest.mark.skipif(availability() is not None, reason=str(availability()))


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    (folder / "alice.py").write_text(A2)
    (folder / "bob.py").write_text(A2.replace("h_prev", "previous").replace("dtanh", "grad_a"))   # alice, renamed
    (folder / "mallory.py").write_text("import os, signal\nclass RNN:\n    os.kill(-1, signal.SIGKILL)\n")
    (folder / "essay.py").write_text("Dear teacher, my RNN is below.\nclass RNN(:\n")
    out = folder / "grades"
    args = ["check", str(folder), "--jobs", "2", "--out", str(out), "--check-seconds", "20"]
    assert main(args) == 0
    return folder, out, args


def test_the_gradebook_has_one_row_per_student_and_a_column_per_item(graded_class, capsys):
    _, out, _ = graded_class
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert sorted(rows) == ["alice", "bob", "essay", "mallory"]
    assert rows["alice"]["score"] == rows["bob"]["score"] == "20" and rows["alice"]["RNN.backward"] == "2"
    assert rows["mallory"]["score"] == "0" and rows["mallory"]["status"] == "graded"
    assert rows["essay"]["status"].startswith("not graded: ") and "not Python" in rows["essay"]["status"]
    assert rows["alice"]["sandboxed"] == "yes"
    assert "| `RNN.forward` | 2 / 2 |" in (out / "feedback" / "alice.md").read_text()
    assert json.loads((out / "feedback" / "bob.json").read_text())["score"] == 20


def test_near_identical_submissions_are_reported(graded_class):
    _, out, _ = graded_class
    assert "| alice | bob |" in (out / "similarity.md").read_text()


def test_a_second_run_skips_unchanged_files(graded_class, capsys):
    folder, out, args = graded_class
    capsys.readouterr()
    (folder / "alice.py").write_text(A2 + "\n# changed\n")
    assert main(args) == 0
    printed = capsys.readouterr()
    assert "3 unchanged since the last run" in printed.out, printed.out
    assert "alice: 20/20" in printed.err and "bob:" not in printed.err


def test_the_answer_keys_score_full_marks(tmp_path, capsys):
    assert main(["exercises", str(tmp_path), "--answers"]) == 0
    keys = sorted(tmp_path.glob("*-answers.ipynb"))
    assert len(keys) == 5
    for key in keys:
        cells = json.loads(key.read_text())["cells"]
        code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        answers = [block.split("# <<<")[0] for block in code.split("# >>> your answer")[1:]]
        assert answers and not any("rnnlab" in a or a.strip() == "pass" for a in answers)
    # graded (sandboxed, written items and runs), executed and as handed out: tests/test_grading_exercises.py
