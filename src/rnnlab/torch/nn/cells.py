"""``RNNCell``, ``LSTMCell`` and ``GRUCell``: one step, as torch.nn's cells, computed by rnnlab's cell steps.

Parameters ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih``, ``bias_hh`` (G*H,) with torch.nn's
names and initialisation (G: the cell registry's number of gates); input (B, I) or unbatched (I,); the
state None (zeros), (B, H) or (H,)::

    RNNCell:   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)   (or relu)
    LSTMCell:  (h', c') with [i; f; g; o] = W_ih x + b_ih + W_hh h + b_hh,  c' = f c + i g,  h' = o tanh(c')
    GRUCell:   h' = (1 - z) n + z h,   n = tanh(W_in x + b_in + r (W_hn h + b_hn))
"""
from __future__ import annotations

import math
from functools import partial

import torch
from torch import Tensor, nn
from torch.nn import Parameter, init
from torch.nn import functional as F

from ...cells import get_cell
from ..cells import gru_cell, lstm_cell, rnn_cell


class RNNCellBase(nn.Module):
    """The parameters and checks shared by the three cells (``num_chunks`` = the number of gates G)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(torch.empty((num_chunks * hidden_size, input_size), **factory))
        self.weight_hh = Parameter(torch.empty((num_chunks * hidden_size, hidden_size), **factory))
        if bias:
            self.bias_ih = Parameter(torch.empty(num_chunks * hidden_size, **factory))
            self.bias_hh = Parameter(torch.empty(num_chunks * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        """Every weight and bias uniform in [-1/sqrt(H), 1/sqrt(H)], as torch.nn's cells."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input: Tensor, hx: tuple[Tensor, ...] | None, states: int) -> tuple[Tensor, tuple, bool]:
        """input as (B, I), the states as (B, H) each (zeros for None), and whether input was batched."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for idx, value in enumerate(hx or ()):
            if value.dim() not in (1, 2):
                what = f"hx[{idx}]" if states > 1 else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {value.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            zeros = torch.zeros(x.size(0), self.hidden_size, dtype=x.dtype, device=x.device)
            hx = (zeros,) * states
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx)
        self._check_sizes(x, hx)
        return x, hx, batched

    def _check_sizes(self, x: Tensor, hx: tuple[Tensor, ...]) -> None:
        """torch's checks of a cell's input and states (ATen's messages)."""
        if x.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.size(1)} expected {self.input_size}")
        for idx, h in enumerate(hx):
            if h.dim() != 2 or x.size(0) != h.size(0):
                raise RuntimeError(f"Input batch size {x.size(0)} doesn't match hidden{idx} batch size {h.size(0)}")
            if h.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{idx} has inconsistent hidden_size: got {h.size(1)}, "
                                   f"expected {self.hidden_size}")

    def _input_part(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight_ih, self.bias_ih)

    def _hh(self):
        return partial(F.linear, weight=self.weight_hh, bias=self.bias_hh)


class RNNCell(RNNCellBase):
    """An Elman cell, as torch.nn.RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh', ...)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=get_cell("rnn").num_gates,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, None if hx is None else (hx,), 1)
        acts = {"tanh": torch.tanh, "relu": torch.relu}
        if self.nonlinearity not in acts:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        out = rnn_cell(self._input_part(x), h, self._hh(), acts[self.nonlinearity])
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """An LSTM cell, as torch.nn.LSTMCell(input_size, hidden_size, bias=True, ...); returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=get_cell("lstm").num_gates,
                         device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, (h, c), batched = self._prepare(input, None if hx is None else tuple(hx), 2)
        h, c = lstm_cell(self._input_part(x), h, c, self._hh())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """A GRU cell, as torch.nn.GRUCell(input_size, hidden_size, bias=True, ...)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=get_cell("gru").num_gates,
                         device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, None if hx is None else (hx,), 1)
        out = gru_cell(self._input_part(x), h, self._hh())
        return out if batched else out.squeeze(0)
