"""`rnnlab bench`: the results suite — every table of the notebooks reproduced, then beaten.

Each :class:`Entry` names its cases (task + options), its models, the notebook's protocol, our
recipe within the same epoch budget, and the notebook's numbers.  ``variant`` "notebook" trains
with the notebook's protocol, "rnnlab" with our recipe.  Runs are ordinary run directories under
``<out>/<entry>/<variant>/<case>/<model>-seed<k>/``; finished ones are reused, so the suite can
be stopped and started again.  The results go to ``results.md`` and ``results.csv``.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .flags import SETTING_FLAGS
from .machine import machine_description
from .metrics import METRICS, format_metric
from .spec import parse_model_name
from .suite import SUITE, SUITE_BY_NAME, VARIANTS, Case, Entry


def cuda_available() -> bool:
    import torch
    return torch.cuda.is_available()


def settings_for(entry: Entry, variant: str, case: Case, model: str, seed: int) -> TrainConfig:
    base = entry.protocol if variant == "notebook" or entry.recipe is None else entry.recipe
    base = dict(base)
    options = {**case.options, **base.pop("task_options", {})}
    if variant == "rnnlab":
        extra = {**entry.model_settings.get(model, {}), **entry.model_settings.get((case.label, model), {})}
    else:
        extra = {**entry.notebook_case_settings.get(case.label, {}), **entry.notebook_model_settings.get(model, {})}
        options.update(extra.pop("task_options", {}))
    if extra.get("chrono") == "length":     # the LSTM's memory time scales up to the task's length
        from .tasks import get_task
        extra["chrono"] = get_task(case.task).steps(**options)
    # TrainConfig directly, not resolve(): a protocol's None (no clipping) must stay None, not fall back
    # to the default that an absent command-line flag gets.
    return TrainConfig.from_flat({**base, **case.settings, **extra, **parse_model_name(model), "task": case.task,
                                  "task_options": options, "seed": seed})


def command_for(cfg: TrainConfig) -> str:
    """The `rnnlab train` command line that trains this configuration: a flag of `rnnlab train`'s own table
    (``flags.SETTING_FLAGS``) for every setting away from its default."""
    settings, defaults = cfg.flat(), TrainConfig().flat()
    parts = ["rnnlab train", f"--task {settings['task']}"]
    parts += [f"--opt {k}={json.dumps(v) if isinstance(v, (list, tuple)) else v}"
              for k, v in settings["task_options"].items()]
    if settings["cell"] != defaults["cell"]:
        parts.append(f"--cell {settings['cell']}")
    for flag, (name, keywords) in SETTING_FLAGS.items():
        value = settings[name]
        if name == "task" or value == defaults[name] or value is None:
            continue
        if keywords.get("action") == "store_const":
            if value == keywords["const"]:
                parts.append(flag)
        else:
            parts.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    if settings["clip_norm"] is None and defaults["clip_norm"] is not None:
        parts.append("--no-clip-norm")
    return " ".join(parts)


def variants_of(entry: Entry, variants: tuple[str, ...] = VARIANTS) -> list[str]:
    """The variants an entry runs: the notebook's protocol and/or our recipe, or ours alone where the
    notebook fixes no protocol."""
    if entry.notebook_protocol:
        return [v for v in variants if v == "notebook" or entry.recipe is not None]
    return ["rnnlab"] if "rnnlab" in variants else []


def run_entry(entry: Entry, out: str | Path, variants: tuple[str, ...] = VARIANTS, seeds: int = 1,
              quick: bool = False, data_dir: str | Path | None = None,
              echo: Callable[[str], None] = print, models: tuple[str, ...] = (),
              cases: tuple[str, ...] = ()) -> list[dict]:
    """Train (or reuse) every run of an entry (only the rows of ``models`` and ``cases`` where given) and
    return its result rows.  Every run still to train is resolved and checked (:func:`rnnlab.plan.resolve`)
    before the first one trains."""
    from .plan import resolve
    rows, planned = [], [row for row in _planned(entry, out, variants, seeds, quick)
                         if (not models or row[2] in models) and (not cases or _case_key(row[1].label) in cases)]
    for *_, runs in planned:
        for run_dir, cfg in runs or ():
            if _finished_summary(run_dir, cfg) is None:
                resolve(cfg)
    for variant, case, model, runs in planned:
        if runs is None:
            echo(f"{entry.name} / {variant} / {case.label} / {model}: not run, needs a CUDA GPU")
            rows.append(_not_run_row(entry, variant, case, model, settings_for(entry, variant, case, model, 0)))
            continue
        done = []
        for seed, (run_dir, cfg) in enumerate(runs):
            label = f"{entry.name} / {variant} / {case.label} / {model} / seed {seed}"
            done.append((run_dir, _run_once(cfg, run_dir, label, data_dir, echo)))
        rows.append(_row(entry, variant, case, model, cfg, done))
    return rows


def _case_key(label: str) -> str:
    """A case as ``--cases`` names it: its label with hyphens for spaces ("copy-1000"), as its folder is named."""
    return label.replace(" ", "-")


def check_selection(entries: list[Entry], models: tuple[str, ...], cases: tuple[str, ...]) -> None:
    """Refuse a model or case that no row of ``entries`` has, naming those they do have."""
    for kind, wanted, known in (
            ("--models", models, {m for e in entries for v in VARIANTS for c in e.cases for m in e.models_of(v, c)}),
            ("--cases", cases, {_case_key(c.label) for e in entries for c in e.cases})):
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise ValueError(f"{kind}: no row of {', '.join(e.name for e in entries)} has {', '.join(unknown)}; "
                             f"they have {', '.join(sorted(known))}")


def _planned(entry: Entry, out: str | Path, variants: tuple[str, ...], seeds: int,
             quick: bool) -> list[tuple[str, Case, str, list[tuple[Path, TrainConfig]] | None]]:
    """Each row of an entry (variant, case, model) with its runs, one (run directory, settings) per seed;
    None for a row whose protocol needs a CUDA GPU that this machine lacks."""
    planned = []
    for variant in variants_of(entry, variants):
        for case in entry.cases:
            for model in entry.models_of(variant, case):
                if settings_for(entry, variant, case, model, 0).run.device == "cuda" and not cuda_available():
                    planned.append((variant, case, model, None))
                    continue
                runs = []
                for seed in range(case.seeds or (seeds if entry.seeds else 1)):
                    cfg = settings_for(entry, variant, case, model, seed)
                    run_dir = Path(out) / entry.name / variant / case.label.replace(" ", "-") / f"{model}-seed{seed}"
                    runs.append((run_dir, _quick(cfg) if quick else cfg))
                planned.append((variant, case, model, runs))
    return planned


def _run_once(cfg: TrainConfig, run_dir: Path, label: str, data_dir: str | Path | None,
              echo: Callable[[str], None]) -> dict:
    """A run's summary: reused if it finished with these settings, else trained (resumed from its checkpoint
    when it was cut off). A run whose loss diverged is recorded as such, and not trained again."""
    from .train import train_run
    from .trainer import TrainingDiverged
    summary = _finished_summary(run_dir, cfg)
    if summary is not None:
        return summary
    resume = _resumable(run_dir, cfg)
    echo(label + (" (resumed from its checkpoint)" if resume else ""))
    try:
        return train_run(None if resume else cfg, run_dir, resume=resume, force=not resume, echo=lambda line: None,
                         progress=False, data_dir=data_dir).summary
    except TrainingDiverged as exc:
        echo(f"{label}: diverged ({exc})")
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "diverged.json").write_text(json.dumps({"config": cfg.to_dict(), "message": str(exc)}))
        return _finished_summary(run_dir, cfg)


def _row(entry: Entry, variant: str, case: Case, model: str, cfg: TrainConfig, runs: list[tuple[Path, dict]]) -> dict:
    """The table row of one model on one case: mean and spread over the seeds that did not diverge."""
    done = [(run_dir, s) for run_dir, s in runs if not s.get("diverged")]
    last = runs[-1][1]
    # compare like with like: where the task's baseline is a loss (the copy task's cross-entropy), report that loss
    measure = last.get("baseline_measure") or last["metric"]
    values = [s["final_test_metric" if measure == last["metric"] else "final_test_loss"] for _, s in done]
    reached = _slowest_time_to([run_dir for run_dir, _ in done], case.time_to) if case.time_to and done else None
    whole = next((s["extra_tests_whole"] for _, s in reversed(done) if s.get("extra_tests_whole")), {})
    return {"entry": entry.name, "title": entry.title, "variant": variant, "case": case.label, "model": model,
            "metric": measure, "notebook": entry.notebook.get((case.label, model), ""),
            "goal": entry.goals.get((case.label, model), "") if variant == "rnnlab" else "",
            "mean": float(np.mean(values)) if values else None,
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, "n": len(values),
            "diverged": len(runs) - len(done), "seconds": float(np.mean([s["seconds"] for _, s in runs])),
            "baseline": last["baseline"], "command": command_for(cfg), "whole": whole,
            "runs": [str(run_dir) for run_dir, _ in runs], "machine": _machine(cfg),
            "time_to": None if reached is None else [case.time_to, reached]}


def _machine(cfg: TrainConfig) -> str:
    """The machine a row is measured on: the processor, and the GPU where the run used one."""
    if cfg.run.device.startswith("cuda"):
        import torch
        return f"{machine_description()}, GPU {torch.cuda.get_device_name()}"
    return machine_description()


def _not_run_row(entry: Entry, variant: str, case: Case, model: str, cfg: TrainConfig) -> dict:
    """The table row of a run this machine cannot make (its protocol needs CUDA)."""
    from .tasks import get_task
    task = get_task(case.task)
    return {"entry": entry.name, "title": entry.title, "variant": variant, "case": case.label, "model": model,
            "metric": task.metric, "notebook": entry.notebook.get((case.label, model), ""),
            "goal": entry.goals.get((case.label, model), ""), "mean": None, "std": None, "n": 0, "seconds": None,
            "baseline": task.baseline(**cfg.data.options), "command": command_for(cfg), "whole": {}, "runs": [],
            "time_to": None, "not_run": "needs a CUDA GPU; none on this machine"}


def _finished_summary(run_dir: Path, cfg: TrainConfig) -> dict | None:
    """The summary of a run finished with exactly these settings (None: it must be trained); for a run
    whose loss diverged, a summary that says so."""
    summary_path, diverged_path = run_dir / "summary.json", run_dir / "diverged.json"
    if summary_path.exists() and _same_settings(run_dir, cfg):
        return json.loads(summary_path.read_text())
    if diverged_path.exists() and _same_settings(run_dir, cfg, "diverged.json"):
        from .tasks import get_task
        task = get_task(cfg.data.task)
        try:
            seconds = sum(float(row["seconds"]) for row in csv.DictReader((run_dir / "metrics.csv").open()))
        except (OSError, KeyError, ValueError):
            seconds = 0.0
        return {"diverged": json.loads(diverged_path.read_text())["message"], "metric": task.metric,
                "final_test_metric": float("nan"), "seconds": seconds, "baseline": task.baseline(**cfg.data.options)}
    return None


def _resumable(run_dir: Path, cfg: TrainConfig) -> bool:
    """Whether an unfinished run of these settings has a checkpoint to continue from (a row killed
    halfway resumes at its last finished epoch instead of starting again)."""
    has_checkpoint = any(not path.name.startswith(".") for path in run_dir.glob("checkpoint.*"))
    finished = (run_dir / "summary.json").exists() or (run_dir / "diverged.json").exists()
    return has_checkpoint and not finished and _same_settings(run_dir, cfg)


def _same_settings(run_dir: Path, cfg: TrainConfig, record: str = "config.json") -> bool:
    """Whether the run in ``run_dir`` was trained with ``cfg`` (else the suite retrains it); its settings are
    in ``record`` (config.json, or diverged.json for a run that diverged)."""
    try:   # a setting added after the run was made has its default value in that run
        saved = TrainConfig.from_dict(json.loads((run_dir / record).read_text())["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return saved == cfg


def _time_to(run_dir: Path, target: float) -> float | None:
    """Training seconds (cumulative over epochs) until the test metric first reaches ``target``; -1: never."""
    elapsed = 0.0
    with (run_dir / "metrics.csv").open() as handle:
        for row in csv.DictReader(handle):
            elapsed += float(row["seconds"])
            if float(row["test_metric"]) >= target:
                return elapsed
    return -1.0


def _slowest_time_to(run_dirs: list[Path], target: float) -> float:
    """The slowest seed's training seconds to ``target`` (-1: a seed never reached it)."""
    seconds = [_time_to(run_dir, target) for run_dir in run_dirs]
    return -1.0 if min(seconds) < 0 else max(seconds)


