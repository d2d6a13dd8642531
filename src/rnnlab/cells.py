"""The cell registry: what each recurrent cell *is*, as plain data, read by every engine and every tool.

A cell is defined once, here: its gates in the order their row blocks take in the fused weight
matrices (torch.nn's order), what each gate means, which gate decides how much of the old memory
is kept, which states it carries from step to step, its bias convention, which options it has, its
parameters (name, shape as a function of the sizes, initialisation, portable torch.nn-style name),
the kind of its recurrence, and which engines implement it.  *How* a cell is computed is each
engine's own business: the NumPy engine's table is ``rnnlab/numpy/cells.py``'s ``IMPLEMENTATIONS``,
rnnlab.torch's is in ``rnnlab/torch/cells.py``.  This module imports nothing of rnnlab, so every
layer may read it; nothing outside a cell's own implementation compares cell names: it reads a fact.

Dense cells (``recurrence="dense"``) compute, per layer and direction, the pre-activations of all
their gates at once::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            rows: one block of H per gate

    RNN:     h_t = tanh(a_t)  or  relu(a_t)
    LSTM:    [i; f; g; o] = [sigma; sigma; tanh; sigma](a_t)
             c_t = f * c_{t-1} + i * g            h_t = o * tanh(c_t)
    GRU:     [x_r; x_z; x_n] = W_ih x_t + b_ih    [u_r; u_z; u_n] = W_hh h_{t-1} + b_hh
             r = sigma(x_r + u_r)    z = sigma(x_z + u_z)    n = tanh(x_n + r * u_n)
             h_t = (1 - z) * n + z * h_{t-1}
    IndRNN:  h_t = relu(W_ih x_t + b_ih + u * h_{t-1} + b_hh)    (or tanh)

The IndRNN (Li et al. 2018, "Independently Recurrent Neural Network") is a dense step whose
recurrent weight is *diagonal* (``recurrent_weight="diagonal"``): W_hh is the vector u (H,), each
unit reads only its own past, and the product W_hh h_{t-1} is the elementwise u * h_{t-1}.  Its
|u| is bounded by ``U_MAX`` = 1, as the paper bounds it: a ReLU unit's gradient through T steps
is scaled by at most |u|^T, so the paper keeps |u| below gamma^(1/T) for a largest growth gamma;
gamma = 1 keeps it from exploding at any length.  u starts in [0, 1] (``init="uniform01"``) and the
parameter declares ``bound=U_MAX``, which the engines keep by clipping |u| to it after every update
(the NumPy engine: ``RecurrentNet.apply_bounds``; rnnlab.torch: ``clip_to_bounds_``).

The orthogonal RNN (Lezcano-Casado & Martinez-Rubio 2019; ``recurrent_weight="cayley"``) is the Elman step
whose recurrent matrix stays orthogonal while it trains: ``weight_hh`` holds a free M (H, H), and the step
uses the Cayley transform of the skew-symmetric A = M - M^T (Helfrich et al. 2018, without their scaling)::

    ortho:   W = (I + A)^-1 (I - A),  A = M - M^T     h_t = tanh(W_ih x_t + b + W h_{t-1})   (or relu)

W^T W = I for every M, so every update of M keeps W orthogonal; its eigenvalues lie on the unit circle
(any but -1), so it neither shrinks nor grows h_{t-1} and a gradient passing back through it keeps its norm.

A linear recurrence (``recurrence="linear"``) is h_t = a_t * h_{t-1} + b_t with a_t and b_t
computed from x_t alone, so that an engine may compute all steps at once by a parallel scan.  It has
no recurrent weight (``recurrent_weight="none"``: no ``weight_hh``, no ``bias_hh``)::

    minGRU:  [a_z; h~] = W_ih x_t + b_ih    z = sigma(a_z)    h_t = (1 - z) * h_{t-1} + z * h~
             (Feng et al. 2024: a_t = 1 - z, b_t = z * h~)
    minLSTM: [a_f; a_i; h~] = W_ih x_t + b_ih    f = sigma(a_f)    i = sigma(a_i)
             h_t = f / (f + i) * h_{t-1} + i / (f + i) * h~      (the normalised gates)

The LRU (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for Long Sequences") is a linear
recurrence with a *complex* diagonal state of H units and a real read-out; a = lambda is the same at every
step::

    LRU:     lambda = exp(-exp(nu_log) + i exp(theta_log))     |lambda| = exp(-exp(nu_log)) < 1 always
             u_t = B x_t + b     (B = B_re + i B_im: weight_ih = [B_re; B_im] (2H, D), bias_ih = [b_re; b_im])
             h_t = lambda * h_{t-1} + gamma * u_t     gamma = exp(gamma_log), first sqrt(1 - |lambda|^2)
             y_t = Re(C h_t) + D x_t = C_re Re(h_t) - C_im Im(h_t) + D x_t
                                   (weight_c = [C_re, C_im] (H, 2H), weight_d = D (H, D))

nu_log, theta_log and gamma_log start on the ring r_min <= |lambda| <= r_max (``rnnlab/draws.py``).  The
paper's D is diagonal (its layers keep one width); here it is a full (H, D) matrix, so that a first layer
may read D != H inputs.  The state h is complex and internal (``takes_state=False``): the LRU takes no h0,
and its h_n is the read-out y at each sequence's last step.

How layers stack (``block``): a dense cell's layer k+1 reads layer k's outputs as they are
(``"plain"``).  The linear recurrences stack as their papers do (``"residual"``: Feng et al. 2024,
Orvieto et al. 2023), with a nonlinearity after each layer, a normalisation before the next and a skip
around it; o_k is what layer k passes on, r_k its recurrence's outputs, phi the GELU, LN a layer norm
over the features without gain or shift::

    o_0 = phi(r_0), r_0 = L_0(x);    o_k = o_{k-1} + phi(r_k), r_k = L_k(LN(o_{k-1}));    output o_{L-1}

(``rnnlab/numpy/block.py`` has the details and the backward pass.)

Bias convention: in the RNN, LSTM and IndRNN, b_ih and b_hh are only ever added, so an engine may
keep one bias per gate (b = b_ih + b_hh).  In the GRU, r multiplies W_hn h_{t-1} + b_hn, so b_hn
cannot merge with b_in: the GRU keeps b_hh apart (``separate_hh_bias``).

Layer normalisation in the cell (Ba et al. 2016; ``layer_norm``): each gate's pre-activation
is normalised over its H units, then scaled and shifted by its own gain and shift (parameters
``ln_weight`` / ``ln_bias`` of size G*H), before the gate's nonlinearity.  For the GRU the
pre-activations are x_r + u_r, x_z + u_z and a_n = x_n + r * u_n.

Parameter shapes are tuples of symbols evaluated by :meth:`Param.shape_for`: ``G*H`` (the rows of
all gate blocks), ``H`` (hidden size), ``D`` (the layer's input size: the input for layer 0,
directions x R above) and ``R`` (the size of h: the projection's size, else H).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

ENGINES = ("numpy", "scratch", "torch")      # the NumPy engine, rnnlab.torch, torch.nn
U_MAX = 1.0                                   # the IndRNN's bound on |u| (see the module docstring)
INITS = {"uniform": "U(-1/sqrt(H), 1/sqrt(H)) (torch.nn's)", "uniform01": "U(0, 1)", "ones": "ones",
         "zeros": "zeros", "normal_in": "N(0, 1/(2D))", "normal_state": "N(0, 1/H)", "normal_skip": "N(0, 1/D)",
         "ring_nu": "ring", "ring_theta": "ring", "ring_gamma": "sqrt(1 - |lambda|^2)"}   # see rnnlab/draws.py


@dataclass(frozen=True)
class Gate:
    """One row block of the fused weights: its letter in the equations, what it does, and the function that
    makes its activation from its pre-activation ("sigmoid", "tanh", or "nonlinearity": the cell's choice)."""
    letter: str
    meaning: str
    activation: str = "sigmoid"


@dataclass(frozen=True)
class Param:
    """One parameter of every layer and direction (see the module docstring for the shape symbols)."""
    stem: str                      # "weight_ih": named ``weight_ih_l{k}`` (+ ``_reverse``), torch.nn's name
    shape: tuple[str, ...]         # ("G*H", "D"), ("H",): symbols, see :meth:`shape_for`
    init: str                      # a key of INITS
    role: str                      # "input weights", "recurrent weights", ...: for tables
    needs: str | None = None       # the option that brings it: "bias", "layer_norm", "proj_size"; None: always
    bound: float | None = None     # engines clip |value| to this after every update; None: unbounded

    def shape_for(self, D: int, H: int, G: int, R: int | None = None) -> tuple[int, ...]:
        """The shape for layer input size D, hidden size H, G gates and h of size R (default H)."""
        sizes = {"G*H": G * H, "H": H, "D": D, "R": H if R is None else R}
        return tuple(sizes[s] for s in self.shape)

    def name(self, layer: int, direction: int = 0) -> str:
        """The portable (torch.nn) name of this parameter of ``layer`` and ``direction`` (1: reverse)."""
        return f"{self.stem}_l{layer}" + ("_reverse" if direction == 1 else "")

    def uniform_range(self, hidden: int) -> tuple[float, float] | None:
        """(low, high) of a uniform ``init`` for hidden size H; None for ``ones`` and ``zeros``."""
        if self.init == "uniform":
            k = 1.0 / math.sqrt(hidden)
            return -k, k
        return (0.0, 1.0) if self.init == "uniform01" else None

    @property
    def fill(self) -> float | None:
        """The constant of an ``ones`` or ``zeros`` init; None for a uniform one."""
        return {"ones": 1.0, "zeros": 0.0}.get(self.init)


def _dense_params(hh_shape: tuple[str, ...] = ("G*H", "R"), hh_init: str = "uniform",
                  hh_bound: float | None = None, projection: bool = False) -> tuple[Param, ...]:
    """The parameters of a dense cell, in torch.nn's order, then rnnlab's layer norm."""
    return ((Param("weight_ih", ("G*H", "D"), "uniform", "input weights"),
             Param("weight_hh", hh_shape, hh_init, "recurrent weights", bound=hh_bound),
             Param("bias_ih", ("G*H",), "uniform", "input bias", "bias"),
             Param("bias_hh", ("G*H",), "uniform", "recurrent bias", "bias"))
            + ((Param("weight_hr", ("R", "H"), "uniform", "projection", "proj_size"),) if projection else ())
            + (Param("ln_weight", ("G*H",), "ones", "layer-norm gain", "layer_norm"),
               Param("ln_bias", ("G*H",), "zeros", "layer-norm shift", "layer_norm")))


def _linear_params() -> tuple[Param, ...]:
    """The parameters of a linear-recurrence cell: its gates from x_t alone (no recurrent weight)."""
    return (Param("weight_ih", ("G*H", "D"), "uniform", "input weights"),
            Param("bias_ih", ("G*H",), "uniform", "input bias", "bias"))


def _lru_params() -> tuple[Param, ...]:
    """The LRU's parameters (Orvieto et al. 2023): B and C complex, kept as real blocks, lambda by nu and theta."""
    return (Param("weight_ih", ("G*H", "D"), "normal_in", "input weights B: [B_re; B_im]"),
            Param("bias_ih", ("G*H",), "zeros", "input bias [Re; Im]", "bias"),
            Param("nu_log", ("H",), "ring_nu", "|lambda| = exp(-exp(nu_log))"),
            Param("theta_log", ("H",), "ring_theta", "arg lambda = exp(theta_log)"),
            Param("gamma_log", ("H",), "ring_gamma", "input normalisation gamma = exp(gamma_log)"),
            Param("weight_c", ("H", "G*H"), "normal_state", "read-out C: [C_re, C_im]"),
            Param("weight_d", ("H", "D"), "normal_skip", "skip D"))


@dataclass(frozen=True)
class CellDef:
    """Everything rnnlab needs to know about one recurrent cell (see the module docstring)."""
    name: str                          # "lstm": the value of every ``cell`` option
    title: str                         # "LSTM": for tables
    full_name: str                     # "vanilla RNN", "LSTM": for sentences
    gates: tuple[Gate, ...]            # in the order of their row blocks
    states: tuple[str, ...]            # carried from step to step: ("h",) or ("h", "c")
    memory_gate: str | None            # the gate that keeps old memory: "f" (LSTM), "z" (GRU)
    nonlinearities: tuple[str, ...]    # the choices of h's nonlinearity (the first is the default)
    gated_block: str | None            # the block whose recurrent part W_hh h + b_hh a gate multiplies
    layer_norm: bool                   # has a layer-normalised variant
    projection: bool                   # has the LSTM's output projection h_t = W_hr h_t
    params: tuple[Param, ...]          # per layer and direction, in the order of a state dict
    engines: tuple[str, ...] = ENGINES     # the engines that implement it (names of ENGINES)
    recurrence: str = "dense"          # "dense": a_t = W_ih x_t + W_hh h_{t-1} + b; "linear": a scan
    recurrent_weight: str = "full"     # "full": W_hh (G*H, R); "diagonal": u (H,), U_t = u * h_{t-1}; "none";
                                       # "cayley": M (H, H), U_t = W h_{t-1}, W = Cayley(M - M^T) orthogonal
    block: str = "plain"               # how layers stack: "plain" (output into input); "residual" (see above)
    takes_state: bool = True           # h0 may be given and h_n is the state (the LRU: False, see above)
    chrono: str = ""                   # chrono initialisation (rnnlab.init): "forget-input" (b_f = log U,
                                       # b_i = -b_f), "write" (b_z = -log U of minGRU's z), "" (none)
    step_numbers: int = 0              # numbers per hidden unit BPTT keeps per step and sequence (NumPy
                                       # engine): 0 means G + 3, the dense cells'; see rnnlab.memory
    paper: str = ""                    # where it comes from

    @property
    def num_gates(self) -> int:
        """G: the number of row blocks of W_ih, W_hh and the biases."""
        return len(self.gates)

    @property
    def separate_hh_bias(self) -> bool:
        """Whether b_hh stays apart from b_ih: True when a gate multiplies W_hh h + b_hh (the GRU's r)."""
        return self.gated_block is not None

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(g.letter for g in self.gates)

    @property
    def default_nonlinearity(self) -> str:
        return self.nonlinearities[0]

    def gate_index(self, letter: str) -> int:
        """The position of gate ``letter`` in the fused matrices (LSTM: i 0, f 1, g 2, o 3)."""
        if letter not in self.letters:
            raise ValueError(f"gate: the {self.full_name} has no gate {letter!r}; its gates are "
                             f"{', '.join(map(repr, self.letters))}")
        return self.letters.index(letter)

    def gate_slice(self, letter: str, hidden: int) -> slice:
        """The rows of gate ``letter``'s block in a (G*H, ...) matrix or a (G*H,) bias."""
        k = self.gate_index(letter)
        return slice(k * hidden, (k + 1) * hidden)

    def param(self, stem: str) -> Param:
        """The declaration of parameter ``stem`` ("weight_hh")."""
        for p in self.params:
            if p.stem == stem:
                return p
        raise ValueError(f"parameter: the {self.full_name} has no {stem!r}; it has "
                         f"{', '.join(repr(p.stem) for p in self.params)}")

    def params_with(self, bias: bool = True, layer_norm: bool = False, proj_size: int = 0) -> tuple[Param, ...]:
        """The parameters a layer has with these options."""
        on = {None: True, "bias": bias, "layer_norm": layer_norm, "proj_size": bool(proj_size)}
        return tuple(p for p in self.params if on[p.needs])

    def param_shapes(self, input_size: int, hidden_size: int, num_layers: int = 1, num_directions: int = 1,
                     bias: bool = True, layer_norm: bool = False, proj_size: int = 0) -> dict[str, tuple[int, ...]]:
        """Every parameter's portable name and shape, layer by layer, forward direction first."""
        G, H, R = self.num_gates, hidden_size, proj_size or hidden_size
        shapes = {}
        for layer in range(num_layers):
            D = input_size if layer == 0 else R * num_directions
            for d in range(num_directions):
                for p in self.params_with(bias, layer_norm, proj_size):
                    shapes[p.name(layer, d)] = p.shape_for(D, H, G, R)
        return shapes

    def implemented_by(self, engine: str) -> bool:
        return engine in self.engines


CELLS: dict[str, CellDef] = {
    "rnn": CellDef(
        name="rnn", title="RNN", full_name="vanilla RNN",
        gates=(Gate("h", "hidden units", "nonlinearity"),),
        states=("h",), memory_gate=None, nonlinearities=("tanh", "relu"),
        gated_block=None, layer_norm=True, projection=False, params=_dense_params(),
        paper="Elman 1990"),
    "lstm": CellDef(
        name="lstm", title="LSTM", full_name="LSTM",
        gates=(Gate("i", "input gate"), Gate("f", "forget gate"), Gate("g", "cell candidate", "tanh"),
               Gate("o", "output gate")),
        states=("h", "c"), memory_gate="f", nonlinearities=("tanh",),
        gated_block=None, layer_norm=True, projection=True, params=_dense_params(projection=True),
        chrono="forget-input",
        paper="Hochreiter & Schmidhuber 1997; Gers et al. 2000 (forget gate)"),
    "gru": CellDef(
        name="gru", title="GRU", full_name="GRU",
        gates=(Gate("r", "reset gate"), Gate("z", "update gate"), Gate("n", "new state", "tanh")),
        states=("h",), memory_gate="z", nonlinearities=("tanh",),
        gated_block="n", layer_norm=True, projection=False, params=_dense_params(),
        paper="Cho et al. 2014"),
    "indrnn": CellDef(
        name="indrnn", title="IndRNN", full_name="IndRNN",
        gates=(Gate("h", "hidden units", "nonlinearity"),),
        states=("h",), memory_gate=None, nonlinearities=("relu", "tanh"),
        gated_block=None, layer_norm=False, projection=False,
        params=_dense_params(hh_shape=("H",), hh_init="uniform01", hh_bound=U_MAX)[:4],
        engines=("numpy", "scratch"), recurrent_weight="diagonal",
        paper="Li et al. 2018, Independently Recurrent Neural Network (IndRNN)"),
    "orthogonal": CellDef(
        name="orthogonal", title="OrthoRNN", full_name="orthogonal RNN",
        gates=(Gate("h", "hidden units", "nonlinearity"),),
        states=("h",), memory_gate=None, nonlinearities=("tanh", "relu"),
        gated_block=None, layer_norm=False, projection=False,
        params=_dense_params(hh_shape=("H", "H"))[:4],
        engines=("numpy", "scratch"), recurrent_weight="cayley",
        paper="Lezcano-Casado & Martinez-Rubio 2019 (orthogonal RNN); the Cayley transform as in Helfrich et al. 2018"),
    "mingru": CellDef(
        name="mingru", title="minGRU", full_name="minGRU",
        gates=(Gate("z", "update gate"), Gate("h", "candidate state", "identity")),
        states=("h",), memory_gate=None, nonlinearities=("tanh",),
        gated_block=None, layer_norm=False, projection=False,
        params=_linear_params(),
        engines=("numpy", "scratch"), recurrence="linear", recurrent_weight="none", block="residual",
        chrono="write", step_numbers=13,
        paper="Feng et al. 2024, Were RNNs All We Needed? (minGRU)"),
    "minlstm": CellDef(
        name="minlstm", title="minLSTM", full_name="minLSTM",
        gates=(Gate("f", "forget gate"), Gate("i", "input gate"), Gate("h", "candidate state", "identity")),
        states=("h",), memory_gate=None, nonlinearities=("tanh",),
        gated_block=None, layer_norm=False, projection=False, params=_linear_params(),
        engines=("numpy", "scratch"), recurrence="linear", recurrent_weight="none", block="residual",
        chrono="forget-input", step_numbers=16,
        paper="Feng et al. 2024, Were RNNs All We Needed? (minLSTM)"),
    "lru": CellDef(
        name="lru", title="LRU", full_name="LRU",
        gates=(Gate("r", "real part of B x", "identity"), Gate("i", "imaginary part of B x", "identity")),
        states=("h",), memory_gate=None, nonlinearities=("tanh",),
        gated_block=None, layer_norm=False, projection=False, params=_lru_params(),
        engines=("numpy", "scratch"), recurrence="linear", recurrent_weight="none", block="residual",
        step_numbers=20,
        takes_state=False,
        paper="Orvieto et al. 2023, Resurrecting Recurrent Neural Networks for Long Sequences (LRU)"),
}


def get_cell(name: str) -> CellDef:
    """The definition of cell ``name``; a ValueError lists the known cells."""
    cell = CELLS.get(name) if isinstance(name, str) else None
    if cell is None:
        raise ValueError(f"cell: unknown value {name!r}; expected one of {', '.join(map(repr, CELLS))}")
    return cell


def cells_having(feature: Callable[[CellDef], bool]) -> str:
    """The cells that have ``feature``, for messages: "the LSTM", "the vanilla RNN and the LSTM"."""
    names = [f"the {cell.full_name}" for cell in CELLS.values() if feature(cell)]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]
