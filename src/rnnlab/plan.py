"""One run plan: the one place that resolves a training run and checks it, before any data loads or
any file is written.

Every entry point goes through :func:`resolve` (or :func:`resolve_all` for several runs at once):
`rnnlab train` and its ``--resume`` (in :func:`rnnlab.train.train_run`), `rnnlab compare` (every
model before the first trains), `rnnlab sweep` (every point before the first runs), `rnnlab bench`
(every run of the chosen entries before the first trains), ``rnnlab.lab.train`` and
``rnnlab.lab.compare``.  So the same bad settings are refused with the same message everywhere::

    settings (a TrainConfig; or Settings / flat settings)
      -> TrainConfig     each value on its own, and the option rules of rnnlab.rules (which option
                         fits which cell and engine): a TrainConfig cannot be made without them
      -> task            the task exists, its options by kind (rnnlab.tasks); sizes that depend on
                         them (a text task's vocabulary: the corpus is read and checked here)
      -> model spec      the model sized for the task: its input and output sizes and readout
      -> loss            the loss fits the task's targets (LOSSES_FOR)
      -> augmentation    the parts exist, and only an image task is augmented
      -> device          a GPU asked for is there
      -> stream          a task whose stream carries state between batches trains in one process
      -> memory          the estimate fits the memory this machine has free (rnnlab.memory)
      =  RunPlan         what the run needs; nothing loaded, nothing written

What is about the destination rather than the run stays with the entry point that owns it: whether a
run directory is free (train.py, runs.compare) and which settings a resume may change (train.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cells import get_cell
from .config import Settings, TrainConfig
from .data.augment import check_augment
from .memory import check_fits
from .spec import ModelSpec
from .tasks import Task, TaskData, get_task
from .threads import requested as requested_threads

__all__ = ["LOSSES_FOR", "RunPlan", "resolve", "resolve_all"]

# The losses a task's targets can be trained with, by the task's own loss: class labels (cross_entropy)
# take cross-entropy or the course's MSE on one-hot vectors; real numbers (mse) and bits (bce) take a
# squared error or a binary cross-entropy, and bits also the squared error of the sigmoid (mse_sigmoid,
# Programming Assignment 4's adder).  Any other pairing fails inside the engines on the first batch.
LOSSES_FOR: dict[str, tuple[str, ...]] = {"cross_entropy": ("cross_entropy", "mse_onehot"),
                                          "mse": ("mse", "bce"), "bce": ("bce", "mse", "mse_sigmoid")}


@dataclass(frozen=True)
class RunPlan:
    """A run resolved and checked: its configuration, task, model description and loss.

    ``options`` are the task's options with its defaults filled in; ``spec`` is the model sized for the
    task (the configuration's own has no sizes yet); ``name`` is how the run is called (a model's short
    name in a comparison, else the model's label)."""
    config: TrainConfig
    task: Task
    options: dict
    spec: ModelSpec
    loss: str
    name: str

    @property
    def metric(self) -> str:
        return self.task.metric

    @property
    def seed(self) -> int:
        return self.config.run.seed

    @property
    def engine(self) -> str:
        return self.config.run.engine

    def load(self, data_dir: str | Path | None = None) -> TaskData:
        """The task's train / validation / test sets, drawn from the run's seed."""
        return self.task.load(seed=self.seed, data_dir=data_dir, **self.config.data.options)

    def check_data(self, data: TaskData) -> None:
        """Data handed over ready-made (``lab.train(data=...)``, a comparison's shared data) must have the
        task's width; a mismatch is refused here rather than inside the engine."""
        shape = np.shape(data.train.x)
        if len(shape) != 3 or shape[-1] != self.task.input_size:
            raise ValueError(f"data: its training inputs are shaped {shape}, task {self.task.name} takes "
                             f"(sequences, steps, {self.task.input_size}); give the data of task {self.task.name} "
                             f"(lab.load_data({self.task.name!r})) or the task the data was made for")


def resolve(settings: TrainConfig | Settings | Mapping[str, object], name: str | None = None) -> RunPlan:
    """The plan of one run: ``settings`` resolved and checked (see the module docstring for the order).

    ``settings``: a :class:`TrainConfig`, :class:`Settings` (their own model) or flat settings
    (``{"task": "xor", "cell": "gru", ...}``).  ``name``: what the run is called (default: the model's
    label).  Raises ValueError naming the bad value, what was expected and what to do."""
    cfg = _config(settings)
    task = get_task(cfg.data.task)
    options = task.options(**cfg.data.options)
    task = task.sized(options)      # a text task's vocabulary (its corpus read and checked)
    spec = cfg.model.for_task(task)
    loss = _check_loss(cfg.optim.loss, task)
    check_augment(cfg.data.augment, task.name, images=task.dataset is not None)
    _check_device(cfg)
    requested_threads(cfg.run.threads)        # a bad RNNLAB_THREADS is refused before anything starts
    _check_stream(cfg, task, options)
    check_fits(cfg, task)
    return RunPlan(cfg, task, options, spec, loss, name if name is not None else cfg.label)


def resolve_all(configs: Mapping[str, TrainConfig | Settings | Mapping[str, object]],
                shared_data: bool = False) -> dict[str, RunPlan]:
    """The plans of several runs by name, every one checked before any is used (the first refusal is
    raised).  ``shared_data``: the runs train on one set of data, loaded once (a comparison), so they
    must agree on the task, its options and the seed."""
    plans = {name: resolve(cfg, name) for name, cfg in configs.items()}
    if shared_data and plans:
        first = next(iter(plans.values()))
        for plan in plans.values():
            if (plan.task.name, plan.options, plan.seed) != (first.task.name, first.options, first.seed):
                raise ValueError(f"{plan.name}: trains on task {plan.task.name} {plan.options} with seed {plan.seed}, "
                                 f"{first.name} on {first.task.name} {first.options} with seed {first.seed}; "
                                 f"models compared on one set of data need the same task, options and seed")
    return plans


def _config(settings: TrainConfig | Settings | Mapping[str, object]) -> TrainConfig:
    if isinstance(settings, TrainConfig):
        return settings
    if isinstance(settings, Settings):
        return settings.config()
    if isinstance(settings, Mapping):
        return TrainConfig.from_flat(dict(settings))
    raise ValueError(f"settings: expected a TrainConfig, Settings or a mapping of flat settings, got "
                     f"{type(settings).__name__}")


def _check_loss(loss: str | None, task: Task) -> str:
    """The loss the run trains with (the task's own when none is given), refused when the task's
    targets cannot be trained with it."""
    if loss is None:
        return task.loss
    allowed = LOSSES_FOR[task.loss]
    if loss in allowed:
        return loss
    others = " or ".join(repr(name) for name in allowed)
    needs = ("a classification task" if loss in LOSSES_FOR["cross_entropy"]
             else "real-valued targets, not class labels")
    raise ValueError(f"loss: {loss!r} needs {needs}, {task.name} is {task.loss}; use loss {others}, "
                     f"or none for the task's own ({task.loss})")


def _check_stream(cfg: TrainConfig, task: Task, options: dict) -> None:
    """A stream that carries each row's state from batch to batch is trained in one process, by a cell that
    takes a state (the registry's ``takes_state``: not the LRU, whose complex state is internal)."""
    stream = task.stream_of(options)
    cell = get_cell(cfg.model.cell)
    if stream.carries_state and not cell.takes_state:
        raise ValueError(f"cell: the task {task.name} carries each row's state from batch to batch, and the "
                         f"{cell.full_name} takes no state from outside (its state is complex and internal); "
                         f"choose another cell for this task")
    if cfg.run.ddp and stream.carries_state:
        raise ValueError(f"ddp: the task {task.name} reads its data as a {type(stream).__name__.lower()} stream "
                         f"that carries each row's state from batch to batch, which data-parallel training does "
                         f"not keep yet; train this task in one process (without --ddp)")


def _check_device(cfg: TrainConfig) -> None:
    """A GPU asked for is there (the NumPy engine's refusal of a GPU is a rule of rnnlab.rules)."""
    if cfg.run.device == "cuda" and cfg.run.engine != "numpy":
        import torch
        if not torch.cuda.is_available():
            raise ValueError("device: 'cuda' asked for, but PyTorch sees no CUDA device here; use --device cpu")
