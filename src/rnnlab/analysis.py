"""Gradient flow through time (the gradient-flow notebook): hidden-state norms, dL/dh_t per step, and the eigenvalue.

The gradient-flow notebook's model: one recurrent layer and a linear readout on every step, y_t = W_f h_t + b_f,
trained on the running mean of its inputs; the loss is the MSE on every step or on the last one.
For a batch x and targets y this module measures

    ||h_t||                  the hidden state's norm at each step
    ||dL/dh_t||              the *total* derivative of the loss by h_t (through every later step)
    |lambda_max(W_hh)|       the largest eigenvalue magnitude of the recurrent matrix, for cells whose one
                             block is h itself (the vanilla RNN; the IndRNN, whose W_hh is diagonal: max |u|;
                             the orthogonal RNN, whose W = Cayley(M) has |lambda| = 1)
    the linear recurrences'  h_t = a_t * h_{t-1} + b_t: a_t itself is the factor per step, so the eigenvalues are
    eigenvalues              a's per unit (the LRU's lambda, on the complex plane; for minGRU and minLSTM, whose
                             a_t depends on x_t, its geometric mean over the steps and the batch)

For a linear RNN, dL/dh_t = (W_hh^T)^(T-t) dL/dh_T when only the last step carries a loss, so the
gradient grows or shrinks by about |lambda_max| per step: > 1 explodes, < 1 vanishes.  Norms are
Frobenius norms over the batch and the hidden units (for one sequence, the gradient-flow notebook's numbers).

The same numbers come from the NumPy engine (its backward pass records dL/dh_t) and from the
PyTorch modules (``h_list`` with ``retain_grad``); :func:`scaled_copy` is the gradient-flow notebook's
``update_plots``: every recurrent weight matrix times a weight scale, every bias times a bias scale.
"""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from .cells import CELLS as REGISTRY
from .cells import get_cell

if TYPE_CHECKING:
    from .numpy import SequenceModel
    from .torch import RecurrentRegressionModel

    FlowModel = SequenceModel | RecurrentRegressionModel

_Model = TypeVar("_Model")

# flow_model's cells: rnnlab.torch's (the linear recurrences' eigenvalues are their a_t, see the module docstring)
CELLS = tuple(name for name, cell in REGISTRY.items() if cell.implemented_by("scratch"))
NONLINEARITIES = ("identity", "relu", "tanh")
LOSSES = ("every", "last")

# torch's layers draw their initial weights from its *global* generator, so seeding and building a model
# is one critical section: two threads that interleave torch.manual_seed(a) ... init ... would each get
# a mixture of the two seeds' streams.  Every seeded build in this module holds this lock.
_SEED_LOCK = threading.RLock()


@dataclass
class GradientFlow:
    h_norms: np.ndarray      # (T,) ||h_t||, t = 1..T
    grad_norms: np.ndarray   # (T,) ||dL/dh_t||
    eigenvalue: float | None
    loss: float
    eigenvalues: np.ndarray | None = None    # all of them (complex), where ``eigenvalue`` is their largest |.|

    @property
    def ratio(self) -> float:
        """||dL/dh_1|| / ||dL/dh_T||: far above 1, exploding; far below, vanishing."""
        return float(self.grad_norms[0] / self.grad_norms[-1]) if self.grad_norms[-1] else float("inf")

    @property
    def growth_rate(self) -> float:
        """The observed factor per step, (||dL/dh_1|| / ||dL/dh_T||)^(1 / (T - 1))."""
        steps = len(self.grad_norms) - 1
        return float(self.ratio ** (1.0 / steps)) if steps > 0 and np.isfinite(self.ratio) else float("nan")

    def to_dict(self) -> dict:
        return {"h_norms": [float(v) for v in self.h_norms], "grad_norms": [float(v) for v in self.grad_norms],
                "eigenvalue": self.eigenvalue, "loss": self.loss, "ratio": self.ratio}


def flow_model(cell: str = "rnn", nonlinearity: str = "tanh", hidden_size: int = 16, input_size: int = 1,
               output_size: int = 1, engine: str = "scratch", seed: int = 0) -> FlowModel:
    """The gradient-flow notebook's model on ``engine``: "scratch" (rnnlab.torch layer + RecurrentRegressionModel)
    or "numpy" (a one-layer SequenceModel read at every step, float64)."""
    if cell not in CELLS:
        raise ValueError(f"cell: unknown value {cell!r}; expected one of {', '.join(CELLS)}")
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: unknown value {nonlinearity!r}; expected one of {', '.join(NONLINEARITIES)}")
    if engine == "numpy":
        from .numpy import SequenceModel
        if nonlinearity == "identity":
            raise ValueError("nonlinearity: the NumPy engine's RNN is tanh or relu; use engine 'scratch' for identity")
        return SequenceModel(cell, input_size, hidden_size, output_size, nonlinearity=nonlinearity,
                             readout="every", dtype=np.float64, seed=seed)
    if engine != "scratch":
        raise ValueError(f"engine: expected 'scratch' or 'numpy', got {engine!r}")
    import torch

    from .torch import RecurrentRegressionModel
    from .torch.layers import LAYERS
    # the nonlinearity is the layer's to choose only where the cell has a choice (RNN, IndRNN)
    options = {"nonlinearity": nonlinearity} if len(get_cell(cell).nonlinearities) > 1 else {}
    with _SEED_LOCK:   # seed + draw the weights as one step (see _SEED_LOCK)
        torch.manual_seed(seed)
        layer = LAYERS[cell](input_size, hidden_size, **options)
        return RecurrentRegressionModel(layer.double(), output_size).double()


