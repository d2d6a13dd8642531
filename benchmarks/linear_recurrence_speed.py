"""Training-step time of the linear recurrences (minGRU, minLSTM, LRU): the scan against the step-by-step loop and
against torch.nn.LSTM, measured side by side in one run.

A training step is forward + backward + Adam update of a classifier: one recurrent layer (hidden 128) read at its
last step, a linear head to 10 classes, softmax cross-entropy, batch 64, 784 steps of one input (pixel MNIST's
shape), float32.  Contestants for each cell:

    numpy scan        the NumPy engine, the compiled scan over time (``rnnlab/kernels/scan.py``)
    numpy loop        the NumPy engine, the same recurrence one step at a time (``fused=False``: ``scan_loop``)
    torch scan        rnnlab.torch, the whole sequence as one autograd node (``rnnlab/torch/linear.py``)
    torch loop        rnnlab.torch, the cell's step one step at a time under autograd (``record_states``)
    torch.nn.LSTM     the same classifier with torch.nn.LSTM of the same hidden size

Rounds alternate between them so that machine drift hits all alike; the table reports the median step time of
each, the ratio of each to torch.nn.LSTM and the loop's time over the scan's.  Denormals are flushed, as in
training.  The table names the processor and the load.

    python benchmarks/linear_recurrence_speed.py [--rounds 3] [--cells mingru,minlstm,lru] [--steps 784]
                                                 [--threads 1] [--clock cpu]

On a machine shared with other work, run it with one thread everywhere and CPU time::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/linear_recurrence_speed.py --threads 1 --clock cpu
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

from rnnlab.cells import CELLS
from rnnlab.denormals import flush_denormals
from rnnlab.machine import processor
from rnnlab.numpy import Adam, SequenceModel
from rnnlab.torch import STACKS

HIDDEN, BATCH, CLASSES = 128, 64, 10
LINEAR = [name for name, cell in CELLS.items() if cell.recurrence == "linear"]


def numpy_stepper(cell, x, y, fused):
    model = SequenceModel(cell, x.shape[2], HIDDEN, CLASSES, seed=0, fused=fused)
    opt = Adam(model.params, lr=1e-3)
    return lambda: model.train_step(x, y, opt)


class Classifier(torch.nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn, self.head = rnn, torch.nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def torch_stepper(rnn, x, y):
    torch.manual_seed(0)
    model = Classifier(rnn)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def contestants(cell, x, y) -> dict:
    torch.manual_seed(0)
    loop = STACKS[cell](x.shape[2], HIDDEN).record_states(True)
    return {"numpy scan": numpy_stepper(cell, x, y, True), "numpy loop": numpy_stepper(cell, x, y, False),
            "torch scan": torch_stepper(STACKS[cell](x.shape[2], HIDDEN).record_states(False), x, y),
            "torch loop": torch_stepper(loop, x, y),
            "torch.nn.LSTM": torch_stepper(torch.nn.LSTM(x.shape[2], HIDDEN, batch_first=True), x, y)}


def median_times(steppers: dict, rounds: int, clock=time.perf_counter) -> dict:
    """Median seconds per step of each stepper, rounds alternating between them (after two warm-up steps)."""
    for step in steppers.values():
        step()
        step()
    times = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            start = clock()
            step()
            times[name].append(clock() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=784)
    parser.add_argument("--cells", default=",".join(LINEAR), help=f"comma-separated, some of {', '.join(LINEAR)}")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch's threads (0: its default); 1 on a machine shared with other work, where threads "
                             "that wait for each other at every step lose their turn")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: the process's CPU time (time.process_time), which on a machine shared with other "
                             "work counts the work done, not the waiting; use it with --threads 1")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)
    cells = [c for c in args.cells.split(",") if c]
    if any(c not in LINEAR for c in cells):
        parser.error(f"--cells: expected some of {', '.join(LINEAR)}, got {args.cells!r}")
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, args.steps, 1), dtype=np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    print(f"# training step (forward + backward + Adam), float32, {args.steps} steps x 1 input, batch {BATCH}, "
          f"hidden {HIDDEN}, one layer, last-step read-out; median of {args.rounds} alternating rounds, "
          f"{args.clock} time")
    print(f"# {processor()} ({platform.machine()}), torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"numpy {np.__version__}; load average {os.getloadavg()[0]:.1f} at the start")
    print()
    names = ("numpy scan", "numpy loop", "torch scan", "torch loop", "torch.nn.LSTM")
    print("| cell | " + " | ".join(f"{n} ms" for n in names) + " | numpy loop / scan | torch loop / scan "
          "| numpy scan / LSTM | torch scan / LSTM |")
    print("|---|" + "---:|" * (len(names) + 4))
    for cell in cells:
        with flush_denormals():
            t = median_times(contestants(cell, x, y), args.rounds, clock)
        ms = " | ".join(f"{t[n] * 1e3:.0f}" for n in names)
        print(f"| {cell} | {ms} | {t['numpy loop'] / t['numpy scan']:.2f}x | {t['torch loop'] / t['torch scan']:.2f}x "
              f"| {t['numpy scan'] / t['torch.nn.LSTM']:.2f}x | {t['torch scan'] / t['torch.nn.LSTM']:.2f}x |",
              flush=True)
    print(f"\n# load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
