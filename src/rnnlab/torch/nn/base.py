"""The parameters, attributes and argument checks that RNN, LSTM and GRU share, as torch.nn.RNNBase has them.

Parameters per layer ``k`` and direction (suffix ``_reverse`` for the backward one), in torch.nn's
order and with its names, so that a torch.nn state dict loads as is::

    weight_ih_l{k}  (G*H, input)     weight_hh_l{k}  (G*H, R)      bias_ih_l{k}, bias_hh_l{k}  (G*H,)
    weight_hr_l{k}  (P, H)           LSTM with proj_size P > 0 (then R = P, else R = H)
    ln_weight_l{k}, ln_bias_l{k}  (G*H,)   only with layer_norm=True (torch.nn has no such option)

G is the cell's number of gates; every name and shape is the cell registry's declaration
(``CellDef.params``, rnnlab/cells.py).  Every weight starts uniform in
[-1/sqrt(H), 1/sqrt(H)] as torch.nn's; the layer-norm gains start at 1 and shifts at 0.
The checks and their messages are torch.nn's (torch 2.13), so code and tests written against
torch.nn see the same exception types and texts.
"""
from __future__ import annotations

import math
import numbers
import re
import warnings
import weakref

import torch
from torch import Tensor, nn
from torch.nn import Parameter, init

from ...cells import get_cell

_STEM = re.compile(r"^(.*)_l\d+(_reverse)?$")       # weight_hh_l1_reverse -> weight_hh
# torch.nn's mode -> (the cell registry's cell, h's nonlinearity)
MODES = {"RNN_TANH": ("rnn", "tanh"), "RNN_RELU": ("rnn", "relu"), "LSTM": ("lstm", "tanh"), "GRU": ("gru", "tanh")}


def _check_options(dropout: object, bias: object, batch_first: object, input_size: object,
                   hidden_size: object, num_layers: object, proj_size: int) -> None:
    """torch.nn.RNNBase's constructor checks, in its order and with its messages."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                         "element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                      f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                      stacklevel=4)
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNNBase(nn.Module):
    """Shared by :class:`RNN`, :class:`LSTM` and :class:`GRU` (see the module docstring)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, layer_norm: bool = False) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        _check_options(dropout, bias, batch_first, input_size, hidden_size, num_layers, proj_size)
        if not isinstance(layer_norm, bool):
            raise TypeError(f"layer_norm should be of type bool, got: {type(layer_norm).__name__}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size, self.layer_norm = bidirectional, proj_size, layer_norm
        self._flat_weight_refs: list = []
        factory = {"device": device, "dtype": dtype}
        cell = get_cell(MODES[mode][0])
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                names = []
                for param in cell.params_with(bias, layer_norm, proj_size):     # the registry's declarations
                    name = param.name(layer, direction)
                    shape = param.shape_for(layer_input, hidden_size, cell.num_gates, real_hidden)
                    if param.needs == "layer_norm":         # rnnlab's own: not among torch.nn's flat weights
                        self.register_parameter(name, Parameter(torch.empty(shape, **factory)))
                    else:
                        setattr(self, name, Parameter(torch.empty(shape, **factory)))
                        names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self._init_flat_weights()
        self.reset_parameters()

    @property
    def cell(self) -> str:
        """The cell registry's name of this module's cell: 'rnn', 'lstm' or 'gru'."""
        return MODES[self.mode][0]

    @property
    def nonlinearity_name(self) -> str:
        """h's nonlinearity, by torch.nn's mode: 'relu' for RNN_RELU, else 'tanh'."""
        return MODES[self.mode][1]

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _init_flat_weights(self) -> None:
        self._flat_weights = [getattr(self, n) if hasattr(self, n) else None for n in self._flat_weights_names]
        self._flat_weight_refs = [weakref.ref(w) if w is not None else None for w in self._flat_weights]
        self.flatten_parameters()

    def __setattr__(self, attr: str, value: object) -> None:
        if hasattr(self, "_flat_weights_names") and attr in self._flat_weights_names:
            self._flat_weights[self._flat_weights_names.index(attr)] = value
        super().__setattr__(attr, value)

    def flatten_parameters(self) -> None:
        """torch.nn packs the weights into one buffer for cuDNN; without cuDNN (here, always) a no-op."""

    def _apply(self, fn, recurse=True):
        self._flat_weight_refs = []
        result = super()._apply(fn, recurse)
        self._init_flat_weights()
        return result

    def reset_parameters(self) -> None:
        """Each parameter as the cell registry declares it (``Param.init``): torch.nn's uniform in
        [-1/sqrt(H), 1/sqrt(H)] for every weight and bias, layer-norm gains 1 and shifts 0 (a parameter the
        registry does not declare, as a subclass may add: uniform)."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        declared = {param.stem: param for param in get_cell(self.cell).params}
        for name, weight in self.named_parameters():
            stem = _STEM.match(name)
            param = declared.get(stem.group(1)) if stem else None
            if param is not None and param.fill is not None:
                init.constant_(weight, param.fill)
            else:
                low, high = param.uniform_range(self.hidden_size) if param is not None else (-stdv, stdv)
                init.uniform_(weight, low, high)

    def _weights_have_changed(self) -> bool:
        """Whether a weight was replaced since the last forward (torch.func.functional_call does that)."""
        for ref, name in zip(self._flat_weight_refs, self._flat_weights_names):
            weight = getattr(self, name) if hasattr(self, name) else None
            if weight is not None and ref is not None and ref() is not weight:
                return True
        return False

    def _update_flat_weights(self) -> None:
        if self._weights_have_changed():
            self._init_flat_weights()

    def __getstate__(self):
        self._update_flat_weights()
        state = self.__dict__.copy()
        del state["_flat_weight_refs"]
        return state

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        self._flat_weight_refs = [weakref.ref(w) if w is not None else None for w in self._flat_weights]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of every layer and direction: [[weight_ih_l0, weight_hh_l0, ...], ...]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def layer_weights(self, layer: int, direction: int) -> dict[str, Tensor | None]:
        """The cell's declared parameters of one layer and direction by stem (weight_ih, weight_hh, bias_ih, bias_hh,
        and weight_hr, ln_weight, ln_bias where the cell has them; None where absent), read through getattr so
        that torch.func.functional_call's weights are used."""
        return {param.stem: getattr(self, param.name(layer, direction), None) for param in get_cell(self.cell).params}

    def check_input(self, input: Tensor, batch_sizes: Tensor | None) -> None:
        """dtype equal to the weights', 2 dimensions if packed else 3, and input_size features."""
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype and not torch._C._is_any_autocast_enabled():
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                             f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Tensor | None) -> tuple[int, int, int]:
        if batch_sizes is not None:
            batch = int(batch_sizes[0])
        else:
            batch = input.size(0) if self.batch_first else input.size(1)
        return (self.num_layers * self.num_directions, batch, self.proj_size or self.hidden_size)

    def check_hidden_size(self, hx: Tensor, expected: tuple[int, int, int],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if hx.size() != expected:
            raise RuntimeError(msg.format(expected, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes: Tensor | None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Tensor, permutation: Tensor | None) -> Tensor:
        return hx if permutation is None else hx.index_select(1, permutation)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        if self.layer_norm:
            s += ", layer_norm=True"
        return s.format(**self.__dict__)
