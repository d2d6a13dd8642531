"""Working with run directories: compare several models, evaluate or predict with a saved one, list runs."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .config import Settings
from .engines import Trainable, build_trainable
from .metrics import format_metric
from .plan import resolve_all
from .rundir import RunDir
from .tasks import Split, get_task
from .train import train_run
from .trainer import History, evaluate_as_trained


def compare(settings: Settings, out_dir: str | Path, data_dir: str | Path | None = None, force: bool = False,
            resume: bool = False, echo: Callable[[str], None] = print,
            progress: bool = True) -> tuple[Path, list[History]]:
    """Train every model of ``settings.models`` on one task (data loaded once) into ``out_dir/<model>/``
    and write the report into ``out_dir``.  Every model's run is resolved and checked
    (:func:`rnnlab.plan.resolve_all`) before anything loads or is written.  Returns the report's path and
    the histories (``.summary`` of each)."""
    from .report import write_report
    plans = resolve_all(settings.configs(), shared_data=True)
    out = RunDir(out_dir)
    if not resume:
        out.check_free(force)
    first = next(iter(plans.values()))
    data = first.load(data_dir)
    if "source" in data.info:
        echo(f"data: {data.info['dataset']} from {data.info['source']} ({len(data.train)} training, "
             f"{0 if data.val is None else len(data.val)} validation, {len(data.test)} test sequences)")
    histories, run_dirs = [], []
    for name, plan in plans.items():
        run = RunDir(out.path / name)
        if resume and run.file("summary.json").exists():
            histories.append(load_history(run))
        else:
            histories.append(train_run(plan, run.path, data=data, resume=resume and run.path.exists(), force=force,
                                       echo=echo, progress=progress))
        run_dirs.append(run.path)
    out.write_json("compare.json", compare_record(settings, histories))
    report = write_report(out.path, run_dirs, title=f"{first.task.name}: {', '.join(plans)}")
    return report, histories


def compare_record(settings: Settings, histories: list[History]) -> dict:
    """What ``compare.json`` keeps of a comparison: its settings, each model's summary, and when, with which
    rnnlab and on which machine it ran (the README's main-job table is :func:`results_table` of it)."""
    from .machine import machine_description
    from .version import version
    return {"settings": settings.values, "models": list(settings.models),
            "results": [h.summary for h in histories], "date": time.strftime("%Y-%m-%d %H:%M"),
            "rnnlab": version, "machine": machine_description()}


def results_table(record: dict) -> str:
    """A comparison's results as a Markdown table (model, parameters, final test metric, training time)."""
    results = record["results"]
    metric = results[0]["metric"]
    rows = [f"| {s['label']} | {s['parameters']:,} | {format_metric(metric, s['final_test_metric'])} | "
            f"{s['seconds']:.1f} s |" for s in results]
    return "\n".join([f"| model | parameters | test {metric} | training time |", "|---|---:|---:|---:|", *rows])


def load_history(run_dir: str | Path) -> History:
    """The History of a finished run, read back from its directory (metrics.csv, iterations.csv, summary.json)."""
    run = RunDir(run_dir)
    summary = run.read_json("summary.json", "the run has not finished")
    history = run.read_history(summary["label"], summary["metric"])
    history.summary = summary
    return history


def load_run_model(run_dir: str | Path, engine: str | None = None, best: bool = False) -> tuple[Trainable, dict]:
    """The trained model of a run, on its own engine or on ``engine`` (weights are portable); ``best``: the
    model of its epoch of lowest validation loss (best-model.npz) instead of the final one."""
    run = RunDir(run_dir)
    spec, trained_on, weights = run.load_model("best-model.npz" if best else "model.npz")
    model = build_trainable(spec, engine or trained_on)
    model.load_weights(weights)
    return model, run.read_config()


def generate_text(run_dir: str | Path, prime: str = "", length: int = 200, temperature: float = 1.0,
                  top_k: int | None = None, seed: int = 0, engine: str | None = None, best: bool = False,
                  replace: str | None = None) -> str:
    """Text written by a text run's model (rnnlab.text.sampling.generate): ``prime`` and ``length`` characters
    after it, at ``temperature``, from the ``top_k`` likeliest characters, drawn from ``seed``; on the run's own
    engine or ``engine`` (the same text on every engine).  Everything is checked before the model loads."""
    from .text.sampling import check_sampling, generate
    run = RunDir(run_dir)
    vocabulary = run.read_vocabulary()
    check_sampling(temperature, length, top_k, seed, vocabulary.size)
    if not isinstance(prime, str):
        raise TypeError(f"prime: expected a text (str), got {type(prime).__name__}")
    vocabulary.encode(prime, replace, what="prime")          # unknown characters refused before any work
    model, _ = load_run_model(run_dir, engine, best)
    return generate(model, vocabulary, prime, length, temperature, top_k, seed, replace)


def evaluate_run(run_dir: str | Path, task_name: str | None = None, engine: str | None = None,
                 data_dir: str | Path | None = None, **task_options: object) -> dict:
    """Loss and metric of a saved model on its task's test set, or on another task's with the same sizes."""
    from .config import TrainConfig
    model, doc = load_run_model(run_dir, engine)
    cfg = TrainConfig.from_dict(doc["config"])
    task = get_task(task_name or doc["task"])
    options = {**(cfg.data.options if task.name == doc["task"] else {}), **task_options}
    task = task.sized(options)
    spec = model.spec
    if (task.input_size, task.output_size, task.readout) != (spec.input_size, spec.output_size, spec.readout):
        raise ValueError(f"task {task.name}: takes {task.input_size} inputs and gives {task.output_size} outputs "
                         f"({task.readout} step), the model {spec.input_size} -> {spec.output_size} "
                         f"({spec.readout} step); choose a task of the same shape")
    data = task.load(seed=cfg.run.seed, data_dir=data_dir, **options)
    loss = doc["loss"] if task.loss == get_task(doc["task"]).loss else task.loss
    def evaluate(split: Split) -> tuple[float, float]:
        return evaluate_as_trained(model, split, loss, task.metric, data.stream, cfg.optim.batch_size,
                                   cfg.data.eval_batch_size)[:2]

    results = {"run": str(run_dir), "task": task.name, "engine": engine or doc["engine"], "metric": task.metric}
    results["test_loss"], results["test_metric"] = evaluate(data.test)
    results["extra_tests"] = {name: evaluate(split)[1] for name, split in data.extra_tests.items()}
    return results


def predict_images(run_dir: str | Path, paths: list[str], picture: str | Path | None = None,
                   normalise: tuple[str, ...] = (), labels: str | None = None) -> list[dict]:
    """Predicted class and probabilities for each digit picture, prepared as the run's task prepared MNIST
    (then the normalisations ``normalise``: deskew, stroke).  ``labels`` ("names" or a CSV file): each
    result also holds its true ``label``, and :func:`score_labels` sums them up.  ``picture``: the pictures
    with their predictions (with labels: the mistakes, the confusion matrix and the per-class accuracy),
    and beside it ``<name>-reading.png``, the first picture read row by row (:mod:`rnnlab.reading`)."""
    from .data.images import load_digit_images
    from .data.labels import read_labels
    from .data.normalise import check_normalise
    from .reading import _probabilities, image_sequence
    check_normalise(normalise)
    model, doc = load_run_model(run_dir)
    info = RunDir(run_dir).read_json("task.json", "it is written when a run starts; train the run again")
    if "view" not in info:
        raise ValueError(f"{run_dir}: trained on {doc['task']}, not on images; predict needs an image task's run")
    images, names = load_digit_images(*paths, normalise=normalise)
    truth = read_labels(names, labels) if labels is not None else None
    x = np.stack([image_sequence(image, info) for image in images])
    probs = _probabilities(np.concatenate([model.predict(x[i:i + 1000]) for i in range(0, len(x), 1000)]),
                           doc["loss"])
    results = [{"file": name, "predicted": int(p.argmax()), "probabilities": [float(v) for v in p]}
               for name, p in zip(names, probs)]
    for result, image, k in zip(results, images, range(len(results))):
        result["image"] = image
        if truth is not None:
            result["label"] = truth[k]
    if picture is not None:
        _save_pictures(run_dir, model, results, Path(picture))
    return results


def score_labels(results: list[dict]) -> dict:
    """Accuracy, per-class accuracy (None for a class with no picture), the confusion matrix (true x predicted)
    and the indices of the mistakes, of results that hold labels."""
    from .metrics import confusion_matrix
    truth = np.array([r["label"] for r in results])
    predicted = np.array([r["predicted"] for r in results])
    classes = len(results[0]["probabilities"])
    counts = confusion_matrix(truth, predicted, classes)
    per_class = [float(counts[k, k] / counts[k].sum()) if counts[k].sum() else None for k in range(classes)]
    return {"accuracy": float((truth == predicted).mean()), "count": len(results), "per_class": per_class,
            "confusion": counts, "mistakes": np.flatnonzero(truth != predicted).tolist()}


def _save_pictures(run_dir: str | Path, model: Trainable, results: list[dict], path: Path) -> None:
    from .plots import labelled_summary, prediction_gallery
    from .reading import read_image, reading_figure
    if "label" in results[0]:
        fig = labelled_summary(results, score_labels(results))
    else:
        fig = prediction_gallery(results)
    fig.savefig(path, dpi=100)
    reading_figure(read_image(run_dir, results[0]["image"], model), results[0]["file"]).savefig(
        path.with_name(f"{path.stem}-reading.png"), dpi=90)


def list_runs(root: str | Path = "runs") -> list[dict]:
    """Every run under ``root`` (single runs and the models of comparisons), newest first."""
    root = Path(root)
    rows = []
    for config in sorted(root.glob("**/config.json")):
        run = RunDir(config.parent)
        row = {"run": str(run), "task": "?", "model": "?", "engine": "?", "metric": "", "seconds": None,
               "modified": run.path.stat().st_mtime}
        try:
            doc = run.read_config()
            summary = run.read_json("summary.json") if run.file("summary.json").exists() else None
        except ValueError as exc:   # one damaged run must not hide the others
            # the row names the run already: its files by name, so a long path cannot push the reason out of view
            rows.append({**row, "best": f"damaged: {str(exc).replace(str(run.path) + os.sep, '')}"})
            continue
        rows.append({**row, "task": doc["task"], "model": doc.get("label", "?"), "engine": doc["engine"],
                     "metric": doc["metric"], "seconds": summary["seconds"] if summary else None,
                     "best": format_metric(doc["metric"], summary["best_test_metric"]) if summary else "unfinished"})
    return sorted(rows, key=lambda r: -r["modified"])


def runs_table(rows: list[dict]) -> str:
    if not rows:
        return "no runs yet: try `rnnlab compare`"
    head = ("run", "task", "model", "engine", "best test", "time", "when")
    body = [(r["run"], r["task"], r["model"], r["engine"], f"{r['metric']} {r['best']}".strip(),
             f"{r['seconds']:.0f} s" if r["seconds"] is not None else "-",
             time.strftime("%Y-%m-%d %H:%M", time.localtime(r["modified"]))) for r in rows]
    widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in [head, *body])



def score_lines(results: list[dict], score: dict, mistakes: int = 20) -> list[str]:
    """The terminal summary of ``rnnlab predict --labels``: accuracy, per class, confusion matrix, mistakes."""
    lines = [f"accuracy: {100 * score['accuracy']:.1f} % of {score['count']} pictures "
             f"({len(score['mistakes'])} mistakes)",
             "per class: " + "  ".join(f"{k}: {'-' if v is None else f'{100 * v:.0f} %'}"
                                       for k, v in enumerate(score["per_class"])),
             "confusion matrix (rows: true digit, columns: read as):",
             "      " + "".join(f"{k:>5}" for k in range(len(score["confusion"])))]
    lines += [f"  {k:>3} " + "".join(f"{v:>5}" for v in row) for k, row in enumerate(score["confusion"])]
    if score["mistakes"]:
        shown = score["mistakes"][:mistakes]
        lines.append(f"mistakes{f' (the first {len(shown)})' if len(shown) < len(score['mistakes']) else ''}: " +
                     ", ".join(f"{results[i]['file']} read {results[i]['predicted']}, is {results[i]['label']}"
                               for i in shown))
    return lines
