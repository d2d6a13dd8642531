"""Figures of what a character-level model's cells learned (computed by :mod:`rnnlab.text_cells`); re-exported by
:mod:`rnnlab.plots`.

- :func:`unit_text`: the text with each character's background the activation of one unit after reading it
  (Karpathy, Johnson & Fei-Fei 2015, figures 2 and 4: blue -1, white 0, red +1 for h_t);
- :func:`unit_search`: per signal (quote, bracket, line, word), the signal and the unit that tracks it best over the
  steps, with Pearson's r, and the |r| of every unit;
- :func:`gate_saturation`: per sigmoid gate, the fraction of steps each unit is left-saturated (< 0.1) against the
  fraction it is right-saturated (> 0.9), one dot per unit (their figure 3);
- :func:`connectivity`: the gradient norm of one prediction with respect to each earlier character, drawn under
  the text (the predicted character boxed; the colour is log10 of the norm over its largest, across four decades)
  and against the distance back.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .argcheck import check_int, check_text, fail_type
from .figure import Figure

if TYPE_CHECKING:
    from .text_cells import CellTrace, Connectivity, UnitSearch

MAX_DRAWN = 3000     # characters a figure draws
DECADES = 4          # the connectivity's colours span g / max g from 1e-4 to 1


def _lines(text: str, width: int) -> list[list[tuple[int, str]]]:
    """(position, character) per drawn line: a new line after each newline and every ``width`` characters."""
    lines, line = [], []
    for t, c in enumerate(text[:MAX_DRAWN]):
        line.append((t, "↵" if c == "\n" else c))
        if c == "\n" or len(line) == width:
            lines.append(line)
            line = []
    return lines + ([line] if line else [])


def _draw_text(ax: object, text: str, colours: list[str], width: int, boxed: int | None = None) -> None:
    """The text on ``ax`` as a grid of characters, each on its colour (one image: a pixel per character, white
    where a line is short); ``boxed``: a position outlined in black."""
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Rectangle
    lines = _lines(text, width)
    columns = max((len(line) for line in lines), default=1)
    grid = np.ones((max(len(lines), 1), columns, 3))
    for row, line in enumerate(lines):
        for col, (t, c) in enumerate(line):
            grid[row, col] = to_rgb(colours[t])
            if not c.isspace():
                ax.text(col + 0.5, row + 0.55, c, ha="center", va="center", fontsize=8, family="monospace")
            if t == boxed:
                ax.add_patch(Rectangle((col, row), 1, 1, fill=False, edgecolor="black", linewidth=1.5))
    ax.imshow(grid, extent=(0, columns, len(grid), 0), aspect="auto", interpolation="nearest")
    ax.set_xlim(0, columns)
    ax.set_ylim(len(grid), 0)
    ax.axis("off")


CELL_W, CELL_H, TITLE_H = 0.13, 0.22, 0.4     # inches: a character's cell, the title above the text


def _text_figure(text: str, width: int, below: float = 0.0) -> tuple[Figure, object]:
    """A figure sized to the text's grid of characters (``below``: inches kept under it) and the text's axes."""
    lines = _lines(text, width)
    columns = max((len(line) for line in lines), default=1)
    text_h = CELL_H * max(len(lines), 1)
    fig_w, fig_h = max(4.0, CELL_W * columns + 0.4), text_h + TITLE_H + below
    fig = Figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((0.2 / fig_w, (below + 0.05) / fig_h, CELL_W * columns / fig_w, text_h / fig_h))
    return fig, ax


def unit_text(trace: CellTrace, unit: int, of: str = "hidden", width: int = 80, title: str | None = None) -> Figure:
    """The text coloured by ``unit``'s activation of ``of`` ("hidden": h_t, or a gate's name) after each character."""
    from .text_cells import CellTrace, colour_of
    if not isinstance(trace, CellTrace):
        raise fail_type("trace", trace, "the CellTrace of text_cells.read_text(...) or lab.units(...).trace")
    values = trace.values(of)
    check_int("unit", unit, 0, values.shape[1] - 1)
    check_int("width", width, 10, 400)
    check_text("title", title, "text", optional=True)
    signed = trace.signed(of)
    colours = [colour_of(v, signed) for v in values[:MAX_DRAWN, unit]]
    fig, ax = _text_figure(trace.text, width)
    _draw_text(ax, trace.text, colours, width)
    fig.suptitle(title or f"{of} unit {unit}", fontsize=9)
    return fig


def unit_search(search: UnitSearch, title: str | None = None) -> Figure:
    """Per signal of the text: the signal (grey, scaled to the unit's range) and the best unit's activation over
    the steps, titled with Pearson's r; beneath, |r| of every unit with every signal."""
    from .text_cells import SIGNAL_MEANING, UnitSearch
    if not isinstance(search, UnitSearch):
        raise fail_type("search", search, "the UnitSearch of text_cells.find_units(...) or lab.units(...)")
    check_text("title", title, "text", optional=True)
    names = list(search.signals)
    values = search.trace.values(search.of)
    fig = Figure(figsize=(11, 1.7 * len(names) + 2.2))
    axes = fig.subplots(len(names) + 1, 1, squeeze=False)[:, 0]
    steps = np.arange(len(search.text))
    for ax, name in zip(axes, names):
        signal = search.signals[name]
        ax.set_ylabel(name, fontsize=8)
        if not search.best[name]:
            ax.set_title(f"{SIGNAL_MEANING[name]}: never changes in this text", fontsize=9)
            ax.plot(steps, signal, color="grey")
            continue
        unit, r = search.best[name][0]
        a = values[:, unit]
        span = signal.max() - signal.min()
        scaled = a.min() + (signal - signal.min()) / span * (a.max() - a.min()) if span else signal
        ax.plot(steps, scaled, color="grey", lw=1, label=f"{name} (scaled)")
        ax.plot(steps, a, color="C3", lw=1, label=f"unit {unit}")
        ax.set_title(f"{SIGNAL_MEANING[name]}: {search.of} unit {unit}, r = {r:+.2f}", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    im = axes[-1].imshow(np.abs(np.nan_to_num(search.correlations)), aspect="auto", cmap="magma", vmin=0, vmax=1,
                         interpolation="nearest")
    axes[-1].set(yticks=range(len(names)), yticklabels=names, xlabel=f"{search.of} unit", title="|r| of every unit")
    fig.colorbar(im, ax=axes[-1], fraction=0.03)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def gate_saturation(trace: CellTrace, low: float = 0.1, high: float = 0.9, title: str | None = None) -> Figure:
    """One panel per sigmoid gate: each unit a dot at (fraction of steps below ``low``, fraction above ``high``)."""
    from .text_cells import CellTrace
    from .text_cells import gate_saturation as fractions
    if not isinstance(trace, CellTrace):
        raise fail_type("trace", trace, "the CellTrace of text_cells.read_text(...) or lab.units(...).trace")
    check_text("title", title, "text", optional=True)
    gates = fractions(trace, low, high)
    fig = Figure(figsize=(3.4 * max(len(gates), 1), 3.6))
    if not gates:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, f"the {trace.cell} has no sigmoid gates", ha="center", va="center")
        ax.axis("off")
        return fig
    axes = fig.subplots(1, len(gates), squeeze=False)[0]
    for ax, (name, (left, right)) in zip(axes, gates.items()):
        ax.plot([0, 1], [1, 0], color="lightgrey", lw=1)       # left + right <= 1: the frontier
        ax.scatter(left, right, s=14, alpha=0.7)
        ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), title=f"{name} gate",
               xlabel=f"fraction left-saturated (< {low:g})", ylabel=f"fraction right-saturated (> {high:g})")
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def connectivity(found: Connectivity, width: int = 80, title: str | None = None) -> Figure:
    """The text coloured by g_s / max g (the predicted position boxed), and g_s against the distance back."""
    from .text_cells import Connectivity, colour_of
    if not isinstance(found, Connectivity):
        raise fail_type("found", found, "the Connectivity of text_cells.connectivity(...) or lab.connectivity(...)")
    check_int("width", width, 10, 400)
    check_text("title", title, "text", optional=True)
    norms = found.norms
    with np.errstate(divide="ignore"):      # colour: log10(g / max g) from -DECADES (white) to 0 (dark green)
        shade = np.clip(1 + np.log10(norms / norms.max()) / DECADES, 0, 1) if norms.max() > 0 else norms
    fig, ax = _text_figure(found.text, width, below=2.4)
    _draw_text(ax, found.text, [colour_of(v, signed=False) for v in shade[:MAX_DRAWN]], width, boxed=found.step)
    fig.suptitle(title or f"what the prediction at step {found.step} ({found.predicted!r}, "
                          f"p = {found.probability:.2f}) depends on", fontsize=9)
    fig_w, fig_h = fig.get_size_inches()
    bars = fig.add_axes((0.7 / fig_w, 0.55 / fig_h, 1 - 0.9 / fig_w, 1.6 / fig_h))
    back = np.arange(found.step + 1)
    bars.plot(back, norms[found.step::-1], color="C2", marker=".", markersize=3, lw=1)
    bars.set(xlabel="characters back from the prediction", ylabel="gradient norm", yscale="log")
    bars.grid(alpha=0.3)
    return fig
