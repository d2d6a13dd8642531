"""Training-step time of rnnlab's PyTorch modules against torch.nn's, side by side in one run.

A step is forward + backward + Adam of a classifier (recurrent module, hidden 128, last step
read out, linear head to 10 classes, cross-entropy) at batch 64, float32, on the CPU.
The implementations alternate step by step (rounds x 10 steps each at 28 steps, fewer at 784) and
the medians of the single-step times are reported, with their ratios to torch.nn (oneDNN on, its
default on x86).

Columns: ``rnnlab.torch.nn`` is the drop-in (``rnnlab.torch.nn.LSTM`` ...), ``rnnlab.torch``
the course-convention stacks; ``torch.nn, oneDNN off`` times torch.nn with
``torch.backends.mkldnn.flags(enabled=False)`` (on x86 only torch.nn.LSTM has a fused oneDNN
kernel; this is the plain ATen path a Python-level implementation compares with like for like).

The second table prices the ways to higher-order derivatives: a gradient-penalty step (loss +
||dL/dx||^2, so the backward pass runs with create_graph=True and is differentiated again) through
the drop-in's whole-sequence nodes (whose backward then recomputes the forward with autograd), through
its step-by-step graph (``walk.FUSED = False``), and through torch.nn.

    python benchmarks/torch_speed.py [--rounds 7] [--quick] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import torch

from rnnlab.cells import CELLS
from rnnlab.machine import machine_description
from rnnlab.torch import GRU, LSTM, RNN, SequenceClassifier
from rnnlab.torch import nn as dropin
from rnnlab.torch.nn import walk

HIDDEN, BATCH, CLASSES = 128, 64, 10
COURSE = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
DROPIN = {"rnn": dropin.RNN, "lstm": dropin.LSTM, "gru": dropin.GRU}
THEIRS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def stepper(net, x, y, onednn=True):
    """One training step of a classifier around ``net`` (seeded, so all start alike)."""
    torch.manual_seed(0)
    model = SequenceClassifier(net, CLASSES)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        with torch.backends.mkldnn.flags(enabled=onednn):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
    return step


def penalty_stepper(net, x, y, fused=True, onednn=True):
    """One training step of loss + ||dL/dx||^2 (a gradient penalty: a second derivative)."""
    torch.manual_seed(0)
    model = SequenceClassifier(net, CLASSES)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = x.clone().requires_grad_(True)

    def step():
        walk.FUSED = fused
        try:
            with torch.backends.mkldnn.flags(enabled=onednn):
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(model(x), y)
                dx, = torch.autograd.grad(loss, x, create_graph=True)
                (loss + dx.pow(2).sum()).backward()
                opt.step()
        finally:
            walk.FUSED = True
    return step


def timed(step, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - start) / repeat


def interleaved(steps: dict, rounds: int, repeat: int) -> dict[str, float]:
    """Median seconds per step of each callable.  The implementations alternate step by step, rounds * repeat
    steps each, so that a change in the machine's load hits all of them alike; the median of the single-step
    times then discards the steps a burst of load hit.  The order rotates (A B C D, B C D A, C D A B, ...): each
    follows each other as often, since a step pays for what the one before it left in the caches and the
    allocator (with a fixed order the drop-in always followed the slow oneDNN-off step and took 5-10 % longer)."""
    for step in steps.values():
        step()
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for k in range(rounds * repeat):
        for name in names[k % len(names):] + names[:k % len(names)]:
            times[name].append(timed(steps[name], 1))
    return {name: statistics.median(t) for name, t in times.items()}


def measure(cell: str, x: torch.Tensor, y: torch.Tensor, rounds: int, repeat: int) -> dict[str, float]:
    inputs = x.shape[2]
    return interleaved({
        "dropin": stepper(DROPIN[cell](inputs, HIDDEN, batch_first=True), x, y),
        "course": stepper(COURSE[cell](inputs, HIDDEN), x, y),
        "torch": stepper(THEIRS[cell](inputs, HIDDEN, batch_first=True), x, y),
        "plain": stepper(THEIRS[cell](inputs, HIDDEN, batch_first=True), x, y, onednn=False),
    }, rounds, repeat)


def higher_order_table(x: torch.Tensor, y: torch.Tensor, cells: list[str], rounds: int) -> None:
    print()
    print("| cell | penalty step: drop-in, fast path + fall-back ms | drop-in, step-by-step graph ms "
          "| torch.nn ms | fall-back / step-by-step | drop-in / torch.nn |")
    print("|---|---:|---:|---:|---:|---:|")
    for cell in cells:
        m = interleaved({
            "fused": penalty_stepper(DROPIN[cell](x.shape[2], HIDDEN, batch_first=True), x, y),
            "plain": penalty_stepper(DROPIN[cell](x.shape[2], HIDDEN, batch_first=True), x, y, fused=False),
            "torch": penalty_stepper(THEIRS[cell](x.shape[2], HIDDEN, batch_first=True), x, y),
        }, rounds, 3)
        print(f"| {cell} | {m['fused'] * 1e3:.2f} | {m['plain'] * 1e3:.2f} | {m['torch'] * 1e3:.2f} "
              f"| {m['fused'] / m['plain']:.2f}x | {m['fused'] / m['torch']:.2f}x |", flush=True)


def main() -> None:
    warnings.filterwarnings("ignore", message="TF32 acceleration")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="28 steps only")
    twins = [name for name, cell in CELLS.items() if "torch" in cell.engines]     # the cells torch.nn has
    parser.add_argument("--cells", default=",".join(twins), help=f"comma-separated: {','.join(twins)}")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    shapes = [(28, 28, 10)] if args.quick else [(28, 28, 10), (784, 1, 1)]
    print(f"# rnnlab vs torch.nn, training step, float32, batch {BATCH}, hidden {HIDDEN}, "
          f"medians of single steps, implementations alternating")
    print(f"# {machine_description()}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print()
    print("| cell | steps x inputs | rnnlab.torch.nn ms | torch.nn ms | ratio | rnnlab.torch (course) ms | ratio "
          "| torch.nn, oneDNN off ms | drop-in / oneDNN off |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for steps, inputs, repeat in shapes:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(BATCH, steps, inputs, generator=g)
        y = torch.randint(0, CLASSES, (BATCH,), generator=g)
        for cell in args.cells.split(","):
            rounds = args.rounds if steps < 100 else max(2, args.rounds // 2)
            m = measure(cell, x, y, rounds, repeat)
            ms = {k: v * 1e3 for k, v in m.items()}
            print(f"| {cell} | {steps} x {inputs} | {ms['dropin']:.2f} | {ms['torch']:.2f} "
                  f"| {m['dropin'] / m['torch']:.2f}x | {ms['course']:.2f} | {m['course'] / m['torch']:.2f}x "
                  f"| {ms['plain']:.2f} | {m['dropin'] / m['plain']:.2f}x |", flush=True)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, 28, 28, generator=g)
    higher_order_table(x, torch.randint(0, CLASSES, (BATCH,), generator=g), args.cells.split(","),
                       max(3, args.rounds // 2))


if __name__ == "__main__":
    main()
