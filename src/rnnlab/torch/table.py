"""rnnlab.torch's table of cell implementations: for each cell of the registry, *how* this package computes it.

The registry (``rnnlab/cells.py``) says what a cell is; this table says which functions compute it here
(the steps are ``cells.STEPS``, the nodes :data:`NODES`):

    step        (parts, xw_t, state) -> new state: the cell's torch step (``cells.py``), autograd does the
                backward; ``parts`` is a layer or anything with ``hh``, ``proj``, ``nonlinearity`` and
                ``cell_norm`` (:class:`rnnlab.torch.cells.StepParts`)
    sequence    optional: a whole-sequence autograd node with a hand-written backward (``fused.py``,
                ``fused_cells.py``), and the compiled step kernels it runs where they run (``kernels.py``;
                optional too: without them, or where they do not run, the node's walk calls the torch
                step's elementwise part)

Nothing else in rnnlab.torch compares cell names: the layers, the stacks, the drop-in's walk and the
weight conversion read the registry's facts and this table.  A cell the table lacks is refused with its
name and the engines that implement it (:func:`implementation`).

The recurrent part of a step is built from the registry's ``recurrent_weight``: ``"full"`` is the matrix
product W_hh h (+ b_hh), ``"diagonal"`` (IndRNN) the elementwise u * h (+ b_hh).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from ..cells import CELLS, CellDef, get_cell
from ..rules import ENGINE_NAMES
from .cells import COEFFICIENTS, STEPS, Cayley, Diagonal, NoRecurrence, State, cayley_product, diagonal
from .fused import LSTMSequence
from .fused_cells import GRUSequence, RNNSequence
from .linear import LinearScan


class NodeWeights(NamedTuple):
    """One layer and direction's weights as the whole-sequence nodes take them."""
    weight_ih: torch.Tensor                  # (G*H, I)
    bias: torch.Tensor | None                # the input side's bias: b_ih (+ b_hh where the two only add)
    weight_hh: torch.Tensor                  # as declared: (G*H, R) or (H,)
    bias_hh: torch.Tensor | None             # b_hh where it stays apart (the registry's separate_hh_bias)


@dataclass(frozen=True)
class SequenceNode:
    """A whole-sequence autograd node: ``run(inp, weights, state, mask, reverse, nonlinearity)`` returns
    all_h (T, B, R) and the final state; time-major."""
    run: Callable[..., tuple[torch.Tensor, State]]
    on_input: bool                           # inp is x (the node makes W_ih x_t + b itself), else xw
    masks: bool                              # handles padded steps (mask (T, B)); else mask must be None
    nonlinearities: tuple[str, ...] = ("tanh",)   # the nonlinearities of h it computes
    kernels: tuple[str, ...] = ()            # its compiled step kernels in ``kernels.py`` (float32 / float64 CPU,
                                             # rnnlab.kernels.compiled_default()); elsewhere, and for a node
                                             # without any, its walk runs the torch step's ATen operations


@dataclass(frozen=True)
class TorchCell:
    """How rnnlab.torch computes one cell (see the module docstring)."""
    step: Callable[..., State]
    sequence: SequenceNode | None = None


def _lstm_node(x, w: NodeWeights, state: State, mask, reverse: bool, nonlinearity: str):
    all_h, h_n, c_n = LSTMSequence.apply(x, w.weight_ih, w.bias, state[0], state[1], w.weight_hh, mask, reverse)
    return all_h, (h_n, c_n)


def _rnn_node(x, w: NodeWeights, state: State, mask, reverse: bool, nonlinearity: str):
    all_h, h_n = RNNSequence.apply(x, w.weight_ih, w.bias, state[0], w.weight_hh, nonlinearity == "relu", reverse)
    return all_h, (h_n,)


def _gru_node(xw, w: NodeWeights, state: State, mask, reverse: bool, nonlinearity: str):
    all_h, h_n = GRUSequence.apply(xw, state[0], w.weight_hh, w.bias_hh, reverse)
    return all_h, (h_n,)


