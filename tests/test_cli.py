"""The console script, end to end."""
import re
import subprocess
import sys

import rnnlab
from rnnlab.cli import main
from rnnlab.demo import run_demo


def _run(*args):
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], capture_output=True, text=True, timeout=300)


def test_version_and_help():
    res = _run("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"rnnlab {rnnlab.__version__}"
    res = _run("--help")
    assert res.returncode == 0 and "demo" in res.stdout


def test_demo_loss_goes_down():
    res = _run("demo", "--steps", "300", "--length", "10")
    assert res.returncode == 0, res.stderr
    first, final = map(float, re.search(r"test MSE ([\d.]+) -> ([\d.]+)", res.stdout).groups())
    assert final < 0.5 * first
    assert "chance baseline MSE 0.167" in res.stdout


def test_demo_function_reports_its_numbers():
    lines = []
    result = run_demo(cell="gru", length=8, hidden=8, steps=20, print_every=10, echo=lines.append)
    assert result["final"] < result["first"]
    assert sum(line.startswith("step") for line in lines) == 3


def test_bad_flag_names_the_flag(capsys):
    try:
        main(["demo", "--hidden", "0"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "--hidden: expected a positive integer, got 0" in capsys.readouterr().err