def _quick(cfg: TrainConfig) -> TrainConfig:
    """A tiny version of a configuration (for the tests): one epoch on a few sequences."""
    from .tasks import get_task
    options, task = dict(cfg.data.options), cfg.data.task
    defaults = get_task(task).defaults
    if "bptt" in defaults:       # a text task: a short text, short windows
        options.update(bptt=16, **({"corpus": "devils-dictionary-small"} if "corpus" in defaults else {"numbers": 400}))
    elif task.startswith(("mnist", "fashion")):
        options.update(n_train=64, n_test=32, n_val=16)
    else:
        options.update(n_train=64, n_val=16, n_test=16)
        for name in ("length", "delay"):
            if name in options:
                options[name] = min(options[name], 12)
        if task == "binary-add":
            options.update(max_test_bits=4, long_test_bits=[8])
    return cfg.with_settings(task_options=options, epochs=1, batch_size=min(cfg.optim.batch_size, 16), hidden_size=8)


def _number(x: float, digits: int) -> str:
    """x with ``digits`` decimals, or two significant digits where those decimals would show it as 0
    (a copy task's cross-entropy of 4.5e-05, not 0.0000)."""
    return f"{x:.2g}" if x != 0 and abs(x) < 0.5 * 10.0 ** -digits else f"{x:.{digits}f}"


