"""Single recurrent layers written from ``nn.Linear`` pieces (the gradient-flow notebook's ``RNNLayer`` and kin).

Every layer reads ``x`` of shape ``(batch, seq_len, input_size)`` and returns
``(all_h, last_h)`` of shapes ``(batch, seq_len, hidden)`` and ``(batch, hidden)``.  With
gradients on, the per-step states are kept in ``h_list`` with ``retain_grad()`` so that
``torch.autograd.grad(loss, layer.h_list)`` gives dL/dh_t for every step.

The input part of every step, ``W_ih x_t + b``, is one product before the loop; the loop walks
``xw.unbind(1)`` (indexing ``xw[:, t]`` would make autograd build a full-size zero tensor per
step in the backward pass).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..cells import get_cell
from ..draws import first_values
from ..rules import check_options
from .cells import STEPS, gate_layer_norm
from .checks import check_flag, check_mask, check_proj_size, check_sequence, check_size, check_state, split_states
from .lru import eigenvalues, lru_sequence
from .table import NodeWeights, implementation, recurrent_module


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


Activation = Callable[[torch.Tensor], torch.Tensor]
# an initial state: h0 (batch, R), (h0, c0) for the LSTM, or None for zeros
StateArg = torch.Tensor | tuple[torch.Tensor, ...] | None

NONLINEARITIES: dict[str, Activation] = {
    "tanh": torch.tanh, "relu": torch.relu, "identity": _identity}


def resolve_nonlinearity(nonlinearity: str | Activation) -> Activation:
    """A callable as is, or one of the names 'tanh', 'relu', 'identity'."""
    if isinstance(nonlinearity, str):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity: unknown name {nonlinearity!r}; expected one of "
                             f"{', '.join(map(repr, NONLINEARITIES))} or a callable")
        return NONLINEARITIES[nonlinearity]
    if not callable(nonlinearity):
        raise ValueError(f"nonlinearity: expected a name or a callable, got {nonlinearity!r}")
    return nonlinearity


class _RecurrentLayer(nn.Module):
    """The time loop shared by the layers, and their weights, shaped as the cell registry declares them:

        ih: nn.Linear(input_size, G*H)   W_ih and one bias per gate (b = b_ih + b_hh where the two
                                         only add; the cells that keep b_hh apart have it in hh)
        hh: nn.Linear(R, G*H)            W_hh (R = size of h), with b_hh only where it stays apart;
                                         for a diagonal recurrence (IndRNN) ``Diagonal(H)``: u (H,)
        proj: nn.Linear(H, P)            the projection h = W_hr h, for cells that have one
        ln_weight, ln_bias: (G*H,)       layer norm in the cell: gains (ones) and shifts (zeros)

    Subclasses name their ``cell``; its step and its whole-sequence node (``table.py``) are looked up once.
    """

    cell = ""   # the registry's name of the cell

    # keep per-step states in h_list (the gradient-flow notebook's gradient analysis); layers whose cell has a
    # whole-sequence node use it when this is False
    record_states = True

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, layer_norm: bool = False,
                 proj_size: int = 0) -> None:
        super().__init__()
        spec = get_cell(self.cell)
        bias, layer_norm = check_flag("bias", bias), check_flag("layer_norm", layer_norm)
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        proj_size = check_proj_size(proj_size, hidden_size)
        check_options(self.cell, "scratch", {"proj_size": proj_size, "layer_norm": layer_norm})
        impl = implementation(self.cell)
        self.proj_size = proj_size
        G, H, R = spec.num_gates, hidden_size, self.output_size

        def shape(stem: str) -> tuple[int, ...]:
            return spec.param(stem).shape_for(input_size, H, G, R)
        rows, cols = shape("weight_ih")
        self.ih = nn.Linear(cols, rows, bias=bias)
        self.hh = recurrent_module(spec, shape, bias and spec.separate_hh_bias)
        self.proj = nn.Linear(H, shape("weight_hr")[0], bias=False) if proj_size else None
        if layer_norm:
            self.ln_weight = nn.Parameter(torch.ones(shape("ln_weight")))
            self.ln_bias = nn.Parameter(torch.zeros(shape("ln_bias")))
        self._step, self._sequence = impl.step, impl.sequence
        self._num_states = len(spec.states)
        self._state_names, self._title = tuple(f"{name}0" for name in spec.states), spec.full_name
        self._default_nonlinearity = spec.default_nonlinearity
        self.h_list: list[torch.Tensor] = []

    @property
    def output_size(self) -> int:
        """Size of h: proj_size for a projected LSTM, else hidden_size."""
        return self.proj_size or self.hidden_size

    def _state_sizes(self) -> tuple[int, ...]:
        """h has output_size features, any further state (the LSTM's c) hidden_size."""
        return (self.output_size,) + (self.hidden_size,) * (self._num_states - 1)

    def _check_input(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """x: (batch, seq_len, input_size) of the weights' dtype and device, seq_len >= 1."""
        check_sequence(x, self.ih.weight, self.input_size)
        if mask is not None:
            check_mask(mask, x.shape[0], x.shape[1])

    def _initial_state(self, x: torch.Tensor, state) -> tuple[torch.Tensor, ...]:
        batch = x.shape[0]
        if state is None:
            return tuple(x.new_zeros(batch, size) for size in self._state_sizes())
        state = split_states(state, self._state_names, self._title)
        for name, s, size in zip(self._state_names, state, self._state_sizes()):
            check_state(name, s, (batch, size), self.ih.weight, "(batch, state size)")
        return state

    def forward(self, x: torch.Tensor, state: StateArg = None, mask: torch.Tensor | None = None,
                reverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (batch, seq_len, input_size); state: h0 (batch, H), or (h0, c0) for the LSTM;
        mask: (batch, seq_len) bool, False at padded steps (their state is carried unchanged and
        their output is zero); reverse: walk the sequence from the end.

        Returns all_h (batch, seq_len, H) and last_h (batch, H), the state after the walk.
        """
        self._check_input(x, mask)
        state = self._initial_state(x, state)
        node = self._whole_sequence(mask)
        if node is not None:
            return self._forward_node(node, x, state, mask, reverse)
        T = x.shape[1]
        xw = self.ih(x).unbind(1)
        step = self._step
        per_step: list[tuple[torch.Tensor, ...]] = [()] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            new = step(self, xw[t], state)
            if mask is not None:
                keep = mask[:, t:t + 1]
                new = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
            state = new
            per_step[t] = state
        hidden_states = [s[0] for s in per_step]
        self.store_hidden_states_for_grad(hidden_states)
        self._store_other_states(per_step)
        self.final_state = state
        all_h = torch.stack(hidden_states, dim=1)
        if mask is not None:
            all_h = all_h * mask.unsqueeze(2).to(all_h.dtype)
        return all_h, state[0]

    def portable_parameters(self) -> dict[str, torch.Tensor | None]:
        """This layer's parameters under the registry's stems (``weight_ih``, ``weight_hh``, ``bias_ih``,
        ``bias_hh``, ``weight_hr``, ``ln_weight``, ``ln_bias``), the tensors themselves; None where absent
        (``bias_hh`` where it is merged into ``bias_ih``)."""
        return {"weight_ih": self.ih.weight, "weight_hh": self.hh.weight, "bias_ih": self.ih.bias,
                "bias_hh": self.hh.bias, "weight_hr": None if self.proj is None else self.proj.weight,
                "ln_weight": getattr(self, "ln_weight", None), "ln_bias": getattr(self, "ln_bias", None)}

    @torch.no_grad()
    def clip_to_bounds_(self) -> None:
        """Clip every parameter the registry bounds (IndRNN's |u| <= 1) to [-bound, bound], in place."""
        tensors = self.portable_parameters()
        for param in get_cell(self.cell).params:
            if param.bound is not None and tensors.get(param.stem) is not None:
                tensors[param.stem].clamp_(-param.bound, param.bound)

    def nonlinearity_name(self) -> str | None:
        """The name of h's nonlinearity ('tanh', 'relu', 'identity'; None for a callable of the user's own)."""
        act = getattr(self, "nonlinearity", None)
        if act is None:
            return self._default_nonlinearity
        return next((name for name, f in NONLINEARITIES.items() if f is act), None)

    def _whole_sequence(self, mask: torch.Tensor | None):
        """The cell's whole-sequence node where it computes this layer's walk: states not recorded, no
        projection, no layer norm, padding only where the node handles it, a nonlinearity it has; else None."""
        node = self._sequence
        if node is None or self.record_states or self.proj is not None or self.layer_norm or \
                (mask is not None and not node.masks) or self.nonlinearity_name() not in node.nonlinearities:
            return None
        return node

    def _forward_node(self, node, x: torch.Tensor, state: tuple[torch.Tensor, ...], mask: torch.Tensor | None,
                      reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The walk as one autograd node (``table.py``), time-major inside; no per-step states are kept."""
        matrix = getattr(self.hh, "matrix", None)          # W = Cayley(M) for the orthogonal RNN, else W_hh itself
        weights = NodeWeights(self.ih.weight, self.ih.bias, self.hh.weight if matrix is None else matrix(),
                              self.hh.bias)
        inp = x.transpose(0, 1) if node.on_input else self.ih(x).transpose(0, 1)
        all_h, self.final_state = node.run(inp, weights, state, None if mask is None else mask.t(), reverse,
                                           self.nonlinearity_name())
        self.h_list = []
        self._store_other_states([])
        return all_h.transpose(0, 1), self.final_state[0]

    def store_hidden_states_for_grad(self, hidden_states: list[torch.Tensor]) -> None:
        """Keep [h_1, ..., h_T] and let autograd retain their gradients (the gradient-flow notebook)."""
        for h in hidden_states:
            if h.requires_grad:
                h.retain_grad()
        self.h_list = hidden_states

    def _store_other_states(self, per_step) -> None:
        pass

    def norm(self, a: torch.Tensor, first: int = 0) -> torch.Tensor:
        """Layer norm of the gate blocks ``first, first + 1, ...`` that ``a`` (batch, k*H) holds."""
        H, size = self.hidden_size, a.shape[1]
        weight, bias = self.ln_weight, self.ln_bias
        if size != weight.shape[0]:
            weight, bias = weight[first * H:first * H + size], bias[first * H:first * H + size]
        return gate_layer_norm(a, size // H, weight, bias)

    @property
    def layer_norm(self) -> bool:
        return hasattr(self, "ln_weight")

    @property
    def cell_norm(self) -> Callable[..., torch.Tensor] | None:
        """What the cell steps take as ``norm``: :meth:`norm` with layer norm, else None."""
        return self.norm if self.layer_norm else None


class RNNLayer(_RecurrentLayer):
    """Elman RNN layer:  h_t = sigma(W_hh h_{t-1} + W_ih x_t + b)  (one bias term).

    Parameters: ``ih`` (W_ih and b) and ``hh`` (W_hh, no bias): ``RNNLayer(2, 3)`` has 18.
    ``layer_norm=True`` normalises the pre-activation (gain ``ln_weight``, shift ``ln_bias``).
    """
    cell = "rnn"

    def __init__(self, input_size: int, hidden_size: int,
                 nonlinearity: Activation | str = torch.tanh,
                 bias: bool = True, layer_norm: bool = False) -> None:
        super().__init__(input_size, hidden_size, bias, layer_norm)
        self.nonlinearity = resolve_nonlinearity(nonlinearity)


class LSTMLayer(_RecurrentLayer):
    """LSTM layer (gates i, f, g, o; one bias per gate); ``proj_size`` > 0 adds h_t = W_hr h_t.

    Also keeps the cell states: ``c_list`` (per step) and ``last_c``.  ``layer_norm=True``
    normalises each gate's pre-activation (gains ``ln_weight``, shifts ``ln_bias``).
    """
    cell = "lstm"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, proj_size: int = 0,
                 layer_norm: bool = False) -> None:
        super().__init__(input_size, hidden_size, bias, layer_norm, proj_size)

    def _store_other_states(self, per_step) -> None:
        self.c_list = [s[1] for s in per_step]

    def forward(self, x: torch.Tensor, state: StateArg = None, mask: torch.Tensor | None = None,
                reverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        all_h, last_h = super().forward(x, state, mask, reverse)
        self.last_c = self.final_state[1]
        return all_h, last_h


class GRULayer(_RecurrentLayer):
    """GRU layer as torch.nn.GRU (gates r, z, n; biases b_ih and b_hh, r multiplies W_hn h + b_hn).

    ``layer_norm=True`` normalises each gate's pre-activation, n's being x_n + r * (W_hn h + b_hn).
    """
    cell = "gru"


class _RegistryLayer(_RecurrentLayer):
    """The layer of a cell that has no hand-written class here, made from the cell registry by
    :func:`layer_class`: the cell's step (``cells.STEPS``), parameters as declared, and h's nonlinearity one
    of the registry's choices (``None``: the cell's default)."""

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: Activation | str | None = None,
                 bias: bool = True, layer_norm: bool = False, proj_size: int = 0) -> None:
        super().__init__(input_size, hidden_size, bias, layer_norm, proj_size)
        spec = get_cell(self.cell)
        name = spec.default_nonlinearity if nonlinearity is None else nonlinearity
        if isinstance(name, str) and name not in spec.nonlinearities:
            raise ValueError(f"nonlinearity: unknown value {name!r} for the {spec.full_name}; expected one of "
                             f"{', '.join(map(repr, spec.nonlinearities))}")
        self.nonlinearity = resolve_nonlinearity(name)


class LRULayer(_RecurrentLayer):
    """The LRU (Orvieto et al. 2023; ``lru.py``): a complex diagonal linear recurrence read out as real numbers,
    its parameters as the registry declares them (``ih``: W_ih = [B_re; B_im] and b_ih, then ``nu_log``,
    ``theta_log``, ``gamma_log`` (H,), ``weight_c`` (H, 2H), ``weight_d`` (H, D)), first values as the NumPy
    engine draws them (``rnnlab/draws.py``: the ring initialisation), from torch's generator.

    With ``record_states`` (off by default) it walks step by step and keeps the complex states in ``h_list``;
    otherwise the scan runs as one node.  It takes no initial state; ``last_h`` is y at each last step.
    """
    cell = "lru"
    record_states = False

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: Activation | str | None = None,
                 bias: bool = True, layer_norm: bool = False, proj_size: int = 0) -> None:
        super().__init__(input_size, hidden_size, bias, layer_norm, proj_size)
        spec, H = get_cell(self.cell), hidden_size
        decls = [(p.stem, p.shape_for(input_size, H, spec.num_gates), p) for p in spec.params_with(bias)]
        rng = np.random.default_rng(int(torch.randint(0, 2 ** 31 - 1, ()).item()))
        first = first_values(decls, H, rng, np.float32)
        for stem in ("nu_log", "theta_log", "gamma_log", "weight_c", "weight_d"):
            self.register_parameter(stem, nn.Parameter(torch.from_numpy(first[stem])))
        with torch.no_grad():
            self.ih.weight.copy_(torch.from_numpy(first["weight_ih"]))
            if bias:
                self.ih.bias.copy_(torch.from_numpy(first["bias_ih"]))

    def recurrence(self) -> tuple[torch.Tensor, torch.Tensor]:
        """lambda (H,) complex and gamma (H,): what ``cells.lru_step`` reads."""
        return eigenvalues(self.nu_log, self.theta_log), torch.exp(self.gamma_log)

    def portable_parameters(self) -> dict[str, torch.Tensor | None]:
        return {**super().portable_parameters(), **{stem: getattr(self, stem) for stem in
                                                    ("nu_log", "theta_log", "gamma_log", "weight_c", "weight_d")}}

    def forward(self, x: torch.Tensor, state: StateArg = None, mask: torch.Tensor | None = None,
                reverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """x (batch, seq_len, input_size) -> y (batch, seq_len, H), y at each sequence's last step."""
        self._check_input(x, mask)
        if state is not None:
            raise ValueError("h0: the LRU takes no initial state (its state is complex and internal); pass none")
        y, last, steps = lru_sequence(x, self.portable_parameters(), mask, reverse, node=not self.record_states)
        if self.record_states:
            self.store_hidden_states_for_grad(steps)
        self.final_state = (last,)
        return y, last


def layer_class(cell: str) -> type[_RecurrentLayer]:
    """A layer class for ``cell`` made from the registry, named ``{title}Layer`` (``IndRNNLayer``)."""
    spec = get_cell(cell)
    doc = (f"{spec.full_name} layer ({spec.paper or 'see rnnlab/cells.py'}); its step is "
           f"rnnlab.torch.cells.STEPS[{cell!r}], its parameters the registry's declarations.\n\n"
           f"    {spec.title}Layer(input_size, hidden_size, nonlinearity={spec.default_nonlinearity!r}, bias=True)")
    return type(f"{spec.title}Layer", (_RegistryLayer,), {"cell": cell, "__doc__": doc, "__module__": __name__})


def clip_to_bounds_(model: nn.Module) -> None:
    """Clip, in place, every parameter that the cell registry bounds (``Param.bound``: IndRNN's |u| <= 1) in
    every rnnlab.torch layer inside ``model``; a trainer calls this after each optimizer step.  Cells without
    bounded parameters are left as they are (nothing is done)."""
    for module in model.modules():
        if isinstance(module, _RecurrentLayer):
            module.clip_to_bounds_()


# cell name -> its layer class: the hand-written ones, and one made from the registry for every other cell
# that rnnlab.torch implements (``cells.STEPS``): IndRNNLayer
_WRITTEN = {layer.cell: layer for layer in (RNNLayer, LSTMLayer, GRULayer, LRULayer)}
LAYERS: dict[str, type[_RecurrentLayer]] = {name: _WRITTEN.get(name) or layer_class(name) for name in STEPS}
_MADE = {cls.__name__: cls for name, cls in LAYERS.items() if name not in _WRITTEN}


def __getattr__(name: str) -> type[_RecurrentLayer]:
    """The layer classes made from the registry, by name (``IndRNNLayer``; pickling finds them here)."""
    if name in _MADE:
        return _MADE[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