def _linear_node(coefficients, xw, w: NodeWeights, state: State, mask, reverse: bool, nonlinearity: str):
    """A linear recurrence: a_t, b_t from xw (T, B, G*H) for all steps (autograd records these), padded steps
    a_t = 1, b_t = 0 (the state passes), then the scan as one node (:class:`rnnlab.torch.linear.LinearScan`)."""
    a, b = coefficients(xw.transpose(0, 1))            # batch-major, as the layer made xw: no copy
    if mask is not None:
        keep = mask.t().unsqueeze(2)
        a, b = torch.where(keep, a, torch.ones_like(a)), torch.where(keep, b, torch.zeros_like(b))
    all_h, h_n = LinearScan.apply(a, b, state[0], reverse)
    return (all_h if mask is None else all_h * keep.to(all_h.dtype)).transpose(0, 1), (h_n,)


# the cells that have a whole-sequence node (the others run their step under autograd)
NODES: dict[str, SequenceNode] = {
    "rnn": SequenceNode(_rnn_node, on_input=True, masks=False, nonlinearities=("tanh", "relu"),
                        kernels=("rnn_forward_step",)),
    "orthogonal": SequenceNode(_rnn_node, on_input=True, masks=False, nonlinearities=("tanh", "relu"),
                               kernels=("rnn_forward_step",)),
    "lstm": SequenceNode(_lstm_node, on_input=True, masks=True, kernels=("lstm_forward_step", "lstm_backward_step")),
    "gru": SequenceNode(_gru_node, on_input=False, masks=False, kernels=("gru_forward_step",)),
    **{cell: SequenceNode(partial(_linear_node, coefficients), on_input=False, masks=True)
       for cell, coefficients in COEFFICIENTS.items()},
}
IMPLEMENTATIONS: dict[str, TorchCell] = {name: TorchCell(step, NODES.get(name)) for name, step in STEPS.items()}


def implementation(cell: str) -> TorchCell:
    """The implementation of ``cell``; a cell this package does not compute is refused with its name and the
    engines that implement it."""
    definition = get_cell(cell)
    found = IMPLEMENTATIONS.get(definition.name)
    if found is None:
        others = " or ".join(f"{e!r} ({ENGINE_NAMES.get(e, e)})" for e in definition.engines if e != "scratch")
        raise ValueError(f"cell: rnnlab.torch has no implementation of the {definition.full_name} ({cell!r}); "
                         f"use engine {others or 'none: no engine implements it yet'}")
    return found


def refuse_unimplemented(cell: str, engine: str, what: str) -> ValueError:
    """The error for a cell that ``engine``'s modules (``what``: "torch.nn", "rnnlab.torch.nn") lack."""
    definition = get_cell(cell)
    others = " or ".join(repr(e) for e in definition.engines if e != engine)
    return ValueError(f"cell: {what} has no {definition.full_name} ({cell!r}); it is implemented by engine "
                      f"{others or 'none'}")


# the recurrent part, by the registry's ``recurrent_weight``: a callable h -> W_hh h (+ b_hh)
_RECURRENT_PRODUCT = {"full": F.linear, "diagonal": diagonal, "cayley": cayley_product}


def recurrent_part(cell: CellDef, weight: torch.Tensor, bias: torch.Tensor | None) -> Callable:
    """h -> W_hh h + b_hh (``"full"``) or u * h + b_hh (``"diagonal"``), from a layer's weights."""
    return partial(_RECURRENT_PRODUCT[cell.recurrent_weight], weight=weight, bias=bias)


def recurrent_module(cell: CellDef, shape: Callable[[str], tuple[int, ...]], bias: bool) -> nn.Module:
    """The module of a layer's recurrent part for W_hh of the declared shape (``shape("weight_hh")``):
    nn.Linear(R, G*H) for a full matrix, :class:`Diagonal` (H) for a diagonal one, :class:`NoRecurrence`
    for a linear recurrence (no W_hh)."""
    if cell.recurrent_weight == "none":
        return NoRecurrence()
    shape = shape("weight_hh")
    if cell.recurrent_weight == "diagonal":
        return Diagonal(shape[0], bias=bias)
    if cell.recurrent_weight == "cayley":
        return Cayley(shape[0])
    rows, cols = shape
    return nn.Linear(cols, rows, bias=bias)


def cells_implemented() -> tuple[str, ...]:
    """The registry's cells that rnnlab.torch computes."""
    return tuple(name for name in CELLS if name in IMPLEMENTATIONS)
