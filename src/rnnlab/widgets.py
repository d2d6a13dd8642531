"""Notebook widgets: the gradient-flow visualiser (the course notebook's sliders, in ipywidgets).

:func:`gradient_visualizer` scales a recurrent model's weights and biases and shows, for one running-mean
sequence x_1..x_T with targets y_t = (x_1 + ... + x_t) / t,

    ||h_t||            the hidden state's norm at each step                 (left plot, fixed axis -1..5)
    ||dL/dh_t||        the total derivative of the loss by h_t              (right plot, log axis 1e-6..1e5)
    |lambda_max|       the biggest eigenvalue magnitude of W_hh (the RNN)

after every weight matrix becomes ``weight_scale * W`` and every bias ``bias_scale * b`` (the readout is kept).
For a linear RNN trained on the last step only, dL/dh_t = (W_hh^T)^(T-t) dL/dh_T, so the gradient shrinks or
grows by about |lambda_max| per step back in time: below 1 it vanishes, above 1 it explodes.  The axes stay
fixed while the sliders move, so a change of scale reads directly off the picture.

The numbers come from :func:`rnnlab.analysis.explore` (the ones ``rnnlab explore`` serves) or, for a model
of your own, from :func:`rnnlab.analysis.scaled_copy` and :func:`rnnlab.analysis.gradient_flow`.  The plots
are drawn on a ``matplotlib.figure.Figure`` (no pyplot, so importing or using this module never touches the
matplotlib backend) and shown as a PNG in an ``ipywidgets.Image``.

ipywidgets is optional: ``pip install ipywidgets`` (in a clone of rnnlab: ``pip install -e '.[notebooks]'``).
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from .analysis import CELLS, LIMITS, LOSSES, NONLINEARITIES, _check_explore, explore, gradient_flow, scaled_copy
from .argcheck import fail_type, fail_value
from .cells import get_cell

_INSTALL = ("the gradient visualiser needs ipywidgets, which is not installed: pip install ipywidgets (in a clone "
            "of rnnlab: pip install -e '.[notebooks]'), then restart the kernel")
H_LIMITS = (-1.0, 5.0)          # the course's fixed hidden-state-norm axis (linear)
GRAD_LIMITS = (1e-6, 1e5)       # the course's fixed gradient-norm axis (log)
GRAD_FLOOR = 1e-6               # added to the plotted gradients so that an exact zero sits on the floor
SCALE_STEP = 0.05


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:
        raise ImportError(_INSTALL) from err
    return ipywidgets


def format_number(value: float | None) -> str:
    """How the widget prints a number: 4 significant digits ('inf'/'nan' as they are, None as '-')."""
    return "-" if value is None else f"{value:.4g}"


def _as_array(value: Any) -> np.ndarray:
    """A numpy array from a numpy array, a list or a torch tensor (detached, on the CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _slider(w, name: str, value: float, css: str):
    low, high = LIMITS[name]
    return w.FloatSlider(value=value, min=low, max=high, step=SCALE_STEP, readout_format=".2f",
                         description=name.replace("_", " "), continuous_update=True,
                         style={"description_width": "7em"}, layout=w.Layout(width="100%")).add_class(css)


def _int_slider(w, name: str, value: int, css: str):
    low, high = LIMITS[name]
    return w.IntSlider(value=value, min=low, max=high, description=name.replace("_", " "),
                       continuous_update=False, style={"description_width": "7em"},
                       layout=w.Layout(width="50%")).add_class(css)


def _controls(w, settings: dict, own_model: bool, own_data: bool) -> dict:
    """The control widgets, each with a ``t-...`` CSS class; a model of your own fixes the cell, the
    nonlinearity and the hidden size, and data of your own the length."""
    controls = {
        "weight_scale": _slider(w, "weight_scale", settings["weight_scale"], "t-weight"),
        "bias_scale": _slider(w, "bias_scale", settings["bias_scale"], "t-bias"),
        "loss": w.Dropdown(options=[("every step", "every"), ("last step", "last")], value=settings["loss"],
                           description="loss on").add_class("t-loss"),
    }
    if not own_model:
        controls["cell"] = w.Dropdown(options=[(get_cell(c).title, c) for c in CELLS], value=settings["cell"],
                                      description="cell").add_class("t-cell")
        controls["nonlinearity"] = w.Dropdown(options=list(NONLINEARITIES), value=settings["nonlinearity"],
                                              description="nonlinearity",
                                              disabled=_fixed(settings["cell"])).add_class("t-nonlinearity")
        controls["hidden_size"] = _int_slider(w, "hidden_size", settings["hidden_size"], "t-hidden-size")
    if not own_data:
        controls["length"] = _int_slider(w, "length", settings["length"], "t-length")
    return controls


def _fixed(cell: str) -> bool:
    """Whether the cell has no choice of nonlinearity (the LSTM's and GRU's gates are fixed): its control is off."""
    return len(get_cell(cell).nonlinearities) == 1


def _figure():
    """A pyplot-free Figure with the two panels (the backend is never consulted)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    return fig, fig.subplots(1, 2)


def draw_flow(axes: Sequence[Any], h_norms: Sequence[float], grad_norms: Sequence[float]) -> None:
    """Draw ||h_t|| (left, linear axis -1..5) and ||dL/dh_t|| (right, log axis 1e-6..1e5, time running
    backwards from T on the left: the direction the gradient travels) on two matplotlib axes."""
    if isinstance(axes, str) or not isinstance(axes, (Sequence, np.ndarray)) or len(axes) != 2:
        raise fail_type("axes", axes, "two matplotlib axes (fig.subplots(1, 2))")
    if len(h_norms) != len(grad_norms) or not len(h_norms):
        raise fail_value("grad_norms", grad_norms, f"as many numbers as h_norms ({len(h_norms)}), at least one")
    from matplotlib.ticker import MaxNLocator
    ax_h, ax_g = axes
    T = len(h_norms)
    steps = np.arange(1, T + 1)
    for ax in axes:
        ax.cla()
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    grads = np.asarray(grad_norms, dtype=float) + GRAD_FLOOR
    style = "o-" if T <= 50 else "-"          # dots while they stay apart
    ax_h.plot(steps, h_norms, style, color="tab:blue")
    _mark_above(ax_h, steps, np.asarray(h_norms, dtype=float), H_LIMITS[1])
    ax_h.set(title="Hidden states", xlabel="time step t", ylabel="||h_t||", ylim=H_LIMITS, xlim=(0.5, T + 0.5))
    ax_g.plot(steps, grads, style, color="tab:red")
    _mark_above(ax_g, steps, grads, GRAD_LIMITS[1])
    ax_g.set_yscale("log")
    ax_g.set(title="Gradients, flowing back in time", xlabel="time step t (from T back to 1)",
             ylabel="||dL/dh_t||", ylim=GRAD_LIMITS, xlim=(T + 0.5, 0.5))


def _mark_above(ax, steps: np.ndarray, values: np.ndarray, top: float) -> None:
    """Triangles on the top edge where a value (or inf/nan) lies above the fixed axis."""
    above = ~(values <= top)
    if above.any():
        ax.plot(steps[above], np.full(above.sum(), top), "^", color="black", ms=7 if len(steps) <= 50 else 3,
                clip_on=False, label="above the axis")
        ax.legend(loc="lower right", fontsize=8)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


class _Visualizer:
    """The widget's state and its update (kept on the returned box as ``box.visualizer``)."""

    def __init__(self, w, settings: dict, model=None, x=None, y=None) -> None:
        self.settings, self.model = settings, model
        self.data = None if x is None else (_as_array(x), _as_array(y))
        self.controls = _controls(w, settings, model is not None, x is not None)
        self.eigenvalue = w.HTML().add_class("t-eigenvalue")
        self.h_text = w.HTML().add_class("t-h-norms")
        self.grad_text = w.HTML().add_class("t-grad-norms")
        self.loss_text = w.HTML().add_class("t-loss-value")
        self.status = w.HTML().add_class("t-status")
        self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width="900px")).add_class("t-plot")
        self.figure, self.axes = _figure()
        self.last: dict = {}
        c = self.controls
        rows = [w.HBox([c[k] for k in ("cell", "nonlinearity", "loss") if k in c]),
                w.HBox([c[k] for k in ("hidden_size", "length") if k in c]),
                c["weight_scale"], c["bias_scale"], self.eigenvalue, self.h_text, self.grad_text,
                self.loss_text, self.status, self.image]
        self.box = w.VBox(rows).add_class("t-gradient-visualizer")
        for control in c.values():
            control.observe(self.update, names="value")

    def read(self) -> dict:
        """The settings the controls show now."""
        values = dict(self.settings)
        values.update({name: control.value for name, control in self.controls.items()})
        return values

    def compute(self, values: dict) -> dict:
        """explore()'s numbers, or those of the user's model scaled by the sliders."""
        if self.model is None:
            keys = ("cell", "nonlinearity", "hidden_size", "length", "weight_scale", "bias_scale", "loss", "seed")
            return explore(**{k: values[k] for k in keys})
        if self.data is None:
            from .data.synthetic import cumulative_average
            x, y = cumulative_average(1, values["length"], seed=values["seed"])
        else:
            x, y = self.data
        twin = scaled_copy(self.model, values["weight_scale"], values["bias_scale"])
        flow = gradient_flow(twin, x, y, last_step_only=values["loss"] == "last")
        return {"length": int(x.shape[1]), "weight_scale": values["weight_scale"],
                "bias_scale": values["bias_scale"], "loss_on": values["loss"], **flow.to_dict()}

    def update(self, change: dict | None = None) -> dict:
        """Recompute for the controls' values, redraw, and keep the numbers in ``last`` (and ``box.last``)."""
        values = self.read()
        if "nonlinearity" in self.controls:
            self.controls["nonlinearity"].disabled = _fixed(values["cell"])
        try:
            result = self.compute(values)
        except (ValueError, RuntimeError) as err:       # shown on the page; the last good picture stays
            self.status.value = f"<span style='color:#b00'>{type(err).__name__}: {err}</span>"
            self.last = self.box.last = {"error": str(err)}
            return self.last
        self.status.value = ""
        self._show(result)
        self.last = self.box.last = result
        return result

    def _show(self, result: dict) -> None:
        """The picture first, then the lines of numbers: a page that sees the new numbers has the new picture."""
        draw_flow(self.axes, result["h_norms"], result["grad_norms"])
        self.image.value = _png(self.figure)
        eig = result["eigenvalue"]
        self.eigenvalue.value = ("biggest |eigenvalue| of W_hh: " + format_number(eig) if eig is not None else
                                 "biggest |eigenvalue| of W_hh: - (an RNN's alone: the gates of an LSTM or a "
                                 "GRU change the per-step factor with the state)")
        self.h_text.value = "||h_t||, t = 1..T: " + " ".join(format_number(v) for v in result["h_norms"])
        self.grad_text.value = "||dL/dh_t||, t = 1..T: " + " ".join(format_number(v) for v in result["grad_norms"])
        self.loss_text.value = (f"loss {format_number(result['loss'])}; ||dL/dh_1|| / ||dL/dh_T|| = "
                                f"{format_number(result['ratio'])}")


