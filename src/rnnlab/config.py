"""The training configuration: the model description beside the optimisation, initialisation, data
and run sections; its presets; how a YAML file and the flags combine.

    TrainConfig
      model  ModelSpec (its recurrent part a RecurrentSpec; sizes come from the task)
      optim  optimizer, lr, momentum, schedule, batch_size, epochs, clip_value, clip_norm, loss
      init   scheme (flag --init), recurrent (--recurrent-init), forget_bias, chrono
      data   task, options (--opt KEY=VALUE), eval_batch_size, augment (--augment: image tasks)
      run    engine, device, seed, ddp, tensorboard, flush_denormals (--keep-denormals: false),
             threads (--threads; None: rnnlab chooses, rnnlab.threads)

People write settings flat, by the long flag names with underscores (``hidden_size: 64`` in a
YAML file, ``--hidden-size 64`` on the command line); :data:`FLAT` maps each flat name to its
section.  Precedence, lowest first: the defaults, a preset, a YAML file, the flags.  Each section
checks its own values; the cross-field rules (which option fits which cell and engine) are the
table of :mod:`rnnlab.rules`, checked when the configuration is made, before any data loads.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .draws import parse_ring
from .rules import ENGINES, check_options
from .settings_file import check_value_size, load_yaml, read_mapping, shown  # noqa: F401  (config's own names)
from .spec import RECURRENT_SETTINGS, REGULARISATION, ModelSpec, check_choice, check_positive_int, parse_model_name
from .threads import check_threads

SCHEDULES = ("constant", "cosine", "onecycle")
OPTIMIZERS = ("adam", "sgd")
LOSS_NAMES = ("cross_entropy", "mse", "bce", "mse_onehot", "mse_sigmoid")
INITS = ("default", "course")
RECURRENT_INITS = ("default", "orthogonal", "identity")
DEVICES = ("cpu", "cuda")


def _check_number(name: str, value: object, allow_zero: bool = False) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value >= 0 if allow_zero else value > 0))
    if not ok:
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")


@dataclass(frozen=True)
class OptimConfig:
    optimizer: str = "adam"
    lr: float = 4e-3
    momentum: float = 0.0
    weight_decay: float = 0.0          # on every weight matrix: AdamW's decoupled decay, SGD's L2 (as torch.optim)
    schedule: str = "onecycle"
    batch_size: int = 128
    epochs: int = 4
    clip_value: float | None = None
    clip_norm: float | None = 1.0
    loss: str | None = None            # None: the task's own loss

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        if self.loss is not None:
            check_choice("loss", self.loss, LOSS_NAMES)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("epochs", self.epochs)
        _check_number("lr", self.lr)
        _check_number("momentum", self.momentum, allow_zero=True)
        _check_number("weight_decay", self.weight_decay, allow_zero=True)
        for name in ("clip_value", "clip_norm"):
            if getattr(self, name) is not None:
                _check_number(name, getattr(self, name))


@dataclass(frozen=True)
class InitConfig:
    """How the weights start (see :mod:`rnnlab.init`)."""
    scheme: str = field(default="default", metadata={"flat": "init"})
    recurrent: str = field(default="default", metadata={"flat": "recurrent_init"})
    forget_bias: float = 0.0           # added to the LSTM forget-gate bias
    chrono: int = 0                    # T_max of chrono initialisation of the LSTM gate biases (0: off)
    ring: str = ""                     # the LRU's ring "R_MIN,R_MAX[,MAX_PHASE]" ("": rnnlab.draws' default)

    def __post_init__(self) -> None:
        check_choice("init", self.scheme, INITS)
        check_choice("recurrent_init", self.recurrent, RECURRENT_INITS)
        if isinstance(self.forget_bias, bool) or not isinstance(self.forget_bias, (int, float)) \
                or not math.isfinite(self.forget_bias):
            raise ValueError(f"forget_bias: expected a number, got {self.forget_bias!r}")
        if self.chrono and (isinstance(self.chrono, bool) or not isinstance(self.chrono, int) or self.chrono < 2):
            raise ValueError(f"chrono: expected an integer T_max >= 2 (the longest dependency, in steps), "
                             f"got {self.chrono!r}")
        parse_ring(self.ring)
        if self.chrono and self.forget_bias:
            raise ValueError("chrono and forget_bias both set the forget-gate bias; give one of them")

    @property
    def is_default(self) -> bool:
        return self == InitConfig()


@dataclass(frozen=True)
class DataConfig:
    task: str = "mnist-rows"
    options: dict = field(default_factory=dict, metadata={"flat": "task_options"})
    eval_batch_size: int = 1000
    augment: str = ""                  # augmentation parts of image tasks (rnnlab.data.augment); "": none

    def __post_init__(self) -> None:
        if not isinstance(self.augment, str):
            raise ValueError(f"augment: expected part names separated by commas such as 'rotate,stroke', "
                             f"got {self.augment!r}")
        if not isinstance(self.task, str):
            raise ValueError(f"task: expected a task name (`rnnlab data list`), got {self.task!r}")
        if not isinstance(self.options, dict):
            raise ValueError(f"task_options: expected a mapping of option to value, got {self.options!r}")
        check_positive_int("eval_batch_size", self.eval_batch_size)


@dataclass(frozen=True)
class RunConfig:
    engine: str = "torch"
    device: str = "cpu"
    seed: int = 0
    ddp: bool = False                  # data-parallel across torchrun workers (see rnnlab.distributed)
    tensorboard: bool = False          # also write TensorBoard event files into the run directory
    flush_denormals: bool = True       # FTZ/DAZ while training and evaluating (--keep-denormals: False)
    threads: int | None = None         # threads for training and evaluation (None: chosen, see rnnlab.threads)

    def __post_init__(self) -> None:
        check_choice("engine", self.engine, ENGINES)
        check_threads("threads", self.threads)
        check_choice("device", self.device, DEVICES)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a whole number >= 0, got {self.seed!r}")
        for name in ("ddp", "tensorboard", "flush_denormals"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {getattr(self, name)!r}")


SECTIONS = {"optim": OptimConfig, "init": InitConfig, "data": DataConfig, "run": RunConfig}
MODEL_SETTINGS = (*RECURRENT_SETTINGS, "head", "dense_size", "bidirectional_read", *REGULARISATION)
# flat setting name -> (section, field)
FLAT: dict[str, tuple[str, str]] = {
    **{name: ("model", name) for name in MODEL_SETTINGS},
    **{f.metadata.get("flat", f.name): (section, f.name) for section, cls in SECTIONS.items() for f in fields(cls)}}
FIELDS = frozenset(FLAT)


def _listed(names: list[str], budget: int) -> str:
    """``a, b, c``, or past ``budget`` characters the first names and ``and N more (sorted(rnnlab.config.FIELDS))``."""
    text = ", ".join(names)
    if len(text) <= budget:
        return text
    head = text[:budget].rsplit(", ", 1)[0]
    return f"{head} and {len(names) - head.count(', ') - 1} more (sorted(rnnlab.config.FIELDS))"


def _did_you_mean(unknown: list[str]) -> str:
    """`` (did you mean epochs?)``: the valid settings closest to the unknown ones, if any are close."""
    import difflib
    close = sorted({m for k in unknown for m in difflib.get_close_matches(k, FIELDS, n=2, cutoff=0.75)})
    return f" (did you mean {' or '.join(close)}?)" if close else ""


@dataclass(frozen=True)
class TrainConfig:
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimConfig = field(default_factory=OptimConfig)
    init: InitConfig = field(default_factory=InitConfig)
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        check_options(self.model.cell, self.run.engine, {
            **self.model.recurrent.options(), "head": self.model.head,
            "bidirectional_read": self.model.bidirectional_read, "forget_bias": self.init.forget_bias,
            "chrono": self.init.chrono, "recurrent_init": self.init.recurrent, "ring": self.init.ring,
            "device": self.run.device,
            "ddp": self.run.ddp})

    @classmethod
    def from_flat(cls, settings: dict) -> TrainConfig:
        """A configuration from flat settings (``{"cell": "gru", "lr": 0.01, "task_options": {...}}``)."""
        unknown = sorted(map(str, set(settings) - FIELDS))
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(k if len(k) <= 40 else shown(k, 40) for k in unknown)}"
                             f"{_did_you_mean(unknown)}; valid: {_listed(sorted(FIELDS), 260)}")
        groups: dict[str, dict] = {"model": {}, **{section: {} for section in SECTIONS}}
        for name, value in settings.items():
            section, attribute = FLAT[name]
            groups[section][attribute] = value
        model = ModelSpec().with_settings(**groups.pop("model"))
        return cls(model, **{section: SECTIONS[section](**values) for section, values in groups.items()})

    def flat(self) -> dict:
        """Every setting by its flat name (the inverse of :meth:`from_flat`)."""
        out = {}
        for name, (section, attribute) in FLAT.items():
            owner = self.model if section == "model" else getattr(self, section)
            if section == "model" and attribute in RECURRENT_SETTINGS:
                owner = self.model.recurrent
            out[name] = getattr(owner, attribute)
        return out

    def with_settings(self, **settings) -> TrainConfig:
        """A copy with some flat settings changed (checked again as a whole)."""
        return TrainConfig.from_flat({**self.flat(), **settings})

    def for_model(self, name: str) -> TrainConfig:
        """This configuration with the model of a short name (``bilstm2-ln``) in place of its own."""
        return self.with_settings(**parse_model_name(name))

    @property
    def label(self) -> str:
        return self.model.label

    def to_dict(self) -> dict:
        """Sectioned, as config.json holds it."""
        return {"model": self.model.to_dict(), **{section: asdict(getattr(self, section)) for section in SECTIONS}}

    @classmethod
    def from_dict(cls, doc: dict) -> TrainConfig:
        """The inverse of :meth:`to_dict`; also reads the flat form that run directories before 0.2 hold."""
        if not any(key in doc for key in ("model", *SECTIONS)):     # flat, as rnnlab 0.1 wrote it
            return cls.from_flat({k: v for k, v in doc.items() if k != "models"})
        unknown = sorted(set(doc) - {"model", *SECTIONS})
        if unknown or not all(isinstance(doc.get(s, {}), dict) for s in ("model", *SECTIONS)):
            raise ValueError(f"expected the sections model, {', '.join(SECTIONS)}; got {', '.join(map(str, doc))}")
        try:
            return cls(ModelSpec.from_dict(doc.get("model", {})),
                       **{section: SECTIONS[section](**doc.get(section, {})) for section in SECTIONS})
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a section is incomplete or has unknown entries ({type(exc).__name__}: {exc})") \
                from None


# Presets that reproduce the course notebooks (and the default quick comparison); flat settings plus
# the models that `compare` trains.
PRESETS: dict[str, dict] = {
    # README's main job: RNN, LSTM and GRU on MNIST rows in under two minutes on 2 cores.
    "quick": {"task": "mnist-rows", "task_options": {"split": "validation"}, "models": ("rnn", "lstm", "gru"),
              "engine": "torch", "hidden_size": 128, "optimizer": "adam", "lr": 4e-3, "schedule": "onecycle",
              "batch_size": 128, "epochs": 4, "clip_norm": 1.0},
    # "RNN and LSTM from scratch in NumPy" (the course's first notebook): N(0, 0.1^2) weights and zero
    # biases, one sample per update, MSE on one-hot, SGD 0.005, elementwise clipping at 5, 5,000 / 1,000
    # images, 9 epochs.
    "course": {"task": "mnist-rows", "task_options": {"split": "official", "n_train": 5000, "n_test": 1000},
               "models": ("rnn", "lstm"), "engine": "numpy", "hidden_size": 128, "optimizer": "sgd",
               "lr": 0.005, "schedule": "constant", "batch_size": 1, "epochs": 9, "loss": "mse_onehot",
               "clip_value": 5.0, "clip_norm": None, "init": "course"},
    # The PyTorch lab notebook: torch.nn RNN and two-layer LSTM, Adam 1e-3, batch 64, 5 epochs, official
    # split, pixels in [-1, 1].
    "lab": {"task": "mnist-rows", "task_options": {"split": "official", "scaling": "symmetric"},
            "models": ("rnn", "lstm2"), "engine": "torch", "hidden_size": 128, "optimizer": "adam", "lr": 1e-3,
            "schedule": "constant", "batch_size": 64, "epochs": 5, "clip_norm": None},
    # The graded assignment notebook: RNN, LSTM, bidirectional RNN and LSTM, normalised and extra-dense
    # variants (its table's rows), 50,000 / 10,000 / 10,000, batch 512, 10 epochs, Adam 1e-3.
    "assignment": {"task": "mnist-rows", "task_options": {"split": "validation"},
                   "models": ("rnn", "rnn-bn-dense", "lstm", "lstm-bn-dense", "birnn", "bilstm", "bilstm-ln-dense",
                              "bilstm-ln"),
                   "engine": "torch", "hidden_size": 128, "optimizer": "adam", "lr": 1e-3, "schedule": "constant",
                   "batch_size": 512, "epochs": 10, "clip_norm": None},
}
DEFAULT_MODELS = ("rnn", "lstm", "gru")


@dataclass(frozen=True)
class Settings:
    """Flat settings merged from every layer, and the models that `compare` trains."""
    values: dict
    models: tuple[str, ...] = DEFAULT_MODELS

    def config(self, model: str | None = None) -> TrainConfig:
        """The training configuration (of the model of a short name, when given).  A setting the short name
        fixes (``bilstm``: the cell and two directions) that the settings give otherwise is refused with both."""
        named = parse_model_name(model) if model is not None else {}
        for key, value in named.items():
            if key in self.values and self.values[key] != value:
                raise ValueError(f"{key}: the settings give {shown(self.values[key])} but the model name "
                                 f"{model!r} means {value!r}; give one of them (a model name such as "
                                 f"'bilstm2' or the settings alone)")
        return TrainConfig.from_flat({**self.values, **named})

    def configs(self) -> dict[str, TrainConfig]:
        """One configuration per model of ``models``, all checked before any is used."""
        return {name: self.config(name) for name in self.models}


FLAGS_PLACE = "the command line (or the call's settings)"


def _layers(preset: str | None, config_file: str | Path | None, flags: dict) -> list[tuple[str, dict]]:
    """(where, settings) of each layer, lowest precedence first."""
    layers = []
    if preset is not None:
        check_choice_plain("preset", preset, tuple(PRESETS))
        layers.append((f"preset {preset}", dict(PRESETS[preset])))
    if config_file is not None:
        layers.append((f"config file {config_file}",
                       read_mapping(config_file, "config", FIELDS | {"models"}, "setting")))
    layers.append((FLAGS_PLACE, {k: v for k, v in flags.items() if v is not None and v != {}}))
    for _, layer in layers:
        for key, value in layer.items():
            check_value_size(key, value)
    return layers


def _merge_task_options(layers: list[tuple[str, dict]]) -> dict:
    """Task options merged layer by layer.  An option given by a layer that names its task belongs to that
    task: when a later layer names another task, a preset's options are dropped (a preset's image options
    mean nothing to the xor task) and a file's are refused with both places named; an option given without
    a task (``--opt``, a file without ``task:``) applies to whichever task the settings end with."""
    task = DataConfig.task
    options: dict[str, tuple[object, str, str | None]] = {}     # option -> (value, where, its task or None)
    for where, layer in layers:
        given = layer.get("task_options") or {}
        if not isinstance(given, dict):
            raise ValueError(f"task_options: expected a mapping of option to value, got {shown(given)}")
        if "task" in layer and layer["task"] != task:
            for key, (value, place, owner) in list(options.items()):
                if owner is None or owner == layer["task"]:
                    continue
                if place.startswith("preset "):
                    del options[key]
                    continue
                raise ValueError(f"task_options: {key}={shown(value)} is given for task {owner} in {place}, but "
                                 f"{where} chooses task {shown(layer['task'])}; give the option with the task "
                                 f"that takes it (--opt {key}=... on the command line), or name one task")
            task = layer["task"]
        for key, value in given.items():
            options[key] = (value, where, layer.get("task"))
    return {key: value for key, (value, _, _) in options.items()}


def resolve(preset: str | None = None, config_file: str | Path | None = None, **flags) -> Settings:
    """Defaults < preset < config file < flags (flags that are None are not given); task options merge by
    :func:`_merge_task_options`, so no option is dropped without its reason."""
    layers = _layers(preset, config_file, flags)
    values: dict = {}
    for _, layer in layers:
        values.update({k: v for k, v in layer.items() if k != "task_options"})
    values["task_options"] = _merge_task_options(layers)
    models = values.pop("models", DEFAULT_MODELS)
    if isinstance(models, str) or not isinstance(models, (list, tuple)):
        raise ValueError(f"models: expected a list of model names such as [rnn, lstm], got {shown(models)}")
    for name in models:
        parse_model_name(name)
    return Settings(values, tuple(models))


def check_choice_plain(name: str, value: object, options: tuple) -> None:
    """Like spec.check_choice, with the options listed bare (``quick, course``)."""
    if value not in options:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of {', '.join(options)}")
