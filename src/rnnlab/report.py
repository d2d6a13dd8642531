"""The comparison report: PNG plots and an HTML page that needs no network, read from run directories.

The report only reads what training left on disk (config.json, metrics.csv, summary.json,
predictions.npz); it never reaches back into training.

- ``curves.png``: the course's 2 x 2 figure (training and test loss, training and test metric per
  epoch), one line per model;
- ``confusion.png`` (classification): one confusion matrix per model, with per-class accuracy,
  best and worst class and the three most common confusions in the page (Assignment 2);
- ``samples.png`` (regression and memory tasks): sample predictions drawn over the targets;
- ``lengths.png`` (binary addition): bit accuracy against the number of bits;
- ``report.html``: when, with which rnnlab and on which processor the runs were made, the table (model,
  engine, parameters, final and best test metric, baseline (the chance level, or a text run's n-gram), wall
  time, time per epoch), the pictures, the text each text run wrote after its last epoch, and the settings
  (those the runs share once, those that differ per model); a text run's curves draw its n-gram baseline
  across the metric panels.
"""
from __future__ import annotations

import html
import json
import time
from pathlib import Path

from matplotlib.figure import Figure

from . import plots
from .config import TrainConfig
from .metrics import METRICS, analyze_confusion, confusion_matrix, format_metric
from .rundir import RunDir
from .text_report import cells_section
from .version import version

# The figures are drawn on matplotlib.figure.Figure objects and saved directly: no pyplot, so the
# process-wide backend is never switched (inline figures in Jupyter keep working).


def load_run(run_dir: str | Path) -> dict:
    """What a report shows of one run, read through :class:`rnnlab.rundir.RunDir` (clear errors)."""
    files = RunDir(run_dir)
    if not files.file("config.json").exists():
        raise ValueError(f"{run_dir}: not a run directory (no config.json)")
    run = {"dir": files.path, "name": files.path.name, "config": files.read_config()}
    run["metrics"] = [{k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()}
                      for row in files.read_metrics()]
    run["summary"] = files.read_json("summary.json") if files.file("summary.json").exists() else None
    predictions = files.read_predictions()
    if predictions is not None:
        run["predictions"] = predictions
    return run


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _curves(runs: list[dict], path: Path) -> None:
    histories = {run["name"]: RunDir(run["dir"]).read_history(run["name"], run["config"]["metric"]) for run in runs}
    summary = next((run["summary"] for run in runs if run["summary"] and "text" in run["summary"]), None)
    if summary is not None and summary.get("text", {}).get("ngram"):   # a text run: its baseline
        ngram = summary["text"]["ngram"]      # the n-gram's, or the task's own (HUMAN_NUMBERS: the commonest word)
        label = (f"{ngram['order']}-gram (Kneser-Ney)" if summary["baseline"] == ngram["test_bpc"]
                 else str(summary.get("baseline_note", "baseline")).split(":")[0])
        _save(plots.curves(histories, baseline=summary["baseline"], baseline_label=label), path)
    else:
        _save(plots.curves(histories), path)


def _samples_html(runs: list[dict]) -> str:
    """The text each text run wrote after its last epoch (samples.json)."""
    parts = []
    for run in runs:
        samples = RunDir(run["dir"]).read_samples()
        if samples:
            last = samples[-1]
            parts.append(f"<p><b>{html.escape(run['name'])}</b>, after epoch {last['epoch']} (temperature "
                         f"{last.get('temperature', '?')}):</p><pre>{html.escape(last['text'])}</pre>")
    return "<h2>Text written by the model</h2>" + "".join(parts) if parts else ""


def _confusions(runs: list[dict], path: Path) -> list[dict]:
    pairs = {run["name"]: (run["predictions"]["y"], run["predictions"]["outputs"]) for run in runs}
    _save(plots.confusion(pairs), path)
    analyses = []
    for name, (labels, outputs) in pairs.items():
        counts = confusion_matrix(labels, outputs.argmax(-1), outputs.shape[-1])
        analyses.append({"name": name, **analyze_confusion(counts)})
    return analyses


def _samples(runs: list[dict], path: Path) -> None:
    _save(plots.samples({run["name"]: (run["predictions"]["y"], run["predictions"]["outputs"]) for run in runs}), path)


def _lengths(runs: list[dict], path: Path) -> None:
    bits = runs[0]["config"]["config"]["data"]["options"].get("bits", 5)
    _save(plots.lengths({run["name"]: run["summary"]["extra_tests"] for run in runs}, trained_bits=bits), path)


def _chance(summary: dict) -> str:
    measure, value = summary["baseline_measure"], summary["baseline"]
    if measure in METRICS and METRICS[measure].percent:
        return format_metric(measure, value)
    return f"{measure} {value:.3g}"


def _write_pictures(runs: list[dict], out_dir: Path) -> tuple[list[tuple[str, str]], list[dict]]:
    """Draw the pictures that fit the runs' task into ``out_dir``: ([(file name, caption)], confusion analyses)."""
    first = runs[0]["config"]
    readout = first["model"]["readout"]
    classification = first["loss"] in ("cross_entropy", "mse_onehot") and readout == "last"
    _curves(runs, out_dir / "curves.png")
    pictures = [("curves.png", "Loss and metric per epoch")]
    analyses = []
    finished = [r for r in runs if r.get("predictions") is not None and r["summary"] is not None]
    if finished and classification:
        analyses = _confusions(finished, out_dir / "confusion.png")
        pictures.append(("confusion.png", "Confusion matrices on the test set"))
    elif finished and first["loss"] != "cross_entropy":
        _samples(finished, out_dir / "samples.png")
        pictures.append(("samples.png", "Sample predictions over the targets (test set)"))
    if finished and finished[0]["summary"]["extra_tests"]:
        _lengths(finished, out_dir / "lengths.png")
        pictures.append(("lengths.png", "Generalisation to other lengths"))
    return pictures, analyses


