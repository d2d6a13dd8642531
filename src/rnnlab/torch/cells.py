"""One step of each recurrent cell in PyTorch (autograd does the backward pass).

Rows are sequences, ``(batch, features)``.  ``xw`` is the input part of the pre-activations,
``W_ih x_t + b_ih``, computed for all steps in one product before the time loop; ``hh`` is the
recurrent ``nn.Linear``.  Gate order is torch.nn's: LSTM i, f, g, o; GRU r, z, n.

``norm`` is layer norm in the cell: ``norm(a, first=0)`` normalises each gate block of ``a``,
which holds the blocks ``first, first + 1, ...`` of the G*H pre-activations, with those blocks'
gains and shifts (the GRU normalises r and z before n: n's pre-activation needs r).

The ``*_step(layer, xw, state)`` functions at the end are the same steps in the layers'
uniform form; the cell registry (``rnnlab/cells.py``) names them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from .layers import _RecurrentLayer

Norm = Callable[..., torch.Tensor] | None
State = tuple[torch.Tensor, ...]


def gate_layer_norm(a: torch.Tensor, gates: int, weight: torch.Tensor, bias: torch.Tensor,
                    eps: float = 1e-5) -> torch.Tensor:
    """Layer norm of each gate's block of the pre-activations (Ba et al. 2016), a: (batch, G*H):

        a[k] <- weight[k] * (a[k] - mean(a[k])) / sqrt(var(a[k]) + eps) + bias[k]   per block k
    """
    batch, size = a.shape
    blocks = nn.functional.layer_norm(a.view(batch, gates, size // gates), (size // gates,), eps=eps)
    return blocks.reshape(batch, size) * weight + bias


def rnn_cell(xw: torch.Tensor, h: torch.Tensor, hh: nn.Linear,
             nonlinearity: Callable[[torch.Tensor], torch.Tensor], norm: Norm = None) -> torch.Tensor:
    """Elman step:  h_t = sigma(W_ih x_t + b + W_hh h_{t-1})  (norm: of the sum, before sigma)."""
    a = xw + hh(h)
    return nonlinearity(a if norm is None else norm(a))


def lstm_cell(xw: torch.Tensor, h: torch.Tensor, c: torch.Tensor, hh: nn.Linear,
              proj: nn.Linear | None = None, norm: Norm = None) -> tuple[torch.Tensor, torch.Tensor]:
    """LSTM step (one fused product for the four gates):

        [a_i; a_f; a_g; a_o] = W_ih x_t + b + W_hh h_{t-1}
        i = sigma(a_i)   f = sigma(a_f)   g = tanh(a_g)   o = sigma(a_o)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)            (with a projection: h_t = W_hr (o * tanh(c_t)))

    norm: applied to [a_i; a_f; a_g; a_o] before the gates (layer norm in the cell).
    """
    a = xw + hh(h)
    i, f, g, o = (a if norm is None else norm(a)).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    if proj is not None:
        h = proj(h)
    return h, c


def gru_cell(xw: torch.Tensor, h: torch.Tensor, hh: nn.Linear, norm: Norm = None) -> torch.Tensor:
    """GRU step, as torch.nn.GRU (r multiplies W_hn h + b_hn):

        r = sigma(x_r + u_r)    z = sigma(x_z + u_z)     with [u_r; u_z; u_n] = W_hh h_{t-1} + b_hh
        n = tanh(x_n + r * u_n)
        h_t = (1 - z) * n + z * h_{t-1}

    norm: layer norm of each gate's pre-activation before its nonlinearity, the new state's being
    the reset sum a_n = x_n + r * u_n:
        r = sigma(LN_r(x_r + u_r))    z = sigma(LN_z(x_z + u_z))    n = tanh(LN_n(x_n + r * u_n))
    """
    u = hh(h)
    H = u.shape[1] // 3
    a_rz = xw[:, :2 * H] + u[:, :2 * H]
    r, z = torch.sigmoid(a_rz if norm is None else norm(a_rz, 0)).chunk(2, dim=1)
    a_n = xw[:, 2 * H:] + r * u[:, 2 * H:]
    n = torch.tanh(a_n if norm is None else norm(a_n, 2))
    return n + z * (h - n)


# the layers' uniform step: (layer, xw_t, state) -> the new state, a tuple in the order of the
# cell's states (h, or h and c); ``layer.cell_norm`` is the layer norm, None without it

def rnn_step(layer: _RecurrentLayer, xw: torch.Tensor, state: State) -> State:
    return (rnn_cell(xw, state[0], layer.hh, layer.nonlinearity, layer.cell_norm),)


def lstm_step(layer: _RecurrentLayer, xw: torch.Tensor, state: State) -> State:
    return lstm_cell(xw, state[0], state[1], layer.hh, layer.proj, layer.cell_norm)


def gru_step(layer: _RecurrentLayer, xw: torch.Tensor, state: State) -> State:
    return (gru_cell(xw, state[0], layer.hh, layer.cell_norm),)
