"""One step of each recurrent cell in PyTorch (autograd does the backward pass).

Rows are sequences, ``(batch, features)``.  ``xw`` is the input part of the pre-activations,
``W_ih x_t + b_ih``, computed for all steps in one product before the time loop; ``hh`` is the
recurrent part, a callable h -> W_hh h (+ b_hh): an ``nn.Linear``, a ``partial`` of ``F.linear``, or
for IndRNN's diagonal recurrence :class:`Diagonal` (u * h).  Gate order is torch.nn's: LSTM i, f, g, o;
GRU r, z, n.

``norm`` is layer norm in the cell: ``norm(a, first=0)`` normalises each gate block of ``a``,
which holds the blocks ``first, first + 1, ...`` of the G*H pre-activations, with those blocks'
gains and shifts (the GRU normalises r and z before n: n's pre-activation needs r).

The elementwise part of the LSTM's and the GRU's step (:func:`lstm_update`, :func:`gru_update`) is
written once here: the step functions call it with autograd recording, and the whole-sequence nodes'
ATen walk (``fused.py``, ``fused_cells.py``: the path when the compiled kernels are off) calls it with
``out=`` buffers, in place and without recording.

The ``*_step(layer, xw, state)`` functions at the end are the same steps in the layers' uniform form;
:data:`STEPS` is rnnlab.torch's table of them (``table.py`` adds the whole-sequence nodes).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import nn

Norm = Callable[..., torch.Tensor] | None
State = tuple[torch.Tensor, ...]
Unary = Callable[..., torch.Tensor]          # tanh(x, out=None)


class StepParts(Protocol):
    """What a uniform step reads of its layer (an rnnlab.torch layer, or the drop-in's namespace)."""
    hh: Callable[[torch.Tensor], torch.Tensor]
    proj: Callable[[torch.Tensor], torch.Tensor] | None
    nonlinearity: Callable[[torch.Tensor], torch.Tensor]
    cell_norm: Norm


class Diagonal(nn.Module):
    """The diagonal recurrence of IndRNN (Li et al. 2018): h -> u * h (+ b), u and b of shape (H,).

    ``weight`` is u (portable name ``weight_hh_l{k}``), ``bias`` the recurrent bias where kept apart."""

    def __init__(self, size: int, bias: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(size))
        self.bias = nn.Parameter(torch.empty(size)) if bias else None
        nn.init.uniform_(self.weight, 0.0, 1.0)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return diagonal(h, self.weight, self.bias)


def diagonal(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """u * h (+ b): IndRNN's recurrent part, one weight per unit."""
    return h * weight if bias is None else torch.addcmul(bias, h, weight)


def cayley(M: torch.Tensor) -> torch.Tensor:
    """W = (I + A)^-1 (I - A), A = M - M^T: orthogonal for every M (the orthogonal RNN; autograd differentiates
    the solve, the NumPy engine's ``recurrence.py`` writes the same chain rule by hand)."""
    A = M - M.t()
    eye = torch.eye(M.shape[0], dtype=M.dtype, device=M.device)
    return torch.linalg.solve(eye + A, eye - A)


class Cayley(nn.Module):
    """The orthogonal RNN's recurrent part: h -> W h with W = :func:`cayley` (M), M (H, H) the parameter
    ``weight`` (portable name ``weight_hh_l{k}``); :meth:`matrix` is W, what the whole-sequence node reads."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(size, size))
        self.register_parameter("bias", None)
        bound = 1.0 / size ** 0.5
        nn.init.uniform_(self.weight, -bound, bound)

    def matrix(self) -> torch.Tensor:
        return cayley(self.weight)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return cayley_product(h, self.weight)


def cayley_product(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """W h (+ b) with W = :func:`cayley` (weight)."""
    return torch.nn.functional.linear(h, cayley(weight), bias)


class NoRecurrence(nn.Module):
    """The recurrent part of a linear recurrence (minGRU): none.  Its a_t and b_t come from x_t alone; the
    layer's ``portable_parameters`` find no ``weight_hh`` or ``bias_hh`` here (both None)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)


def gate_layer_norm(a: torch.Tensor, gates: int, weight: torch.Tensor, bias: torch.Tensor,
                    eps: float = 1e-5) -> torch.Tensor:
    """Layer norm of each gate's block of the pre-activations (Ba et al. 2016), a: (batch, G*H):

        a[k] <- weight[k] * (a[k] - mean(a[k])) / sqrt(var(a[k]) + eps) + bias[k]   per block k
    """
    batch, size = a.shape
    blocks = nn.functional.layer_norm(a.view(batch, gates, size // gates), (size // gates,), eps=eps)
    return blocks.reshape(batch, size) * weight + bias


def rnn_cell(xw: torch.Tensor, h: torch.Tensor, hh: Callable[[torch.Tensor], torch.Tensor],
             nonlinearity: Callable[[torch.Tensor], torch.Tensor], norm: Norm = None) -> torch.Tensor:
    """Elman step:  h_t = sigma(W_ih x_t + b + W_hh h_{t-1})  (norm: of the sum, before sigma).

    With ``hh`` = :class:`Diagonal` it is IndRNN's step:  h_t = sigma(W_ih x_t + b + u * h_{t-1})."""
    a = xw + hh(h)
    return nonlinearity(a if norm is None else norm(a))


def lstm_update(a: torch.Tensor, c_prev: torch.Tensor, out: tuple[torch.Tensor, ...] | None = None,
                tanh: Unary = torch.tanh) -> tuple[torch.Tensor, ...]:
    """The LSTM's elementwise step on its pre-activations a = [a_i; a_f; a_g; a_o] (batch, 4H):

        i = sigma(a_i)   f = sigma(a_f)   g = tanh(a_g)   o = sigma(a_o)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    Returns (i, f, g, o, c_t, tanh(c_t), h_t).  ``out``: None (new tensors; autograd records them) or
    the buffers (acts (batch, 4H), c, tanh_c, h) written in place (acts may be ``a`` itself); ``tanh``:
    any ``tanh(x, out=None)`` (the ATen walk passes a faster one).
    """
    acts, c, tanh_c, h = (None,) * 4 if out is None else out
    a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
    o_i, o_f, o_g, o_o = (None,) * 4 if acts is None else acts.chunk(4, dim=1)
    i, f = torch.sigmoid(a_i, out=o_i), torch.sigmoid(a_f, out=o_f)
    g, o = tanh(a_g, out=o_g), torch.sigmoid(a_o, out=o_o)
    c = torch.add(torch.mul(f, c_prev, out=c), i * g, out=c)
    tanh_c = tanh(c, out=tanh_c)
    return i, f, g, o, c, tanh_c, torch.mul(o, tanh_c, out=h)


def lstm_cell(xw: torch.Tensor, h: torch.Tensor, c: torch.Tensor, hh: Callable[[torch.Tensor], torch.Tensor],
              proj: Callable[[torch.Tensor], torch.Tensor] | None = None,
              norm: Norm = None) -> tuple[torch.Tensor, torch.Tensor]:
    """LSTM step (one fused product for the four gates):

        [a_i; a_f; a_g; a_o] = W_ih x_t + b + W_hh h_{t-1}
        then :func:`lstm_update`  (with a projection: h_t = W_hr (o * tanh(c_t)))

    norm: applied to [a_i; a_f; a_g; a_o] before the gates (layer norm in the cell).
    """
    a = xw + hh(h)
    *_, c, _, h = lstm_update(a if norm is None else norm(a), c)
    if proj is not None:
        h = proj(h)
    return h, c


def gru_update(xw: torch.Tensor, u: torch.Tensor, h_prev: torch.Tensor, norm: Norm = None,
               out: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, ...]:
    """The GRU's elementwise step, as torch.nn.GRU, from xw = [x_r; x_z; x_n] = W_ih x_t + b_ih and
    u = [u_r; u_z; u_n] = W_hh h_{t-1} + b_hh (batch, 3H) each:

        r = sigma(x_r + u_r)    z = sigma(x_z + u_z)    n = tanh(x_n + r * u_n)
        h_t = (1 - z) * n + z * h_{t-1}  =  n + z * (h_{t-1} - n)

    norm: layer norm of each gate's pre-activation before its nonlinearity, the new state's being
    the reset sum a_n = x_n + r * u_n:
        r = sigma(LN_r(x_r + u_r))    z = sigma(LN_z(x_z + u_z))    n = tanh(LN_n(x_n + r * u_n))

    Returns (r, z, n, h_t); ``out``: None, or buffers (acts (batch, 3H) for r, z, n; h) written in place.
    """
    acts, h = (None, None) if out is None else out
    H = u.shape[1] // 3
    rz, n_out = (None, None) if acts is None else (acts[:, :2 * H], acts[:, 2 * H:])
    a_rz = torch.add(xw[:, :2 * H], u[:, :2 * H], out=rz)
    r, z = torch.sigmoid(a_rz if norm is None else norm(a_rz, 0), out=rz).chunk(2, dim=1)
    a_n = torch.add(xw[:, 2 * H:], r * u[:, 2 * H:], out=n_out)
    n = torch.tanh(a_n if norm is None else norm(a_n, 2), out=n_out)
    return r, z, n, torch.add(n, z * (h_prev - n), out=h)


def gru_cell(xw: torch.Tensor, h: torch.Tensor, hh: Callable[[torch.Tensor], torch.Tensor],
             norm: Norm = None) -> torch.Tensor:
    """GRU step, as torch.nn.GRU (r multiplies W_hn h + b_hn): u = W_hh h_{t-1} + b_hh, then
    :func:`gru_update`."""
    return gru_update(xw, hh(h), h, norm)[3]


# the layers' uniform step: (layer, xw_t, state) -> the new state, a tuple in the order of the
# cell's states (h, or h and c); ``layer.cell_norm`` is the layer norm, None without it

def rnn_step(layer: StepParts, xw: torch.Tensor, state: State) -> State:
    return (rnn_cell(xw, state[0], layer.hh, layer.nonlinearity, layer.cell_norm),)


def lstm_step(layer: StepParts, xw: torch.Tensor, state: State) -> State:
    return lstm_cell(xw, state[0], state[1], layer.hh, layer.proj, layer.cell_norm)


def gru_step(layer: StepParts, xw: torch.Tensor, state: State) -> State:
    return (gru_cell(xw, state[0], layer.hh, layer.cell_norm),)


def indrnn_step(layer: StepParts, xw: torch.Tensor, state: State) -> State:
    """IndRNN (Li et al. 2018): h_t = sigma(W_ih x_t + b + u * h_{t-1}), the Elman step with the layer's
    diagonal recurrent part (``layer.hh``: :class:`Diagonal`, built from the registry's declaration of u)."""
    return rnn_step(layer, xw, state)


def linear_recurrence(a: torch.Tensor, b: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One step of a linear recurrence: h_t = a_t * h_{t-1} + b_t."""
    return torch.addcmul(b, a, h)


def mingru_coefficients(xw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """minGRU (Feng et al. 2024): [a_z ; h~] = W_ih x_t + b_ih (..., 2H),  z = sigma(a_z);
    returns a_t = 1 - z and b_t = z * h~ of h_t = a_t * h_{t-1} + b_t."""
    a_z, h_tilde = xw.chunk(2, dim=-1)
    z = torch.sigmoid(a_z)
    return 1 - z, z * h_tilde


def minlstm_coefficients(xw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """minLSTM (Feng et al. 2024): [a_f ; a_i ; h~] = W_ih x_t + b_ih (..., 3H),  f = sigma(a_f),  i = sigma(a_i);
    returns the normalised gates a_t = f / (f + i) and b_t = i / (f + i) * h~."""
    a_f, a_i, h_tilde = xw.chunk(3, dim=-1)
    f, i = torch.sigmoid(a_f), torch.sigmoid(a_i)
    s = f + i
    return f / s, i / s * h_tilde


def mingru_step(layer: StepParts, xw: torch.Tensor, state: State) -> State:
    """minGRU: h_t = (1 - z) * h_{t-1} + z * h~ (:func:`mingru_coefficients`; no W_hh)."""
    return (linear_recurrence(*mingru_coefficients(xw), state[0]),)


def minlstm_step(layer: StepParts, xw: torch.Tensor, state: State) -> State:
    """minLSTM: h_t = f / (f + i) * h_{t-1} + i / (f + i) * h~ (:func:`minlstm_coefficients`; no W_hh)."""
    return (linear_recurrence(*minlstm_coefficients(xw), state[0]),)


def lru_update(lam: torch.Tensor, gamma: torch.Tensor, uw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The LRU's step on its complex state: h_t = lambda * h_{t-1} + gamma * (u_re + i u_im), uw = [u_re; u_im]."""
    u_re, u_im = uw.chunk(2, dim=-1)
    return lam * h + gamma * torch.complex(u_re, u_im)


def lru_step(layer: StepParts, xw: torch.Tensor, state: State) -> State:
    """LRU (Orvieto et al. 2023): :func:`lru_update` with the layer's lambda and gamma (``layer.recurrence()``).
    Its layer (``layers.LRULayer``) walks whole sequences itself (``lru.py``) and reads y = Re(C h) + D x."""
    lam, gamma = layer.recurrence()
    return (lru_update(lam, gamma, xw, state[0]),)


# the linear recurrences' coefficients: cell -> xw (..., G*H) -> (a_t, b_t); their whole-sequence node is the
# scan of ``linear.py`` (``table.py``)
COEFFICIENTS: dict[str, Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]] = {
    "mingru": mingru_coefficients, "minlstm": minlstm_coefficients}


# rnnlab.torch's steps: cell -> its uniform step.  A new cell of the registry that names "scratch" among its
# engines needs its step here and nothing else in rnnlab.torch: its layer, stack, conversion and parameter
# shapes follow from the registry (``table.py``, ``layers.py``, ``stacks.py``, ``convert.py``).
STEPS: dict[str, Callable[..., State]] = {"rnn": rnn_step, "lstm": lstm_step, "gru": gru_step, "indrnn": indrnn_step,
                                         "orthogonal": rnn_step,
                                         "mingru": mingru_step, "minlstm": minlstm_step, "lru": lru_step}
