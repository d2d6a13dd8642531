"""Which step functions the NumPy engine runs: a cell's compiled ones (``fused_steps.py``) or its reference ones.

The reference steps in ``cells.py`` make about 25 NumPy calls per LSTM step, each one pass over
(H, N) arrays; at batch 64 and hidden 128 those passes cost as much as the step's matrix products.
``fused_steps.py`` does each step's elementwise work in one compiled loop (numba) with the same
equations; ``cells.py`` stays the readable reference, and the tests check the two against each
other, against numerical gradients and against torch.nn.

The engine's table (``cells.IMPLEMENTATIONS``) gives each cell its reference pair and, optionally, the
name of its compiled pair (``fused_steps.COMPILED``).  The compiled pair is chosen when numba is
importable and ``RNNLAB_FUSED`` is not 0 (the switch of :mod:`rnnlab.kernels`; ``RecurrentNet(...,
fused=False)`` keeps the reference), the cell has one, and, with layer norm in the cell, the compiled
pair does layer norm too (the LSTM's); otherwise the reference pair runs.  numba is imported only when
compiled steps are first used.
"""
from __future__ import annotations

from collections.abc import Callable

from ..cells import get_cell
from ..kernels.switch import AVAILABLE, ENV, compiled_default, resolve_compiled  # noqa: F401  (re-exported)
from .cells import IMPLEMENTATIONS


def fused_default() -> bool:
    """Whether a new RecurrentNet uses the fused steps: numba is importable and RNNLAB_FUSED is not 0."""
    return AVAILABLE and compiled_default()


def resolve_fused(fused: bool | None) -> bool:
    """``fused`` as asked (None: :func:`fused_default`); True without numba is refused in one line."""
    if fused is None:
        return fused_default()
    if fused and not AVAILABLE:
        raise ValueError("fused: True needs numba, which is not installed; install it (pip install numba) "
                         "or pass fused=False")
    return bool(fused)


def step_pair(cell: str, fused: bool, layer_norm: bool = False) -> tuple[Callable, Callable, bool]:
    """(forward, backward, compiled) of ``cell`` (a name in the engine's table): its compiled pair where
    ``fused`` asks for it and it has one that fits (layer norm included), else its reference pair."""
    implementation = IMPLEMENTATIONS[cell]
    if implementation.whole_sequence:          # a whole-sequence pair (a scan): ``fused`` picks its scan
        return implementation.forward, implementation.backward, fused
    if fused and implementation.compiled is not None:
        from .fused_steps import COMPILED
        compiled = COMPILED[implementation.compiled]
        if compiled.layer_norm or not layer_norm:
            return compiled.forward, compiled.backward, True
    return implementation.forward, implementation.backward, False


def sequence_pair(cell: str, compiled: bool, layer_norm: bool, sequence: bool = True):
    """The whole-sequence loops of ``cell`` (``sequence.py``, a ``SequencePair``) where its compiled steps run
    (with layer norm in the cell: the LSTM's), its recurrent weight is a full W_hh, BLAS's gemm was found and
    ``sequence`` is not False; else None, and the time loop runs step by step."""
    implementation = IMPLEMENTATIONS[cell]
    if (not sequence or not compiled or implementation.whole_sequence
            or implementation.compiled is None or get_cell(cell).recurrent_weight != "full"):
        return None
    from ..kernels.blas import ADDRESSES
    from .sequence import SEQUENCES
    return SEQUENCES.get(implementation.compiled + ("-ln" if layer_norm else "")) if ADDRESSES else None
