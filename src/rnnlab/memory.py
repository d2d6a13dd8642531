"""Will a run fit in memory?  An estimate made before anything is allocated, so that a size that
cannot fit is refused with the estimate instead of ending in an allocation error.

    parameters   P = the sizes of the parameters the cell registry declares for every layer and direction
                 (G*H*(D_k + R + 2) for the dense cells: W_ih, W_hh, two biases), plus the head, 4 bytes
                 each, four copies (weights, gradients, two Adam moments)
    activations  what BPTT keeps for one training batch: K * H numbers per step, sequence, layer and
                 direction, three times over for autograd's intermediates on the PyTorch engines.  K is the
                 cell's ``step_numbers``: G + 3 for the dense cells (gate activations, h, c and scratch);
                 the linear recurrences keep more (a_t, b_t, the states and their residual block's norm and
                 nonlinearity; the LRU in complex numbers), measured on the NumPy engine by the growth of
                 the peak resident memory from 200 to 1,000 steps of the adding problem (batch 64, hidden
                 128, one layer): the LSTM 6.0 H, minGRU 11.9 H, minLSTM 14.8 H, the LRU 18.5 H, so
                 K = 13, 16 and 20 for the three
    evaluation   is read in batches of at most ``eval_batch_size`` sequences, fewer where the activations
                 of one pass would take more than a quarter of the memory free at that moment
                 (:func:`evaluation_batch`; a two-layer LRU at 1,000 steps holds about 300 sequences in
                 6 GB, not the default 1,000)
    data         (n_train + n_val + n_test) * T * (input + output) numbers; the image tasks hold
                 their 70,000 pictures however many are used; a text task its characters times (V + 2)
                 (one-hot inputs, targets and mask: Task.numbers_of)

The estimate errs high; a run is refused only when it exceeds the memory the machine has.
"""
from __future__ import annotations

import math
import os

from .cells import get_cell
from .config import TrainConfig
from .tasks import Task

BYTES = 4
IMAGE_DATASET_NUMBERS = 70000 * 28 * 28 * 2     # the uint8 files and their float32 copy, roughly


def available_bytes() -> int:
    """The memory this machine has free for a run (MemAvailable, else physical memory)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 ** 62


def estimate(cfg: TrainConfig, task: Task) -> dict[str, int]:
    """Bytes of parameters, activations of one batch and data (see the module docstring)."""
    r, options = cfg.model.recurrent, cfg.data.options
    cell = get_cell(r.cell)
    H, dirs = r.hidden_size, r.num_directions
    shapes = cell.param_shapes(task.input_size, H, r.num_layers, dirs, r.bias, r.layer_norm, r.proj_size)
    parameters = sum(math.prod(shape) for shape in shapes.values())
    parameters += dirs * r.output_size * task.output_size + cfg.model.dense_size * dirs * r.output_size
    steps = task.steps(**options)
    autograd = 1 if cfg.run.engine == "numpy" else 3
    activations = autograd * cfg.optim.batch_size * _sequence_numbers(r, steps)
    opts = task.options(**options)
    if task.dataset is not None:
        data = IMAGE_DATASET_NUMBERS
    elif task.numbers_of is not None:
        data = task.numbers_of(opts)
    else:
        sequences = sum(opts.get(k) or 0 for k in ("n_train", "n_val", "n_test"))
        data = sequences * steps * (task.input_size + task.output_size)
    return {"parameters": 4 * BYTES * parameters, "activations": BYTES * activations, "data": BYTES * data}


def step_numbers(cell) -> int:
    """K: numbers per hidden unit that BPTT keeps per step and sequence (see the module docstring)."""
    return cell.step_numbers or cell.num_gates + 3


def _sequence_numbers(r, steps: int) -> int:
    """Numbers BPTT keeps for one sequence of ``steps`` steps through the recurrent net ``r`` (a RecurrentSpec):
    K * H per step, layer and direction."""
    return steps * r.num_layers * r.num_directions * step_numbers(get_cell(r.cell)) * r.hidden_size


def evaluation_batch(spec, steps: int, requested: int, itemsize: int = BYTES, limit: int | None = None) -> int:
    """How many sequences of ``steps`` steps one evaluation pass of a model of ``spec`` (a ModelSpec) reads:
    ``requested``, or fewer (at least one) where their activations would exceed a quarter of ``limit``
    (the memory free now)."""
    per_sequence = itemsize * _sequence_numbers(spec.recurrent, steps)
    budget = (available_bytes() if limit is None else limit) // 4
    return max(1, min(requested, budget // max(per_sequence, 1)))


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def check_fits(cfg: TrainConfig, task: Task, limit: int | None = None) -> None:
    """Refuse a run whose estimate exceeds ``limit`` (the memory available), naming its largest part."""
    parts = estimate(cfg, task)
    total, limit = sum(parts.values()), available_bytes() if limit is None else limit
    if total <= limit:
        return
    largest = max(parts, key=parts.get)
    text = task.numbers_of is not None
    advice = {"parameters": "a smaller --hidden-size or fewer --layers",
              "activations": "a smaller --batch-size, --hidden-size or "
                             + ("window (--bptt N)" if text else "sequence length (--opt length=...)"),
              "data": "fewer sequences (--opt n_train=...) or shorter ones (--opt length=...)"
                      if not text else "a shorter text, or one in fewer distinct characters"}[largest]
    detail = ", ".join(f"{name} {_size(value)}" for name, value in parts.items())
    raise ValueError(f"memory: this run needs about {_size(total)} ({detail}); this machine has {_size(limit)} "
                     f"free. Use {advice}")
