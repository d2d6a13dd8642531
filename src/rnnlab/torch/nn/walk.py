"""The time loop of the drop-in modules: every layer and direction walks the sequence with our cells.

Time-major throughout: x (T, B, I), mask (T, B) (False at the padded steps of packed input, whose
state is carried unchanged and whose output is zero), states (layers * directions, B, size).
Per layer and direction, with the cells of ``rnnlab.torch.cells``::

    xw_t = W_ih x_t + b_ih (+ b_hh where it only adds: RNN, LSTM)     all steps in one product
    RNN:   h_t = sigma(xw_t + W_hh h_{t-1})
    LSTM:  [i; f; g; o] = xw_t + W_hh h_{t-1} ...  c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)  (W_hr h_t)
    GRU:   u = W_hh h_{t-1} + b_hh ...  h_t = (1 - z) n + z h_{t-1}

Between layers, dropout(p) on the outputs of all but the last layer when training (torch.nn's rule).
Without projection or layer norm, each layer and direction runs as one whole-sequence autograd node
(``fused.py``, ``fused_cells.py``; padded packed input: the LSTM only) unless a torch.func transform is
active; their backward falls back to recomputing with autograd for higher-order graphs.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor
from torch.nn import functional as F

from ..cells import gate_layer_norm, gru_cell, lstm_cell, rnn_cell
from ..fused import LSTMSequence
from ..fused_cells import GRUSequence, RNNSequence
from .base import RNNBase

State = tuple[Tensor, ...]

# the whole-sequence nodes; False makes every module take the step-by-step autograd graph (to time or check it)
FUSED = True


def functorch_active() -> bool:
    """Whether a torch.func transform (vmap, grad, jacrev, ...) is running: the fused node is then avoided."""
    return torch._C._functorch.peek_interpreter_stack() is not None


def _norm_of(w: dict, hidden: int) -> Callable[..., Tensor] | None:
    """Layer norm of the gate blocks ``first, first + 1, ...`` held by ``a`` (batch, k*H), or None."""
    if w["ln_weight"] is None:
        return None

    def norm(a: Tensor, first: int = 0) -> Tensor:
        rows = slice(first * hidden, first * hidden + a.shape[1])
        return gate_layer_norm(a, a.shape[1] // hidden, w["ln_weight"][rows], w["ln_bias"][rows])
    return norm


def _step_of(module: RNNBase, w: dict) -> Callable[[Tensor, State], State]:
    """One step (xw_t, state) -> new state of this layer and direction, from the shared cells."""
    norm = _norm_of(w, module.hidden_size)
    if module.cell == "gru":
        hh = partial(F.linear, weight=w["weight_hh"], bias=w["bias_hh"])
        return lambda xw, s: (gru_cell(xw, s[0], hh, norm),)
    hh = partial(F.linear, weight=w["weight_hh"])
    if module.cell == "lstm":
        proj = None if w["weight_hr"] is None else partial(F.linear, weight=w["weight_hr"])
        return lambda xw, s: lstm_cell(xw, s[0], s[1], hh, proj, norm)
    act = torch.relu if module.mode == "RNN_RELU" else torch.tanh
    return lambda xw, s: (rnn_cell(xw, s[0], hh, act, norm),)


def input_part(module: RNNBase, w: dict, x: Tensor) -> Tensor:
    """W_ih x_t + b_ih for all steps at once, plus b_hh where the cell only adds it (not the GRU)."""
    bias = w["bias_ih"]
    if bias is not None and module.cell != "gru":
        bias = bias + w["bias_hh"]
    return F.linear(x, w["weight_ih"], bias)


def _fused_ok(module: RNNBase, w: dict, x: Tensor, state: State, mask: Tensor | None) -> bool:
    """The whole-sequence nodes: no projection, no layer norm, no padding (but the LSTM's), first-order
    autograd on and no torch.func transform (those take the step-by-step graph)."""
    if not FUSED or w["weight_hr"] is not None or w["ln_weight"] is not None or \
            (mask is not None and module.cell != "lstm"):
        return False
    if not torch.is_grad_enabled() or functorch_active():
        return False
    weights = (w["weight_ih"], w["bias_ih"], w["weight_hh"], w["bias_hh"])
    return any(t.requires_grad for t in (x, *weights, *state) if t is not None)


def _fused_on_input(module: RNNBase, w: dict, x: Tensor, state: State, mask: Tensor | None,
                    reverse: bool) -> tuple[Tensor, State]:
    """The LSTM's and the RNN's nodes take x itself: the input product is written into the walk's buffer."""
    bias = w["bias_ih"]
    if bias is not None:
        bias = bias + w["bias_hh"]
    if module.cell == "lstm":
        all_h, h_n, c_n = LSTMSequence.apply(x, w["weight_ih"], bias, state[0], state[1], w["weight_hh"], mask,
                                             reverse)
        return all_h, (h_n, c_n)
    all_h, h_n = RNNSequence.apply(x, w["weight_ih"], bias, state[0], w["weight_hh"], module.mode == "RNN_RELU",
                                   reverse)
    return all_h, (h_n,)


def _walk_fused(module: RNNBase, w: dict, xw: Tensor, state: State, mask: Tensor | None,
                reverse: bool) -> tuple[Tensor, State]:
    all_h, h_n = GRUSequence.apply(xw, state[0], w["weight_hh"], w["bias_hh"], reverse)
    return all_h, (h_n,)


def walk_direction(module: RNNBase, w: dict, x: Tensor, state: State, mask: Tensor | None,
                   reverse: bool, batch_first: bool = False) -> tuple[Tensor, State]:
    """One layer and direction over x (T, B, I) ((B, T, I) with batch_first): its outputs (T, B, R) and its
    state after the walk.  The input product runs on x as given (its gradient keeps x's layout)."""
    fused = _fused_ok(module, w, x, state, mask)
    if fused and module.cell != "gru":
        return _fused_on_input(module, w, x.transpose(0, 1) if batch_first else x, state, mask, reverse)
    xw = input_part(module, w, x)
    if batch_first:
        xw = xw.transpose(0, 1)
    if fused:
        return _walk_fused(module, w, xw, state, mask, reverse)
    step = _step_of(module, w)
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
    return layer_in, tuple(torch.stack([f[i] for f in finals]) for i in range(len(states)))
