"""Which step functions the NumPy engine runs: the fused ones (``fused_steps.py``) or the reference ones.

The reference steps in ``cells.py`` make about 25 NumPy calls per LSTM step, each one pass over
(H, N) arrays; at batch 64 and hidden 128 those passes cost as much as the step's matrix products.
``fused_steps.py`` does each step's elementwise work in one compiled loop (numba) with the same
equations; ``cells.py`` stays the readable reference, and the tests check the two against each
other, against numerical gradients and against torch.nn.

The fused steps are chosen automatically when numba is importable; ``RNNLAB_FUSED=0`` in the
environment (or ``RecurrentNet(..., fused=False)``) keeps the reference steps.  Layer norm in the
cell is fused for the LSTM (two more kernels around its step, in ``fused_steps.py``); the RNN and GRU
with layer norm run the reference steps.  numba is imported only when fused steps are first used.
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable

AVAILABLE = importlib.util.find_spec("numba") is not None
ENV = "RNNLAB_FUSED"


def fused_default() -> bool:
    """Whether a new RecurrentNet uses the fused steps: numba is importable and RNNLAB_FUSED is not 0."""
    return AVAILABLE and os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def resolve_fused(fused: bool | None) -> bool:
    """``fused`` as asked (None: :func:`fused_default`); True without numba is refused in one line."""
    if fused is None:
        return fused_default()
    if fused and not AVAILABLE:
        raise ValueError("fused: True needs numba, which is not installed; install it (pip install numba) "
                         "or pass fused=False")
    return bool(fused)


def step_function(name: str, fused: bool) -> Callable:
    """The uniform step ``name`` (a name from the cell registry): fused, or the reference in ``cells.py``."""
    if fused:
        from . import fused_steps
        return fused_steps.STEPS[name]
    from . import cells
    return getattr(cells, name)