def _value(row) -> str:
    if row.get("not_run"):
        return f"not run ({row['not_run']})"
    diverged = row.get("diverged", 0)
    if row["mean"] is None:
        return f"diverged ({diverged} of {diverged} seeds)"
    metric = METRICS.get(row["metric"])
    scale, unit = (metric.scale, metric.unit) if metric is not None and metric.percent else (1, "")
    digits = 2 if scale == 100 else 4
    text = _number(scale * row["mean"], digits)
    if diverged:
        unit += f"; {diverged} of {row['n'] + diverged} seeds diverged"
    if row["n"] > 1:
        text += f" +/- {_number(scale * row['std'], digits)}"
    text += unit
    if row.get("time_to"):
        target, seconds = row["time_to"]
        text += (f" ({format_metric(row['metric'], target)} after {seconds:.1f} s)" if seconds >= 0
                 else f" ({format_metric(row['metric'], target)} not reached)")
    return text


def results_table(rows: list[dict], machine: str) -> str:
    lines = ["# rnnlab results", "", f"Machine: {machine}.", ""]
    for entry in dict.fromkeys(r["entry"] for r in rows):
        part = [r for r in rows if r["entry"] == entry]
        lines += [f"## {part[0]['title']}", "",
                  "| case | model | variant | metric | notebook | ours | goal | chance | seconds per run | reproduce |",
                  "|---|---|---|---|---:|---:|---|---:|---:|---|"]
        for r in part:
            lines.append(f"| {r['case']} | {r['model']} | {r['variant']} | {r['metric']} | {r['notebook'] or '-'} | "
                         f"{_value(r)} | {r['goal'] or '-'} | {format_metric(r['metric'], r['baseline'])} | "
                         f"{'-' if r['seconds'] is None else format(r['seconds'], '.1f')} | `{r['command']}` |")
        machines = sorted({r["machine"] for r in part if r.get("machine")})
        if machines and machines != [machine]:
            lines += ["", f"Measured on: {'; '.join(machines)}."]
        lengths = [r for r in part if r["whole"]]
        if lengths:
            names = list(lengths[0]["whole"])
            lines += ["", "Whole-sum accuracy per test length (bits):", "",
                      "| model | variant | " + " | ".join(n.split("=")[1] for n in names) + " |",
                      "|---|---|" + "---:|" * len(names)]
            for r in lengths:
                lines.append(f"| {r['model']} | {r['variant']} | " +
                             " | ".join(f"{100 * r['whole'][n]:.0f}" for n in names) + " |")
        lines.append("")
    not_run = sorted({r["entry"] for r in rows if r.get("not_run")}, key=list(SUITE_BY_NAME).index)
    if not_run:
        lines += ["## Not run on this machine", "",
                  f"The rows marked \"not run\" ({', '.join(not_run)}) have a protocol that needs a CUDA GPU "
                  "(784 steps per image take hours per model on 2 CPU cores). On a machine with one: "
                  + ", ".join(f"`rnnlab bench --only {name}`" for name in not_run)
                  + " (or each row's command), then the numbers replace these rows.", ""]
    return "\n".join(lines)


