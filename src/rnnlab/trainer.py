"""The training loop: a typed loop state, callbacks for everything around it, a History at the end.

    for each epoch e (from the loop state's position):
        plan = the task's batch stream for epoch e (by default a permutation drawn from (seed, e))
        for each batch b:   lr = schedule(step);  loss = model.train_batch(batch, lr)
                            (a contiguous stream: loss, state = model.train_batch(batch, lr, state))
        evaluate on the validation and test sets; callbacks see the epoch's record

Everything else — the progress bar, the epoch lines, metrics.csv, checkpoints, train.log,
TensorBoard — is a :class:`Callback` (see :mod:`rnnlab.callbacks`), so the loop stays readable
and a notebook can run it with none of them.  Ctrl-C sets a flag that the loop reads between
batches (every data-parallel worker stops at the same batch); a loss that becomes NaN or infinite
stops it.  Both leave the loop state as it was after the last finished batch, so a checkpoint of
it resumes exactly.

Carried state (:mod:`rnnlab.streams`): when the task's stream is contiguous, each batch row continues
the row of the batch before, and the model's final recurrent state of one batch is the initial state
of the next, detached (truncated backpropagation through time).  It starts from zeros at the start
of every epoch and in the rows a batch marks ``fresh``, and the loop state holds it, so a checkpoint
taken mid-epoch resumes with the same state and the same numbers.
"""
from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np

from . import denormals, distributed
from . import threads as thread_policy
from .cells import get_cell
from .config import OptimConfig
from .memory import evaluation_batch
from .metrics import metric_of_sums, metric_sums, metric_value
from .numpy.losses import LOSSES
from .numpy.split import batch_parts
from .streams import Batch, BatchStream, Shuffled
from .tasks import Split, TaskData

if TYPE_CHECKING:
    from .engines.protocol import Trainable