def gradient_visualizer(model: Any = None, x: Any = None, y: Any = None, *, cell: str = "rnn",
                        nonlinearity: str = "identity", hidden_size: int = 16, length: int = 10,
                        weight_scale: float = 1.0, bias_scale: float = 1.0, loss: str = "last",
                        seed: int = 0) -> Any:
    """The course's interactive gradient-flow visualiser; returns an ``ipywidgets.VBox`` to display.

    Sliders scale the weights (W <- weight_scale * W) and biases (b <- bias_scale * b) from -5 to 5; menus
    choose the cell (rnn, lstm, gru), the RNN's nonlinearity and whether the loss is taken on every step or
    the last one; sliders set the hidden size and the sequence length.  Each change recomputes
    ``rnnlab.analysis.explore(cell, nonlinearity, hidden_size, length, weight_scale, bias_scale, loss, seed)``
    (a fixed model from ``seed``, one running-mean sequence) and redraws on the fixed axes.

    ``model``: a model of your own instead (a ``RecurrentRegressionModel`` over an rnnlab.torch layer or
    one-direction stack, float32 or float64; it is never modified: every change scales a copy).  Then the
    cell, nonlinearity and hidden-size controls are left out; ``x`` (N, T, input_size) and every-step targets
    ``y`` (N, T, output_size) are the data (default: one running-mean sequence of ``length`` steps from
    ``seed``, and a length slider).

    The returned box carries ``last`` (the numbers last shown: ``eigenvalue``, ``h_norms``, ``grad_norms``,
    ``loss``, ``ratio`` and the settings; explore()'s dict itself without a model of your own), ``controls``
    (name -> widget: weight_scale, bias_scale, loss, cell, nonlinearity, hidden_size, length), ``figure``
    (the matplotlib Figure) and ``refresh()``.  Every control has a CSS class ``t-<name>`` (t-weight,
    t-bias, t-loss, t-cell, t-nonlinearity, t-hidden-size, t-length); the printed numbers are in
    t-eigenvalue, t-h-norms, t-grad-norms and the picture in t-plot.
    """
    _check_own_model(model, x, y)
    w = _ipywidgets()
    if (x is None) != (y is None):
        raise ValueError("x and y: pass both (inputs and every-step targets) or neither")
    if x is not None and model is None:
        raise ValueError("x, y: data of your own go with a model of your own (model=...)")
    if loss not in LOSSES:
        raise ValueError(f"loss: expected 'every' or 'last', got {loss!r}")
    settings = {"cell": cell, "nonlinearity": nonlinearity, "hidden_size": hidden_size, "length": length,
                "weight_scale": weight_scale, "bias_scale": bias_scale, "loss": loss, "seed": seed}
    _check_explore(settings)                      # refuses bad settings here, with explore()'s messages
    visualizer = _Visualizer(w, settings, model, x, y)
    box = visualizer.box
    box.visualizer, box.controls, box.figure = visualizer, visualizer.controls, visualizer.figure
    box.refresh = visualizer.update
    visualizer.update()
    if "error" in visualizer.last:
        raise ValueError(f"gradient_visualizer: {visualizer.last['error']}")
    return box


def _check_own_model(model: Any, x: Any, y: Any) -> None:
    """A model of one's own is a torch module (a state_dict); x and y arrays of numbers (N, T, features) with the
    same N and T.  Checked before ipywidgets is imported or anything is computed."""
    if (x is None) != (y is None):
        raise ValueError("x and y: pass both (inputs and every-step targets) or neither")
    if model is not None and not (hasattr(model, "state_dict") and callable(model)):
        raise fail_type("model", model, "a RecurrentRegressionModel over an rnnlab.torch layer, or None")
    for name, value in (("x", x), ("y", y)):
        if value is None:
            continue
        try:
            array = _as_array(value).astype(np.float64)
        except (TypeError, ValueError):
            raise fail_type(name, value, "an array of numbers (N, T, features)") from None
        if array.ndim != 3 or 0 in array.shape:
            raise fail_value(name, value, f"an array shaped (N, T, features), not {array.shape}")
    if x is not None and y is not None and _as_array(x).shape[:2] != _as_array(y).shape[:2]:
        raise fail_value("y", y, f"every-step targets with the N and T of x {_as_array(x).shape[:2]}")
