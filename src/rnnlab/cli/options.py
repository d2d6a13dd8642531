"""Argument types and the settings flags of `train` and `compare`, derived from the configuration's fields."""
from __future__ import annotations

import argparse

from ..cells import CELLS
from ..config import FIELDS, INITS, LOSS_NAMES, OPTIMIZERS, PRESETS, RECURRENT_INITS, SCHEDULES, Settings, resolve
from ..rules import ENGINES
from ..spec import BIDIRECTIONAL_READS, HEADS, NONLINEARITIES

CELL_NAMES = tuple(CELLS)
DATA_DIR_HELP = "data folder (default: $RNNLAB_DATA or ~/.cache/rnnlab)"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


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


# flag -> (flat setting, argparse keywords); every default is None so that presets and files show through
SETTING_FLAGS: dict[str, tuple[str, dict]] = {
    "--task": ("task", {"help": "the task (default mnist-rows; `rnnlab data list`)"}),
    "--hidden-size": ("hidden_size", {"type": positive_int}),
    "--layers": ("num_layers", {"type": positive_int}),
    "--bidirectional": ("bidirectional", {"action": "store_const", "const": True}),
    "--dropout": ("dropout", {"type": float}),
    "--proj-size": ("proj_size", {"type": int, "help": "LSTM projection size"}),
    "--nonlinearity": ("nonlinearity", {"choices": NONLINEARITIES}),
    "--layer-norm": ("layer_norm", {"action": "store_const", "const": True,
                                    "help": "layer normalisation inside the cell (engines numpy and scratch)"}),
    "--head": ("head", {"choices": HEADS}),
    "--dense-size": ("dense_size", {"type": positive_int}),
    "--bidirectional-read": ("bidirectional_read", {"choices": BIDIRECTIONAL_READS,
                                                    "help": "a bidirectional classifier reads each direction's "
                                                            "final state, or the last step's output (the course's)"}),
    "--output-dropout": ("output_dropout", {"type": float, "metavar": "P",
                                            "help": "dropout on what the output layer reads, while training "
                                                    "(default 0)"}),
    "--ar": ("activation_reg", {"type": float, "metavar": "ALPHA",
                                "help": "activation regularisation: ALPHA mean(o_t^2) of the top layer's outputs "
                                        "added to the training loss (AWD-LSTM, fastbook: 2; default 0)"}),
    "--tar": ("temporal_reg", {"type": float, "metavar": "BETA",
                               "help": "temporal activation regularisation: BETA mean((o_t - o_(t-1))^2) added to "
                                       "the training loss (AWD-LSTM, fastbook: 1; default 0)"}),
    "--engine": ("engine", {"choices": ENGINES, "help": "numpy, scratch (rnnlab.torch) or torch (torch.nn)"}),
    "--optimizer": ("optimizer", {"choices": OPTIMIZERS}),
    "--lr": ("lr", {"type": positive_float}),
    "--momentum": ("momentum", {"type": float}),
    "--weight-decay": ("weight_decay", {"type": float, "help": "decay of every weight matrix (not biases, gains or "
                                        "the LRU's eigenvalues): AdamW's decoupled p -= lr wd p with Adam, "
                                        "L2 g += wd p with SGD, as torch.optim (default 0)"}),
    "--schedule": ("schedule", {"choices": SCHEDULES}),
    "--batch-size": ("batch_size", {"type": positive_int}),
    "--epochs": ("epochs", {"type": positive_int}),
    "--clip-value": ("clip_value", {"type": positive_float}),
    "--clip-norm": ("clip_norm", {"type": positive_float}),
    "--loss": ("loss", {"choices": LOSS_NAMES, "help": "override the task's loss (mse_onehot: Assignment 2's; "
                                                              "mse_sigmoid: Programming Assignment 4's adder)"}),
    "--init": ("init", {"choices": INITS, "help": "course: N(0, 0.1^2) weights, zero biases"}),
    "--recurrent-init": ("recurrent_init", {"choices": RECURRENT_INITS,
                                            "help": "orthogonal or identity (IRNN) blocks of W_hh"}),
    "--forget-bias": ("forget_bias", {"type": float, "help": "added to the LSTM forget-gate bias (e.g. 1.0)"}),
    "--chrono": ("chrono", {"type": int, "metavar": "T_MAX",
                            "help": "chrono init of the LSTM gate biases for dependencies up to T_MAX steps"}),
    "--ring": ("ring", {"metavar": "R_MIN,R_MAX[,MAX_PHASE]",
                        "help": "the LRU's eigenvalues drawn on this ring (default 0.9,0.999; phase up to 2 pi)"}),
    "--augment": ("augment", {"nargs": "?", "const": "recommended", "metavar": "PARTS",
                              "help": "augment the training images of an image task: parts separated by commas "
                                      "(rotate, scale, shear, shift, elastic, stroke, resolution, blur, noise); "
                                      "alone: the recommended set"}),
    "--seed": ("seed", {"type": int}),
    "--device": ("device", {"choices": ("cpu", "cuda")}),
    "--keep-denormals": ("flush_denormals", {"action": "store_const", "const": False,
                                             "help": "compute with denormal floats instead of flushing them to "
                                                     "zero (slow on Intel processors; see docs/engines.md)"}),
    "--threads": ("threads", {"type": positive_int, "metavar": "N",
                              "help": "threads for training and evaluation (default: chosen from the model's size "
                                      "and the machine's load; also $RNNLAB_THREADS)"}),
    "--tensorboard": ("tensorboard", {"action": "store_const", "const": True,
                                      "help": "also write TensorBoard event files into the run directory"}),
}
assert {setting for setting, _ in SETTING_FLAGS.values()} <= FIELDS


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

