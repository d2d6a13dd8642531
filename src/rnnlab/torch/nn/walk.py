"""The time loop of the drop-in modules: every layer and direction walks the sequence with our cells.

Time-major throughout: x (T, B, I), mask (T, B) (False at the padded steps of packed input, whose
state is carried unchanged and whose output is zero), states (layers * directions, B, size).
Per layer and direction, with the cells of ``rnnlab.torch.cells``::

    xw_t = W_ih x_t + b_ih (+ b_hh where it only adds: the registry's separate_hh_bias is False)
    RNN:   h_t = sigma(xw_t + W_hh h_{t-1})
    LSTM:  [i; f; g; o] = xw_t + W_hh h_{t-1} ...  c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)  (W_hr h_t)
    GRU:   u = W_hh h_{t-1} + b_hh ...  h_t = (1 - z) n + z h_{t-1}

Between layers, dropout(p) on the outputs of all but the last layer when training (torch.nn's rule).
The step and the whole-sequence node of each cell come from rnnlab.torch's implementation table
(``table.py``); nothing here compares cell names.  Without projection or layer norm, each layer and
direction runs as the cell's whole-sequence autograd node (``fused.py``, ``fused_cells.py``; padded packed
input: where the node handles padding, the LSTM's) unless a torch.func transform is active; their backward
falls back to recomputing with autograd for higher-order graphs.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import SimpleNamespace

import torch
from torch import Tensor
from torch.nn import functional as F

from ...cells import CellDef, get_cell
from ..cells import gate_layer_norm
from ..layers import NONLINEARITIES
from ..table import NodeWeights, SequenceNode, implementation, recurrent_part
from .base import RNNBase

State = tuple[Tensor, ...]

# the whole-sequence nodes; False makes every module take the step-by-step autograd graph (to time or check it)
FUSED = True


def functorch_active() -> bool:
    """Whether a torch.func transform (vmap, grad, jacrev, ...) is running: the fused node is then avoided."""
    return torch._C._functorch.peek_interpreter_stack() is not None


def _norm_of(w: dict, hidden: int) -> Callable[..., Tensor] | None:
    """Layer norm of the gate blocks ``first, first + 1, ...`` held by ``a`` (batch, k*H), or None."""
    if w.get("ln_weight") is None:
        return None

    def norm(a: Tensor, first: int = 0) -> Tensor:
        rows = slice(first * hidden, first * hidden + a.shape[1])
        return gate_layer_norm(a, a.shape[1] // hidden, w.get("ln_weight")[rows], w.get("ln_bias")[rows])
    return norm


def node_weights(cell: CellDef, w: dict) -> NodeWeights:
    """The layer's weights as the nodes and steps take them: b_ih + b_hh on the input side where the two only
    add, b_hh on the recurrent side where it stays apart (the registry's ``separate_hh_bias``: the GRU)."""
    bias, bias_hh = w["bias_ih"], w["bias_hh"]
    if bias is not None and not cell.separate_hh_bias:
        bias, bias_hh = bias + bias_hh, None
    return NodeWeights(w["weight_ih"], bias, w["weight_hh"], bias_hh)


def _step_parts(module: RNNBase, cell: CellDef, w: dict, weights: NodeWeights) -> SimpleNamespace:
    """What the cell's torch step reads (``rnnlab.torch.cells.StepParts``), from this layer's weights."""
    return SimpleNamespace(hh=recurrent_part(cell, weights.weight_hh, weights.bias_hh),
                           proj=None if w.get("weight_hr") is None else partial(F.linear, weight=w.get("weight_hr")),
                           nonlinearity=NONLINEARITIES[module.nonlinearity_name],
                           cell_norm=_norm_of(w, module.hidden_size))


def _whole_sequence(module: RNNBase, node: SequenceNode | None, w: dict, x: Tensor, state: State,
                    mask: Tensor | None) -> SequenceNode | None:
    """The cell's whole-sequence node where it computes this walk: no projection, no layer norm, padding only
    where the node handles it, a nonlinearity it has, first-order autograd on and no torch.func transform
    (those take the step-by-step graph); else None."""
    if not FUSED or node is None or w.get("weight_hr") is not None or w.get("ln_weight") is not None or \
            (mask is not None and not node.masks) or module.nonlinearity_name not in node.nonlinearities:
        return None
    if not torch.is_grad_enabled() or functorch_active():
        return None
    weights = (w["weight_ih"], w["bias_ih"], w["weight_hh"], w["bias_hh"])
    return node if any(t.requires_grad for t in (x, *weights, *state) if t is not None) else None


def walk_direction(module: RNNBase, w: dict, x: Tensor, state: State, mask: Tensor | None,
                   reverse: bool, batch_first: bool = False) -> tuple[Tensor, State]:
    """One layer and direction over x (T, B, I) ((B, T, I) with batch_first): its outputs (T, B, R) and its
    state after the walk.  The input product runs on x as given (its gradient keeps x's layout)."""
    cell = get_cell(module.cell)
    impl = implementation(module.cell)
    weights = node_weights(cell, w)
    node = _whole_sequence(module, impl.sequence, w, x, state, mask)
    if node is not None and node.on_input:
        return node.run(x.transpose(0, 1) if batch_first else x, weights, state, mask, reverse,
                        module.nonlinearity_name)
    xw = F.linear(x, weights.weight_ih, weights.bias)      # W_ih x_t + b of all steps at once
    if batch_first:
        xw = xw.transpose(0, 1)
    if node is not None:
        return node.run(xw, weights, state, mask, reverse, module.nonlinearity_name)
    step = partial(impl.step, _step_parts(module, cell, w, weights))
    T = xw.shape[0]
    outs: list[Tensor] = [xw] * T
    for t, xw_t in (reversed(list(enumerate(xw.unbind(0)))) if reverse else enumerate(xw.unbind(0))):
        new = step(xw_t, state)
        if mask is not None:
            keep = mask[t].unsqueeze(1)
            new = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
            outs[t] = new[0] * keep.to(new[0].dtype)
        else:
            outs[t] = new[0]
        state = new
    return torch.stack(outs), state


def walk_layers(module: RNNBase, x: Tensor, states: State, mask: Tensor | None,
                batch_first: bool = False) -> tuple[Tensor, State]:
    """All layers and directions over x (T, B, I) ((B, T, I) with batch_first): the last layer's output
    (T, B, directions * R) and the final states, each (layers * directions, B, size) in torch.nn's order
    (layer-major, forward before reverse)."""
    finals: list[State] = []
    layer_in = x
    for layer in range(module.num_layers):
        if layer > 0 and module.dropout > 0 and module.training:
            layer_in = F.dropout(layer_in, module.dropout, training=True)
        outs = []
        for direction in range(module.num_directions):
            idx = layer * module.num_directions + direction
            out, final = walk_direction(module, module.layer_weights(layer, direction), layer_in,
                                        tuple(s[idx] for s in states), mask, direction == 1, batch_first and not layer)
            outs.append(out)
            finals.append(final)
        layer_in = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)
    if len(finals) == 1:                        # one layer, one direction: a view, not a copy
        return layer_in, tuple(s.unsqueeze(0) for s in finals[0])
    return layer_in, tuple(torch.stack([f[i] for f in finals]) for i in range(len(states)))
