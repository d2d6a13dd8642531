"""The settings flags of `train` and `compare` (their table: :mod:`rnnlab.flags`) added to a parser and read back,
and the other argument types of the command line."""
from __future__ import annotations

import argparse

from ..cells import CELLS
from ..config import PRESETS, Settings, resolve
from ..flags import SETTING_FLAGS, positive_int

CELL_NAMES = tuple(CELLS)
DATA_DIR_HELP = "data folder (default: $RNNLAB_DATA or ~/.cache/rnnlab)"


def task_option(text: str) -> tuple[str, object]:
    """KEY=VALUE for a task option; the value is read as int, float, or YAML (true, none, [50, 100], text)
    through the settings files' loader (no aliases, bounded: rnnlab.settings_file)."""
    import yaml

    from ..settings_file import MAX_VALUE_TEXT, load_yaml, shown
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as length=20, got {shown(text)}")
    key, raw = text.split("=", 1)
    if not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY an option's name such as length, "
                                         f"got {shown(text)}")
    if len(raw) > MAX_VALUE_TEXT:
        raise argparse.ArgumentTypeError(f"{key}: a value of {len(raw)} characters ({shown(raw)}); no option "
                                         f"is that long")
    for convert in (int, float):
        try:
            return key, convert(raw)
        except ValueError:
            pass
    try:
        return key, load_yaml(raw)
    except (yaml.YAMLError, RecursionError):
        return key, raw


def lengths(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 8,5,3, got {text!r}") from None


def add_settings_flags(p: argparse.ArgumentParser) -> None:
    """The flags of `train` and `compare`."""
    from ..tasks import TASKS
    for flag, (setting, keywords) in SETTING_FLAGS.items():
        extra = {"choices": tuple(TASKS)} if setting == "task" else {}
        p.add_argument(flag, dest=setting, **keywords, **extra)
    p.add_argument("--opt", dest="task_options", type=task_option, action="append", metavar="KEY=VALUE",
                   help="a task option, repeatable: --opt length=50 --opt n_train=5000")
    p.add_argument("--bptt", type=positive_int, metavar="N",
                   help="text tasks: truncated backpropagation through time over windows of N characters (words, "
                        "for a word task), the state carried from window to window (the same as --opt bptt=N)")
    p.add_argument("--no-clip-norm", action="store_true",
                   help="no clipping by norm (the default clips the gradient norm at 1)")
    p.add_argument("--preset", choices=tuple(PRESETS), help="settings that reproduce a course notebook (course, "
                   "lab, assignment) or the quick default")
    p.add_argument("--config", help="a YAML file of settings (the flags' long names with underscores)")
    p.add_argument("--name", help="the run's folder name under --runs-dir")
    p.add_argument("--runs-dir", default="runs", help="where runs are written (default runs/)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--force", action="store_true", help="overwrite a run directory that exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings the flags give: defaults < --preset < --config < flags."""
    flags = {setting: getattr(args, setting) for setting, _ in SETTING_FLAGS.values()}
    flags["task_options"] = dict(args.task_options or [])
    if getattr(args, "bptt", None) is not None:
        given = flags["task_options"].setdefault("bptt", args.bptt)
        if given != args.bptt:
            raise ValueError(f"bptt: --bptt {args.bptt} and --opt bptt={given} contradict each other; give one")
    if getattr(args, "cell", None):
        flags["cell"] = args.cell
    if getattr(args, "ddp", None):
        flags["ddp"] = True
    if getattr(args, "models", None):
        flags["models"] = tuple(args.models)
    if args.no_clip_norm and args.clip_norm is not None:
        raise ValueError(f"clip_norm: --no-clip-norm and --clip-norm {args.clip_norm:g} contradict each other; "
                         "give one of them")
    settings = resolve(args.preset, args.config, **flags)
    if args.no_clip_norm:
        settings = Settings({**settings.values, "clip_norm": None}, settings.models)
    return settings

