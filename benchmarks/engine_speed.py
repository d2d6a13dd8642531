"""Training-step time of the NumPy engine against torch.nn, measured side by side in one run.

A training step is forward + backward + Adam update of a classifier: recurrent net (hidden 128)
read at its last step, a linear head to 10 classes, softmax cross-entropy, batch 64.
Shapes: MNIST rows (28 steps of 28 inputs) and pixels (784 steps of 1 input).

Rounds alternate between the engines so that machine drift hits both alike; the table reports
the median step time of each and the ratio NumPy / torch.  Peak memory of one NumPy training
step at 784 steps (tracemalloc, which sees NumPy's allocations) is compared with the
activations BPTT must keep: per step and direction the gate activations (G*H) plus the states
(h, and c for the LSTM, and the GRU's W_hn h_{t-1} + b_hn).

    python benchmarks/engine_speed.py [--rounds 7] [--quick]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
import tracemalloc

import numpy as np
import torch

from rnnlab.cells import CELLS
from rnnlab.machine import processor
from rnnlab.numpy import Adam, SequenceModel

HIDDEN, BATCH, CLASSES = 128, 64, 10
TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}

def kept_per_step(cell: str) -> int:
    """Arrays of H x N that BPTT must keep per step: the gate activations (one per gate), the
    states (h, and c for the LSTM) and, where b_hh stays apart, the GRU's W_hn h_{t-1} + b_hn."""
    c = CELLS[cell]
    return c.num_gates + len(c.states) + (1 if c.separate_hh_bias else 0)


class TorchClassifier(torch.nn.Module):
    def __init__(self, cell, input_size):
        super().__init__()
        self.rnn = TORCH[cell](input_size, HIDDEN, batch_first=True)
        self.head = torch.nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def numpy_stepper(cell, steps, inputs, x, y):
    model = SequenceModel(cell, inputs, HIDDEN, CLASSES, seed=0)
    opt = Adam(model.params, lr=1e-3)
    return lambda: model.train_step(x, y, opt)


def torch_stepper(cell, steps, inputs, x, y):
    torch.manual_seed(0)
    model = TorchClassifier(cell, inputs)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def time_steps(step, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - start) / repeat


def peak_memory(cell, steps, inputs, x, y):
    """Peak traced bytes of one NumPy training step (workspace included) and the BPTT minimum."""
    model = SequenceModel(cell, inputs, HIDDEN, CLASSES, seed=0)
    opt = Adam(model.params, lr=1e-3)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    model.train_step(x, y, opt)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    itemsize = np.dtype(np.float32).itemsize
    must_keep = steps * BATCH * HIDDEN * kept_per_step(cell) * itemsize
    return peak, must_keep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="28 steps only, fewer repeats")
    args = parser.parse_args()
    shapes = [(28, 28, 20)] if args.quick else [(28, 28, 20), (784, 1, 2)]
    rng = np.random.default_rng(0)
    print(f"# NumPy engine vs torch.nn, training step (forward + backward + Adam), float32, batch {BATCH}, "
          f"hidden {HIDDEN}")
    print(f"# {processor()} ({platform.machine()}), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), numpy {np.__version__}")
    print()
    print("| cell | steps x inputs | NumPy ms | torch.nn ms | NumPy / torch |")
    print("|---|---|---:|---:|---:|")
    for steps, inputs, repeat in shapes:
        x = rng.random((BATCH, steps, inputs), dtype=np.float32)
        y = rng.integers(0, CLASSES, BATCH)
        for cell in CELLS:
            ours = numpy_stepper(cell, steps, inputs, x, y)
            theirs = torch_stepper(cell, steps, inputs, x, y)
            for _ in range(2):
                ours()
                theirs()
            rounds = max(2, args.rounds if steps < 100 else args.rounds // 2)
            t_ours, t_theirs = [], []
            for _ in range(rounds):
                t_ours.append(time_steps(ours, repeat))
                t_theirs.append(time_steps(theirs, repeat))
            a, b = statistics.median(t_ours), statistics.median(t_theirs)
            print(f"| {cell} | {steps} x {inputs} | {a * 1e3:.2f} | {b * 1e3:.2f} | {a / b:.2f}x |", flush=True)
    if not args.quick:
        print()
        print("| cell | steps | peak memory of a NumPy step | activations BPTT must keep | ratio |")
        print("|---|---|---:|---:|---:|")
        x = rng.random((BATCH, 784, 1), dtype=np.float32)
        y = rng.integers(0, CLASSES, BATCH)
        for cell in CELLS:
            peak, must = peak_memory(cell, 784, 1, x, y)
            print(f"| {cell} | 784 | {peak / 2**20:.1f} MiB | {must / 2**20:.1f} MiB | {peak / must:.2f}x |")


if __name__ == "__main__":
    main()
