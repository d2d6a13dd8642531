"""A whole model (recurrent net + readout + head), built and trained the same way on every engine.

:class:`ModelSpec` is the one description; :func:`build_trainable` turns it into an object with
the same small interface on the three engines, which is all the trainer ever touches:

    train_batch(x, y, mask, loss, lr) -> (loss value, outputs)   forward, backward, clip, update
    predict(x) -> outputs                                          evaluation mode, NumPy out
    weights() / load_weights(w)                                    portable: torch.nn names + head
    state() / load_state(s)                                        weights + optimizer + random state

Portable weights use torch.nn's names for the recurrent part and ``head.weight``/``head.bias``
(plus ``norm.*`` and ``dense.*`` for the richer heads), so a model trained on one engine loads
into any other.
"""
from __future__ import annotations

import io
import json
import math
import re
from dataclasses import asdict, dataclass, fields

import numpy as np

from .engines import CELLS, ENGINES, RecurrentSpec, build_recurrent

READOUTS = ("last", "every")
HEADS = ("plain", "layernorm", "batchnorm", "dense", "layernorm-dense", "batchnorm-dense")
OPTIMIZERS = ("adam", "sgd")
LOSS_NAMES = ("cross_entropy", "mse", "bce", "mse_onehot")


@dataclass(frozen=True)
class ModelSpec:
    cell: str
    input_size: int
    output_size: int
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str = "tanh"
    dropout: float = 0.0
    proj_size: int = 0
    readout: str = "last"
    head: str = "plain"
    dense_size: int = 64
    layer_norm: bool = False     # layer norm inside the cell (RNN, LSTM; engines numpy and scratch)

    def __post_init__(self):
        self.recurrent()   # validates the recurrent part
        if self.readout not in READOUTS:
            raise ValueError(f"readout: unknown value {self.readout!r}; expected one of {', '.join(READOUTS)}")
        if self.head not in HEADS:
            raise ValueError(f"head: unknown value {self.head!r}; expected one of {', '.join(HEADS)}")
        if isinstance(self.output_size, bool) or not isinstance(self.output_size, int) or self.output_size < 1:
            raise ValueError(f"output_size: expected a positive integer, got {self.output_size!r}")
        if isinstance(self.dense_size, bool) or not isinstance(self.dense_size, int) or self.dense_size < 1:
            raise ValueError(f"dense_size: expected a positive integer, got {self.dense_size!r}")

    def recurrent(self) -> RecurrentSpec:
        return RecurrentSpec(self.cell, self.input_size, self.hidden_size, self.num_layers, self.bidirectional,
                             self.nonlinearity, self.dropout, self.proj_size, layer_norm=self.layer_norm)

    @property
    def label(self) -> str:
        """A short name: ``bilstm2-ln`` is a bidirectional two-layer LSTM with a LayerNorm head,
        ``lnlstm`` an LSTM with layer norm inside the cell."""
        suffix = {"plain": "", "layernorm": "-ln", "batchnorm": "-bn", "dense": "-dense", "layernorm-dense": "-ln-dense",
                  "batchnorm-dense": "-bn-dense"}[self.head]
        relu = "-relu" if self.nonlinearity == "relu" else ""
        return (f"{'bi' if self.bidirectional else ''}{'ln' if self.layer_norm else ''}{self.cell}"
                f"{self.num_layers if self.num_layers > 1 else ''}{relu}{suffix}")

    def to_dict(self) -> dict:
        return asdict(self)


_SHORT = re.compile(r"^(?P<bi>bi)?(?P<ln>ln)?(?P<cell>rnn|lstm|gru)(?P<layers>[1-9])?(?P<relu>-relu)?(?P<head>-ln-dense|-bn-dense|-ln|-bn|-dense)?$")


