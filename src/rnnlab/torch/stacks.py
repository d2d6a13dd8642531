"""Multi-layer, optionally bidirectional stacks of our layers, with torch.nn's options.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=True,
        dropout=0.0, bidirectional=False, layer_norm=False)
    LSTM(..., proj_size=0, layer_norm=False)      GRU(..., layer_norm=False)

``layer_norm=True`` normalises each gate's pre-activation inside the cell; torch.nn has no such
cell, so these stacks have no torch.nn twin (their weights still carry torch.nn's names, plus
``ln_weight_l{k}`` / ``ln_bias_l{k}``).  The cells' facts (states, nonlinearities) come from the
cell registry, ``rnnlab/cells.py``.

``forward(x, hx=None, lengths=None)`` returns ``(output, h_n)`` — ``(output, (h_n, c_n))`` for
the LSTM — like torch.nn: output (batch, seq_len, dirs*H) (time-major when batch_first=False),
h_n (num_layers*dirs, batch, H).  The gradient-flow notebook calls these ``(last_layer_h, last_step_h)``.
Unlike torch.nn, batch-first is the default (the gradient-flow notebook's tests need it).

Variable lengths: a ``PackedSequence`` (the output is packed too), or a padded tensor with
``lengths``; padded steps carry the state unchanged and output zeros.

Bad arguments (a string for a flag, a float64 ``x`` for a float32 stack, zero time steps, h0 of the
wrong shape) are refused up front with one line and torch.nn's exception type (``checks.py``).
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..cells import CellDef, get_cell
from .cells import STEPS
from .checks import (
    check_dropout,
    check_flag,
    check_lengths,
    check_proj_size,
    check_sequence,
    check_size,
    check_state,
    split_states,
)
from .layers import LAYERS, GRULayer, LSTMLayer, RNNLayer, resolve_nonlinearity


class _Stack(nn.Module):
    cell = ""       # the registry's name of the cell
    proj_size = 0   # the size h is projected to (0: none); set by the stacks whose cell has a projection

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 layer_norm: bool = False) -> None:
        super().__init__()
        # in torch.nn's order; the flags must be real bools (bool("False") is True)
        self.dropout = check_dropout(dropout)
        self.bias, self.batch_first = check_flag("bias", bias), check_flag("batch_first", batch_first)
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.num_layers = check_size("num_layers", num_layers, numpy_ints=True)
        self.bidirectional = bidirectional = check_flag("bidirectional", bidirectional, loose=True)
        self.layer_norm = check_flag("layer_norm", layer_norm)
        self.num_directions = 2 if bidirectional else 1
        self.layers = nn.ModuleList()
        self.reverse_layers = nn.ModuleList() if bidirectional else None
        for k in range(self.num_layers):
            size = input_size if k == 0 else self.output_size * self.num_directions
            self.layers.append(self._make_layer(size))
            if bidirectional:
                self.reverse_layers.append(self._make_layer(size))

    @property
    def cell_def(self) -> CellDef:
        return get_cell(self.cell)

    @property
    def output_size(self) -> int:
        """Size of each direction's output: hidden_size (proj_size for a projected LSTM)."""
        return self.proj_size or self.hidden_size

    def _state_shapes(self, batch: int) -> list[tuple[int, ...]]:
        """h has output_size features, any further state (the LSTM's c) hidden_size."""
        S, more = self.num_layers * self.num_directions, len(self.cell_def.states) - 1
        return [(S, batch, self.output_size)] + [(S, batch, self.hidden_size)] * more

    def _check_state(self, hx, batch: int) -> tuple[torch.Tensor, ...] | None:
        if hx is None:
            return None
        names = tuple(f"{name}0" for name in self.cell_def.states)
        states = split_states(hx, names, self.cell_def.full_name)
        weight = self.layers[0].ih.weight
        for name, s, shape in zip(names, states, self._state_shapes(batch)):
            check_state(name, s, shape, weight, "(num_layers * num_directions, batch, state size)")
        return states

    def _check_input(self, x: object, lengths: object) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        """x as a batch-first tensor, the lengths (None: all full) and whether x was packed."""
        weight = self.layers[0].ih.weight
        packed = isinstance(x, PackedSequence)
        if packed:
            if lengths is not None:
                raise TypeError("lengths: a PackedSequence carries its own lengths; pass the PackedSequence "
                                "alone, or a padded tensor with lengths")
            x, lengths = pad_packed_sequence(x, batch_first=True)
            check_sequence(x, weight, self.input_size, packed_ok=True)
        else:
            check_sequence(x, weight, self.input_size, self.batch_first, packed_ok=True)
            if not self.batch_first:
                x = x.transpose(0, 1)
        if lengths is not None:
            lengths = check_lengths(lengths, x.shape[0], x.shape[1], x.device)
        return x, lengths, packed

    def forward(self, x: torch.Tensor | PackedSequence, hx: torch.Tensor | tuple[torch.Tensor, ...] | None = None,
                lengths: torch.Tensor | list[int] | None = None
                ) -> tuple[torch.Tensor | PackedSequence, torch.Tensor | tuple[torch.Tensor, ...]]:
        x, lengths, packed = self._check_input(x, lengths)
        B, T, _ = x.shape
        mask = None
        if lengths is not None and B and int(lengths.min()) < T:
            mask = torch.arange(T, device=x.device)[None, :] < lengths[:, None]
        states = self._check_state(hx, B)
        finals: list[tuple[torch.Tensor, ...]] = []
        layer_in, skip = x, None        # skip: o_{k-1} of a residual block (``residual_block``)
        for k in range(self.num_layers):
            if k > 0 and self.dropout > 0 and self.training:
                layer_in = nn.functional.dropout(layer_in, self.dropout, training=True)
            outs = []
            for d, layer in enumerate(self._directions(k)):
                idx = k * self.num_directions + d
                init = None if states is None else tuple(s[idx] for s in states)
                if init is not None and len(init) == 1:
                    init = init[0]
                out, _ = layer(layer_in, init, mask, reverse=(d == 1))
                outs.append(out)
                finals.append(layer.final_state)
            layer_in = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)
            if self.cell_def.block == "residual":
                skip, layer_in = residual_block(layer_in, skip, k == self.num_layers - 1)
        output = layer_in
        if packed:
            output = pack_padded_sequence(output, lengths.cpu(), batch_first=True, enforce_sorted=False)
        elif not self.batch_first:
            output = output.transpose(0, 1)
        # h_n, or (h_n, c_n): each state of every layer and direction after its walk
        last = tuple(torch.stack([f[i] for f in finals]) for i in range(len(finals[0])))
        return output, (last[0] if len(last) == 1 else last)

    def _directions(self, k: int):
        return [self.layers[k]] if self.reverse_layers is None else [self.layers[k], self.reverse_layers[k]]

    def record_states(self, on: bool = True) -> _Stack:
        """Keep every layer's per-step states in ``layer.h_list`` (for dL/dh_t analysis).

        Off by default for the LSTM stack, whose layers then run the faster fused path."""
        on = check_flag("on", on)
        for _, _, layer in self.all_layers():
            layer.record_states = on
        return self

    def all_layers(self) -> Iterator[tuple[int, int, nn.Module]]:
        """(layer index, direction, layer module) for every layer and direction."""
        for k in range(self.num_layers):
            for d, layer in enumerate(self._directions(k)):
                yield k, d, layer


    @torch.no_grad()
    def clip_to_bounds_(self) -> _Stack:
        """Clip every parameter the cell registry bounds (IndRNN's |u| <= 1) to its bound, in place; a trainer
        calls this after each optimizer step.  Nothing to do for cells without bounded parameters."""
        for _, _, layer in self.all_layers():
            layer.clip_to_bounds_()
        return self


