"""What each subcommand does with its parsed arguments: call the library and print the outcome.

Each function returns the exit code; errors are raised and turned into one-line messages and exit
codes in one place (:func:`rnnlab.cli.main`)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cells import CELLS
from ..flags import SETTING_FLAGS
from .options import settings_from


def demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    from ..memory import available_bytes
    need = 8 * args.length * (1000 * 6 + (1000 + 64) * args.hidden * 12)   # the test set through the model, a batch
    if need > available_bytes():
        raise ValueError(f"--length {args.length} with --hidden {args.hidden} needs about {need / 1e9:.1f} GB, more "
                         f"than this machine has free; use a smaller --length (default 30) or --hidden (default 32)")
    run_demo(cell=args.cell, length=args.length, hidden=args.hidden, steps=args.steps, lr=args.lr, seed=args.seed)
    return 0


def inspect(args: argparse.Namespace) -> int:
    import warnings

    from ..engines import RecurrentSpec
    from ..inspect import compare_table, describe
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    if not args.cell and not args.compare:
        raise UsageError(f"inspect: name a cell ({', '.join(CELLS)}) or give --compare CELL ...")

    def spec(cell: str) -> RecurrentSpec:
        return RecurrentSpec(cell, args.input_size, args.hidden_size, args.layers, args.bidirectional,
                             args.nonlinearity, args.dropout, args.proj_size, not args.no_bias,
                             batch_first=not args.time_major, layer_norm=args.layer_norm)
    try:
        if args.compare:
            print(compare_table([describe(spec(c), args.engine) for c in args.compare]))
        else:
            print(describe(spec(args.cell), args.engine, args.batch, args.seq_len, args.lengths).table())
    except ValueError as exc:
        raise ValueError(f"{exc}; `rnnlab inspect --help` lists the options") from None
    return 0


def data(args: argparse.Namespace) -> int:
    check_data_dir(args)
    from ..data.mnist import fetch
    from ..tasks import describe_tasks
    if args.data_command == "list":
        print(describe_tasks(args.data_dir))
        return 0
    dataset = fetch(args.dataset, args.data_dir, progress=not args.quiet)
    print(f"{args.dataset}: {len(dataset.train_images)} training and {len(dataset.test_images)} test images, "
          f"checksums verified, in {dataset.source}")
    return 0


def train(args: argparse.Namespace) -> int:
    check_data_dir(args)
    from ..plan import resolve
    from ..report import write_report
    from ..rundir import check_run_name
    from ..train import train_run
    if args.resume:
        run_dir = Path(args.resume)
        history = train_run(None, run_dir, resume=True, progress=not args.quiet, data_dir=args.data_dir,
                            changes=resume_changes(args))
        if history.summary:
            report = write_report(run_dir, [run_dir], title=f"{history.summary['task']}: {history.label}")
            print(f"done: {run_dir} (test {history.metric} {history.summary['final_test_metric']:.4f}) — "
                  f"report {report}")
        return 0
    plan = resolve(settings_from(args))          # every check of the run, before anything loads or is written
    cfg = plan.config
    name = check_run_name(args.name) if args.name is not None else f"{cfg.data.task}-{cfg.label}-{cfg.run.engine}"
    run_dir = Path(args.runs_dir) / name
    history = train_run(plan, run_dir, force=args.force, progress=not args.quiet, data_dir=args.data_dir)
    if history.summary:        # empty on a data-parallel worker other than rank 0: rank 0 reports
        report = write_report(run_dir, [run_dir], title=f"{cfg.data.task}: {history.label}")
        print(f"done: {run_dir} — report {report}")
    return 0


def resume_changes(args: argparse.Namespace) -> dict:
    """The settings given beside --resume, by flat name (the run decides which it can honour);
    flags that are not settings of the run are refused here."""
    from ..train import RESUMABLE
    others = [flag for flag, dest in (("--preset", "preset"), ("--config", "config"), ("--name", "name"),
                                      ("--force", "force")) if getattr(args, dest, None)]
    if others:
        raise ValueError(f"--resume: {', '.join(others)} cannot be given when a run resumes (of its settings only "
                         f"{', '.join('--' + s for s in RESUMABLE)} can change); start a new run with another --name")
    given = {setting: getattr(args, setting) for _, (setting, _) in SETTING_FLAGS.items()
             if getattr(args, setting) is not None}
    for dest, setting, value in (("task_options", "task_options", dict(args.task_options or [])),
                                 ("cell", "cell", args.cell), ("ddp", "ddp", True),
                                 ("no_clip_norm", "clip_norm", None)):
        if getattr(args, dest, None):
            given[setting] = value
    return given


def compare(args: argparse.Namespace) -> int:
    check_data_dir(args)
    from ..rundir import RunDir, check_run_name
    from ..runs import compare as compare_models
    from ..runs import results_table
    settings = settings_from(args)
    task = settings.values.get("task", "mnist-rows")
    run_dir = Path(args.runs_dir) / (check_run_name(args.name) if args.name is not None else f"compare-{task}")
    report, _ = compare_models(settings, run_dir, data_dir=args.data_dir, force=args.force, resume=args.resume,
                               progress=not args.quiet)
    print(results_table(RunDir(run_dir).read_json("compare.json")))   # the table the README's main job shows
    print(f"report: {report}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    check_data_dir(args)
    from ..metrics import format_metric
    from ..runs import evaluate_run
    r = evaluate_run(args.run, args.task, args.engine, args.data_dir, **dict(args.task_options or []))
    print(f"{r['run']} on {r['task']} ({r['engine']} engine): test loss {r['test_loss']:.4f}, "
          f"{r['metric']} {format_metric(r['metric'], r['test_metric'])}")
    for name, value in r["extra_tests"].items():
        print(f"  {name}: {r['metric']} {format_metric(r['metric'], value)}")
    return 0


def generate(args: argparse.Namespace) -> int:
    from ..runs import generate_text
    print(generate_text(args.run, args.prime, args.length, args.temperature, args.top_k, args.seed, args.engine,
                        args.best, args.replace))
    return 0


PICTURE_FORMATS = (".png", ".jpg", ".jpeg", ".pdf", ".svg")


def check_picture(picture: str) -> str:
    """A picture's file name that can be written: a known extension, in a folder that exists."""
    suffix = Path(picture).suffix.lower()
    if suffix not in PICTURE_FORMATS:
        has = f"has the extension {suffix[:20]!r}" if suffix else "has no extension"
        raise ValueError(f"--picture: {picture[:80]!r} {has}; give a file name ending in "
                         f"{', '.join(PICTURE_FORMATS)} (such as predictions.png)")
    folder = Path(picture).parent
    if not folder.is_dir():
        raise ValueError(f"--picture: the folder {str(folder)[:80]!r} does not exist"
                         f"{' (it is a file)' if folder.exists() else ''}; create it or choose another path")
    return picture


