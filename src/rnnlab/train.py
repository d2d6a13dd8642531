"""The training loop and the run directory it leaves.

A run directory holds:

    config.json      the fully resolved configuration and the model spec
    task.json        everything the task recorded (split sizes, scaling, the pixel permutation...)
    metrics.csv      one row per epoch: train / validation / test loss and metric, seconds, lr
    train.log        the one-line summary of every epoch
    checkpoint.pt    weights, optimizer and random state after the last finished epoch (or at Ctrl-C),
                     written atomically: a crash never leaves a half-written checkpoint
    model.npz        the final weights under torch.nn's names (+ head), loadable by every engine
    predictions.npz  test-set targets and outputs (for confusion matrices and sample plots)
    summary.json     final and best metrics, parameters, time

Determinism: the batches of epoch e are a permutation drawn from (seed, e), and the random state
of dropout is saved in the checkpoint, so ``resume`` after a kill ends with exactly the metrics
of an uninterrupted run.
"""
from __future__ import annotations

import csv
import io
import json
import math
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import distributed
from .config import TrainConfig
from .data.idx import write_atomic
from .metrics import HIGHER_IS_BETTER, format_metric, loss_value, metric_sums, metric_value, sequence_accuracy
from .models import ModelSpec, apply_init, build_trainable, save_weights
from .tasks import Split, TaskData, get_task

METRIC_COLUMNS = ("epoch", "train_loss", "train_metric", "val_loss", "val_metric", "test_loss", "test_metric",
                  "seconds", "lr")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C: a checkpoint was saved; the message says how to resume."""


class RunExists(RuntimeError):
    pass


def lr_at(cfg: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate of optimizer step ``step`` (0-based) of ``total_steps``.

        constant:  lr
        cosine:    lr * (1 + cos(pi s / S)) / 2
        onecycle:  linear warm-up from lr/25 to lr over the first 15 % of the steps, then cosine
                   annealing down to lr/25/1e4 (torch's OneCycleLR with its defaults)
    """
    if cfg.schedule == "constant":
        return cfg.lr
    progress = min(step / max(total_steps, 1), 1.0)
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    start, end, warm = cfg.lr / 25.0, cfg.lr / 25.0 / 1e4, 0.15
    if progress < warm:
        return start + (cfg.lr - start) * progress / warm
    return end + (cfg.lr - end) * 0.5 * (1.0 + math.cos(math.pi * (progress - warm) / (1.0 - warm)))


def model_spec(cfg: TrainConfig, task) -> ModelSpec:
    return ModelSpec(input_size=task.input_size, output_size=task.output_size, readout=task.readout,
                     **cfg.model_fields())