def write_results(rows: list[dict], out: str | Path, machine: str) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(results_table(rows, machine))
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entry", "case", "model", "variant", "metric", "notebook", "mean", "std", "seeds",
                         "seconds_per_run", "goal", "command"])
        for r in rows:
            writer.writerow([r["entry"], r["case"], r["model"], r["variant"], r["metric"], r["notebook"],
                             *(("", "") if r["mean"] is None else (f"{r['mean']:.6f}", f"{r['std']:.6f}")), r["n"],
                             "" if r["seconds"] is None else f"{r['seconds']:.2f}", r["goal"], r["command"]])
    return out / "results.md"


def run_bench(out: str | Path = "bench-out", only: list[str] | None = None, variants: tuple[str, ...] = VARIANTS,
              seeds: int = 3, quick: bool = False, data_dir: str | Path | None = None,
              echo: Callable[[str], None] = print, models: tuple[str, ...] = (), cases: tuple[str, ...] = ()) -> Path:
    """Run the suite's entries (``only`` some; of those only the rows of ``models`` and ``cases`` where given)
    into ``out`` and write its tables; rows run earlier into ``out`` are kept unless run again."""
    unknown = [name for name in (only or []) if name not in SUITE_BY_NAME]
    if unknown:
        raise ValueError(f"--only: unknown entry {', '.join(unknown)}; the suite has {', '.join(SUITE_BY_NAME)}")
    entries = [entry for entry in SUITE if not only or entry.name in only]
    check_selection(entries, models, cases)
    rows = []
    for entry in entries:
        rows += run_entry(entry, out, variants, seeds, quick, data_dir, echo, models, cases)
    # keep the rows run earlier into the same folder, so that `--only` adds to one table: a whole entry's
    # rows are replaced when it runs again, only the selected rows when --models or --cases select some
    previous = Path(out) / "rows.json"
    width = 4 if models or cases else 2          # (entry, variant, case, model) or (entry, variant)

    def key(row: dict) -> tuple:
        return (row["entry"], row["variant"], row["case"], row["model"])[:width]
    replaced = {key(x) for x in rows}
    kept = [r for r in (json.loads(previous.read_text()) if previous.exists() else []) if key(r) not in replaced]
    order = {e.name: i for i, e in enumerate(SUITE)}
    case_order = {(e.name, c.label): i for e in SUITE for i, c in enumerate(e.cases)}
    rows = sorted(kept + rows, key=lambda r: (order[r["entry"]], case_order[(r["entry"], r["case"])], r["variant"]))
    Path(out).mkdir(parents=True, exist_ok=True)
    previous.write_text(json.dumps(rows, indent=1))
    return write_results(rows, out, machine_description())
