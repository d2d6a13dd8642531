"""The NumPy engine's batch split across threads (rnnlab.numpy.split), side by side in one run.

A training step (the trainer's ``train_batch``: forward + backward + Adam) of a classifier, hidden 128, batch 64,
float32, for each cell asked (default: the LSTM with layer norm in the cell, the LSTM and the GRU) at 784 steps
of 1 pixel (pixel-by-pixel MNIST) and 28 steps of 28 (MNIST rows, too short to split: the two-thread settings
should be level there), in three settings:

    1 thread                  BLAS and everything else on one thread
    2 threads, BLAS           two BLAS threads inside each product, the batch in one pass (before the split)
    2 threads, split          the batch in two parts of 32 rows, a thread each, BLAS on one thread inside

Rounds alternate between the settings so that machine drift hits all alike; the table gives the median
milliseconds per image of a training step and each setting's ratio to one thread.  Run it on a quiet machine.

    python benchmarks/batch_split.py [--cells lnlstm lstm gru] [--rounds 5] [--markdown]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from rnnlab.denormals import flush_denormals
from rnnlab.engines import ModelSpec, build_trainable
from rnnlab.machine import processor
from rnnlab.threads import use_threads

HIDDEN, BATCH, CLASSES = 128, 64, 10
SHAPES = {"784 x 1": (784, 1), "28 x 28": (28, 28)}
SETTINGS = {"1 thread": (1, False), "2 threads, BLAS": (2, False), "2 threads, split": (2, True)}


def model_for(cell: str, inputs: int, split: bool):
    layer_norm = cell.startswith("ln")
    spec = ModelSpec.build(cell[2:] if layer_norm else cell, inputs, CLASSES, hidden_size=HIDDEN,
                           layer_norm=layer_norm)
    model = build_trainable(spec, "numpy", "adam", 1e-3, seed=0, clip_norm=1.0)
    model.split.enabled = split
    return model


def measure(cell: str, shape: tuple[int, int], rounds: int) -> dict[str, list[float]]:
    """Seconds per image of a training step, per setting and round."""
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, *shape), dtype=np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    models = {name: model_for(cell, shape[1], split) for name, (_, split) in SETTINGS.items()}
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for round_ in range(rounds + 1):           # round 0 warms up: workspaces, twins, thread pools
        for name, (threads, _) in SETTINGS.items():
            with use_threads(threads):
                start = time.perf_counter()
                models[name].train_batch(x, y, None, "cross_entropy", 1e-3)
                seconds = time.perf_counter() - start
            if round_:
                times[name].append(seconds / BATCH)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["lnlstm", "lstm", "gru"],
                        help="cells; an ln prefix puts layer norm in the cell (lnlstm)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    print(f"NumPy engine, hidden {HIDDEN}, batch {BATCH}, float32; {processor()} ({platform.machine()}), "
          f"NumPy {np.__version__}; {args.rounds} rounds, medians, milliseconds per image")
    if args.markdown:
        print(f"\n| cell | steps x inputs | {' | '.join(SETTINGS)} | split / 2 threads BLAS |\n"
              f"|---|---|{'---:|' * (len(SETTINGS) + 1)}")
    with flush_denormals(True):
        for cell in args.cells:
            for shape_name, shape in SHAPES.items():
                ms = {name: statistics.median(t) * 1e3 for name, t in measure(cell, shape, args.rounds).items()}
                cells = [f"{v:.2f} ({v / ms['1 thread']:.2f}x)" for v in ms.values()]
                gain = ms["2 threads, split"] / ms["2 threads, BLAS"]
                if args.markdown:
                    print(f"| {cell} | {shape_name} | {' | '.join(cells)} | {gain:.2f} |")
                else:
                    print(f"{cell:<7} {shape_name:<8} " + "  ".join(f"{name}: {c}" for name, c in zip(SETTINGS, cells))
                          + f"  split/BLAS {gain:.2f}")

if __name__ == "__main__":
    main()
