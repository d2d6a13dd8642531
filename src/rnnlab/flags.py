"""The flags of `rnnlab train` and `compare` that set a configuration's settings: one table, read by the command
line (``cli.options``) and by the results suite, which writes each row's command from it (``bench.command_for``)."""
from __future__ import annotations

import argparse

from .config import FIELDS, INITS, LOSS_NAMES, OPTIMIZERS, RECURRENT_INITS, SCHEDULES
from .rules import ENGINES
from .spec import BIDIRECTIONAL_READS, HEADS, NONLINEARITIES


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
    "--weight-drop": ("weight_drop", {"type": float, "metavar": "P",
                                      "help": "weight drop: each batch steps with the recurrent matrices W_hh "
                                              "m / (1 - P), m dropping each weight with probability P "
                                              "(AWD-LSTM's DropConnect; RNN, LSTM, GRU; default 0)"}),
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
