"""Sweeps: a grid (and random samples) of settings x seeds, each an ordinary run directory.

A sweep file (YAML)::

    name: xor-cells                    # folder under --runs-dir (default: the file's name)
    task: xor
    fixed: {epochs: 3, hidden_size: 16, task_options: {n_train: 2000}}
    grid: {cell: [rnn, lstm, gru], lr: [0.01, 0.003]}
    random:                            # optional: extra points drawn from a seeded space
      samples: 4
      space: {lr: {loguniform: [1e-4, 1e-2]}, hidden_size: {choice: [16, 32, 64]}}
    seeds: [0, 1, 2]

Every point x seed becomes ``<runs-dir>/<name>/<point>-seed<k>/``.  Running a sweep again skips the
finished runs, resumes the interrupted ones from their checkpoints and retries the failed ones; a
run that fails leaves ``error.txt`` and does not stop the others.

Backends: ``local`` (a process pool, one worker per core, one thread each) and ``ray`` (each run a
Ray task with its CPU / GPU request, on a local instance or an existing cluster).
"""
from __future__ import annotations

import itertools
import json
import math
import os
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import FIELDS, TrainConfig, read_mapping, resolve
from .plan import resolve as resolve_plan
from .rundir import check_run_name

SWEEP_KEYS = {"name", "task", "fixed", "grid", "random", "seeds", "resources"}


@dataclass(frozen=True)
class SweepRun:
    point: str            # "cell=lstm,lr=0.01"
    seed: int
    settings: dict        # TrainConfig fields of this run
    run_dir: str

    def config(self) -> TrainConfig:
        """The run's training configuration (flat settings over the defaults, as a YAML file's are)."""
        settings = dict(self.settings)
        options = settings.pop("task_options", {})
        return resolve(task_options=options, **settings).config()


def read_sweep(path: str | Path) -> dict:
    doc = read_mapping(path, "sweep", SWEEP_KEYS, "key")
    doc.setdefault("name", Path(path).stem)
    return doc


def _point_name(values: dict) -> str:
    def text(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return ",".join(f"{k}={text(v)}" for k, v in values.items()) or "base"


def _sample(space: dict, rng: np.random.Generator) -> dict:
    out = {}
    for key, rule in space.items():
        if not isinstance(rule, dict) or len(rule) != 1:
            raise ValueError(f"sweep random space {key}: expected one of {{choice: [...]}}, {{uniform: [a, b]}}, "
                             f"{{loguniform: [a, b]}}, {{randint: [a, b]}}")
        (kind, args), = rule.items()
        if kind == "choice":
            out[key] = args[int(rng.integers(len(args)))]
        elif kind == "uniform":
            out[key] = float(rng.uniform(*args))
        elif kind == "loguniform":
            out[key] = float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
        elif kind == "randint":
            out[key] = int(rng.integers(args[0], args[1] + 1))
        else:
            raise ValueError(f"sweep random space {key}: unknown rule {kind!r}; expected choice, uniform, "
                             f"loguniform or randint")
    return out


def expand(doc: dict, root: str | Path, check: bool = True) -> list[SweepRun]:
    """The runs of a sweep: every grid point and random sample, for every seed.  Each run's settings are
    checked; with ``check`` each is also resolved by :func:`rnnlab.plan.resolve` (task options, loss,
    augmentation, device, memory), so that a bad point is refused before the first run starts.  A report
    of runs made elsewhere does not check them against this machine (``check=False``)."""
    fixed = dict(doc.get("fixed") or {})
    if "task" in doc:
        fixed["task"] = doc["task"]
    grid = doc.get("grid") or {}
    seeds = doc.get("seeds", [0])
    for key in [*fixed, *grid]:
        if key not in FIELDS:
            raise ValueError(f"sweep: {key!r} is not a training setting; valid: {', '.join(sorted(FIELDS))}")
    points = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] if grid else [{}]
    random = doc.get("random")
    if random:
        rng = np.random.default_rng(random.get("seed", 0))
        points += [_sample(random.get("space") or {}, rng) for _ in range(int(random.get("samples", 0)))]
    runs = []
    folder = Path(root) / check_run_name(doc["name"], "sweep: name")
    for values in points:
        name = _point_name(values)
        for seed in seeds:
            check_run_name(f"{name}-seed{seed}", f"sweep: the run of point {name!r}")
            settings = {**fixed, **values, "seed": int(seed)}
            settings["task_options"] = settings.pop("task_options", {})
            run = SweepRun(name, int(seed), settings, str(folder / f"{name}-seed{seed}"))
            cfg = run.config()                          # fail before anything runs
            if check:
                resolve_plan(cfg, name)
            runs.append(run)
    return runs


