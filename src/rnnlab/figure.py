"""The Figure every rnnlab view returns: a matplotlib Figure that shows itself in a notebook.

It lives apart from :mod:`rnnlab.plots` so that the modules whose figures ``plots`` re-exports (the text views of
:mod:`rnnlab.text_figures`) can draw on it without importing ``plots`` back.
"""
from __future__ import annotations

from matplotlib.figure import Figure as _Figure


class Figure(_Figure):
    """A matplotlib Figure that shows itself as a PNG when it is a notebook cell's value, in a fresh
    kernel too (no ``%matplotlib inline`` or pyplot needed)."""

    def _repr_png_(self) -> bytes:
        import io
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
        return buffer.getvalue()