def check_data_dir(args: argparse.Namespace) -> None:
    """--data-dir, when given, is a folder or not there yet (refused before any work when it is a file)."""
    if getattr(args, "data_dir", None):
        check_out_folder("--data-dir", args.data_dir, "for the data (default $RNNLAB_DATA or ~/.cache/rnnlab)")


def check_out_folder(flag: str, out: str, purpose: str = "for the output") -> None:
    """An output folder that is a file is refused before any work (not after, as 'Not a directory')."""
    path = Path(out)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            raise ValueError(f"{flag}: {str(part)[:80]!r} is a file, not a folder (a file is in the way); give a "
                             f"folder {purpose}")


def predict(args: argparse.Namespace) -> int:
    from ..runs import predict_images, score_labels, score_lines
    picture = check_picture(args.picture) if args.picture else str(Path(args.run) / "predictions.png")
    normalise = tuple(part.strip() for part in args.normalise.split(",") if part.strip())
    results = predict_images(args.run, args.images, picture, normalise, args.labels)
    for r in [] if args.labels else results:   # with labels: the summary and the mistakes only
        top = sorted(range(len(r["probabilities"])), key=lambda k: -r["probabilities"][k])[:3]
        print(f"{r['file']}: {r['predicted']}  (" + ", ".join(f"{k}: {100 * r['probabilities'][k]:.1f} %"
                                                         for k in top) + ")")
    if args.labels:
        print("\n".join(score_lines(results, score_labels(results))))
    print(f"picture: {picture}")
    return 0


def runs(args: argparse.Namespace) -> int:
    from ..runs import list_runs, runs_table
    folder = Path(args.runs_dir)
    if not folder.is_dir():
        what = "is a file, not a folder of runs" if folder.exists() else "does not exist"
        print(f"no runs yet: {args.runs_dir!r} {what} (--runs-dir); `rnnlab train` and `rnnlab compare` write "
              f"runs under runs/")
        return 0
    rows = [{key: _printable(value) if isinstance(value, str) else value for key, value in row.items()}
            for row in list_runs(args.runs_dir)]
    print(runs_table(rows))
    return 0


def _printable(text: str, limit: int = 120) -> str:
    """A name or value read from disk, as one printable line (control characters escaped, long text cut), so
    a folder named with a newline or a config.json holding escape codes cannot forge a row of the table."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def gradients(args: argparse.Namespace) -> int:
    from ..gradient_report import gradient_report
    check_out_folder("--out", args.out)
    gradient_report(args.out, args.task, args.length, args.hidden_size, args.epochs, seed=args.seed,
                    long_length=args.long_length)
    print(f"pictures and summary in {args.out}")
    return 0


def sweep(args: argparse.Namespace) -> int:
    check_data_dir(args)
    from ..sweep import read_sweep, run_sweep, write_sweep_report
    doc = read_sweep(args.file)
    results = [] if args.report else run_sweep(doc, args.runs_dir, args.backend, args.workers, args.ray_address,
                                               args.data_dir)
    report = write_sweep_report(doc, args.runs_dir)
    print(report.read_text())
    print(f"table: {report}")
    return 1 if any(r["status"] == "failed" for r in results) else 0


def bench(args: argparse.Namespace) -> int:
    check_data_dir(args)
    from ..bench import VARIANTS, run_bench
    check_out_folder("--out", args.out)
    path = run_bench(args.out, args.only, tuple(args.variant or VARIANTS), args.seeds, args.quick, args.data_dir,
                     models=tuple(args.models or ()), cases=tuple(args.cases or ()))
    print(path.read_text())
    print(f"results: {path} and {path.with_suffix('.csv')}")
    return 0


def explore(args: argparse.Namespace) -> int:
    import errno
    import socket

    from ..explore import serve
    try:
        serve(args.host, args.port, runs_dir=args.runs_dir)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            raise ValueError(f"--host: {args.host[:80]!r} is not an address of this machine ({reason}); the "
                             f"default 127.0.0.1 serves this machine only") from None
        if exc.errno == errno.EADDRINUSE:
            raise ValueError(f"--port: {args.port} is in use on {args.host} ({reason}); choose another port, "
                             f"or --port 0 picks a free one") from None
        raise ValueError(f"cannot listen on {args.host}:{args.port} ({reason}); try --port 0") from None
    return 0


class UsageError(Exception):
    """Wrong use of a command's arguments: answered with the usage line, exit 2 (as argparse does)."""


def say(command: str, message: str) -> None:
    print(f"rnnlab {command}: {message}", file=sys.stderr)