def parse_model_name(name: str) -> dict:
    """``rnn``, ``lstm2``, ``bigru``, ``bilstm2-ln``, ``rnn-relu``, ``lstm-bn-dense`` -> ModelSpec fields.

    An ``ln`` before the cell (``lnlstm``, ``bilnrnn-relu``) is layer normalisation inside the cell;
    ``-ln`` after it is a LayerNorm head."""
    match = _SHORT.match(name)
    if not match:
        raise ValueError(f"model {name!r}: expected [bi][ln]CELL[LAYERS][-relu][-ln|-bn][-dense] with CELL one of "
                         f"{', '.join(CELLS)}, e.g. rnn, lstm2, bigru, bilstm-ln, rnn-relu, lnlstm")
    head = {None: "plain", "-ln": "layernorm", "-bn": "batchnorm", "-dense": "dense", "-ln-dense": "layernorm-dense",
            "-bn-dense": "batchnorm-dense"}[match["head"]]
    fields_ = {"cell": match["cell"], "bidirectional": bool(match["bi"]), "head": head,
               "layer_norm": bool(match["ln"])}
    if match["layers"]:
        fields_["num_layers"] = int(match["layers"])
    if match["relu"]:
        fields_["nonlinearity"] = "relu"
    return fields_


SPEC_FIELDS = tuple(f.name for f in fields(ModelSpec))


# ---------------------------------------------------------------------------------------------
# NumPy engine


