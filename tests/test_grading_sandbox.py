"""Submissions that misbehave get a clear result within the time limit and touch nothing outside their folder:
endless loops, errors at import, memory exhaustion, files deleted or written around them, new processes, and
files that are not Python at all.  All are graded in one batch (one grading process, one forked process each)."""
import os
from pathlib import Path

import pytest

from rnnlab.grading import Limits, SubmissionError, grade
from rnnlab.grading.sandbox import availability, run_many
from rnnlab.grading.source import from_source

HERE = Path(__file__).resolve().parent / "grading"
SOLUTION = (HERE / "assignment2_solution.py").read_text()
RNN_TANH = ("return np.tanh(x)\n\n    def forward(self, X):\n        h_prev = np.zeros((self.hidden_dim, 1))\n"
            "        self.cache")
RNN_WH = "        self.Wh = np.random.randn(hidden_dim, hidden_dim) * 0.1\n"
LIMITS = Limits(check_seconds=2, total_seconds=40, memory_mb=1500)
SANDBOX = availability() is None     # without bubblewrap: loops and limits unsandboxed; the file attacks skipped


def hostile(target: Path) -> dict[str, str]:
    """name -> submission; each attacks ``target`` (a folder with a file ``keep.txt`` in it)."""
    keep = target / "keep.txt"
    return {
        "endless loop": SOLUTION.replace(RNN_TANH, RNN_TANH.replace("return np.tanh(x)",
                                                                    "while True:\n            pass")),
        "loop at import": "class RNN:\n    while True:\n        pass\n",
        "raises at import": "import numpy as np\nratio = 1 / 0\n" + SOLUTION,
        "missing import": "import module_that_does_not_exist\n" + SOLUTION,
        "exhausts memory": SOLUTION.replace(RNN_WH, "        hoard = []\n        while True:\n"
                                                    "            hoard.append(np.empty(10 ** 8))\n" + RNN_WH),
        "deletes around it": (f"import os, shutil, subprocess, ctypes\nclass RNN:\n    def __init__(self, *a):\n"
                              f"        for attack in (lambda: os.remove({str(keep)!r}),\n"
                              f"                       lambda: shutil.rmtree({str(target)!r}),\n"
                              f"                       lambda: open({str(target / 'new.txt')!r}, 'w'),\n"
                              f"                       lambda: os.rename({str(keep)!r}, 'stolen.txt'),\n"
                              f"                       lambda: os.system('rm -rf {target}'),\n"
                              f"                       lambda: subprocess.run(['rm', '-rf', {str(target)!r}]),\n"
                              f"                       lambda: ctypes.CDLL(None).unlink({bytes(keep)!r}) or 1 / 0\n"
                              f"                       ):\n"
                              f"            try:\n                attack()\n"
                              f"            except (OSError, ZeroDivisionError):\n"
                              f"                pass\n"
                              f"        with open('scratch.txt', 'w') as inside:\n            inside.write('allowed')\n"
                              f"        raise RuntimeError('every attack was refused')\n"),
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    target = tmp_path_factory.mktemp("around")
    (target / "keep.txt").write_text("precious")
    named = hostile(target)
    if not SANDBOX:
        named.pop("deletes around it")
    reports = run_many([from_source(code).code for code in named.values()], "assignment-2", LIMITS, (), SANDBOX,
                       jobs=2)
    return target, dict(zip(named, reports))


def items(report):
    return {item.id: item for item in report.items}


def test_an_endless_loop_costs_the_checks_that_run_it(results):
    report = results[1]["endless loop"]
    assert "did not finish within the time limit" in items(report)["RNN.tanh"].feedback
    assert report.score == 18, report.text()          # forward runs with the course's tanh: only tanh is lost


def test_a_loop_at_import_is_stopped_and_the_rest_still_graded(results):
    report = results[1]["loop at import"]
    assert any("did not finish within the time limit" in note for note in report.notes), report.notes
    assert report.score == 0 and "LSTM is not defined" in items(report)["LSTM.__init__"].feedback


def test_errors_at_import_are_notes_and_the_definitions_still_count(results):
    for name, words in (("raises at import", "ZeroDivisionError"), ("missing import", "module_that_does_not_exist")):
        report = results[1][name]
        assert any(words in note for note in report.notes), report.notes
        assert report.score == 20, report.text()


def test_exhausting_memory_is_reported(results):
    report = results[1]["exhausts memory"]
    assert "out of memory" in items(report)["RNN.__init__"].feedback, report.text()
    assert items(report)["LSTM.backward"].passed


@pytest.mark.skipif(not SANDBOX, reason=str(availability()))
def test_nothing_outside_the_folder_is_touched(results):
    # in the sandbox the folder is not even there: the attacks fail or act on nothing, and the file is intact
    target, reports = results
    feedback = items(reports["deletes around it"])["RNN.__init__"].feedback
    assert "every attack was refused" in feedback, feedback
    assert (target / "keep.txt").read_text() == "precious"
    assert sorted(os.listdir(target)) == ["keep.txt"]


def test_a_process_that_swallows_the_alarm_is_killed_at_the_time_limit():
    code = ("class RNN:\n    def __init__(self, *a):\n        while True:\n            try:\n"
            "                while True:\n                    pass\n            except BaseException:\n"
            "                pass\n")
    report = run_many([code], "assignment-2", Limits(check_seconds=1, total_seconds=3), (), SANDBOX)[0]
    assert report.score == 0
    assert any("stopped after 3 s" in item.feedback for item in report.items), report.text()


def test_not_python_is_graded_zero_or_refused(tmp_path):
    path = tmp_path / "essay.py"
    path.write_text("Dear teacher, my RNN is below.\nclass RNN(:\n")
    report = grade(path, "assignment-2", sandbox=SANDBOX)
    assert report.score == 0 and all("not Python" in item.feedback for item in report.items if item.max_points)
    with pytest.raises(SubmissionError, match="not Python"):
        grade(path)
