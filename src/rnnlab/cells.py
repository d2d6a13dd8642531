"""The cell registry: one definition per recurrent cell, read by every engine and every tool.

A cell is defined once, here: its gates in the order their row blocks take in the fused weight
matrices (torch.nn's order), what each gate means, which gate decides how much of the old memory
is kept, which states it carries from step to step, its bias convention, which options it has,
and where its step functions live in each engine.  Everything else (the NumPy engine's time loop,
rnnlab.torch's layers and stacks, the weight conversion, ``inspect``, the per-sample classes,
the option rules and the initialisations) reads these facts from here instead of comparing cell
names, so a new cell goes here: add a :class:`CellDef` to :data:`CELLS`, its NumPy step forward
and backward to ``rnnlab/numpy/cells.py`` and its PyTorch step to ``rnnlab/torch/cells.py``.

Every cell computes, per layer and direction, the pre-activations of all its gates at once::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            rows: one block of H per gate

    RNN:   h_t = tanh(a_t)  or  relu(a_t)
    LSTM:  [i; f; g; o] = [sigma; sigma; tanh; sigma](a_t)
           c_t = f * c_{t-1} + i * g            h_t = o * tanh(c_t)
    GRU:   [x_r; x_z; x_n] = W_ih x_t + b_ih    [u_r; u_z; u_n] = W_hh h_{t-1} + b_hh
           r = sigma(x_r + u_r)    z = sigma(x_z + u_z)    n = tanh(x_n + r * u_n)
           h_t = (1 - z) * n + z * h_{t-1}

Bias convention: in the RNN and the LSTM, b_ih and b_hh are only ever added, so rnnlab.torch
keeps one bias per gate (b = b_ih + b_hh).  In the GRU, r multiplies W_hn h_{t-1} + b_hn, so b_hn
cannot merge with b_in: the GRU keeps b_hh apart (``separate_hh_bias``).

Layer normalisation in the cell (Ba et al. 2016; ``layer_norm``): each gate's pre-activation
is normalised over its H units, then scaled and shifted by its own gain and shift (parameters
``ln_weight`` / ``ln_bias`` of size G*H), before the gate's nonlinearity.  For the GRU the
pre-activations are x_r + u_r, x_z + u_z and a_n = x_n + r * u_n.

The step functions are named, not imported: the engines import this module, and importing it
must never import torch (nor, through ``rnnlab.numpy``'s package, the engine that reads it).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Gate:
    """One row block of the fused weights: its letter in the equations and what it does."""
    letter: str
    meaning: str


@dataclass(frozen=True)
class CellDef:
    """Everything rnnlab needs to know about one recurrent cell (see the module docstring)."""
    name: str                          # "lstm": the value of every ``cell`` option
    title: str                         # "LSTM": for tables
    full_name: str                     # "vanilla RNN", "LSTM": for sentences
    gates: tuple[Gate, ...]            # in the order of their row blocks
    states: tuple[str, ...]            # carried from step to step: ("h",) or ("h", "c")
    memory_gate: str | None            # the gate that keeps old memory: "f" (LSTM), "z" (GRU)
    nonlinearities: tuple[str, ...]    # the choices of h's nonlinearity (the first is the default)
    gated_block: str | None            # the block whose recurrent part W_hh h + b_hh a gate multiplies
    layer_norm: bool                   # has a layer-normalised variant
    fused_layer_norm: bool             # its fused NumPy steps (numpy/fused_steps.py) do that layer norm too
    projection: bool                   # has the LSTM's output projection h_t = W_hr h_t
    numpy_steps: tuple[str, str]       # its forward and backward step in rnnlab.numpy.cells
    torch_step_name: str               # its step in rnnlab.torch.cells

    @property
    def num_gates(self) -> int:
        """G: the number of row blocks of W_ih, W_hh and the biases."""
        return len(self.gates)

    @property
    def separate_hh_bias(self) -> bool:
        """Whether b_hh stays apart from b_ih: True when a gate multiplies W_hh h + b_hh (the GRU's r)."""
        return self.gated_block is not None

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(g.letter for g in self.gates)

    def gate_index(self, letter: str) -> int:
        """The position of gate ``letter`` in the fused matrices (LSTM: i 0, f 1, g 2, o 3)."""
        if letter not in self.letters:
            raise ValueError(f"gate: the {self.full_name} has no gate {letter!r}; its gates are "
                             f"{', '.join(map(repr, self.letters))}")
        return self.letters.index(letter)

    def gate_slice(self, letter: str, hidden: int) -> slice:
        """The rows of gate ``letter``'s block in a (G*H, ...) matrix or a (G*H,) bias."""
        k = self.gate_index(letter)
        return slice(k * hidden, (k + 1) * hidden)

    @property
    def numpy_forward(self) -> Callable:
        """``forward(sweep, t, prev, cur)``: one step of the NumPy engine's time loop."""
        return getattr(importlib.import_module("rnnlab.numpy.cells"), self.numpy_steps[0])

    @property
    def numpy_backward(self) -> Callable:
        """``backward(sweep, t, prev, cur) -> dL/dU_t``: one step of the NumPy engine's BPTT loop."""
        return getattr(importlib.import_module("rnnlab.numpy.cells"), self.numpy_steps[1])

    @property
    def torch_step(self) -> Callable:
        """``step(layer, xw_t, state) -> new state``: one step of an rnnlab.torch layer (imports torch)."""
        return getattr(importlib.import_module("rnnlab.torch.cells"), self.torch_step_name)


CELLS: dict[str, CellDef] = {
    "rnn": CellDef(
        name="rnn", title="RNN", full_name="vanilla RNN",
        gates=(Gate("h", "hidden units"),),
        states=("h",), memory_gate=None, nonlinearities=("tanh", "relu"),
        gated_block=None, layer_norm=True, fused_layer_norm=False, projection=False,
        numpy_steps=("rnn_forward", "rnn_backward"), torch_step_name="rnn_step"),
    "lstm": CellDef(
        name="lstm", title="LSTM", full_name="LSTM",
        gates=(Gate("i", "input gate"), Gate("f", "forget gate"), Gate("g", "cell candidate"),
               Gate("o", "output gate")),
        states=("h", "c"), memory_gate="f", nonlinearities=("tanh",),
        gated_block=None, layer_norm=True, fused_layer_norm=True, projection=True,
        numpy_steps=("lstm_forward", "lstm_backward"), torch_step_name="lstm_step"),
    "gru": CellDef(
        name="gru", title="GRU", full_name="GRU",
        gates=(Gate("r", "reset gate"), Gate("z", "update gate"), Gate("n", "new state")),
        states=("h",), memory_gate="z", nonlinearities=("tanh",),
        gated_block="n", layer_norm=True, fused_layer_norm=False, projection=False,
        numpy_steps=("gru_forward", "gru_backward"), torch_step_name="gru_step"),
}


def get_cell(name: str) -> CellDef:
    """The definition of cell ``name``; a ValueError lists the known cells."""
    cell = CELLS.get(name) if isinstance(name, str) else None
    if cell is None:
        raise ValueError(f"cell: unknown value {name!r}; expected one of {', '.join(map(repr, CELLS))}")
    return cell


def cells_having(feature: Callable[[CellDef], bool]) -> str:
    """The cells that have ``feature``, for messages: "the LSTM", "the vanilla RNN and the LSTM"."""
    names = [f"the {cell.full_name}" for cell in CELLS.values() if feature(cell)]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]
