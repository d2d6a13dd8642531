"""Working with run directories: compare several models, evaluate or predict with a saved one, list runs."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .metrics import format_metric
from .models import build_trainable, load_weights_file
from .tasks import get_task
from .train import RunExists, evaluate_split, train_run


def compare(cfg: TrainConfig, out_dir: str | Path, data_dir=None, force: bool = False, resume: bool = False,
            echo=print, progress: bool = True) -> tuple[Path, list[dict]]:
    """Train every model of ``cfg.models`` on ``cfg.task`` (data loaded once) into ``out_dir/<model>/``
    and write the report into ``out_dir``.  Returns the report's path and the summaries."""
    from .report import write_report
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (force or resume):
        raise RunExists(f"{out_dir} already exists; pass --force to overwrite it, --resume to continue it, "
                        f"or choose another --name")
    task = get_task(cfg.task)
    task.options(**cfg.task_options)
    data = task.load(seed=cfg.seed, data_dir=data_dir, **cfg.task_options)
    if "source" in data.info:
        echo(f"data: {data.info['dataset']} from {data.info['source']} ({len(data.train)} training, "
             f"{0 if data.val is None else len(data.val)} validation, {len(data.test)} test sequences)")
    summaries, run_dirs = [], []
    for name in cfg.models:
        model_cfg = cfg.for_model(name)
        run_dir = out_dir / name
        done = resume and (run_dir / "summary.json").exists()
        if done:
            summaries.append(json.loads((run_dir / "summary.json").read_text()))
        else:
            summaries.append(train_run(model_cfg, run_dir, data=data, resume=resume and run_dir.exists(),
                                       force=force, echo=echo, progress=progress))
        run_dirs.append(run_dir)
    report = write_report(out_dir, run_dirs, title=f"{task.name}: {', '.join(cfg.models)}")
    (out_dir / "compare.json").write_text(json.dumps({"config": cfg.to_dict(), "runs": list(cfg.models)}, indent=2))
    return report, summaries


def load_run_model(run_dir: str | Path, engine: str | None = None):
    """The trained model of a run, on its own engine or on ``engine`` (weights are portable)."""
    run_dir = Path(run_dir)
    if not (run_dir / "model.npz").exists():
        raise ValueError(f"{run_dir}: no model.npz (the run did not finish; `rnnlab train --resume {run_dir}`)")
    spec, trained_on, weights = load_weights_file(run_dir / "model.npz")
    model = build_trainable(spec, engine or trained_on)
    model.load_weights(weights)
    return model, json.loads((run_dir / "config.json").read_text())


def evaluate_run(run_dir: str | Path, task_name: str | None = None, engine: str | None = None,
                 data_dir=None, **task_options) -> dict:
    """Loss and metric of a saved model on its task's test set, or on another task's with the same sizes."""
    model, doc = load_run_model(run_dir, engine)
    cfg = doc["config"]
    task = get_task(task_name or doc["task"])
    if (task.input_size, task.output_size, task.readout) != (model.spec.input_size, model.spec.output_size,
                                                              model.spec.readout):
        raise ValueError(f"task {task.name}: takes {task.input_size} inputs and gives {task.output_size} outputs "
                         f"({task.readout} step), the model {model.spec.input_size} -> {model.spec.output_size} "
                         f"({model.spec.readout} step); choose a task of the same shape")
    options = {**(cfg["task_options"] if task.name == doc["task"] else {}), **task_options}
    data = task.load(seed=cfg["seed"], data_dir=data_dir, **options)
    loss = doc["loss"] if task.loss == get_task(doc["task"]).loss else task.loss
    results = {"run": str(run_dir), "task": task.name, "engine": engine or doc["engine"], "metric": task.metric}
    results["test_loss"], results["test_metric"], _ = evaluate_split(model, data.test, loss, task.metric,
                                                                     cfg["eval_batch_size"])
    results["extra_tests"] = {name: evaluate_split(model, split, loss, task.metric, cfg["eval_batch_size"])[1]
                              for name, split in data.extra_tests.items()}
    return results


def predict_images(run_dir: str | Path, paths: list[str], picture: str | Path | None = None) -> list[dict]:
    """Predicted class and probabilities for each digit picture, prepared as the run's task prepared MNIST."""
    from .data.images import load_digit_images
    from .data.views import Scaling, to_sequences
    model, doc = load_run_model(run_dir)
    info = json.loads((Path(run_dir) / "task.json").read_text())
    if "view" not in info:
        raise ValueError(f"{run_dir}: trained on {doc['task']}, not on images; predict needs an image task's run")
    images, names = load_digit_images(*paths)
    scaled = (Scaling(info["scaling"], info["shift"], info["scale"])(images * 255.0))
    permutation = np.asarray(info["permutation"]) if "permutation" in info else None
    outputs = model.predict(to_sequences(scaled.astype(np.float32), info["view"], permutation))
    if doc["loss"] == "mse_onehot":
        probs = np.clip(outputs, 0, None) / np.clip(outputs, 0, None).sum(-1, keepdims=True).clip(1e-12)
    else:
        shifted = np.exp(outputs - outputs.max(-1, keepdims=True))
        probs = shifted / shifted.sum(-1, keepdims=True)
    results = [{"file": name, "predicted": int(p.argmax()), "probabilities": [float(v) for v in p]}
               for name, p in zip(names, probs)]
    if picture is not None:
        _prediction_picture(images, results, picture)
    return results


def _prediction_picture(images, results, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    columns = min(len(images), 10)
    rows = (len(images) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, result in zip(axes.ravel(), images, results):
        ax.imshow(image, cmap="gray")
        ax.set_title(f"{result['predicted']} ({100 * max(result['probabilities']):.0f} %)\n{result['file'][:14]}",
                     fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def list_runs(root: str | Path = "runs") -> list[dict]:
    """Every run under ``root`` (single runs and the models of comparisons), newest first."""
    root = Path(root)
    rows = []
    for config in sorted(root.glob("**/config.json")):
        run_dir = config.parent
        doc = json.loads(config.read_text())
        summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else None
        rows.append({"run": str(run_dir), "task": doc["task"], "model": doc["label"], "engine": doc["engine"],
                     "best": format_metric(doc["metric"], summary["best_test_metric"]) if summary else "unfinished",
                     "metric": doc["metric"], "seconds": summary["seconds"] if summary else None,
                     "modified": run_dir.stat().st_mtime})
    return sorted(rows, key=lambda r: -r["modified"])


def runs_table(rows: list[dict]) -> str:
    if not rows:
        return "no runs yet: try `rnnlab compare`"
    head = ("run", "task", "model", "engine", "best test", "time", "when")
    body = [(r["run"], r["task"], r["model"], r["engine"], f"{r['metric']} {r['best']}",
             f"{r['seconds']:.0f} s" if r["seconds"] is not None else "-",
             time.strftime("%Y-%m-%d %H:%M", time.localtime(r["modified"]))) for r in rows]
    widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in [head, *body])

