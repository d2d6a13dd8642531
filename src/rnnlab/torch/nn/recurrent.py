"""``RNN``, ``LSTM`` and ``GRU``: torch.nn's modules, computed by rnnlab's own cells (``walk.py``).

Same constructor, attributes, parameter names, state-dict layout, inputs and outputs as torch.nn
(time-major unless ``batch_first=True``; unbatched 2-D input; ``PackedSequence`` input, sorted or
not, giving packed output with the input's ``sorted_indices``; ``device=``/``dtype=``), plus
``layer_norm=True``: layer normalisation of each gate's pre-activation inside the cell.

    out, h_n = RNN(...)(x, h0)          out, h_n = GRU(...)(x, h0)       out, (h_n, c_n) = LSTM(...)(x, (h0, c0))
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from ...cells import get_cell
from .base import RNNBase
from .walk import walk_layers

EMPTY_SEQUENCE = "Expected sequence length to be larger than 0 in RNN"


def unpack(data: Tensor, batch_sizes: Tensor) -> tuple[Tensor, Tensor]:
    """A packed sequence's data as padded time-major (T, B, I) in sorted order, and its mask (T, B):

        x[t, :b_t] = data[offset_t : offset_t + b_t]      (b_t = batch_sizes[t], non-increasing)
    """
    sizes = batch_sizes.tolist()
    B = sizes[0]
    steps = [torch.nn.functional.pad(chunk, (0, 0, 0, B - len(chunk))) for chunk in data.split(sizes)]
    mask = torch.arange(B, device=data.device)[None, :] < batch_sizes.to(data.device)[:, None]
    return torch.stack(steps), mask


def repack(output: Tensor, batch_sizes: Tensor) -> Tensor:
    """The inverse of :func:`unpack`: the valid rows of each step, concatenated (packed data)."""
    return torch.cat([output[t, :b] for t, b in enumerate(batch_sizes.tolist())])


class _Recurrent(RNNBase):
    """The forward pass common to the three modules (torch.nn's handling of every input kind).  The states a
    module carries (h, or h and c) are the cell registry's ``states``."""

    _dims_noun = ""     # torch.nn.RNN's message on a wrong number of dimensions says "3D tensor", the others "3D"

    @property
    def _num_states(self) -> int:
        return len(get_cell(self.cell).states)

    def _zeros(self, batch: int, like: Tensor) -> tuple[Tensor, ...]:
        sizes = [self.proj_size or self.hidden_size] + [self.hidden_size] * (self._num_states - 1)
        S = self.num_layers * self.num_directions
        return tuple(torch.zeros(S, batch, size, dtype=like.dtype, device=like.device) for size in sizes)

    def _check_states(self, input: Tensor, states: tuple[Tensor, ...], batch_sizes: Tensor | None) -> None:
        self.check_input(input, batch_sizes)
        expected = self.get_expected_hidden_size(input, batch_sizes)
        if self._num_states == 1:
            self.check_hidden_size(states[0], expected)
            return
        self.check_hidden_size(states[0], expected, "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(states[1], expected[:2] + (self.hidden_size,), "Expected hidden[1] size {}, got {}")

    def _unbatched_states(self, hx: Tensor | tuple | None, batched: bool) -> tuple[Tensor, ...] | None:
        """hx as a tuple of 3-D states (torch.nn's dimension checks and messages)."""
        if hx is None:
            return None
        if self._num_states > 1:
            want = 3 if batched else 2
            if hx[0].dim() != want or hx[1].dim() != want:
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            return tuple(hx) if batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        if batched and hx.dim() != 3:
            raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
        if not batched and hx.dim() != 2:
            raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
        return (hx,) if batched else (hx.unsqueeze(1),)

    def _result(self, states: tuple[Tensor, ...]) -> Tensor | tuple[Tensor, ...]:
        return states if self._num_states > 1 else states[0]

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, Tensor] | None = None) -> tuple:
        """input: (T, B, I) ((B, T, I) with batch_first), (T, I) unbatched, or a PackedSequence;
        hx: h0 (layers * directions, B, R) (the LSTM: (h0, c0)), None for zeros.
        Returns (output, h_n) (the LSTM: (output, (h_n, c_n))), as torch.nn."""
        self._update_flat_weights()
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if input.dim() not in (2, 3):
            raise ValueError(f"{get_cell(self.cell).title}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D{self._dims_noun} instead")
        batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        x = input if batched else input.unsqueeze(batch_dim)
        states = self._unbatched_states(hx, batched)
        batch = x.size(0) if self.batch_first else x.size(1)
        if states is None:
            states = self._zeros(batch, x)
        self._check_states(x, states, None)
        if x.size(1 - batch_dim) == 0:
            raise RuntimeError(EMPTY_SEQUENCE)
        output, finals = walk_layers(self, x, states, None, self.batch_first)
        if self.batch_first:
            output = output.transpose(0, 1)      # a view, as torch.nn returns it
        if not batched:
            output, finals = output.squeeze(batch_dim), tuple(f.squeeze(1) for f in finals)
        return output, self._result(finals)

    def _forward_packed(self, packed: PackedSequence, hx: Tensor | tuple[Tensor, Tensor] | None) -> tuple:
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if hx is None:
            states = self._zeros(int(batch_sizes[0]), data)
        else:
            states = tuple(self.permute_hidden(s, sorted_indices) for s in (hx if self._num_states > 1 else (hx,)))
        self._check_states(data, states, batch_sizes)
        x, mask = unpack(data, batch_sizes)
        output, finals = walk_layers(self, x, states, mask)
        out = PackedSequence(repack(output, batch_sizes), batch_sizes, sorted_indices, unsorted_indices)
        return out, self._result(tuple(self.permute_hidden(f, unsorted_indices) for f in finals))


class RNN(_Recurrent):
    """Elman RNN, as torch.nn.RNN:  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)  (or relu).

    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device=None, dtype=None, layer_norm=False)
    """

    _dims_noun = " tensor"

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(modes[self.nonlinearity], *args, **kwargs)


class LSTM(_Recurrent):
    """LSTM, as torch.nn.LSTM (gates i, f, g, o; ``proj_size`` > 0: h_t = W_hr (o * tanh(c_t))).

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
         bidirectional=False, proj_size=0, device=None, dtype=None, layer_norm=False)
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes: Tensor | None) -> tuple[int, int, int]:
        return self.get_expected_hidden_size(input, batch_sizes)[:2] + (self.hidden_size,)

    def permute_hidden(self, hx: Tensor | tuple[Tensor, ...], permutation: Tensor | None) -> Tensor | tuple:
        if isinstance(hx, tuple):
            return tuple(super(LSTM, self).permute_hidden(s, permutation) for s in hx)
        return super().permute_hidden(hx, permutation)


class GRU(_Recurrent):
    """GRU, as torch.nn.GRU (gates r, z, n; r multiplies W_hn h + b_hn).

    GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, device=None, dtype=None, layer_norm=False)
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)