def predict_all(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([model.predict(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def evaluate_split(model, split: Split, loss: str, metric: str, batch_size: int) -> tuple[float, float, np.ndarray]:
    outputs = predict_all(model, split.x, batch_size)
    return loss_value(loss, outputs, split.y, split.mask), metric_value(metric, outputs, split.y, split.mask), outputs


# ---------------------------------------------------------------------------------------------
# Checkpoints


def save_checkpoint(path: Path, state: dict, position: dict) -> None:
    import torch
    payload = {"weights": {k: torch.from_numpy(np.array(v)) for k, v in state["weights"].items()},
               "arrays": {k: torch.from_numpy(np.array(v)) for k, v in state["arrays"].items()},
               "meta": json.dumps({"engine_meta": state["meta"], "position": position})}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path) -> tuple[dict, dict]:
    import torch
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["meta"])
    state = {"weights": {k: v.numpy() for k, v in payload["weights"].items()},
             "arrays": {k: v.numpy() for k, v in payload["arrays"].items()}, "meta": meta["engine_meta"]}
    return state, meta["position"]


# ---------------------------------------------------------------------------------------------
# The loop


@dataclass
class _Stop:
    requested: bool = False


def _read_metrics(path: Path, upto_epoch: int) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as handle:
        return [row for row in csv.DictReader(handle) if int(row["epoch"]) <= upto_epoch]


def _write_metrics(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue().encode())


def prepare_run_dir(run_dir: Path, resume: bool, force: bool) -> None:
    """A new run gets an empty folder (an existing one only with ``force``); a resumed run keeps its own."""
    if resume:
        return
    if run_dir.exists() and any(run_dir.iterdir()):
        if not force:
            raise RunExists(f"{run_dir} already exists; pass --force to overwrite it, --resume to continue it, "
                            f"or choose another --name")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)


def train_run(cfg: TrainConfig, run_dir: str | Path, data: TaskData | None = None, resume: bool = False,
              force: bool = False, echo=print, progress: bool = True, data_dir=None) -> dict:
    """Train one model as ``cfg`` says, writing everything into ``run_dir``; returns the summary.

    Ctrl-C (SIGINT) is caught from the start: the loop stops after the batch in hand, saves a
    checkpoint and raises :class:`TrainingInterrupted`."""
    stop = _Stop()
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: setattr(stop, "requested", True))
    except ValueError:   # not the main thread: Ctrl-C is not ours to catch
        previous = None
    try:
        return _train(cfg, Path(run_dir), data, resume, force, echo, progress, data_dir, stop)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _train(cfg, run_dir, data, resume, force, echo, progress, data_dir, stop) -> dict:
    from tqdm import tqdm

    if resume:
        if not (run_dir / "config.json").exists():
            raise RunExists(f"--resume: {run_dir} is not a run directory (no config.json); start a new run instead")
        saved = json.loads((run_dir / "config.json").read_text())["config"]
        cfg = TrainConfig(**{**saved, "models": tuple(saved["models"])})
    if cfg.ddp and cfg.engine == "numpy":
        raise ValueError("--ddp: data-parallel training needs a PyTorch engine ('scratch' or 'torch'), not 'numpy'")
    workers = distributed.start(cfg.device) if cfg.ddp else distributed.Workers()
    if workers.main:
        prepare_run_dir(run_dir, resume, force)
    else:
        echo, progress = (lambda line: None), False
    distributed.barrier(workers)
    task = get_task(cfg.task)
    task.options(**cfg.task_options)   # unknown options fail before any work
    spec = model_spec(cfg, task)
    loss_name = cfg.loss or task.loss
    if loss_name == "mse_onehot" and task.loss != "cross_entropy":
        raise ValueError(f"loss: 'mse_onehot' needs a classification task, {task.name} is {task.loss}")
    model = build_trainable(spec, cfg.engine, cfg.optimizer, cfg.lr, cfg.seed, cfg.momentum, cfg.clip_value,
                            cfg.clip_norm, cfg.device)
    lstm = spec.cell == "lstm"
    apply_init(model, cfg.init, cfg.seed, cfg.recurrent_init, cfg.forget_bias if lstm else 0.0,
               cfg.chrono if lstm else 0)
    if workers.enabled:
        model.data_parallel()
    if data is None:
        data = task.load(seed=cfg.seed, data_dir=data_dir, **cfg.task_options)
    if not resume and workers.main:
        config_doc = {"config": cfg.to_dict(), "model": spec.to_dict(), "label": spec.label,
                      "engine": cfg.engine, "task": task.name, "loss": loss_name, "metric": task.metric,
                      "parameters": model.num_parameters(), "python": sys.version.split()[0]}
        write_atomic(run_dir / "config.json", json.dumps(config_doc, indent=2).encode())
        write_atomic(run_dir / "task.json", json.dumps(data.info, default=str).encode())

    n, batch = len(data.train), cfg.batch_size
    batches_per_epoch = math.ceil(n / batch)
    total_steps = cfg.epochs * batches_per_epoch
    checkpoint = run_dir / "checkpoint.pt"
    position = {"epoch": 0, "batch": 0, "step": 0, "loss_sum": 0.0, "batches": 0, "metric_sum": 0.0,
                "metric_count": 0.0, "elapsed": 0.0, "epoch_elapsed": 0.0}
    if resume and checkpoint.exists():
        state, position = load_checkpoint(checkpoint)
        model.load_state(state)
    rows = _read_metrics(run_dir / "metrics.csv", position["epoch"]) if resume else []
    log = (run_dir / "train.log").open("a") if workers.main else io.StringIO()
    if resume:
        echo(f"resuming {run_dir} at epoch {position['epoch'] + 1}, batch {position['batch'] + 1}")

    label = spec.label
    try:
        for epoch in range(position["epoch"], cfg.epochs):
            started = time.perf_counter() - position["epoch_elapsed"]
            order = np.random.default_rng([cfg.seed, epoch]).permutation(n)
            bar = tqdm(total=batches_per_epoch, initial=position["batch"], desc=f"{label} {epoch + 1}/{cfg.epochs}",
                       disable=not progress, leave=False, file=sys.stderr, unit="batch")
            for b in range(position["batch"], batches_per_epoch):
                if distributed.all_sum(workers, [float(stop.requested)])[0] > 0:   # every worker stops here
                    position.update(epoch=epoch, batch=b, epoch_elapsed=time.perf_counter() - started)
                    if workers.main:
                        save_checkpoint(checkpoint, model.state(), position)
                    raise TrainingInterrupted(f"interrupted at epoch {epoch + 1}, batch {b + 1}; checkpoint saved "
                                              f"in {checkpoint}. Continue with: rnnlab train --resume {run_dir}")
                index = order[b * batch:(b + 1) * batch]
                share = index[workers.rank::workers.world]      # this worker's samples of the global batch
                part = data.train.take(share)
                lr = lr_at(cfg, position["step"], total_steps)
                local, outputs = model.train_batch(part.x, part.y, part.mask, loss_name, lr,
                                                   loss_scale=len(share) * workers.world / len(index))
                metric_sum, metric_count = metric_sums(task.metric, outputs, part.y, part.mask)
                weighted, count, metric_sum, metric_count = distributed.all_sum(
                    workers, [local * len(share), float(len(share)), metric_sum, metric_count])
                value = weighted / count                          # the mean loss of the global batch
                if not math.isfinite(value):
                    kept = f"the checkpoint of epoch {position['epoch']} is kept in {checkpoint}" \
                        if checkpoint.exists() else "no checkpoint had been written yet"
                    raise TrainingDiverged(f"the loss became {value} at epoch {epoch + 1}, step {b + 1}; {kept}. "
                                           f"Try gradient clipping (--clip-norm 1.0) or a lower learning rate "
                                           f"(--lr {cfg.lr / 10:g}).")
                position["loss_sum"] += value
                position["batches"] += 1
                position["metric_sum"] += metric_sum
                position["metric_count"] += metric_count
                position["step"] += 1
                if progress and (b % 10 == 0 or b == batches_per_epoch - 1):
                    running = position["metric_sum"] / position["metric_count"]
                    bar.set_postfix(loss=f"{position['loss_sum'] / position['batches']:.4f}",
                                    metric=format_metric(task.metric, running))
                bar.update(1)
            bar.close()
            row = {"epoch": epoch + 1, "train_loss": position["loss_sum"] / position["batches"],
                   "train_metric": position["metric_sum"] / position["metric_count"], "val_loss": "",
                   "val_metric": "", "lr": lr_at(cfg, position["step"] - 1, total_steps)}
            if data.val is not None:
                row["val_loss"], row["val_metric"], _ = evaluate_split(model, data.val, loss_name, task.metric,
                                                                       cfg.eval_batch_size)
            row["test_loss"], row["test_metric"], _ = evaluate_split(model, data.test, loss_name, task.metric,
                                                                     cfg.eval_batch_size)
            row["seconds"] = time.perf_counter() - started
            rows.append(row)
            position.update(epoch=epoch + 1, batch=0, loss_sum=0.0, batches=0, metric_sum=0.0, metric_count=0.0,
                            elapsed=position["elapsed"] + row["seconds"], epoch_elapsed=0.0)
            if workers.main:
                _write_metrics(run_dir / "metrics.csv", rows)
                save_checkpoint(checkpoint, model.state(), position)
            val = f" | val {format_metric(task.metric, row['val_metric'])}" if data.val is not None else ""
            line = (f"{label} epoch {epoch + 1}/{cfg.epochs}: train loss {row['train_loss']:.4f} "
                    f"{task.metric} {format_metric(task.metric, row['train_metric'])}{val} | test loss "
                    f"{row['test_loss']:.4f} {task.metric} {format_metric(task.metric, row['test_metric'])} | "
                    f"{row['seconds']:.1f} s")
            echo(line)
            log.write(line + "\n")
            log.flush()
    finally:
        log.close()
    summary = finish_run(run_dir, model, spec, cfg, task, data, loss_name, rows) if workers.main else {}
    distributed.barrier(workers)
    distributed.stop(workers)
    return summary