def _table_html(runs: list[dict], metric: str) -> str:
    rows = []
    for run in runs:
        s = run["summary"] or {}
        epochs = len(run["metrics"])
        seconds = sum(row["seconds"] for row in run["metrics"])
        rows.append([run["name"], run["config"]["engine"], f"{run['config']['parameters']:,}",
                     format_metric(metric, s.get("final_test_metric", float("nan"))),
                     format_metric(metric, s.get("best_test_metric", float("nan"))),
                     _chance(s) if s else "-",
                     f"{seconds:.1f} s", f"{seconds / max(epochs, 1):.1f} s", str(epochs)])
    head = ["model", "engine", "parameters", f"final test {metric}", f"best test {metric}", "baseline",
            "wall time", "per epoch", "epochs"]
    return "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" + "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows) + "</table>"


def _confusion_html(analyses: list[dict]) -> str:
    confusion_html = ""
    for a in analyses:
        worst = ", ".join(f"{t} as {p} ({n})" for t, p, n in a["confusions"]) or "none"
        per_class = " ".join(f"{k}: {100 * v:.1f} %" for k, v in a["per_class"].items())
        confusion_html += (f"<p><b>{html.escape(a['name'])}</b>: best recognised class {a['best']}, worst "
                           f"{a['worst']}; most common confusions (true as predicted): {html.escape(worst)}."
                           f"<br><small>per-class accuracy: {per_class}</small></p>")
    return confusion_html


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value)


def _settings_html(runs: list[dict]) -> str:
    """The settings the runs share (once, four to a row) and those that differ (a column per model)."""
    flats = {}
    for run in runs:
        try:
            flats[run["name"]] = TrainConfig.from_dict(run["config"]["config"]).flat()
        except (TypeError, ValueError, KeyError, AttributeError):
            flats[run["name"]] = {}
    names = list(dict.fromkeys(name for flat in flats.values() for name in flat))
    def key(flat: dict, name: str) -> str:
        return json.dumps(flat.get(name), sort_keys=True, default=str)
    differ = [n for n in names if len({key(flat, n) for flat in flats.values()}) > 1]
    shared = [(n, _shown(next(iter(flats.values())).get(n))) for n in names if n not in differ]
    cells = [f"<th>{html.escape(n)}</th><td>{html.escape(v)}</td>" for n, v in shared]
    rows = "".join("<tr>" + "".join(cells[k:k + 4]) + "</tr>" for k in range(0, len(cells), 4))
    text = f"<h2>Settings</h2><table class=\"settings\">{rows}</table>" if rows else ""
    if differ:
        head = "<tr><th>setting</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in flats) + "</tr>"
        body = "".join(f"<tr><th>{html.escape(n)}</th>" + "".join(
            f"<td>{html.escape(_shown(flat.get(n)))}</td>" for flat in flats.values()) + "</tr>" for n in differ)
        text += f"<p>Settings that differ between the models:</p><table class=\"settings\">{head}{body}</table>"
    return text


def _made_html(runs: list[dict]) -> str:
    """When the runs finished, the rnnlab, Python and processor they ran on, and this report's own date."""
    def values(key: str, missing: str) -> str:
        found = sorted({str(run["config"].get(key)) for run in runs if run["config"].get(key)})
        return html.escape(", ".join(found)) if found else missing
    dates = sorted(str(run["summary"]["finished"]) for run in runs if run["summary"] and "finished" in run["summary"])
    when = "not finished" if not dates else dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    return (f"<p class=\"made\">Trained with rnnlab {values('rnnlab', '(its version not recorded)')} and Python "
            f"{values('python', '(not recorded)')} on {values('processor', 'a processor not recorded')}; finished "
            f"{html.escape(when)}. Report written {time.strftime('%Y-%m-%d %H:%M')} by rnnlab "
            f"{html.escape(version)}.</p>")


def _page(title: str, task: str, metric: str, parts: list[str]) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1450px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
th{{background:#f3f3f3}}table.settings th{{font-weight:normal;text-align:left}}
table.settings td{{text-align:left;font-family:monospace}}.made{{color:#555}}img{{max-width:100%}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>Task <b>{html.escape(task)}</b>, metric {html.escape(metric)}.</p>
{"".join(parts)}
</body></html>
"""


def write_report(out_dir: str | Path, run_dirs: list[str | Path], title: str = "rnnlab comparison") -> Path:
    """Write the plots and ``report.html`` for the runs into ``out_dir``; returns the page's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = [load_run(d) for d in run_dirs]
    if not runs:
        raise ValueError("report: no runs to report on")
    first = runs[0]["config"]
    task, metric = first["task"], first["metric"]
    pictures, analyses = _write_pictures(runs, out_dir)
    images = "".join(f"<h2>{html.escape(caption)}</h2><img src=\"{name}\" alt=\"{html.escape(caption)}\">"
                     for name, caption in pictures)
    page = _page(title, task, metric, [_made_html(runs), _table_html(runs, metric), images,
                                       _confusion_html(analyses) + _samples_html(runs)
                                       + cells_section(runs, out_dir),   # text runs: what the cells learned
                                       _settings_html(runs)])
    path = out_dir / "report.html"
    path.write_text(page)
    return path
