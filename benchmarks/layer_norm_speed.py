"""What layer norm inside the cell costs, and on which engine it is cheapest, side by side in one run.

A training step (forward + backward + Adam, the trainer's ``train_batch``) of a classifier
(LSTM by default, ``--cell`` for the others), hidden 128, batch 128, MNIST-row shapes (28 steps
of 28 inputs), float32, for: the NumPy engine and rnnlab.torch ("scratch") with layer norm in the
cell, and the plain cell on the NumPy engine and on torch.nn.  Rounds alternate between the four
so that machine drift hits all alike; the table gives the median step time and the ratio to the
plain cell on the NumPy engine.

    python benchmarks/layer_norm_speed.py [--cell lstm] [--rounds 7] [--steps 10] [--markdown]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from rnnlab.cells import CELLS
from rnnlab.denormals import flush_denormals
from rnnlab.engines import ModelSpec, build_trainable
from rnnlab.machine import processor

HIDDEN, BATCH, STEPS, INPUTS, CLASSES = 128, 128, 28, 28, 10
CASES = {"NumPy, layer norm": ("numpy", True), "rnnlab.torch, layer norm": ("scratch", True),
         "NumPy, plain": ("numpy", False), "torch.nn, plain": ("torch", False)}


def stepper(cell: str, engine: str, layer_norm: bool, x: np.ndarray, y: np.ndarray):
    spec = ModelSpec.build(cell, INPUTS, CLASSES, hidden_size=HIDDEN, layer_norm=layer_norm)
    model = build_trainable(spec, engine, "adam", 1e-3, seed=0, clip_norm=1.0)
    return lambda: model.train_batch(x, y, None, "cross_entropy", 1e-3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=tuple(CELLS), default="lstm")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="training steps per round and case")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--keep-denormals", action="store_true", help="do not flush denormals (training flushes)")
    args = parser.parse_args()
    with flush_denormals(not args.keep_denormals):
        times = measure(args)
    report(args, times)


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds per training step of each case, per round; rounds alternate between the cases."""
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, STEPS, INPUTS), dtype=np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    steppers = {name: stepper(args.cell, *case, x, y) for name, case in CASES.items()}
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for step in steppers.values():     # warm-up: workspaces, allocator, thread pools
        step()
    for _ in range(args.rounds):
        for name, step in steppers.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - start) / args.steps)
    return times


def report(args: argparse.Namespace, times: dict[str, list[float]]) -> None:
    base = statistics.median(times["NumPy, plain"])
    title = CELLS[args.cell].title
    print(f"{title} {HIDDEN} units, batch {BATCH}, {STEPS} steps of {INPUTS}; {processor()} ({platform.machine()}), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), NumPy {np.__version__}; "
          f"{args.rounds} rounds of {args.steps} steps, medians; denormals "
          f"{'kept' if args.keep_denormals else 'flushed'}")
    rows = [(name, statistics.median(t) * 1e3, statistics.median(t) / base) for name, t in times.items()]
    if args.markdown:
        print(f"\n| engine ({processor()}) | ms per training step | ratio to the plain NumPy {title} |\n"
              "|---|---:|---:|")
        for name, ms, ratio in rows:
            print(f"| {name} | {ms:.1f} | {ratio:.2f} |")
    else:
        for name, ms, ratio in rows:
            print(f"{name:<26} {ms:8.1f} ms  x{ratio:.2f}")


if __name__ == "__main__":
    main()
