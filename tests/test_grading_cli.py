"""`rnnlab check` and `rnnlab exercises` from the command line, `rnnlab.check` from Python, and reading
submissions (.py and .ipynb with IPython lines) without running them."""
import json
import time
from pathlib import Path

import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.grading.source import from_source, notebook_code, recognise

HERE = Path(__file__).resolve().parent / "grading"


def as_notebook(code: str) -> str:
    """A Jupyter notebook of the course's kind: a shell line, a magic, markdown, then the code in a cell."""
    cells = [{"cell_type": "code", "source": ["!pip install ipympl\n"], "metadata": {}, "outputs": []},
             {"cell_type": "markdown", "source": "# Assignment 2", "metadata": {}},
             {"cell_type": "code", "source": "%matplotlib inline\n" + code, "metadata": {}, "outputs": []},
             {"cell_type": "code", "source": "%%bash\nrm -rf /\n", "metadata": {}, "outputs": []}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_check_grades_a_notebook_and_writes_the_json_layout(tmp_path, capsys):
    submission = tmp_path / "student.ipynb"
    submission.write_text(as_notebook((HERE / "assignment2_solution.py").read_text()))
    out = tmp_path / "grade.json"
    from rnnlab.grading.sandbox import availability
    trusted = [] if availability() is None else ["--no-sandbox"]     # without bubblewrap: our own file, trusted
    assert main(["check", str(submission), "--json", str(out), *trusted]) == 0
    printed = capsys.readouterr().out
    assert "assignment-2: 20 / 20 points" in printed and "RNN.backward" in printed
    data = json.loads(out.read_text())
    assert set(data) >= {"assignment", "score", "max_score", "items"}
    assert (data["assignment"], data["score"], data["max_score"]) == ("assignment-2", 20, 20)
    assert all(set(item) == {"id", "points", "max_points", "passed", "feedback"} for item in data["items"])
    assert [item["id"] for item in data["items"]][:4] == ["RNN.__init__", "RNN.tanh", "RNN.forward", "RNN.backward"]


@pytest.mark.parametrize("args,words", [
    (["check", "no-such-file.py"], "no such file"),
    (["check", "{tmp}/notes.txt"], "defines none of the course's names"),
    (["check", "{tmp}/essay.py"], "not Python"),
    (["check", "{tmp}/notes.txt", "--assignment", "lab-9"], "invalid choice"),
    (["check", "{tmp}/notes.txt", "--json", "{tmp}/missing/out.json"], "missing"),
])
def test_check_exits_2_when_it_cannot_grade(tmp_path, capsys, args, words):
    (tmp_path / "notes.txt").write_text("x = 1\n")
    (tmp_path / "essay.py").write_text("This is my essay (\n")
    try:
        code = main([a.replace("{tmp}", str(tmp_path)) for a in args])
    except SystemExit as exc:        # argparse's own refusals
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_exercises_are_written_once_and_never_overwritten(tmp_path, capsys):
    folder = tmp_path / "hand-out"
    assert main(["exercises", str(folder)]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["assignment-2-rnn-and-lstm-on-mnist.ipynb", "gradient-flow-in-rnns-and-lstms.ipynb",
                     "lab-sheet-9-rnn-and-lstm-in-pytorch.ipynb", "programming-assignment-4-recurrent-networks.ipynb",
                     "rnn-warmup.ipynb"]
    (folder / names[0]).write_text("a student's answers")
    assert main(["exercises", str(folder)]) == 2
    err = capsys.readouterr().err
    assert names[0] in err and "move them away" in err
    assert (folder / names[0]).read_text() == "a student's answers"


def test_reading_keeps_definitions_and_blanks_ipython_lines():
    code = notebook_code(as_notebook("import numpy as np\nscale = 0.1\nact = lambda x: np.tanh(x)\nclass RNN:\n"
                                     "    pass\ntrain_network('rnn')\nmodel = RNN()\n"))
    submission = from_source(code)
    assert submission.syntax_error is None
    assert set(submission.defined) == {"np", "scale", "act", "RNN"}
    assert submission.skipped == 2           # the call and the assignment of a call
    assert "rm -rf" not in submission.code and "%matplotlib" not in submission.code
    assert recognise(submission) == "assignment-2"
    assert recognise(from_source("class RNNLayer:\n    pass\nclass RNN:\n    pass\n")) == "gradient-flow"


def test_importing_rnnlab_stays_light_and_check_is_lazy():
    import subprocess
    import sys
    code = "import sys, rnnlab; print(callable(rnnlab.check), 'rnnlab.grading' in sys.modules, 'numpy' in sys.modules)"
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False", "False"]
    assert time.perf_counter() - started < 30
    assert rnnlab.check.__doc__


def test_grading_never_imports_the_command_line():
    """issue 30: ``grading/`` never imports ``cli/``, at the top or inside functions."""
    import ast
    for path in (Path(rnnlab.__file__).parent / "grading").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = "." * node.level + (node.module or "")
                assert not target.startswith(("..cli", "rnnlab.cli")), f"{path.name} imports {target}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("rnnlab.cli") for a in node.names), path.name


def test_untrusted_files_are_refused_where_no_sandbox_can_be_made(tmp_path, capsys, monkeypatch):
    from rnnlab.grading import jail
    submission = tmp_path / "student.py"
    submission.write_text((HERE / "assignment2_solution.py").read_text())
    monkeypatch.setattr(jail, "availability", lambda: "no sandbox: bubblewrap is not installed (apt-get ...)")
    monkeypatch.setattr("rnnlab.grading.sandbox.availability", jail.availability)
    assert main(["check", str(submission)]) == 2
    assert "no sandbox: bubblewrap is not installed" in capsys.readouterr().err
    assert main(["check", str(submission), "--no-sandbox"]) == 0
    captured = capsys.readouterr()
    assert "--no-sandbox" in captured.err and "not sandboxed" in captured.out
    assert "assignment-2: 20 / 20 points" in captured.out


def test_a_students_own_notebook_is_checked_unsandboxed_and_told_so(monkeypatch):
    import rnnlab.grading as grading
    code = (HERE / "assignment2_solution.py").read_text()
    monkeypatch.setattr(grading, "_notebook_history", lambda: ["import numpy as np", code])
    report = grading.grade(only="RNN")
    assert report.score == 8 and not report.sandboxed
    assert report.notes[0].startswith("not sandboxed"), report.notes
