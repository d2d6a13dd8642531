"""The flat training configuration, its presets, and how a YAML file and the flags combine.

Precedence, lowest first: the defaults below, a preset, a YAML config file, the command-line
flags.  Every value is validated here, with an error that names the setting.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .engines import CELLS, ENGINES, check_layer_norm_cell
from .models import HEADS, INITS, LOSS_NAMES, OPTIMIZERS, RECURRENT_INITS, check_gate_biases, parse_model_name

SCHEDULES = ("constant", "cosine", "onecycle")


@dataclass(frozen=True)
class TrainConfig:
    task: str = "mnist-rows"
    task_options: dict = field(default_factory=dict)
    models: tuple[str, ...] = ("rnn", "lstm", "gru")   # for `compare`; `train` uses the fields below
    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    proj_size: int = 0
    nonlinearity: str = "tanh"
    head: str = "plain"
    dense_size: int = 64
    layer_norm: bool = False           # layer norm inside the cell (RNN, LSTM; engines numpy, scratch)
    engine: str = "torch"
    optimizer: str = "adam"
    lr: float = 4e-3
    momentum: float = 0.0
    schedule: str = "onecycle"
    batch_size: int = 128
    epochs: int = 4
    clip_value: float | None = None
    clip_norm: float | None = 1.0
    loss: str | None = None            # None: the task's own loss
    init: str = "default"              # "course": N(0, 0.1^2) weights and zero biases (seed 000)
    recurrent_init: str = "default"    # "orthogonal" | "identity" (IRNN) blocks of W_hh
    forget_bias: float = 0.0           # added to the LSTM forget-gate bias
    chrono: int = 0                    # T_max of chrono initialisation of the LSTM gate biases (0: off)
    seed: int = 0
    device: str = "cpu"
    eval_batch_size: int = 1000
    ddp: bool = False                  # data-parallel across torchrun workers (see rnnlab.distributed)

    def __post_init__(self):
        def choice(name, options):
            if getattr(self, name) not in options:
                raise ValueError(f"{name}: unknown value {getattr(self, name)!r}; expected one of "
                                 f"{', '.join(map(str, options))}")

        def positive(name, kind=int, allow_zero=False):
            value = getattr(self, name)
            ok = (not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
                  and math.isfinite(value) and (value >= 0 if allow_zero else value > 0))
            if not ok:
                raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} "
                                 f"{'number' if kind is float else 'integer'}, got {value!r}")

        choice("cell", CELLS)
        choice("engine", ENGINES)
        choice("optimizer", OPTIMIZERS)
        choice("schedule", SCHEDULES)
        choice("head", HEADS)
        choice("nonlinearity", ("tanh", "relu"))
        choice("device", ("cpu", "cuda"))
        choice("init", INITS)
        choice("recurrent_init", RECURRENT_INITS)
        if self.layer_norm and self.engine == "torch":
            raise ValueError("layer_norm: torch.nn has no layer-normalised cell; use --engine numpy or scratch")
        if self.layer_norm:
            check_layer_norm_cell(self.cell)
        check_gate_biases(self.forget_bias, self.chrono)
        for name in ("forget_bias", "chrono"):
            if getattr(self, name) and self.cell != "lstm" and not any("lstm" in m for m in self.models):
                raise ValueError(f"{name}: only the LSTM has a forget gate, not {self.cell!r}")
        if self.loss is not None:
            choice("loss", LOSS_NAMES)
        for name in ("hidden_size", "num_layers", "dense_size", "batch_size", "epochs", "eval_batch_size"):
            positive(name)
        positive("proj_size", allow_zero=True)
        positive("lr", float)
        positive("momentum", float, allow_zero=True)
        for name in ("clip_value", "clip_norm"):
            if getattr(self, name) is not None:
                positive(name, float)
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout: expected a probability in [0, 1), got {self.dropout!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed: expected an integer, got {self.seed!r}")
        if not isinstance(self.task_options, dict):
            raise ValueError(f"task_options: expected a mapping of option to value, got {self.task_options!r}")
        for name in self.models:
            parse_model_name(name)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["models"] = list(self.models)
        return out

    def model_fields(self) -> dict:
        """The ModelSpec fields this config sets (cell, sizes, head...)."""
        return {"cell": self.cell, "hidden_size": self.hidden_size, "num_layers": self.num_layers,
                "bidirectional": self.bidirectional, "dropout": self.dropout, "proj_size": self.proj_size,
                "nonlinearity": self.nonlinearity, "head": self.head, "dense_size": self.dense_size,
                "layer_norm": self.layer_norm}

    def for_model(self, name: str) -> TrainConfig:
        """This config with the model named by a short spec (``bilstm2-ln``) in place of cell/layers/head."""
        return replace(self, **parse_model_name(name), models=(name,))


FIELDS = {f.name for f in fields(TrainConfig)}

# Presets that reproduce the notebooks (and the default quick comparison).
PRESETS: dict[str, dict] = {
    # README's main job: RNN, LSTM and GRU on MNIST rows in under two minutes on 2 cores.
    "quick": {"task": "mnist-rows", "task_options": {"split": "validation"}, "models": ("rnn", "lstm", "gru"),
              "engine": "torch", "hidden_size": 128, "optimizer": "adam", "lr": 4e-3, "schedule": "onecycle",
              "batch_size": 128, "epochs": 4, "clip_norm": 1.0},
    # Seed 000: the course's NumPy classes' semantics: N(0, 0.1^2) weights and zero biases, one sample per
    # update, MSE on one-hot, SGD 0.005, elementwise clipping at 5, 5,000 / 1,000 images, 9 epochs.
    "course": {"task": "mnist-rows", "task_options": {"split": "official", "n_train": 5000, "n_test": 1000},
               "models": ("rnn", "lstm"), "engine": "numpy", "hidden_size": 128, "optimizer": "sgd",
               "lr": 0.005, "schedule": "constant", "batch_size": 1, "epochs": 9, "loss": "mse_onehot",
               "clip_value": 5.0, "clip_norm": None, "init": "course"},
    # Seed 001: torch.nn RNN and two-layer LSTM, Adam 1e-3, batch 64, 5 epochs, official split, [-1, 1].
    "lab": {"task": "mnist-rows", "task_options": {"split": "official", "scaling": "symmetric"},
            "models": ("rnn", "lstm2"), "engine": "torch", "hidden_size": 128, "optimizer": "adam", "lr": 1e-3,
            "schedule": "constant", "batch_size": 64, "epochs": 5, "clip_norm": None},
    # Seed 004: RNN, LSTM, bidirectional RNN and LSTM, normalised and extra-dense variants (its table's rows),
    # 50,000 / 10,000 / 10,000, batch 512, 10 epochs, Adam 1e-3.
    "assignment": {"task": "mnist-rows", "task_options": {"split": "validation"},
                   "models": ("rnn", "rnn-bn-dense", "lstm", "lstm-bn-dense", "birnn", "bilstm", "bilstm-ln-dense",
                              "bilstm-ln"),
                   "engine": "torch", "hidden_size": 128, "optimizer": "adam", "lr": 1e-3, "schedule": "constant",
                   "batch_size": 512, "epochs": 10, "clip_norm": None},
}


def read_mapping(path: str | Path, what: str, keys, expected: str) -> dict:
    """A YAML file holding a mapping whose keys are all in ``keys``; errors name the file and the key."""
    import yaml
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ValueError(f"{what}: {path} does not exist") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{what}: {path} is not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: {path} must hold a mapping of {expected}, got {type(data).__name__}")
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise ValueError(f"{what}: {path} has unknown {expected}(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(sorted(keys))}")
    return data


def read_yaml(path: str | Path) -> dict:
    return read_mapping(path, "config", FIELDS, "setting")


def resolve(preset: str | None = None, config_file: str | Path | None = None, **flags) -> TrainConfig:
    """Defaults < preset < config file < flags (flags that are None are not given).

    Task options merge layer by layer, except that a layer naming another task starts them afresh
    (a preset's image options mean nothing to the xor task)."""
    layers = []
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"preset: unknown value {preset!r}; expected one of {', '.join(PRESETS)}")
        layers.append(dict(PRESETS[preset]))
    if config_file is not None:
        layers.append(read_yaml(config_file))
    layers.append({k: v for k, v in flags.items() if v is not None and v != {}})
    values: dict = {}
    task_options: dict = {}
    for layer in layers:
        layer = dict(layer)
        if "task" in layer and layer["task"] != values.get("task", TrainConfig.task):
            task_options = {}
        task_options.update(layer.pop("task_options", None) or {})
        values.update(layer)
    values["task_options"] = task_options
    if "models" in values:
        values["models"] = tuple(values["models"])
    return TrainConfig(**values)