def numpy_to_scratch(model: SequenceModel) -> RecurrentRegressionModel:
    """The PyTorch twin (float64) of a one-layer NumPy flow model: same weights, same function."""
    import torch
    cell = model.rnn.cell
    twin = flow_model(cell, model.rnn.nonlinearity, model.rnn.hidden_size, model.rnn.input_size,
                      model.output_size, "scratch")
    p = model.params
    layer = twin.recurrent_net
    with torch.no_grad():
        layer.ih.weight.copy_(torch.from_numpy(p["weight_ih_l0"]))
        layer.hh.weight.copy_(torch.from_numpy(p["weight_hh_l0"]))
        if get_cell(cell).separate_hh_bias:
            layer.ih.bias.copy_(torch.from_numpy(p["bias_ih_l0"]))
            layer.hh.bias.copy_(torch.from_numpy(p["bias_hh_l0"]))
        else:
            layer.ih.bias.copy_(torch.from_numpy(p["bias_ih_l0"] + p["bias_hh_l0"]))
        twin.linear.weight.copy_(torch.from_numpy(p["head.weight"]))
        twin.linear.bias.copy_(torch.from_numpy(p["head.bias"]))
    return twin


def _transient_tensors(value: object, found: dict[int, object]) -> None:
    """Collect the non-leaf tensors (parts of an autograd graph) that ``value`` holds, through lists,
    tuples and dicts: a layer's ``h_list``, ``c_list``, ``final_state`` and ``last_c`` after a forward pass."""
    import torch
    if isinstance(value, torch.Tensor):
        if not value.is_leaf:
            found[id(value)] = value
    elif isinstance(value, (list, tuple)):
        for item in value:
            _transient_tensors(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _transient_tensors(item, found)


def _deepcopy_module(model: _Model) -> _Model:
    """``copy.deepcopy`` of a torch module that may have run forward (and backward).

    torch refuses to deep-copy a tensor that is not a graph leaf, and our layers keep such tensors for the
    gradient analysis (``h_list`` and kin).  Those are the last forward pass's by-products, not weights: the
    copy gets detached clones of them (no graph, no ``.grad``), the original keeps its own."""
    found: dict[int, object] = {}
    for module in model.modules():
        for name, value in vars(module).items():
            if name not in ("_parameters", "_buffers", "_modules"):
                _transient_tensors(value, found)
    memo: dict[int, object] = {key: tensor.detach().clone() for key, tensor in found.items()}
    memo[id(memo)] = list(found.values())      # deepcopy's keep-alive list: the ids stay valid meanwhile
    return copy.deepcopy(model, memo)


def scaled_copy(model: _Model, weight_scale: float, bias_scale: float) -> _Model:
    """A copy of ``model`` whose recurrent weight matrices are multiplied by ``weight_scale`` and
    recurrent biases by ``bias_scale`` (the readout is kept); the original is left untouched.

    Every parameter of ``recurrent_net`` scales: W <- weight_scale * W (names ending in "weight") and
    b <- bias_scale * b (names ending in "bias").  Works on a model that has already run forward or backward
    (a PyTorch model's copy keeps no graph and no gradients)."""
    if hasattr(model, "params"):   # NumPy SequenceModel
        twin = copy.deepcopy(model)
        for name, value in twin.params.items():
            if not name.startswith("head."):
                value *= bias_scale if name.startswith("bias") else weight_scale
        return twin
    import torch
    twin = _deepcopy_module(model)
    with torch.no_grad():
        for name, value in twin.recurrent_net.named_parameters():
            value.mul_(bias_scale if name.endswith("bias") else weight_scale)
    for value in twin.parameters():
        value.grad = None
    return twin


def _eigenvalues(cell: str, weight: np.ndarray | None, factors=None) -> np.ndarray | None:
    """The recurrence's eigenvalues (see the module docstring): of W_hh for a cell whose one block is h itself
    (a diagonal W_hh, the IndRNN's u, has its entries; the orthogonal RNN's M gives W = Cayley(M)); of a linear
    recurrence, its a_t per unit (``factors`` (..., H), the geometric mean over the other axes); else None."""
    spec = get_cell(cell)
    if spec.recurrence == "linear":
        a = np.asarray(factors).reshape(-1, np.shape(factors)[-1]).astype(complex)
        return np.exp(np.log(a).mean(axis=0))
    if spec.num_gates > 1:
        return None
    if spec.recurrent_weight == "cayley":
        from .numpy.recurrence import cayley
        weight = cayley(weight)
    return (weight if weight.ndim == 1 else np.linalg.eigvals(weight)).astype(complex)


def _largest(eigenvalues: np.ndarray | None) -> float | None:
    return None if eigenvalues is None else float(np.abs(eigenvalues).max())


def _norm(values: np.ndarray) -> float:
    """||v||_2 without overflow: sqrt(sum v_i^2) overflows once |v_i| passes ~1e154 (an exploding RNN reaches
    that), so then ||v|| = m ||v / m|| with m = max |v_i|, which stays finite while every v_i is."""
    values = np.asarray(values, np.float64)
    with np.errstate(over="ignore"):
        norm = float(np.linalg.norm(values))
    if np.isfinite(norm) or not np.isfinite(values).all():
        return norm
    scale = float(np.abs(values).max())
    return scale * float(np.linalg.norm(values / scale))


def gradient_flow(model: FlowModel, x: np.ndarray, y: np.ndarray, last_step_only: bool = False) -> GradientFlow:
    """Measure a flow model (either engine) on inputs x: (N, T, D) and every-step targets y: (N, T, O)."""
    if hasattr(model, "params"):
        return _flow_numpy(model, np.asarray(x, np.float64), np.asarray(y, np.float64), last_step_only)
    return _flow_torch(model, x, y, last_step_only)


def _flow_numpy(model: SequenceModel, x: np.ndarray, y: np.ndarray, last_step_only: bool) -> GradientFlow:
    from .numpy.losses import mse
    rnn = model.rnn
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError("gradient_flow: expects one layer in one direction (the gradient-flow notebook's model)")
    out = model.forward(x, train=True)
    mask = None
    if last_step_only:
        mask = np.zeros(out.shape[:2], bool)
        mask[:, -1] = True
    loss, dy = mse(out, y, mask)
    rnn.recorded_dh = {}
    try:
        model.backward(dy)
        recorded = rnn.recorded_dh[(0, 0)]
    finally:
        rnn.recorded_dh = None
    T = out.shape[1]
    hs = model._cache                                   # (T, H, N): the outputs h_t
    h_norms = np.array([_norm(hs[t]) for t in range(T)])
    grad_norms = np.array([_norm(np.abs(recorded[t])) for t in range(T)])     # |.|: the LRU's are complex
    factors = None
    if get_cell(rnn.cell).recurrence == "linear":
        from .numpy.linear import recurrence_factors
        factors = np.moveaxis(recurrence_factors(rnn), 1, -1)      # (T or 1, N, H)
    eigs = _eigenvalues(rnn.cell, model.params.get("weight_hh_l0"), factors)
    return GradientFlow(h_norms, grad_norms, _largest(eigs), float(loss), eigs)


def _recorded_layer(net):
    """The layer whose ``h_list`` the analysis reads: ``net`` itself (RNNLayer, LSTMLayer, GRULayer), or the
    top layer of a one-direction stack of ours (RNN, LSTM, GRU)."""
    if hasattr(net, "h_list"):
        return net
    if hasattr(net, "all_layers") and not getattr(net, "bidirectional", False):
        return net.layers[-1]
    raise ValueError(f"gradient_flow: expects a model whose recurrent_net is an rnnlab.torch layer or a "
                     f"one-direction rnnlab.torch stack, got {type(net).__name__}")


def _flow_torch(model: RecurrentRegressionModel, x: np.ndarray, y: np.ndarray,
                last_step_only: bool) -> GradientFlow:
    """dL/dh_t by autograd at the layer's recorded states, in the model's own dtype (float32 or float64);
    the norms and the eigenvalue are then taken in float64."""
    import torch

    from .torch import loss_fn
    weight = next(model.parameters())
    x = torch.as_tensor(np.asarray(x), dtype=weight.dtype, device=weight.device)
    y = torch.as_tensor(np.asarray(y), dtype=weight.dtype, device=weight.device)
    layer = _recorded_layer(model.recurrent_net)
    recording = getattr(layer, "record_states", None)
    if recording is False:          # an LSTM stack's fused path keeps no per-step states: record them now
        layer.record_states = True
    try:
        with torch.enable_grad():
            pred, _ = model(x)
            loss = loss_fn(pred, y, last_step_only)
            grads = torch.autograd.grad(loss, layer.h_list)
    finally:
        if recording is False:
            layer.record_states = False
    h_norms = np.array([_norm(h.detach().abs().cpu().double().numpy()) for h in layer.h_list])   # |.|: complex
    grad_norms = np.array([_norm(g.abs().cpu().double().numpy()) for g in grads])
    factors, weight = None, getattr(layer.hh, "weight", None)
    if get_cell(layer.cell).recurrence == "linear":
        from .torch.linear import recurrence_factors
        with torch.no_grad():
            factors = recurrence_factors(layer, x).cpu().numpy()
    eigs = _eigenvalues(layer.cell, None if weight is None else weight.detach().cpu().double().numpy(), factors)
    return GradientFlow(h_norms, grad_norms, _largest(eigs), float(loss.detach()), eigs)


# ---------------------------------------------------------------------------------------------
# The explorer's computation (one function, shared by the web page and its test)

LIMITS = {"weight_scale": (-5.0, 5.0), "bias_scale": (-5.0, 5.0), "hidden_size": (1, 256), "length": (2, 200)}
CACHE_SIZE = 32                  # models kept for the explorer (a slider drag reuses one; 256-unit LSTMs are ~2 MB)
_MODELS: OrderedDict = OrderedDict()
_MODELS_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget the explorer's cached models (the next request builds them again, with the same numbers)."""
    with _MODELS_LOCK:
        _MODELS.clear()


def _explorer_model(cell: str, nonlinearity: str, hidden_size: int, seed: int) -> RecurrentRegressionModel:
    """flow_model(cell, nonlinearity, hidden_size, seed=seed), built once and shared (least recently used out).

    Thread-safe: the look-up, the seeded build and the insertion happen under one lock, and the build runs
    inside ``torch.random.fork_rng`` so serving a request leaves torch's global generator as it found it.
    Callers must not modify the model (explore() scales a deep copy)."""
    import torch
    key = (cell, nonlinearity, hidden_size, seed)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            with _SEED_LOCK, torch.random.fork_rng(devices=[]):
                model = flow_model(cell, nonlinearity, hidden_size, seed=seed)
            _MODELS[key] = model
            while len(_MODELS) > CACHE_SIZE:
                _MODELS.popitem(last=False)
        else:
            _MODELS.move_to_end(key)
        return model


def _check_explore(values: dict) -> None:
    """ValueError naming the first argument of explore() outside its range or its choices."""
    for name in ("weight_scale", "bias_scale"):
        value, (low, high) = values[name], LIMITS[name]
        if isinstance(value, bool) or not (isinstance(value, (int, float)) and np.isfinite(value)
                                           and low <= value <= high):
            raise ValueError(f"{name}: expected a number in [{low:g}, {high:g}], got {value!r}")
    for name in ("hidden_size", "length"):
        value, (low, high) = values[name], LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name}: expected an integer in [{low}, {high}], got {value!r}")
    for name, choices in (("cell", CELLS), ("nonlinearity", NONLINEARITIES)):
        if values[name] not in choices:
            raise ValueError(f"{name}: unknown value {values[name]!r}; expected one of {', '.join(choices)}")
    if values["loss"] not in LOSSES:
        raise ValueError(f"loss: expected 'every' or 'last', got {values['loss']!r}")
    if isinstance(values["seed"], bool) or not isinstance(values["seed"], int) or values["seed"] < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {values['seed']!r}")


