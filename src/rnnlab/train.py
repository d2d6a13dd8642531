"""One training run end to end: check the settings, build the model, train it, leave a run directory.

    settings (TrainConfig) -> RunPlan (rnnlab.plan: resolved and checked) -> data -> model on an engine
                           -> Trainer -> History -> run directory (rnnlab.rundir)

Determinism: the batches of epoch e are a permutation drawn from (seed, e), and the random state
of dropout is saved in the checkpoint, so ``resume`` after a kill ends with exactly the metrics
of an uninterrupted run.  Nothing is loaded, written or deleted before the plan has checked the
settings, and nothing is written or deleted before the run directory and the data have been checked.
"""
from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import distributed
from .callbacks import BestModel, EpochPrinter, ProgressBar, RunFiles, TensorBoard, TextSampler, epoch_text, text_bits
from .config import TrainConfig
from .data.augment import make_augmenter
from .engines import ModelSpec, Trainable, build_trainable
from .init import apply_init
from .metrics import get_metric
from .plan import RunPlan, resolve
from .rundir import RunDir, RunExists
from .tasks import Split, Task, TaskData
from .text.vocab import vocabulary_of
from .trainer import (
    History,
    LoopState,
    StopFlag,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    evaluate_as_trained,
)

__all__ = ["RunExists", "TrainingDiverged", "TrainingInterrupted", "train_run"]


RESUMABLE = ("epochs", "tensorboard", "threads")   # the settings a resumed run may change