def residual_block(r: torch.Tensor, skip: torch.Tensor | None, last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Between the layers of a linear recurrence (the registry's ``block="residual"``; the NumPy twin and the
    papers' form are in ``rnnlab/numpy/block.py``): layer k's outputs r_k -> (o_k, what the next layer reads)::

        o_0 = phi(r_0),   o_k = o_{k-1} + phi(r_k)    (skip = o_{k-1}),   next input LN(o_k); after the last: o_k
        phi = GELU (approximate="tanh"),   LN over the features, eps 1e-5, no gain or shift
    """
    o = F.gelu(r, approximate="tanh")
    if skip is not None:
        o = skip + o
    return o, (o if last else F.layer_norm(o, (o.shape[-1],), eps=1e-5))


def _nonlinearity(cell: CellDef, value: object) -> str:
    """One of the cell's nonlinearities (the registry's ``nonlinearities``)."""
    if not isinstance(value, str) or value not in cell.nonlinearities:
        raise ValueError(f"nonlinearity: unknown value {value!r}; expected one of "
                         f"{', '.join(map(repr, cell.nonlinearities))}")
    return value


class RNN(_Stack):
    """Stack of :class:`RNNLayer` (tanh or relu)."""
    cell = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = True, dropout: float = 0.0,
                 bidirectional: bool = False, layer_norm: bool = False) -> None:
        self.nonlinearity = _nonlinearity(self.cell_def, nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         layer_norm)

    def _make_layer(self, input_size: int) -> RNNLayer:
        return RNNLayer(input_size, self.hidden_size, resolve_nonlinearity(self.nonlinearity), bias=self.bias,
                        layer_norm=self.layer_norm)


class LSTM(_Stack):
    """Stack of :class:`LSTMLayer`; ``proj_size`` > 0 projects h to that size, as torch.nn.LSTM."""
    cell = "lstm"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, layer_norm: bool = False) -> None:
        self.proj_size = check_proj_size(proj_size, check_size("hidden_size", hidden_size))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         layer_norm)

    def _make_layer(self, input_size: int) -> LSTMLayer:
        layer = LSTMLayer(input_size, self.hidden_size, bias=self.bias, proj_size=self.proj_size,
                          layer_norm=self.layer_norm)
        layer.record_states = False      # the fused whole-sequence path; see record_states()
        return layer


class GRU(_Stack):
    """Stack of :class:`GRULayer`."""
    cell = "gru"

    def _make_layer(self, input_size: int) -> GRULayer:
        return GRULayer(input_size, self.hidden_size, bias=self.bias, layer_norm=self.layer_norm)


class _RegistryStack(_Stack):
    """The stack of a cell that has no hand-written class here, made from the cell registry by
    :func:`stack_class`: layers of ``layers.LAYERS[cell]``, h's nonlinearity one of the registry's choices
    (``None``: the cell's default), a projection where the registry gives the cell one."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str | None = None,
                 bias: bool = True, batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False,
                 layer_norm: bool = False, proj_size: int = 0) -> None:
        spec = self.cell_def
        self.nonlinearity = _nonlinearity(spec, spec.default_nonlinearity if nonlinearity is None else nonlinearity)
        self.proj_size = check_proj_size(proj_size, check_size("hidden_size", hidden_size))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         layer_norm)

    def _make_layer(self, input_size: int) -> nn.Module:
        layer = LAYERS[self.cell](input_size, self.hidden_size, self.nonlinearity, bias=self.bias,
                                  layer_norm=self.layer_norm, proj_size=self.proj_size)
        if layer._sequence is not None:      # a whole-sequence node where the cell has one
            layer.record_states = False
        return layer


