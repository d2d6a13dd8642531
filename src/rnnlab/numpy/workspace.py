"""The NumPy engine's buffers, allocated once per (T, N) shape and reused by every call.

A training step should allocate almost nothing: buffers of a few MB that are created and freed
on every step are mapped and unmapped by the memory allocator each time, which costs more than
the arithmetic (see ``../shared/PERF-NOTES.md``).  So each layer and direction owns a
:class:`Sweep`, the arrays its time loop reads and writes, and the per-step scratch is shared.

Layouts are time-major and feature-major, ``(T, features, N)``: one column per sequence.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..cells import CellDef
from .recurrence import RECURRENCES


def step_order(T: int, d: int, backward: bool = False) -> list[tuple[int, int, int]]:
    """(t, prev, cur) for every step, in the order a loop visits them.  The forward direction
    reads state hs[t] and writes hs[t+1]; the reverse one reads hs[t+1] and writes hs[t]."""
    steps = [(t, t, t + 1) for t in range(T)] if d == 0 else [(t, t + 1, t) for t in range(T - 1, -1, -1)]
    return steps[::-1] if backward else steps


@dataclass(slots=True)
class Sweep:
    """What the time loop of one layer and direction touches: the step functions of
    ``rnnlab.numpy.cells`` read and write only these.

    State indexing: forward direction hs[t+1] = h_t (hs[0] = h0); reverse direction hs[t] = h_t
    (hs[T] = h0).  A step reads state ``prev`` and writes state ``cur``.
    """
    gates: np.ndarray                  # (T, G*H, N) input part A_t -> activations -> dL/dA_t
    hs: np.ndarray                     # (T+1, H, N) hidden states
    cs: np.ndarray | None              # (T+1, H, N) cell states (cells with a state "c")
    u_n: np.ndarray | None             # (T, H, N) GRU: u_n = W_hn h_{t-1} + b_hn, then dL/du_n
    ln_xhat: np.ndarray | None         # (T, G*H, N) layer norm: the normalised pre-activations
    ln_rstd: np.ndarray | None         # (T, G, 1, N) layer norm: 1 / std of each gate block
    # per-step scratch, the same arrays in every sweep of a workspace
    u: np.ndarray                      # (G*H, N) U_t = W_hh h_{t-1} (+ b_hh); backward: dL/dU_t
    dh: np.ndarray                     # (H, N) dL/dh_t, then dL/dh_{t-1}
    dc: np.ndarray                     # (H, N) dL/dc_t, then dL/dc_{t-1}
    t1: np.ndarray                     # (H, N) scratch
    t2: np.ndarray                     # (H, N) scratch
    # bound by the engine before each loop
    nonlinearity: str = "tanh"
    hh_T: Callable | None = None       # hh_T(dU, out=dh): dL/dh_{t-1} = W_hh^T dL/dU_t (``recurrence.py``)
    gain: np.ndarray | None = None     # (G*H, 1) layer-norm gains, None without layer norm
    shift: np.ndarray | None = None    # (G*H, 1) layer-norm shifts
    d_gain: np.ndarray | None = None   # (G*H,) their gradients, accumulated by the backward steps
    d_shift: np.ndarray | None = None
    scan: tuple | None = None          # what a whole-sequence cell keeps for its backward (the LRU's complex states)


@dataclass
class Workspace:
    T: int
    N: int
    sweeps: list[list[Sweep]]                                # [layer][direction]
    dX: list[np.ndarray]                                     # [layer] (T, D_layer, N): dL/d(layer input)
    dW_tmp: list[tuple[np.ndarray, np.ndarray]]              # [layer] (G*H, D_layer), W_hh's gradient scratch
    keep_h: np.ndarray                                       # (H, N) gradients passed through padded steps
    keep_c: np.ndarray
    inputs: list[np.ndarray] = field(default_factory=list)  # [layer] (T, D_layer, N): what the layer read
    out_bufs: dict[int, np.ndarray] = field(default_factory=dict)  # layer -> (T, dirs*H, N) outputs

    def layer_output(self, layer: int, valid: np.ndarray | None) -> np.ndarray:
        """(T, dirs*H, N): the states of each step, [forward ; reverse], zero at padded steps."""
        row = self.sweeps[layer]
        if len(row) == 1 and valid is None:
            return row[0].hs[1:]                 # a view: no copy needed
        T, (_, H, N) = self.T, row[0].hs.shape
        out = self.out_bufs.get(layer)
        if out is None:
            out = self.out_bufs[layer] = np.empty((T, len(row) * H, N), row[0].hs.dtype)
        out[:, :H] = row[0].hs[1:]
        if len(row) == 2:
            out[:, H:] = row[1].hs[:T]
        if valid is not None:
            out *= valid
        return out


def new_workspace(cell: CellDef, T: int, N: int, hidden: int, input_sizes: list[int], num_directions: int,
                  layer_norm: bool, dtype: np.dtype) -> Workspace:
    """Every buffer of a forward and backward pass over T steps of N sequences."""
    G, H = cell.num_gates, hidden
    e = lambda *shape: np.empty(shape, dtype)
    hh_scratch = ((0,) if cell.recurrent_weight not in RECURRENCES     # a linear recurrence: no W_hh
                  else RECURRENCES[cell.recurrent_weight].scratch(cell.param("weight_hh").shape_for(0, H, G), N))
    shared = {"u": e(G * H, N), "dh": e(H, N), "dc": e(H, N), "t1": e(H, N), "t2": e(H, N)}

    def sweep() -> Sweep:
        return Sweep(gates=e(T, G * H, N), hs=e(T + 1, H, N),
                     cs=e(T + 1, H, N) if "c" in cell.states else None,
                     u_n=e(T, H, N) if cell.separate_hh_bias else None,
                     ln_xhat=e(T, G * H, N) if layer_norm else None,
                     ln_rstd=e(T, G, 1, N) if layer_norm else None, **shared)
    return Workspace(T=T, N=N, sweeps=[[sweep() for _ in range(num_directions)] for _ in input_sizes],
                     dX=[e(T, D, N) for D in input_sizes],
                     dW_tmp=[(e(G * H, D), e(*hh_scratch)) for D in input_sizes],
                     keep_h=e(H, N), keep_c=e(H, N))


# ----------------------------------------------------------------------------- layouts
def to_internal(batch_first: bool, x: np.ndarray) -> np.ndarray:
    """(N, T, F) batch-first or (T, N, F) time-major -> contiguous (T, F, N)."""
    return np.ascontiguousarray(x.transpose(1, 2, 0) if batch_first else x.transpose(0, 2, 1))


def to_public(batch_first: bool, a: np.ndarray) -> np.ndarray:
    """(T, F, N) -> a new (N, T, F) or (T, N, F) array."""
    return np.array(a.transpose(2, 0, 1) if batch_first else a.transpose(0, 2, 1), order="C")


def public_states(*states: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """States (or their gradients) from (layers*dirs, H, N) to torch.nn's (layers*dirs, N, H)."""
    return tuple(np.ascontiguousarray(s.transpose(0, 2, 1)) for s in states if s is not None)