def loss_value(loss: str, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    """The loss of ``outputs`` in float64, by the NumPy engine's loss functions: the same number whatever engine
    made the outputs."""
    return LOSSES[loss](outputs.astype(np.float64), y, mask)[0]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C: a checkpoint was saved; the message says how to resume."""


def lr_at(optim: OptimConfig, step: int, total_steps: int) -> float:
    """The learning rate of optimizer step ``step`` (0-based) of ``total_steps``.

        constant:  lr
        cosine:    lr * (1 + cos(pi s / S)) / 2
        onecycle:  linear warm-up from lr/25 to lr over the first 15 % of the steps, then cosine
                   annealing down to lr/25/1e4 (torch's OneCycleLR with its defaults)
    """
    if optim.schedule == "constant":
        return optim.lr
    progress = min(step / max(total_steps, 1), 1.0)
    if optim.schedule == "cosine":
        return optim.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    start, end, warm = optim.lr / 25.0, optim.lr / 25.0 / 1e4, 0.15
    if progress < warm:
        return start + (optim.lr - start) * progress / warm
    return end + (optim.lr - end) * 0.5 * (1.0 + math.cos(math.pi * (progress - warm) / (1.0 - warm)))


@dataclass
class LoopState:
    """Where the loop is: what a checkpoint must hold to continue exactly."""
    epoch: int = 0              # finished epochs
    batch: int = 0              # finished batches of the epoch in hand
    step: int = 0               # optimizer steps taken
    loss_sum: float = 0.0       # running sums of the epoch in hand
    batches: int = 0
    metric_sum: float = 0.0
    metric_count: float = 0.0
    elapsed: float = 0.0        # seconds of the finished epochs
    epoch_elapsed: float = 0.0  # seconds of the epoch in hand before an interruption
    # the recurrent state carried into the next batch (contiguous streams): {state name: (layers*dirs, B, H)};
    # {} = zeros; None = the stream carries none.  The stream's position is (epoch, batch).
    carried: dict[str, np.ndarray] | None = None

    ADDED = ("carried",)        # fields that checkpoints of older versions do not have (their defaults apply)

    @classmethod
    def from_dict(cls, doc: dict) -> LoopState:
        values = {f.name: doc[f.name] for f in fields(cls) if f.name not in cls.ADDED or f.name in doc}
        if values.get("carried") is not None:
            values["carried"] = {name: _array(saved) for name, saved in values["carried"].items()}
        return cls(**values)

    def to_dict(self) -> dict:
        """JSON-able: the carried arrays as base64 text of their bytes (exact), with dtype and shape."""
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "carried"}
        doc["carried"] = None if self.carried is None else {name: _saved(a) for name, a in self.carried.items()}
        return doc


def _saved(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a)
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def _array(saved: dict) -> np.ndarray:
    data = base64.b64decode(saved["data"])
    return np.frombuffer(data, dtype=np.dtype(saved["dtype"])).reshape(saved["shape"]).copy()


@dataclass
class EpochRecord:
    """One row of metrics.csv."""
    epoch: int
    train_loss: float
    train_metric: float
    val_loss: float | None
    val_metric: float | None
    test_loss: float
    test_metric: float
    seconds: float
    lr: float

    @classmethod
    def from_row(cls, row: dict[str, str]) -> EpochRecord:
        """A record from a row of metrics.csv (empty cells: no validation set)."""
        def number(name: str, text: str) -> float | int | None:
            return None if text == "" else int(text) if name == "epoch" else float(text)
        return cls(**{f.name: number(f.name, row.get(f.name) or "") for f in fields(cls)})


@dataclass
class History:
    """What training produced, in memory: per iteration the training loss and the task's metric on that batch,
    per epoch an :class:`EpochRecord`."""
    label: str
    metric: str
    iteration_loss: list[float] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)
    summary: dict = field(default_factory=dict)     # final and best metrics (filled in by rnnlab.train)
    iteration_metric: list[float] = field(default_factory=list)   # NaN where a batch had nothing to score

    def column(self, name: str) -> list:
        """One column of the epoch records: ``history.column("test_metric")``."""
        return [getattr(record, name) for record in self.epochs]

    @property
    def seconds(self) -> float:
        return float(sum(record.seconds for record in self.epochs))


class Callback:
    """Hooks of the loop; each does nothing unless overridden."""

    def on_epoch_start(self, trainer: Trainer, state: LoopState, epoch: int) -> None: ...

    def on_batch(self, trainer: Trainer, state: LoopState, loss: float) -> None: ...

    def on_epoch(self, trainer: Trainer, state: LoopState, record: EpochRecord) -> None: ...

    def on_interrupt(self, trainer: Trainer, state: LoopState) -> None: ...

    def on_fit_start(self, trainer: Trainer, threads_line: str) -> None: ...

    def close(self) -> None: ...


def predict_all(model: Trainable, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Outputs of ``model`` on sequences ``x`` (N, T, D), ``batch_size`` at a time, or fewer where one pass
    would fill more than a quarter of the free memory (:func:`rnnlab.memory.evaluation_batch`)."""
    spec = getattr(model, "spec", None)
    if spec is not None and x.ndim == 3:
        batch_size = evaluation_batch(spec, x.shape[1], batch_size, max(x.dtype.itemsize, 4))
    return np.concatenate([model.predict(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def predict_stream(model: Trainable, split: Split, stream: BatchStream, batch_size: int
                   ) -> tuple[np.ndarray, Split]:
    """Outputs of ``model`` on a split read as a contiguous stream does (``stream.evaluation``): window by
    window, each row's state carried from one window into the next, from zeros.  Returns the outputs
    (rows, len, O) and the split cut into those rows (its mask marks the padding of the last row)."""
    rows, windows = stream.evaluation(split, batch_size)
    outputs, state = [], {}
    for steps in windows:
        out, state = model.predict(np.ascontiguousarray(rows.x[:, steps]), state=state)
        outputs.append(out)
    return np.concatenate(outputs, axis=1), rows


def step_work(model: Trainable, batch_size: int) -> float:
    """Multiply-adds of the largest product of one time step, batch x G*H x (H + D) with D the widest layer
    input: what decides whether another thread pays (:mod:`rnnlab.threads`); 0 for a model that has no spec."""
    spec = getattr(model, "spec", None)
    if spec is None:
        return 0.0
    r = spec.recurrent
    H = r.hidden_size
    widest = max(r.input_size or 1, H * (2 if r.bidirectional else 1) if r.num_layers > 1 else 1)
    return float(batch_size * get_cell(r.cell).num_gates * H * (H + widest))


@contextmanager
def thread_scope(model: Trainable, batch_size: int, setting: int | None = None,
                 steps: int | None = None) -> Iterator[thread_policy.ThreadChoice]:
    """The threads :mod:`rnnlab.threads` chooses (or ``setting`` / RNNLAB_THREADS asks for) for batches of
    ``batch_size`` sequences of ``steps`` steps, in use inside the block; inside a scope already open
    (training's evaluations) that scope's threads stay."""
    if thread_policy.inside_scope():
        yield thread_policy.ThreadChoice(thread_policy.torch_threads(), "the training around it")
        return
    parts = batch_parts(model, batch_size, steps, thread_policy.usable_cores())   # the NumPy engine's split
    choice = thread_policy.decide(setting, step_work(model, batch_size), parts=parts)
    with thread_policy.use_threads(choice.threads):
        yield choice


def evaluate_split(model: Trainable, split: Split, loss: str, metric: str,
                   batch_size: int, flush_denormals: bool = True,
                   stream: BatchStream | None = None, threads: int | None = None) -> tuple[float, float, np.ndarray]:
    """Loss, metric and outputs of ``model`` on a whole split, in batches (denormals flushed to zero
    unless ``flush_denormals`` is False, see :mod:`rnnlab.denormals`), with the threads of :func:`thread_scope`.

    With a ``stream`` that carries state the split is read as that stream reads it (:func:`predict_stream`,
    ``batch_size`` rows unless the stream says otherwise); the outputs come back in the split's layout."""
    with thread_scope(model, batch_size, threads), denormals.flush_denormals(flush_denormals):
        if stream is not None and stream.carries_state:
            outputs, rows = predict_stream(model, split, stream, batch_size)
            return (loss_value(loss, outputs, rows.y, rows.mask), metric_value(metric, outputs, rows.y, rows.mask),
                    stream.uncut(outputs, split))
        outputs = predict_all(model, split.x, batch_size)
    return loss_value(loss, outputs, split.y, split.mask), metric_value(metric, outputs, split.y, split.mask), outputs


def evaluate_as_trained(model: Trainable, split: Split, loss: str, metric: str, stream: BatchStream,
                        batch_size: int, eval_batch_size: int, flush_denormals: bool = True,
                        threads: int | None = None) -> tuple[float, float, np.ndarray]:
    """:func:`evaluate_split` as training reads the task: a stream that carries state reads ``split`` in
    ``batch_size`` rows (a training batch's) with its state carried; any other in batches of ``eval_batch_size``."""
    if stream.carries_state:
        return evaluate_split(model, split, loss, metric, batch_size, flush_denormals, stream, threads)
    return evaluate_split(model, split, loss, metric, eval_batch_size, flush_denormals, None, threads)


class StopFlag:
    """Set by the Ctrl-C handler; read by the loop between batches."""
    requested: bool = False


class Trainer:
    """Trains ``model`` (a :class:`~rnnlab.engines.Trainable`) on ``data`` as ``optim`` says."""

    def __init__(self, model: Trainable, data: TaskData, optim: OptimConfig, loss: str, metric: str, seed: int,
                 label: str = "", eval_batch_size: int = 1000, callbacks: tuple[Callback, ...] = (),
                 workers: distributed.Workers | None = None, stop: StopFlag | None = None,
                 augment: Callable[[np.ndarray, int, np.ndarray, int], np.ndarray] | None = None,
                 flush_denormals: bool = True, stream: BatchStream | None = None, threads: int | None = None) -> None:
        self.flush_denormals = flush_denormals   # FTZ/DAZ while training and evaluating (rnnlab.denormals)
        self.threads = threads                   # None: chosen when fit starts (rnnlab.threads)
        self.augment = augment   # (x, step, positions in the batch, batch size) -> x (rnnlab.data.augment)
        self.model, self.data, self.optim, self.loss, self.metric = model, data, optim, loss, metric
        self.seed, self.label, self.eval_batch_size = seed, label, eval_batch_size
        self.callbacks, self.workers, self.stop = callbacks, workers or distributed.Workers(), stop or StopFlag()
        # the batch order: given, else the task's (TaskData.stream), else the shuffled default
        self.stream = stream or getattr(data, "stream", None) or Shuffled()
        if self.stream.carries_state and self.workers.world > 1:
            raise ValueError(f"--ddp: a {type(self.stream).__name__.lower()} stream carries each row's state from "
                             f"batch to batch, which data-parallel training does not keep yet; train this task "
                             f"in one process (without --ddp)")
        self.batches_per_epoch = self.stream.batches_per_epoch(data.train, optim.batch_size)
        self.total_steps = optim.epochs * self.batches_per_epoch

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    def fit(self, state: LoopState | None = None, history: History | None = None) -> History:
        """Train from ``state`` (a fresh start when None) to the last epoch; returns the history.
        Denormal floats are flushed to zero meanwhile unless ``flush_denormals`` is False; the threads are
        chosen (:mod:`rnnlab.threads`) and said in one line to the callbacks (``on_fit_start``)."""
        x = self.data.train.x     # sequences that a batch split can share out (none where state is carried)
        steps = x.shape[1] if x.ndim == 3 and not self.stream.carries_state else None
        with thread_scope(self.model, self.optim.batch_size, self.threads, steps) as choice:
            self._emit("on_fit_start", choice.line())
            with denormals.flush_denormals(self.flush_denormals):
                return self._fit(state, history)

    def _fit(self, state: LoopState | None, history: History | None) -> History:
        state = state or LoopState()
        history = history or History(self.label, self.metric)
        for epoch in range(state.epoch, self.optim.epochs):
            started = time.perf_counter() - state.epoch_elapsed
            plan = self.stream.epoch(self.data.train, self.optim.batch_size, self.seed, epoch)
            if self.stream.carries_state and (state.batch == 0 or state.carried is None):
                state.carried = {}        # each epoch starts from zeros
            self._emit("on_epoch_start", state, epoch)
            for b in range(state.batch, self.batches_per_epoch):
                if distributed.all_sum(self.workers, [float(self.stop.requested)])[0] > 0:   # all stop here
                    state.epoch, state.batch, state.epoch_elapsed = epoch, b, time.perf_counter() - started
                    self._emit("on_interrupt", state)
                    raise TrainingInterrupted(f"interrupted at epoch {epoch + 1}, batch {b + 1}")
                metric_before = (state.metric_sum, state.metric_count)
                value = self._train_batch(plan[b], state)
                if not math.isfinite(value):
                    raise TrainingDiverged(f"the loss became {value} at epoch {epoch + 1}, step {b + 1}")
                history.iteration_loss.append(value)
                history.iteration_metric.append(_batch_metric(self.metric, metric_before, state))
                self._emit("on_batch", state, value)
            record = self._end_epoch(epoch, state, started)
            bad = [name for name, value in vars(record).items() if value is not None and not math.isfinite(value)]
            if bad:   # nothing non-finite reaches metrics.csv or a checkpoint
                raise TrainingDiverged(f"the {bad[0].replace('_', ' ')} became {getattr(record, bad[0])} at the "
                                       f"end of epoch {epoch + 1}")
            history.epochs.append(record)
            self._emit("on_epoch", state, record)
        return history

    def _train_batch(self, batch: Batch, state: LoopState) -> float:
        """One optimizer step on ``batch`` of the training set (this worker's share of its rows); the
        loop state's running sums take the whole batch's numbers.  Returns its mean loss."""
        workers = self.workers
        part = batch.take(workers.rank, workers.world)
        if self.augment is not None:   # drawn from (seed, step): a resumed run sees the same batches
            positions = np.arange(len(batch))[workers.rank::workers.world]
            part = Split(self.augment(part.x, state.step, positions, len(batch)), part.y, part.mask)
        lr = lr_at(self.optim, state.step, self.total_steps)
        scale = len(part) * workers.world / len(batch)
        if self.stream.carries_state:
            local, outputs, carried = self.model.train_batch(part.x, part.y, part.mask, self.loss, lr, loss_scale=scale,
                                                             state=_restarted(state.carried, batch.fresh))
        else:
            local, outputs = self.model.train_batch(part.x, part.y, part.mask, self.loss, lr, loss_scale=scale)
        metric_sum, metric_count = metric_sums(self.metric, outputs, part.y, part.mask)
        weighted, count, metric_sum, metric_count = distributed.all_sum(
            workers, [local * len(part), float(len(part)), metric_sum, metric_count])
        value = weighted / count
        if math.isfinite(value):
            state.loss_sum += value
            state.batches += 1
            state.metric_sum += metric_sum
            state.metric_count += metric_count
            state.step += 1
            state.batch += 1
            if self.stream.carries_state:
                state.carried = carried
        return value

    def _end_epoch(self, epoch: int, state: LoopState, started: float) -> EpochRecord:
        """Evaluate, make the epoch's record (its seconds count from ``started``) and reset the running sums."""
        val = (None, None)
        if self.data.val is not None:
            val = self.evaluate(self.data.val)[:2]
        test = self.evaluate(self.data.test)[:2]
        lr = lr_at(self.optim, state.step - 1, self.total_steps)
        record = EpochRecord(epoch + 1, state.loss_sum / state.batches,
                             metric_of_sums(self.metric, state.metric_sum, state.metric_count),
                             *val, *test, time.perf_counter() - started, lr)
        state.epoch, state.batch, state.loss_sum, state.batches = epoch + 1, 0, 0.0, 0
        state.carried = {} if self.stream.carries_state else None
        state.metric_sum, state.metric_count, state.epoch_elapsed = 0.0, 0.0, 0.0
        state.elapsed += record.seconds
        return record

    def evaluate(self, split: Split) -> tuple[float, float, np.ndarray]:
        """Loss, metric and outputs of the model on ``split``, read as the task's stream reads it (a stream that
        carries state: in as many rows as a training batch has, unless the stream says otherwise)."""
        return evaluate_as_trained(self.model, split, self.loss, self.metric, self.stream, self.optim.batch_size,
                                   self.eval_batch_size, self.flush_denormals, self.threads)


def _batch_metric(metric: str, before: tuple[float, float], state: LoopState) -> float:
    """The metric of the batch just trained: the running sums' growth over it (NaN when it added nothing)."""
    count = state.metric_count - before[1]
    return metric_of_sums(metric, state.metric_sum - before[0], count) if count > 0 else math.nan


def _restarted(carried: dict[str, np.ndarray] | None, fresh: np.ndarray | None) -> dict[str, np.ndarray]:
    """The carried state with the rows ``fresh`` set to zeros (a new copy; {} stays {}: all zeros)."""
    if not carried or fresh is None or not np.any(fresh):
        return carried or {}
    if np.all(fresh):
        return {}
    restarted = {name: a.copy() for name, a in carried.items()}
    for a in restarted.values():
        a[:, fresh] = 0.0
    return restarted
