"""The course's diagrams, drawn by rnnlab with matplotlib (no image files, nothing downloaded).

- :func:`unrolled_rnn`: a recurrent cell with its loop, and the same cell unrolled over time, one copy per
  step, the state passed from each copy to the next (the gradient-flow notebook's figure 1.A and Assignment
  2's "RNN unrolled over time"; ``weights=True`` labels the three shared matrices U, W and V):

      h_t = tanh(U x_t + W h_{t-1} + b),    o_t = V h_t + c

- :func:`prediction_types`: one to one, one to many, many to one and the two many-to-many patterns (inputs
  below, states in the middle, outputs on top; the gradient-flow notebook's figure 1.C);
- :func:`stacked_rnn`: a multi-layer RNN, depth going up and time going right; layer k reads the states of
  layer k - 1 at the same step (figure 1.K):

      h^(k)_t = tanh(W_x^(k) h^(k-1)_t + W_h^(k) h^(k)_{t-1} + b^(k)),    h^(0)_t = x_t

Each returns a :class:`matplotlib.figure.Figure` made without pyplot (it shows inline in a notebook and
never switches matplotlib's backend).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .argcheck import check_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

INPUT, STATE, OUTPUT = "#f4c2c2", "#c8e6c9", "#bbdefb"      # red inputs, green states, blue outputs
EDGE = "#333333"


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_aspect("equal")
    return fig, ax


def _box(ax: Axes, x: float, y: float, text: str, color: str, size: float = 0.8) -> None:
    """A rounded box of side ``size`` centred on (x, y), with ``text`` inside."""
    from matplotlib.patches import FancyBboxPatch
    half = size / 2
    ax.add_patch(FancyBboxPatch((x - half, y - half), size, size, boxstyle="round,pad=0.05,rounding_size=0.12",
                                facecolor=color, edgecolor=EDGE, linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=11)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str = "",
           curve: float = 0.0) -> None:
    """An arrow from ``start`` to ``end`` (optionally bent by ``curve``), its label beside the middle."""
    from matplotlib.patches import FancyArrowPatch
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=EDGE, linewidth=1.2,
                                 connectionstyle=f"arc3,rad={curve}", shrinkA=0, shrinkB=0))
    if label:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        dx, dy = (0.18, 0.0) if start[0] == end[0] else (0.0, 0.16)
        ax.text(mx + dx, my + dy, label, ha="left" if dx else "center", va="center", fontsize=10, color="#6a1b9a")


def unrolled_rnn(steps: int = 4, weights: bool = False) -> Figure:
    """A recurrent cell A with its loop, "=", and A unrolled over ``steps`` time steps (x_t below, h_t above,
    the state passed right).  ``weights``: label the shared matrices U (input), W (recurrent), V (output)."""
    check_int("steps", steps, 2)
    if steps > 8:
        raise ValueError(f"steps: expected 2..8 copies of the cell (a wider picture is unreadable), got {steps}")
    if not isinstance(weights, bool):
        raise TypeError(f"weights: expected True or False, got {weights!r}")
    u, w, v = ("U", "W", "V") if weights else ("", "", "")
    fig, ax = _figure(1.6 * (steps + 2.2), 3.6)
    _box(ax, 0, 0, "A", STATE)
    _box(ax, 0, -1.4, "$x_t$", INPUT, 0.6)
    _box(ax, 0, 1.4, "$o_t$" if weights else "$h_t$", OUTPUT, 0.6)
    _arrow(ax, (0, -1.05), (0, -0.45), u)
    _arrow(ax, (0, 0.45), (0, 1.05), v)
    _arrow(ax, (0.45, 0.15), (0.45, -0.15), w, curve=-2.2)
    ax.text(1.35, 0, "=", ha="center", va="center", fontsize=22)
    for t in range(steps):
        x = 2.5 + 1.6 * t
        name = f"{t + 1}" if t < steps - 1 else "T"
        _box(ax, x, 0, "A", STATE)
        _box(ax, x, -1.4, f"$x_{{{name}}}$", INPUT, 0.6)
        _box(ax, x, 1.4, f"$o_{{{name}}}$" if weights else f"$h_{{{name}}}$", OUTPUT, 0.6)
        _arrow(ax, (x, -1.05), (x, -0.45), u)
        _arrow(ax, (x, 0.45), (x, 1.05), v)
        if t:
            _arrow(ax, (x - 1.15, 0), (x - 0.45, 0), w)
    ax.text(2.5 + 1.6 * (steps - 1) / 2, -2.15, "the same cell and weights at every step; the state carries the "
            "past forward", ha="center", fontsize=9, color="#555555")
    ax.set(xlim=(-0.9, 2.5 + 1.6 * (steps - 1) + 0.9), ylim=(-2.4, 2.0))
    return fig


# (inputs, outputs) of each pattern over its steps: 1 where the step has one
PATTERNS = {"one to one": ((1,), (1,)), "one to many": ((1, 0, 0), (1, 1, 1)),
            "many to one": ((1, 1, 1), (0, 0, 1)), "many to many\n(after reading)": ((1, 1, 1, 0, 0), (0, 0, 1, 1, 1)),
            "many to many\n(every step)": ((1, 1, 1), (1, 1, 1))}


def prediction_types() -> Figure:
    """The five input/output patterns of a recurrent net: inputs (red) below, states (green), outputs (blue)
    on top; the running-mean task is "many to many (every step)" or "many to one" (last step only)."""
    fig, ax = _figure(15, 4.4)
    left = 0.0
    for title, (inputs, outputs) in PATTERNS.items():
        for t, (has_in, has_out) in enumerate(zip(inputs, outputs)):
            x = left + 0.9 * t
            _box(ax, x, 0, "", STATE, 0.55)
            if t:
                _arrow(ax, (x - 0.62, 0), (x - 0.3, 0))
            if has_in:
                _box(ax, x, -1.1, "", INPUT, 0.55)
                _arrow(ax, (x, -0.8), (x, -0.3))
            if has_out:
                _box(ax, x, 1.1, "", OUTPUT, 0.55)
                _arrow(ax, (x, 0.3), (x, 0.8))
        ax.text(left + 0.45 * (len(inputs) - 1), -1.95, title, ha="center", va="top", fontsize=11)
        left += 0.9 * len(inputs) + 0.9
    ax.text(-0.4, 1.1, "output", ha="right", va="center", fontsize=9, color="#1565c0")
    ax.text(-0.4, 0, "state", ha="right", va="center", fontsize=9, color="#2e7d32")
    ax.text(-0.4, -1.1, "input", ha="right", va="center", fontsize=9, color="#c62828")
    ax.set(xlim=(-1.5, left - 0.4), ylim=(-2.8, 1.6))
    return fig


def stacked_rnn(layers: int = 3, steps: int = 4) -> Figure:
    """A multi-layer RNN: ``layers`` rows of cells (depth, upwards) over ``steps`` columns (time, rightwards);
    each cell passes its state right to the next step and up to the next layer."""
    check_int("layers", layers, 1)
    check_int("steps", steps, 1)
    if layers > 6 or steps > 8:
        raise ValueError(f"layers, steps: expected at most 6 layers and 8 steps (a bigger picture is unreadable), "
                         f"got {layers} and {steps}")
    fig, ax = _figure(1.5 * steps + 2.4, 1.3 * layers + 2.6)
    for t in range(steps):
        x = 1.5 * t
        _box(ax, x, 0, f"$x_{{{t + 1}}}$", INPUT, 0.6)
        _arrow(ax, (x, 0.3), (x, 0.85))
        for k in range(1, layers + 1):
            y = 1.3 * k
            _box(ax, x, y, f"$h^{{({k})}}_{{{t + 1}}}$", STATE, 0.9)
            if k < layers:
                _arrow(ax, (x, y + 0.45), (x, y + 0.85))
            if t:
                _arrow(ax, (x - 1.05, y), (x - 0.45, y))
        _box(ax, x, 1.3 * layers + 1.3, f"$y_{{{t + 1}}}$", OUTPUT, 0.6)
        _arrow(ax, (x, 1.3 * layers + 0.45), (x, 1.3 * layers + 1.0))
    right = 1.5 * (steps - 1) + 0.9
    _arrow(ax, (right - 0.2, -0.75), (right + 0.6, -0.75))
    ax.text(right - 0.3, -0.75, "time", ha="right", va="center", fontsize=10)
    _arrow(ax, (-1.1, 0.9), (-1.1, 1.3 * layers + 0.4))
    ax.text(-1.25, 0.75 + 0.65 * layers, "depth (layers)", rotation=90, ha="right", va="center", fontsize=10)
    ax.set(xlim=(-1.9, right + 0.8), ylim=(-1.1, 1.3 * layers + 1.8))
    return fig
