"""Importing rnnlab's picture modules and drawing with them leaves matplotlib's backend alone.

A user in Jupyter has an inline backend; a library that calls ``matplotlib.use("Agg")`` (on import
or when it draws) silently stops their figures from showing.  The check runs in a fresh interpreter
that picks the non-interactive but non-Agg backend "svg" first, so any switch is seen.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path

    import matplotlib
    import numpy as np
    matplotlib.use("svg")

    import rnnlab.gradient_report as gradient_report
    import rnnlab.report as report
    from rnnlab.analysis import flow_model
    assert matplotlib.get_backend().lower() == "svg", f"importing switched the backend to {matplotlib.get_backend()}"

    run_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    report.write_report(out / "report", [run_dir])
    x = np.array([[[0.5], [-1.0], [0.25]]])
    gradient_report._eigen_growth(flow_model("rnn", "identity", 3), x, x, out / "eigen_growth.png")
    assert matplotlib.get_backend().lower() == "svg", f"drawing switched the backend to {matplotlib.get_backend()}"
    print("backend kept")
""")


def _run_dir(path):
    path.mkdir()
    (path / "config.json").write_text(json.dumps({
        "task": "cumavg-last", "metric": "mse", "loss": "mse", "model": {"readout": "last"}, "engine": "numpy",
        "parameters": 10, "config": {"task_options": {}}}))
    (path / "metrics.csv").write_text("epoch,train_loss,test_loss,train_metric,test_metric,seconds\n"
                                      "1,1.0,1.1,1.0,1.1,0.5\n2,0.5,0.6,0.5,0.6,0.5\n")
    (path / "summary.json").write_text(json.dumps({"final_test_metric": 0.6, "best_test_metric": 0.6,
                                                   "baseline_measure": "mse", "baseline": 0.1,
                                                   "extra_tests": {}}))
    y = np.linspace(-1, 1, 8)[:, None]
    np.savez(path / "predictions.npz", y=y, outputs=0.9 * y)
    return path


def test_pictures_leave_the_matplotlib_backend_alone(tmp_path):
    run_dir = _run_dir(tmp_path / "run")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(run_dir), str(tmp_path)], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "backend kept" in result.stdout
    for picture in ("report/curves.png", "report/samples.png", "eigen_growth.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
