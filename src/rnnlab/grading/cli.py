"""The two subcommands: ``rnnlab check SUBMISSION`` (grade) and ``rnnlab exercises DIR`` (hand out)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..cli.options import positive_float, positive_int


def check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("submission", help="the student's .py or .ipynb")
    p.add_argument("--assignment", choices=("assignment-2", "gradient-flow"),
                   help="which exercise it is (default: recognised from the names it defines)")
    p.add_argument("--json", dest="json_path", metavar="OUT", help="also write the report as JSON to this file")
    p.add_argument("--check-seconds", type=positive_float, default=10.0,
                   help="time limit of each check, in seconds (default 10)")
    p.add_argument("--time-limit", type=positive_float, default=120.0,
                   help="time limit of the whole grading process, in seconds (default 120)")
    p.add_argument("--memory-mb", type=positive_int, default=3072,
                   help="memory limit of the grading process, in MiB (default 3072)")


def exercises_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="folder to write the exercise notebooks into (created if missing)")


def check(args: argparse.Namespace) -> int:
    """Exit 0 when graded, whatever the score; a submission that cannot be graded raises (exit 2)."""
    from . import Limits, grade
    if args.json_path and not Path(args.json_path).resolve().parent.is_dir():
        raise ValueError(f"--json {args.json_path}: its folder is missing; create it or choose another path "
                         f"(checked before grading, so nothing was lost)")
    limits = Limits(args.check_seconds, args.time_limit, args.memory_mb)
    report = grade(args.submission, args.assignment, limits)
    print(report.text())
    if args.json_path:
        report.write_json(args.json_path)
    return 0


def exercises(args: argparse.Namespace) -> int:
    from ..exercises import write_exercises
    for path in write_exercises(args.dir):
        print(f"wrote {path}")
    return 0