class NumpyTrainable:
    """rnnlab.numpy.SequenceModel with a hand-written optimizer."""

    engine = "numpy"

    def __init__(self, spec: ModelSpec, optimizer: str, lr: float, seed: int, momentum: float = 0.0,
                 clip_value: float | None = None, clip_norm: float | None = None, device: str = "cpu"):
        from .numpy import SGD, Adam, SequenceModel
        if spec.head != "plain":
            raise ValueError(f"head: the NumPy engine has a plain linear head only, got {spec.head!r}; "
                             f"use engine 'scratch' or 'torch'")
        if spec.proj_size:
            raise ValueError("proj_size: the NumPy engine has no LSTM projection; use engine 'scratch' or 'torch'")
        if device != "cpu":
            raise ValueError(f"device: the NumPy engine runs on the CPU only, got {device!r}")
        self.spec = spec
        self.model = SequenceModel(spec.cell, spec.input_size, spec.hidden_size, spec.output_size,
                                   spec.num_layers, spec.bidirectional, spec.nonlinearity, spec.readout,
                                   spec.dropout, seed=seed, layer_norm=spec.layer_norm)
        self.optimizer = (Adam(self.model.params, lr=lr) if optimizer == "adam"
                          else SGD(self.model.params, lr=lr, momentum=momentum))
        self.clip_value, self.clip_norm = clip_value, clip_norm

    def num_parameters(self) -> int:
        return self.model.num_parameters()

    def train_batch(self, x, y, mask, loss: str, lr: float, loss_scale: float = 1.0):
        from .numpy.losses import LOSSES
        from .numpy.optim import clip_by_global_norm, clip_by_value
        out = self.model.forward(x, train=True)
        value, dy = LOSSES[loss](out, y, mask)
        if not np.isfinite(value):
            return value, out
        self.model.backward(dy)
        if self.clip_value is not None:
            clip_by_value(self.model.grads, self.clip_value)
        if self.clip_norm is not None:
            clip_by_global_norm(self.model.grads, self.clip_norm)
        self.optimizer.lr = lr
        self.optimizer.step(self.model.grads)
        return value, out

    def predict(self, x) -> np.ndarray:
        return self.model.forward(x, train=False)

    def weights(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_weights(self, weights: dict) -> None:
        self.model.load_state_dict({k: np.asarray(v, self.model.dtype) for k, v in weights.items()})

    def state(self) -> dict:
        opt = self.optimizer.state_dict()
        arrays = {f"optim.{group}.{name}": value for group in ("m", "v", "velocity")
                  for name, value in (opt.get(group) or {}).items()}
        scalars = {k: v for k, v in opt.items() if k not in ("m", "v", "velocity")}
        return {"weights": self.weights(), "arrays": arrays,
                "meta": {"optim": scalars, "rng": self.model.rnn.rng.bit_generator.state}}

    def load_state(self, state: dict) -> None:
        self.load_weights(state["weights"])
        opt = dict(state["meta"]["optim"])
        for group in ("m", "v", "velocity"):
            prefix = f"optim.{group}."
            values = {k[len(prefix):]: v for k, v in state["arrays"].items() if k.startswith(prefix)}
            if values:
                opt[group] = values
            elif group == "velocity":
                opt[group] = None
        self.optimizer.load_state_dict(opt)
        self.model.rnn.rng.bit_generator.state = state["meta"]["rng"]


# ---------------------------------------------------------------------------------------------
# PyTorch engines: "scratch" (rnnlab.torch) and "torch" (torch.nn)


def torch_loss(kind: str, out, y, mask):
    """The same losses as rnnlab.numpy.losses, in torch, averaged over the positions in ``mask``."""
    import torch.nn.functional as F
    if kind == "cross_entropy":
        per = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none").reshape(y.shape)
    elif kind == "mse_onehot":
        per = ((out - F.one_hot(y, out.shape[-1]).to(out.dtype)) ** 2).sum(-1)
    elif kind == "mse":
        per = ((out - y) ** 2).mean(-1)
    elif kind == "bce":
        per = F.binary_cross_entropy_with_logits(out, y, reduction="none").mean(-1)
    else:
        raise ValueError(f"loss: unknown value {kind!r}; expected one of {', '.join(LOSS_NAMES)}")
    if mask is None:
        return per.mean()
    weight = mask.to(per.dtype)
    return (per * weight).sum() / weight.sum()


class TorchTrainable:
    """A rnnlab.torch.TaskModel on our modules (engine "scratch") or torch.nn's ("torch")."""

    def __init__(self, spec: ModelSpec, engine: str, optimizer: str, lr: float, seed: int, momentum: float = 0.0,
                 clip_value: float | None = None, clip_norm: float | None = None, device: str = "cpu"):
        import torch

        from .torch.models import TaskModel
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: 'cuda' asked for, but PyTorch sees no CUDA device here; use --device cpu")
        self.engine, self.spec, self.device = engine, spec, torch.device(device)
        recurrent = build_recurrent(spec.recurrent(), engine, seed=seed)
        torch.manual_seed(seed)
        self.model = TaskModel(recurrent, spec.output_size, spec.readout, spec.head, spec.dense_size).to(self.device)
        self.runner = self.model          # what training calls: the model, or its DistributedDataParallel wrapper
        params = self.model.parameters()
        self.optimizer = (torch.optim.Adam(params, lr=lr) if optimizer == "adam"
                          else torch.optim.SGD(params, lr=lr, momentum=momentum))
        self.clip_value, self.clip_norm = clip_value, clip_norm

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _tensor(self, a):
        import torch
        if a is None:
            return None
        return torch.as_tensor(a, device=self.device)

    def data_parallel(self) -> None:
        """Train through torch.nn.parallel.DistributedDataParallel (the process group must exist):
        gradients are averaged across the workers in backward()."""
        from torch.nn.parallel import DistributedDataParallel
        self.runner = DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda"
                                              else None)

    def train_batch(self, x, y, mask, loss: str, lr: float, loss_scale: float = 1.0):
        import torch
        self.model.train()
        out = self.runner(self._tensor(x))
        value = torch_loss(loss, out, self._tensor(y), self._tensor(mask))
        result = float(value.detach())
        if not np.isfinite(result) and self.runner is self.model:   # data-parallel workers all step together
            return result, out.detach().cpu().numpy()
        self.optimizer.zero_grad(set_to_none=True)
        (value * loss_scale if loss_scale != 1.0 else value).backward()
        if self.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self.model.parameters(), self.clip_value)
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        return result, out.detach().cpu().numpy()

    def predict(self, x) -> np.ndarray:
        import torch
        self.model.eval()
        with torch.no_grad():
            return self.model(self._tensor(x)).cpu().numpy()

    def weights(self) -> dict[str, np.ndarray]:
        from .torch.convert import to_torch_state_dict
        rec = self.model.recurrent
        recurrent = rec.state_dict() if self.engine == "torch" else to_torch_state_dict(rec)
        out = {k: v.detach().cpu().numpy().copy() for k, v in recurrent.items()}
        for name, value in self.model.state_dict().items():
            if not name.startswith("recurrent."):
                out[name] = value.detach().cpu().numpy().copy()
        return out

    def load_weights(self, weights: dict) -> None:
        import torch

        from .torch.convert import load_torch_state_dict
        head = {k: torch.as_tensor(np.asarray(v)) for k, v in weights.items() if k.split(".")[0] in
                ("head", "norm", "dense")}
        recurrent = {k: np.asarray(v) for k, v in weights.items() if k not in head}
        if self.engine == "torch":
            self.model.recurrent.load_state_dict({k: torch.as_tensor(v) for k, v in recurrent.items()})
        else:
            load_torch_state_dict(self.model.recurrent, recurrent)
        missing, unexpected = self.model.load_state_dict(
            {**{f"recurrent.{k}": v for k, v in self.model.recurrent.state_dict().items()}, **head}, strict=False)
        if missing or unexpected:
            raise ValueError(f"weights: the head does not match this model; missing {missing}, "
                             f"unexpected {unexpected}")

    def state(self) -> dict:
        import torch
        buffer = io.BytesIO()
        torch.save({"optimizer": self.optimizer.state_dict(), "rng": torch.get_rng_state()}, buffer)
        return {"weights": self.weights(), "arrays": {"torch_state": np.frombuffer(buffer.getvalue(), np.uint8)},
                "meta": {}}

    def load_state(self, state: dict) -> None:
        import torch
        self.load_weights(state["weights"])
        saved = torch.load(io.BytesIO(state["arrays"]["torch_state"].tobytes()), weights_only=True)
        self.optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])