def status(run: SweepRun) -> str:
    path = Path(run.run_dir)
    if (path / "summary.json").exists():
        return "done"
    if (path / "error.txt").exists():
        return "failed"
    return "started" if (path / "config.json").exists() else "new"


def run_one(run: SweepRun, data_dir: str | Path | None = None, threads: int = 1) -> dict:
    """Train one run of a sweep (in a worker); never raises: failures are recorded in error.txt."""
    import torch

    from .train import train_run
    torch.set_num_threads(threads)
    path = Path(run.run_dir)
    state = status(run)
    if state == "done":
        return {"run": run.run_dir, "status": "skipped"}
    try:
        cfg = run.config()
        if cfg.run.threads is None:      # a worker per core: its runs take the threads the pool gives them
            cfg = cfg.with_settings(threads=threads)
        resume = state in ("started", "failed") and (path / "config.json").exists()
        (path / "error.txt").unlink(missing_ok=True)
        summary = train_run(cfg, path, resume=resume, force=not resume, echo=lambda line: None, progress=False,
                            data_dir=data_dir).summary
        return {"run": run.run_dir, "status": "done", "metric": summary["final_test_metric"]}
    except Exception as exc:   # a failing run must not stop the sweep: record it and go on
        path.mkdir(parents=True, exist_ok=True)
        (path / "error.txt").write_text(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
        return {"run": run.run_dir, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def run_sweep(doc: dict, root: str | Path = "runs", backend: str = "local", workers: int | None = None,
              ray_address: str | None = None, data_dir: str | Path | None = None,
              echo: Callable[[str], None] = print) -> list[dict]:
    runs = expand(doc, root)
    folder = Path(root) / doc["name"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sweep.json").write_text(json.dumps({**doc, "runs": [r.run_dir for r in runs]}, indent=2, default=str))
    todo = [r for r in runs if status(r) != "done"]
    echo(f"sweep {doc['name']}: {len(runs)} runs, {len(runs) - len(todo)} already done, {len(todo)} to run "
         f"({backend})")
    if backend == "local":
        results = _run_local(todo, workers or os.cpu_count() or 1, data_dir, echo)
    elif backend == "ray":
        results = _run_ray(todo, ray_address, doc.get("resources") or {}, data_dir, echo)
    else:
        raise ValueError(f"backend: unknown value {backend!r}; expected 'local' or 'ray'")
    failed = [r for r in results if r["status"] == "failed"]
    echo(f"sweep {doc['name']}: {len(results) - len(failed)} finished, {len(failed)} failed"
         + "".join(f"\n  {r['run']}: {r['error']}" for r in failed))
    return results


def _run_local(runs, workers, data_dir, echo) -> list[dict]:
    if not runs:
        return []
    results = []
    if workers == 1:
        for run in runs:
            results.append(run_one(run, data_dir))
            echo(f"  {results[-1]['status']}: {run.run_dir}")
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_one, run, data_dir) for run in runs]
        for future in as_completed(futures):
            results.append(future.result())
            echo(f"  {results[-1]['status']}: {results[-1]['run']}")
    return results


def _run_ray(runs, address, resources, data_dir, echo) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise ValueError("backend 'ray' needs Ray, which is not installed: pip install ray (in a clone of rnnlab: "
                         "pip install -e '.[ray]'), or use --backend local") from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=resources.get("cpus", 1), num_gpus=resources.get("gpus", 0))(run_one)
    pending = {task.remote(run, data_dir, int(resources.get("cpus", 1))): run for run in runs}
    results = []
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            pending.pop(ref)
            results.append(ray.get(ref))
            echo(f"  {results[-1]['status']}: {results[-1]['run']}")
    return results