def finish_run(run_dir: Path, model, spec: ModelSpec, cfg: TrainConfig, task, data: TaskData, loss_name: str,
               rows: list[dict]) -> dict:
    save_weights(run_dir / "model.npz", model.weights(), spec, cfg.engine)
    test_loss, test_metric, outputs = evaluate_split(model, data.test, loss_name, task.metric, cfg.eval_batch_size)
    keep = min(len(data.test), 5000 if task.readout == "last" else 64)
    np.savez_compressed(run_dir / "predictions.npz", y=data.test.y[:keep], outputs=outputs[:keep],
                        x=data.test.x[:min(keep, 16)],
                        **({"mask": data.test.mask[:keep]} if data.test.mask is not None else {}))
    extra, whole = {}, {}
    for name, split in data.extra_tests.items():
        _, extra[name], extra_outputs = evaluate_split(model, split, loss_name, task.metric, cfg.eval_batch_size)
        if task.metric == "bit_accuracy":
            whole[name] = sequence_accuracy(extra_outputs, split.y, split.mask)
    values = [float(r["test_metric"]) for r in rows]
    best = max(values) if HIGHER_IS_BETTER[task.metric] else min(values)
    summary = {"label": spec.label, "task": task.name, "engine": cfg.engine, "metric": task.metric,
               "loss": loss_name, "parameters": model.num_parameters(), "epochs": len(rows),
               "final_test_metric": test_metric, "final_test_loss": test_loss, "best_test_metric": best,
               "seconds": float(sum(float(r["seconds"]) for r in rows)), "baseline": task.baseline(**cfg.task_options),
               "baseline_measure": task.chance_measure, "extra_tests": extra, "extra_tests_whole": whole,
               "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_atomic(run_dir / "summary.json", json.dumps(summary, indent=2).encode())
    return summary