def build_trainable(spec: ModelSpec, engine: str, optimizer: str = "adam", lr: float = 1e-3, seed: int = 0,
                    momentum: float = 0.0, clip_value: float | None = None, clip_norm: float | None = None,
                    device: str = "cpu"):
    if engine not in ENGINES:
        raise ValueError(f"engine: unknown value {engine!r}; expected one of {', '.join(ENGINES)}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown value {optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
    if engine == "numpy":
        return NumpyTrainable(spec, optimizer, lr, seed, momentum, clip_value, clip_norm, device)
    return TorchTrainable(spec, engine, optimizer, lr, seed, momentum, clip_value, clip_norm, device)


INITS = ("default", "course")
RECURRENT_INITS = ("default", "orthogonal", "identity")


def check_gate_biases(forget_bias: float, chrono: int) -> None:
    """The LSTM gate-bias settings: a finite forget_bias, chrono 0 (off) or an integer T_max >= 2, not both."""
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)) or not math.isfinite(forget_bias):
        raise ValueError(f"forget_bias: expected a number, got {forget_bias!r}")
    if chrono and (isinstance(chrono, bool) or not isinstance(chrono, int) or chrono < 2):
        raise ValueError(f"chrono: expected an integer T_max >= 2 (the longest dependency, in steps), got {chrono!r}")
    if chrono and forget_bias:
        raise ValueError("chrono and forget_bias both set the forget-gate bias; give one of them")


