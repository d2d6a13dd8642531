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
    return parser


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
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
