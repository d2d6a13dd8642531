"""Whether compiled (numba) kernels run: numba importable and ``RNNLAB_FUSED`` not 0.

Both engines ask here: the NumPy engine for its fused steps (``numpy/fused.py``), rnnlab.torch for the
compiled steps of its whole-sequence nodes.  numba itself is not imported here, only looked up.
"""
from __future__ import annotations

import importlib.util
import os

AVAILABLE = importlib.util.find_spec("numba") is not None
ENV = "RNNLAB_FUSED"
_OFF = ("0", "false", "no", "off")


def compiled_default() -> bool:
    """Whether compiled kernels are used by default: numba is importable and RNNLAB_FUSED is not 0."""
    return AVAILABLE and os.environ.get(ENV, "1").strip().lower() not in _OFF


def resolve_compiled(wanted: bool | None, name: str = "fused") -> bool:
    """``wanted`` as asked (None: :func:`compiled_default`); True without numba is refused in one line
    that names the setting ``name``."""
    if wanted is None:
        return compiled_default()
    if wanted and not AVAILABLE:
        raise ValueError(f"{name}: True needs numba, which is not installed; install it (pip install numba) "
                         f"or pass {name}=False")
    return bool(wanted)
