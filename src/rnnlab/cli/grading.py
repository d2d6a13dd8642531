"""The two grading subcommands: ``rnnlab check SUBMISSION... [--jobs N] [--out DIR]`` (grade one file, or a
class into a gradebook) and ``rnnlab exercises DIR [--answers]`` (hand out, or write the answer keys).

This module belongs to the command line; ``rnnlab.grading`` never imports it."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..flags import positive_float, positive_int


def check_arguments(p: argparse.ArgumentParser) -> None:
    from ..grading.assignments import ASSIGNMENTS
    p.add_argument("submission", nargs="+", help="the student's .py or .ipynb; several files or folders grade a class")
    p.add_argument("--assignment", choices=tuple(ASSIGNMENTS),
                   help="which exercise it is (default: recognised from the names it defines)")
    p.add_argument("--json", dest="json_path", metavar="OUT", help="one file: also write the report as JSON here")
    p.add_argument("--out", metavar="DIR", help="a class: write gradebook.csv, feedback/ and similarity.md here "
                                                "(default: grades/ in the current folder)")
    p.add_argument("--jobs", type=positive_int, default=1, help="a class: submissions graded at once (default 1)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run the code without the operating-system sandbox: for trusted code only (said in the "
                        "output and the gradebook)")
    p.add_argument("--check-seconds", type=positive_float, default=10.0,
                   help="time limit of each check, in seconds (default 10)")
    p.add_argument("--time-limit", type=positive_float, default=120.0,
                   help="time limit of one submission's grading, in seconds (default 120)")
    p.add_argument("--memory-mb", type=positive_int, default=3072,
                   help="memory limit of each process of a submission, in MiB (default 3072)")


def exercises_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="folder to write the exercise notebooks into (created if missing)")
    p.add_argument("--answers", action="store_true",
                   help="write the teacher's answer keys instead: the notebooks with every answer block filled in")


def check(args: argparse.Namespace) -> int:
    """Exit 0 when graded, whatever the score; 2 when nothing could be graded (the reason in one line)."""
    from ..grading import Limits, SandboxUnavailable, grade
    from ..grading.sandbox import availability
    limits = Limits(args.check_seconds, args.time_limit, args.memory_mb)
    sandboxed = not args.no_sandbox
    if args.no_sandbox:
        print("rnnlab check: --no-sandbox: the submissions run without the sandbox (trusted code only)",
              file=sys.stderr)
    if len(args.submission) > 1 or Path(args.submission[0]).is_dir() or args.out:
        reason = availability() if sandboxed else None
        if reason:                  # before a class is started; one file is read first (its own errors first)
            raise SandboxUnavailable(reason)
        return _check_class(args, limits, sandboxed)
    if args.json_path and not Path(args.json_path).resolve().parent.is_dir():
        raise ValueError(f"--json {args.json_path}: its folder is missing; create it or choose another path "
                         f"(checked before grading, so nothing was lost)")
    report = grade(args.submission[0], args.assignment, limits, sandbox=sandboxed)
    print(report.text())
    if args.json_path:
        report.write_json(args.json_path)
    return 0


def _check_class(args: argparse.Namespace, limits, sandboxed: bool) -> int:
    from ..grading.batch import grade_class, progress_bar, summary
    out = Path(args.out or "grades")
    result = grade_class(args.submission, out, args.jobs, limits, args.assignment, sandboxed, progress_bar())
    print(summary(result))
    print(f"wrote {out / 'gradebook.csv'}, {out / 'feedback'}/ and {out / 'similarity.md'}")
    return 0


def exercises(args: argparse.Namespace) -> int:
    from ..exercises import write_answers, write_exercises
    for path in (write_answers if args.answers else write_exercises)(args.dir):
        print(f"wrote {path}")
    return 0