def stack_class(cell: str) -> type[_Stack]:
    """A stack class for ``cell`` made from the registry, named by the cell's title (``IndRNN``)."""
    spec = get_cell(cell)
    doc = (f"Stack of :class:`{LAYERS[cell].__name__}`: the {spec.full_name} ({spec.paper or 'see rnnlab/cells.py'}), "
           f"with torch.nn's options; weights under torch.nn-style names as the registry declares them.\n\n"
           f"    {spec.title}(input_size, hidden_size, num_layers=1, nonlinearity={spec.default_nonlinearity!r}, "
           f"bias=True, batch_first=True, dropout=0.0, bidirectional=False)")
    return type(spec.title, (_RegistryStack,), {"cell": cell, "__doc__": doc, "__module__": __name__})


# cell name -> its stack class: the hand-written ones, and one made from the registry for every other cell
# rnnlab.torch implements (``cells.STEPS``): IndRNN
_WRITTEN = {stack.cell: stack for stack in (RNN, LSTM, GRU)}
STACKS: dict[str, type[_Stack]] = {name: _WRITTEN.get(name) or stack_class(name) for name in STEPS}
_MADE = {cls.__name__: cls for name, cls in STACKS.items() if name not in _WRITTEN}


def __getattr__(name: str) -> type[_Stack]:
    """The stack classes made from the registry, by name (``IndRNN``; pickling finds them here)."""
    if name in _MADE:
        return _MADE[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