# ---------------------------------------------------------------------------------------------
# Aggregation


def aggregate(doc: dict, root: str | Path = "runs") -> list[dict]:
    """Per grid point: mean and standard deviation of the final test metric over its finished seeds,
    best first."""
    from .metrics import METRICS
    rows: dict[str, dict] = {}
    metric = None
    for run in expand(doc, root, check=False):
        path = Path(run.run_dir) / "summary.json"
        row = rows.setdefault(run.point, {"point": run.point, "values": [], "seconds": [], "failed": 0})
        if path.exists():
            summary = json.loads(path.read_text())
            metric = summary["metric"]
            row["values"].append(summary["final_test_metric"])
            row["seconds"].append(summary["seconds"])
        elif (Path(run.run_dir) / "error.txt").exists():
            row["failed"] += 1
    out = []
    for row in rows.values():
        values = np.array(row["values"])
        out.append({"point": row["point"], "metric": metric, "n": len(values), "failed": row["failed"],
                    "mean": float(values.mean()) if len(values) else float("nan"),
                    "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                    "seconds": float(np.mean(row["seconds"])) if row["seconds"] else float("nan")})
    higher = METRICS[metric].higher_is_better if metric in METRICS else True
    return sorted(out, key=lambda r: (math.isnan(r["mean"]), -r["mean"] if higher else r["mean"]))


def write_sweep_report(doc: dict, root: str | Path = "runs") -> Path:
    from matplotlib.figure import Figure

    from .metrics import METRICS, format_metric
    rows = aggregate(doc, root)
    folder = Path(root) / doc["name"]
    metric = rows[0]["metric"] if rows else None
    lines = [f"# Sweep {doc['name']} ({doc.get('task', '')})", "",
             f"| rank | point | test {metric} (mean +/- std) | seeds | failed | seconds per run |",
             "|---:|---|---:|---:|---:|---:|"]
    for i, r in enumerate(rows, 1):
        percent = metric in METRICS and METRICS[metric].percent
        scale, unit = (METRICS[metric].scale, METRICS[metric].unit) if percent else (1, "")
        value = f"{scale * r['mean']:.2f} +/- {scale * r['std']:.2f}{unit}" if r["n"] else "-"
        lines.append(f"| {i} | {r['point']} | {value} | {r['n']} | {r['failed']} | {r['seconds']:.1f} |")
    if rows and rows[0]["n"]:
        lines += ["", f"Best: **{rows[0]['point']}** ({format_metric(metric, rows[0]['mean'])})."]
    (folder / "sweep_results.md").write_text("\n".join(lines) + "\n")
    with (folder / "sweep_results.csv").open("w") as handle:
        handle.write("point,metric,mean,std,seeds,failed,seconds\n")
        for r in rows:
            handle.write(f"\"{r['point']}\",{r['metric']},{r['mean']},{r['std']},{r['n']},{r['failed']},{r['seconds']}\n")
    finished = [r for r in rows if r["n"]]
    if finished:
        fig = Figure(figsize=(7, 0.45 * len(finished) + 1.5))
        ax = fig.subplots()
        ax.barh([r["point"] for r in finished][::-1], [r["mean"] for r in finished][::-1],
                xerr=[r["std"] for r in finished][::-1], color="C0", alpha=0.8)
        ax.set_xlabel(f"test {metric}")
        ax.set_title(f"Sweep {doc['name']}")
        fig.tight_layout()
        fig.savefig(folder / "sweep.png", dpi=100)
    return folder / "sweep_results.md"

