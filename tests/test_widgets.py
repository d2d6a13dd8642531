"""rnnlab.widgets.gradient_visualizer without a browser: in this process, and in a real ipykernel driven by
nbclient; and the gradient-flow notebook's .ipynb as the jupytext twin of its .py (its run at FULL=False is in
tests/test_notebooks.py).
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.analysis import explore, gradient_flow, scaled_copy
from rnnlab.course import install_cell
from rnnlab.data.synthetic import cumulative_average

pytest.importorskip("ipywidgets", reason="pip install ipywidgets (in the notebooks extra) to test the widgets")
from rnnlab import widgets

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "gradient-flow-in-rnns-and-lstms"


def _numbers(html_value):
    """The numbers after the colon of a widget's text line."""
    return [float(v) for v in html_value.split(":", 1)[1].split()]


def test_slider_changes_recompute_with_explore():
    box = widgets.gradient_visualizer(hidden_size=8, length=6)
    settings = {"cell": "rnn", "nonlinearity": "identity", "hidden_size": 8, "length": 6, "weight_scale": 1.0,
                "bias_scale": 1.0, "loss": "last"}
    assert box.last == explore(**settings)
    first_png = bytes(box.visualizer.image.value)
    assert first_png.startswith(b"\x89PNG")
    for name, value in [("weight_scale", 2.5), ("bias_scale", -1.5), ("loss", "every"), ("nonlinearity", "tanh"),
                        ("hidden_size", 5), ("length", 9), ("weight_scale", -4.0), ("cell", "gru")]:
        box.controls[name].value = value
        settings[name] = value
        assert box.last == explore(**settings), name
    v = box.visualizer
    assert v.controls["nonlinearity"].disabled and box.last["eigenvalue"] is None
    assert "RNN's alone" in v.eigenvalue.value
    assert _numbers(v.grad_text.value) == pytest.approx(box.last["grad_norms"], rel=1e-3)
    assert _numbers(v.h_text.value) == pytest.approx(box.last["h_norms"], rel=1e-3)
    assert bytes(v.image.value) != first_png
    box.controls["cell"].value = "rnn"
    assert not v.controls["nonlinearity"].disabled
    assert _numbers(v.eigenvalue.value) == pytest.approx([box.last["eigenvalue"]], rel=1e-3)


def test_the_plot_keeps_the_course_axes():
    box = widgets.gradient_visualizer(weight_scale=4.0, length=12)
    ax_h, ax_g = box.figure.axes
    assert ax_h.get_ylim() == (-1.0, 5.0) and ax_h.get_yscale() == "linear"
    assert ax_g.get_ylim() == pytest.approx((1e-6, 1e5)) and ax_g.get_yscale() == "log"
    assert ax_g.get_xlim() == (12.5, 0.5)                    # the gradient travels from T (left) back to 1
    box.controls["weight_scale"].value = -0.5
    assert ax_g.get_ylim() == pytest.approx((1e-6, 1e5)) and ax_h.get_ylim() == (-1.0, 5.0)
    for control, css in [("weight_scale", "t-weight"), ("bias_scale", "t-bias"), ("loss", "t-loss"),
                         ("cell", "t-cell"), ("nonlinearity", "t-nonlinearity"), ("hidden_size", "t-hidden-size"),
                         ("length", "t-length")]:
        assert css in box.controls[control]._dom_classes
    low, high = box.controls["weight_scale"].min, box.controls["weight_scale"].max
    assert (low, high) == (-5.0, 5.0) and (box.controls["bias_scale"].min, box.controls["bias_scale"].max) == (-5, 5)


def test_a_students_float32_model_that_has_run_is_scaled_as_a_copy():
    from rnnlab.torch import RecurrentRegressionModel, RNNLayer
    torch.manual_seed(3)
    model = RecurrentRegressionModel(RNNLayer(1, 6, nonlinearity="identity"))     # float32, as a student builds
    x, y = cumulative_average(2, 7, seed=1)
    pred, _ = model(torch.from_numpy(x))
    pred.sum().backward()                                  # h_list now holds non-leaf tensors with gradients
    before = {k: v.clone() for k, v in model.state_dict().items()}
    box = widgets.gradient_visualizer(model=model, x=x, y=torch.from_numpy(y))
    assert set(box.controls) == {"weight_scale", "bias_scale", "loss"}
    box.controls["weight_scale"].value = 1.75
    box.controls["bias_scale"].value = 0.5
    box.controls["loss"].value = "every"
    flow = gradient_flow(scaled_copy(model, 1.75, 0.5), x, y, last_step_only=False)
    assert box.last["grad_norms"] == pytest.approx(flow.grad_norms.tolist(), rel=1e-12)
    assert box.last["eigenvalue"] == pytest.approx(flow.eigenvalue, rel=1e-12)
    assert box.last["eigenvalue"] == pytest.approx(
        1.75 * np.abs(np.linalg.eigvals(before["recurrent_net.hh.weight"].double().numpy())).max(), rel=1e-5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    default_data = widgets.gradient_visualizer(model=model, length=5)       # one running-mean sequence
    assert "length" in default_data.controls and len(default_data.last["grad_norms"]) == 5


def test_bad_arguments_and_a_missing_ipywidgets(monkeypatch):
    with pytest.raises(ValueError, match=r"weight_scale: expected a number in \[-5, 5\], got 7"):
        widgets.gradient_visualizer(weight_scale=7)
    with pytest.raises(ValueError, match="cell: unknown value 'cnn'"):
        widgets.gradient_visualizer(cell="cnn")
    with pytest.raises(ValueError, match="x and y: pass both"):
        widgets.gradient_visualizer(model=object(), x=np.zeros((1, 3, 1)))
    with pytest.raises(ValueError, match="loss: expected 'every' or 'last'"):
        widgets.gradient_visualizer(loss="first")
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ImportError, match=r"needs ipywidgets.*pip install ipywidgets"):
        widgets.gradient_visualizer()