def apply_init(model, init: str, seed: int, recurrent_init: str = "default", forget_bias: float = 0.0,
               chrono: int = 0) -> None:
    """Re-initialise a freshly built model, on any engine (through its portable weights).

    init: ``default`` keeps each engine's torch.nn-style init (uniform in +-1/sqrt(hidden));
          ``course`` draws every weight matrix from N(0, 0.1^2) and zeroes every bias, as seed
          000's NumPy classes do (normalisation layers keep their ones and zeros).
    recurrent_init: ``orthogonal`` makes each gate's block of W_hh an orthogonal matrix (Saxe et
          al. 2014); ``identity`` makes it the identity (IRNN: Le et al. 2015, for ReLU RNNs).
    forget_bias: added to the LSTM's forget-gate bias (rows H..2H of b_ih; Jozefowicz et al. 2015),
          so that the cell starts by remembering.
    chrono: T_max > 1 sets the LSTM's gate biases by chrono initialisation (Tallec & Ollivier 2018),
          for dependencies up to T_max steps:
              b_f ~ log(U(1, T_max - 1)),   b_i = -b_f   (b_hh's rows of both gates zero),
          so each unit starts with its own memory time scale 1 / (1 - sigma(b_f)) = 1 + e^b_f,
          uniform on (2, T_max), and writes little into the cell until it learns to.  Replaces
          forget_bias.
    With layer norm in the cell, forget_bias and chrono set the normalisation's shifts (ln_bias),
    the biases that reach the gates.
    """
    if init not in INITS:
        raise ValueError(f"init: unknown value {init!r}; expected one of {', '.join(INITS)}")
    if recurrent_init not in RECURRENT_INITS:
        raise ValueError(f"recurrent_init: unknown value {recurrent_init!r}; expected one of "
                         f"{', '.join(RECURRENT_INITS)}")
    check_gate_biases(forget_bias, chrono)
    if (chrono or forget_bias) and model.spec.cell != "lstm":
        name = "chrono" if chrono else "forget_bias"
        raise ValueError(f"{name}: only the LSTM has a forget gate, not {model.spec.cell!r}")
    if init == "default" and recurrent_init == "default" and not forget_bias and not chrono:
        return
    rng = np.random.default_rng(seed)
    weights = model.weights()
    if init == "course":
        for name, value in weights.items():
            if name.startswith(("norm.", "ln_")):
                continue
            weights[name] = (np.zeros_like(value) if "bias" in name
                             else (rng.standard_normal(value.shape) * 0.1).astype(value.dtype))
    for name, value in weights.items():
        if not name.startswith("weight_hh") or recurrent_init == "default":
            continue
        hidden = value.shape[1]
        blocks = []
        for _ in range(value.shape[0] // hidden):
            if recurrent_init == "identity":
                blocks.append(np.eye(hidden))
            else:
                q, r = np.linalg.qr(rng.standard_normal((hidden, hidden)))
                blocks.append(q * np.sign(np.diag(r)))
        weights[name] = np.concatenate(blocks).astype(value.dtype)
    # The gate biases that reach the gates: with layer norm in the cell, the normalisation removes
    # any bias added before it (a constant per gate block has zero deviation), so the settings go
    # to its shifts (ln_bias) instead, and the pre-normalisation biases are left alone.
    layer_norm = any(name.startswith("ln_bias") for name in weights)
    gate_bias, other_bias = ("ln_bias", None) if layer_norm else ("bias_ih", "bias_hh")
    if chrono:
        for name, value in weights.items():
            if name.startswith(gate_bias) or (other_bias and name.startswith(other_bias)):
                hidden = value.shape[0] // 4
                value = value.copy()
                if name.startswith(gate_bias):
                    b_f = np.log(rng.uniform(1.0, chrono - 1.0, hidden))
                    value[:hidden], value[hidden:2 * hidden] = -b_f, b_f      # torch.nn gate order i, f, g, o
                else:
                    value[:2 * hidden] = 0.0
                weights[name] = value
    if forget_bias:
        for name, value in weights.items():
            if name.startswith(gate_bias):
                hidden = value.shape[0] // 4
                value = value.copy()
                value[hidden:2 * hidden] += forget_bias
                weights[name] = value
    model.load_weights(weights)


def save_weights(path, weights: dict, spec: ModelSpec, engine: str) -> None:
    """The portable model file: an .npz of named arrays plus the spec as JSON (no pickle)."""
    from .data.idx import write_atomic
    buffer = io.BytesIO()
    np.savez(buffer, __spec__=np.array(json.dumps({"spec": spec.to_dict(), "engine": engine})), **weights)
    write_atomic(path, buffer.getvalue())


def load_weights_file(path) -> tuple[ModelSpec, str, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__spec__"]))
        weights = {k: data[k] for k in data.files if k != "__spec__"}
    return ModelSpec(**meta["spec"]), meta["engine"], weights