def train_run(cfg: TrainConfig | RunPlan | None, run_dir: str | Path, data: TaskData | None = None,
              resume: bool = False, force: bool = False, echo: Callable[[str], None] = print, progress: bool = True,
              data_dir: str | Path | None = None, changes: dict | None = None) -> History:
    """Train one model as ``cfg`` says (None with ``resume``: the run's own settings), writing everything
    into ``run_dir``; returns its History
    (``history.summary`` holds the final and best metrics; empty on data-parallel workers but the first).

    ``cfg`` is resolved and checked by :func:`rnnlab.plan.resolve` before anything else happens (a
    :class:`RunPlan` made already is used as it is; with ``resume`` the run's own settings are).

    ``changes`` (with ``resume``): new values of the settings in :data:`RESUMABLE`, such as more epochs.
    Ctrl-C (SIGINT) is caught from the start: the loop stops after the batch in hand, saves a
    checkpoint and raises :class:`TrainingInterrupted`."""
    stop = StopFlag()
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: setattr(stop, "requested", True))
    except ValueError:   # not the main thread: Ctrl-C is not ours to catch
        previous = None
    try:
        if resume:
            cfg = _resumed_config(RunDir(run_dir), changes or {})
        plan = cfg if isinstance(cfg, RunPlan) else resolve(cfg)
        request = RunRequest(data, resume, force, echo, progress, data_dir)
        return _train(plan, RunDir(run_dir), request, stop)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _saved_config(run: RunDir) -> TrainConfig:
    if not run.file("config.json").exists():
        raise RunExists(f"--resume: {run} is not a run directory (no config.json); start a new run instead")
    try:
        return TrainConfig.from_dict(run.read_config()["config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{run.file('config.json')}: its settings cannot be used ({exc}); "
                         f"train the run again with --force") from None


def _resumed_config(run: RunDir, changes: dict) -> TrainConfig:
    """The run's own settings, with the changes a resume may make."""
    saved = _saved_config(run)
    current = saved.flat()
    if "task_options" in changes:   # options given again are merged into the run's own
        changes = {**changes, "task_options": {**current["task_options"], **changes["task_options"]}}
    refused = sorted(name for name, value in changes.items() if name not in RESUMABLE and current.get(name) != value)
    if refused:
        flags = ", ".join("--opt" if name == "task_options" else "--" + name.replace("_", "-") for name in refused)
        raise ValueError(f"--resume: {flags} cannot change when a run resumes (only "
                         f"{', '.join('--' + name for name in RESUMABLE)} can); start a new run with another --name")
    return saved.with_settings(**changes) if changes else saved


@dataclass(frozen=True)
class RunRequest:
    """How a run was asked for, besides its settings."""
    data: TaskData | None = None          # data already loaded (compare loads it once for every model)
    resume: bool = False
    force: bool = False
    echo: Callable[[str], None] = print
    progress: bool = True
    data_dir: str | Path | None = None


def _check(plan: RunPlan, run: RunDir, request: RunRequest) -> None:
    """What the plan cannot know before any work: data handed over fits the task, the run directory is free."""
    if request.data is not None:
        plan.check_data(request.data)
    if not request.resume:
        run.check_free(request.force)


def build_model(plan: RunPlan, workers: distributed.Workers | None = None) -> Trainable:
    """The plan's model on its engine with its optimizer, initialised as its settings say (and made
    data-parallel when ``workers`` are)."""
    cfg, o = plan.config, plan.config.optim
    model = build_trainable(plan.spec, cfg.run.engine, o.optimizer, o.lr, cfg.run.seed, o.momentum, o.clip_value,
                            o.clip_norm, cfg.run.device, o.weight_decay)
    apply_init(model, cfg.init, cfg.run.seed)
    if workers is not None and workers.enabled:
        model.data_parallel()
    return model


def make_trainer(plan: RunPlan, model: Trainable, data: TaskData, callbacks: tuple = (),
                 workers: distributed.Workers | None = None, stop: StopFlag | None = None) -> Trainer:
    """The training loop of a plan's run on ``data`` (with the augmentation its settings ask for)."""
    cfg = plan.config
    return Trainer(model, data, cfg.optim, plan.loss, plan.metric, cfg.run.seed, plan.spec.label,
                   cfg.data.eval_batch_size, callbacks, workers, stop,
                   make_augmenter(cfg.data.augment, data.info, cfg.run.seed), flush_denormals=cfg.run.flush_denormals,
                   threads=cfg.run.threads)


def _start(cfg: TrainConfig, run: RunDir, request: RunRequest, model: Trainable, task: Task, loss: str,
           data: TaskData, main: bool) -> tuple[LoopState, History]:
    """A new run's files, or a resumed run's loop state and history."""
    spec = model.spec
    history = History(spec.label, task.metric)
    if not request.resume:
        if main:
            run.make_fresh(request.force)
            run.write_json("config.json", config_record(cfg, spec, task.name, loss, task.metric,
                                                        model.num_parameters()))
            run.write_json("task.json", data.info)
            _start_text(run, data, request.echo)
        return LoopState(), history
    state, history = _restore(run, model, history)
    if state.epoch > cfg.optim.epochs:
        raise ValueError(f"--epochs {cfg.optim.epochs}: {run} has already finished {state.epoch} epochs; "
                         f"give more epochs, or none to keep {state.epoch}")
    if main:     # the settings it continues with (a changed epoch count, TensorBoard)
        run.write_json("config.json", {**run.read_config(), "config": cfg.to_dict()})
    request.echo(f"resuming {run} at epoch {state.epoch + 1}, batch {state.batch + 1}")
    return state, history


def _start_text(run: RunDir, data: TaskData, echo: Callable[[str], None]) -> None:
    """A text run keeps its vocabulary, and its log starts with the n-gram baseline it is to beat."""
    if "vocabulary" not in data.info:
        return
    vocabulary = vocabulary_of(data.info["vocabulary"])
    run.write_vocabulary(vocabulary)
    ngram, bits = data.info.get("ngram"), vocabulary.bits
    if ngram:
        line = (f"baseline: {ngram['model']} {ngram['order']}-gram of the training text: validation "
                f"{ngram['val_bpc']:.3f} {bits}, test {ngram['test_bpc']:.3f} {bits}")
        echo(line)
        run.append_log(line)


def _fit(trainer: Trainer, state: LoopState, history: History, run: RunDir, lr: float) -> None:
    """Train; an interruption or a divergence says where the checkpoint is and what to do."""
    checkpoint = run.file(trainer.model.checkpoint_name)
    try:
        trainer.fit(state, history)
    except TrainingInterrupted as exc:
        raise TrainingInterrupted(f"{exc}; checkpoint saved in {checkpoint}. "
                                  f"Continue with: rnnlab train --resume {run}") from None
    except TrainingDiverged as exc:
        kept = (f"the checkpoint of epoch {state.epoch} is kept in {checkpoint}" if checkpoint.exists()
                else "no checkpoint had been written yet")
        raise TrainingDiverged(f"{exc}; {kept}. Try gradient clipping (--clip-norm 1.0) or a lower learning "
                               f"rate (--lr {lr / 10:g}).") from None
    finally:
        for callback in trainer.callbacks:
            callback.close()


def _train(plan: RunPlan, run: RunDir, request: RunRequest, stop: StopFlag) -> History:
    _check(plan, run, request)
    cfg, task, spec, loss = plan.config, plan.task, plan.spec, plan.loss
    workers = distributed.start(cfg.run.device) if cfg.run.ddp else distributed.Workers()
    model = build_model(plan, workers)
    data = request.data or plan.load(request.data_dir)
    state, history = _start(cfg, run, request, model, task, loss, data, workers.main)
    distributed.barrier(workers)
    callbacks = _callbacks(cfg, run, history, workers, request.echo, request.progress, data)
    trainer = make_trainer(plan, model, data, callbacks, workers, stop)
    _fit(trainer, state, history, run, cfg.optim.lr)
    if workers.main:
        history.summary = finish_run(run, model, spec, cfg, task, data, loss, history)
    distributed.barrier(workers)
    distributed.stop(workers)
    return history


def _callbacks(cfg: TrainConfig, run: RunDir, history: History, workers, echo, progress: bool,
               data: TaskData) -> tuple:
    """Every worker may stop; only the first prints and writes."""
    if not workers.main:
        return ()
    callbacks = [BestModel(run, history), RunFiles(run, history), EpochPrinter(echo)]
    if "vocabulary" in data.info:
        callbacks.append(TextSampler(vocabulary_of(data.info["vocabulary"]), echo, run, seed=cfg.run.seed))
    if progress and ProgressBar.wanted():
        callbacks.insert(0, ProgressBar())
    if cfg.run.tensorboard:
        callbacks.append(TensorBoard(run))
    return tuple(callbacks)


def _restore(run: RunDir, model, history: History) -> tuple[LoopState, History]:
    """The loop state and history of an interrupted run (a fresh start when it has no checkpoint yet)."""
    position = run.load_checkpoint(model)
    if position is None:
        return LoopState(), history
    state = LoopState.from_dict(position)
    return state, run.read_history(history.label, history.metric, state.epoch, state.step)


def config_record(cfg: TrainConfig, spec: ModelSpec, task: str, loss: str, metric: str, parameters: int) -> dict:
    """What ``config.json`` holds: the settings, the model, the task, and the Python, rnnlab and processor
    that trained it."""
    from .machine import processor
    from .version import version
    return {"config": cfg.to_dict(), "model": spec.to_dict(), "label": spec.label, "engine": cfg.run.engine,
            "task": task, "loss": loss, "metric": metric, "parameters": parameters,
            "python": sys.version.split()[0], "rnnlab": version, "processor": processor()}


@dataclass(frozen=True)
class FinalEvaluation:
    """The trained model on the test set and the task's extra test sets (e.g. longer binary sums)."""
    test_loss: float
    test_metric: float
    outputs: np.ndarray
    extra: dict[str, float]
    whole: dict[str, float]


def final_evaluation(model: Trainable, cfg: TrainConfig, task: Task, data: TaskData, loss: str) -> FinalEvaluation:
    """Evaluate a trained model as it was trained (its stream, batch sizes and denormal setting)."""
    def evaluate(split: Split) -> tuple:
        return evaluate_as_trained(model, split, loss, task.metric, data.stream, cfg.optim.batch_size,
                                   cfg.data.eval_batch_size, cfg.run.flush_denormals, cfg.run.threads)

    test_loss, test_metric, outputs = evaluate(data.test)
    extra, whole = {}, {}
    for name, split in data.extra_tests.items():
        _, extra[name], extra_outputs = evaluate(split)
        if get_metric(task.metric).whole is not None:
            whole[name] = get_metric(task.metric).whole(extra_outputs, split.y, split.mask)
    return FinalEvaluation(test_loss, test_metric, outputs, extra, whole)


def finish_run(run: RunDir, model: Trainable, spec: ModelSpec, cfg: TrainConfig, task: Task, data: TaskData,
               loss: str, history: History, final: FinalEvaluation | None = None) -> dict:
    """The trained model, the test predictions and the summary, written into the run directory (``final``:
    the model's evaluation when it is known already)."""
    run.save_model(model.weights(), spec, cfg.run.engine)
    final = final or final_evaluation(model, cfg, task, data, loss)
    keep = min(len(data.test), 5000 if task.readout == "last" else 64)
    run.save_predictions(y=data.test.y[:keep], outputs=final.outputs[:keep], x=data.test.x[:min(keep, 16)],
                         **({"mask": data.test.mask[:keep]} if data.test.mask is not None else {}))
    best = get_metric(task.metric).best(float(v) for v in history.column("test_metric"))
    summary = {"label": spec.label, "task": task.name, "engine": cfg.run.engine, "metric": task.metric,
               "loss": loss, "parameters": model.num_parameters(), "epochs": len(history.epochs),
               "final_test_metric": final.test_metric, "final_test_loss": final.test_loss, "best_test_metric": best,
               "seconds": history.seconds, "baseline": task.baseline(**cfg.data.options),
               "baseline_measure": task.chance_measure, "baseline_note": task.baseline_note,
               "extra_tests": final.extra, "extra_tests_whole": final.whole,
               "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
               **_best_and_text(run, data, final.test_loss)}
    run.write_json("summary.json", summary)
    return summary


def save_run(plan: RunPlan, model: Trainable, data: TaskData, history: History, final: FinalEvaluation,
             run_dir: str | Path, force: bool = False) -> Path:
    """A model trained in memory (``rnnlab.lab``) written as the ordinary run directory `rnnlab train` leaves:
    config.json, task.json, metrics.csv, iterations.csv, train.log, the checkpoint (the loop's position at the
    end of the last epoch, so ``rnnlab train --resume`` can add epochs), model.npz, predictions.npz,
    summary.json.  A run already in ``run_dir`` is replaced only with ``force``."""
    cfg, task, spec = plan.config, plan.task, model.spec
    run = RunDir(run_dir)
    run.make_fresh(force)
    run.write_json("config.json", config_record(cfg, spec, task.name, plan.loss, task.metric,
                                                model.num_parameters()))
    run.write_json("task.json", data.info)
    run.write_metrics([vars(r) for r in history.epochs])
    run.write_iterations(history.iteration_loss, history.iteration_metric)
    for record in history.epochs:
        run.append_log(epoch_text(spec.label, task.metric, cfg.optim.epochs, record, text_bits(data.info)))
    done = LoopState(epoch=len(history.epochs), step=len(history.iteration_loss), elapsed=history.seconds,
                     carried={} if data.stream.carries_state else None)
    run.save_checkpoint(model, done.to_dict())
    history.summary = finish_run(run, model, spec, cfg, task, data, plan.loss, history, final)
    return run.path


def _best_and_text(run: RunDir, data: TaskData, test_loss: float) -> dict:
    """The summary's best epoch by validation loss (best-model.npz), and a text run's numbers: the test
    cross-entropy in bits per character (per word: ``per``) and as perplexity, and the n-gram baseline."""
    found = {"best": run.read_json("best.json")} if run.file("best.json").exists() else {}
    if "vocabulary" in data.info:
        found["text"] = {"test_bpc": test_loss / math.log(2), "test_perplexity": math.exp(min(test_loss, 700)),
                         "vocabulary_size": len(data.info["vocabulary"]), "ngram": data.info.get("ngram"),
                         "per": vocabulary_of(data.info["vocabulary"]).unit}
    return found