def test_importing_and_using_the_widgets_leaves_the_matplotlib_backend_alone():
    code = """if True:
        import sys, matplotlib
        def backend():
            return matplotlib.rcParams._get_backend_or_none()
        start = backend()
        import rnnlab.widgets
        box = rnnlab.widgets.gradient_visualizer(hidden_size=3, length=4)
        box.controls["weight_scale"].value = 2.0
        assert backend() == start, (start, backend())
        assert "matplotlib.pyplot" not in sys.modules
        matplotlib.use("svg")
        box.controls["weight_scale"].value = 3.0
        assert backend() == "svg"
        print("ok", start)
    """
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "None"]


def test_the_ipynb_is_the_jupytext_twin_of_the_py_without_outputs():
    jupytext = pytest.importorskip("jupytext", reason="pip install jupytext (in the test extra)")
    py = jupytext.read(NOTEBOOK.with_suffix(".py"))
    nb = json.loads(NOTEBOOK.with_suffix(".ipynb").read_text())
    assert [(c.cell_type, c.source) for c in py.cells] == [
        (c["cell_type"], "".join(c["source"])) for c in nb["cells"]], \
        "run: .venv/bin/jupytext --to ipynb notebooks/gradient-flow-in-rnns-and-lstms.py"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb["cells"] if
               c["cell_type"] == "code")
    install, parameters = [c for c in nb["cells"] if c["cell_type"] == "code"][:2]   # what it needs, then FULL
    assert "".join(install["source"]).strip() == install_cell("gradient-flow-in-rnns-and-lstms").strip()
    assert "".join(parameters["source"]).strip() == "FULL = True"
    assert parameters["metadata"].get("tags") == ["parameters"]
    assert nb["cells"][0]["source"][0].startswith("# Gradient flow in RNNs and LSTMs")


KERNEL_CELLS = ["""
import matplotlib
before = matplotlib.get_backend()
from rnnlab.analysis import explore
from rnnlab.widgets import gradient_visualizer
explorer = gradient_visualizer(cell="rnn", nonlinearity="identity", hidden_size=16, length=10, loss="last")
explorer
""", """
explorer.controls["weight_scale"].value = 2.0
explorer.controls["loss"].value = "every"
expected = explore(cell="rnn", nonlinearity="identity", hidden_size=16, length=10, weight_scale=2.0,
                   bias_scale=1.0, loss="every")
assert explorer.last == expected, (explorer.last, expected)
assert matplotlib.get_backend() == before, (before, matplotlib.get_backend())
print("kernel check", before, explorer.last["eigenvalue"])
"""]


def test_the_widget_in_a_jupyter_kernel(tmp_path):
    """The visualiser displayed and driven in a real ipykernel (the notebook's own run at FULL=False is
    tests/test_notebooks.py's): the slider moved in the kernel gives explore()'s numbers, the inline backend stays."""
    nbformat = pytest.importorskip("nbformat", reason="pip install nbclient (in the test extra)")
    nbclient = pytest.importorskip("nbclient", reason="pip install nbclient (in the test extra)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in KERNEL_CELLS])
    env_dirs = {name: tmp_path / name.lower() for name in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR")}
    for path in env_dirs.values():
        path.mkdir()
    saved = {name: os.environ.get(name) for name in [*env_dirs, "MPLBACKEND"]}
    os.environ.update({name: str(path) for name, path in env_dirs.items()})
    os.environ.pop("MPLBACKEND", None)
    try:
        start = time.perf_counter()
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
        elapsed = time.perf_counter() - start
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    shown = nb.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown
    text = nb.cells[1].outputs[0]["text"]
    assert text.startswith("kernel check module://matplotlib_inline.backend_inline"), text   # as before the import
    assert elapsed < 60