def explore(cell: str = "rnn", nonlinearity: str = "tanh", hidden_size: int = 16, length: int = 10,
            weight_scale: float = 1.0, bias_scale: float = 1.0, loss: str = "last", seed: int = 0) -> dict:
    """The gradient-flow notebook's visualiser for one setting: a fixed model (from ``seed``) scaled, run on a fixed
    running-mean batch of one sequence; returns plain numbers for the page.

    A pure function of its arguments, also when called from many threads at once (the web server does):
    the model comes from :func:`_explorer_model` (seeded under a lock), the batch from NumPy's own
    ``default_rng(seed)``, and the scaling works on a private copy.  Numbers that overflow float64 come back
    as ``inf``/``nan`` (the server sends them as null)."""
    from .data.synthetic import cumulative_average
    _check_explore(locals())
    fixed = get_cell(cell).nonlinearities
    if len(fixed) == 1:
        nonlinearity = fixed[0]   # LSTM and GRU have their own nonlinearities; the choice applies to the RNN
    model = _explorer_model(cell, nonlinearity, hidden_size, seed)
    x, y = cumulative_average(1, length, seed=seed)
    flow = gradient_flow(scaled_copy(model, weight_scale, bias_scale), x, y, last_step_only=loss == "last")
    return {"cell": cell, "nonlinearity": nonlinearity, "hidden_size": hidden_size, "length": length,
            "weight_scale": weight_scale, "bias_scale": bias_scale, "loss_on": loss, **flow.to_dict()}
