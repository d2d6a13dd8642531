"""The NumPy engine of this working tree against an earlier commit, side by side in one run.

Checks out ``--base`` (a git revision) into a temporary worktree, then times a training step
(forward + backward + Adam; batch 64, hidden 128, float32) of each shape in fresh processes,
alternating the two versions and swapping their order every round, so that machine drift hits
both alike.  Both flush denormals to zero, as training does (``rnnlab.denormals``).
Prints the medians and the median of the per-round ratios new / old.

    python benchmarks/engine_versions.py --base 671ceba [--rounds 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rnnlab.machine import processor

ROOT = Path(__file__).resolve().parent.parent
SHAPES = (("rnn", 28, 28, 30), ("lstm", 28, 28, 30), ("gru", 28, 28, 30), ("lstm", 784, 1, 3))
ONE_SHAPE = """
import sys, time
import numpy as np
from rnnlab.numpy import Adam, SequenceModel
try:       # denormals flushed, as in training (the process ends after the measurement)
    from rnnlab.denormals import set_flush_denormals
except ImportError:   # a version before rnnlab.denormals: the calling thread is where NumPy computes
    from torch import set_flush_denormal as set_flush_denormals
set_flush_denormals(True)
cell, steps, inputs, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
x = rng.random((64, steps, inputs), dtype=np.float32)
y = rng.integers(0, 10, 64)
model = SequenceModel(cell, inputs, 128, 10, seed=0)
opt = Adam(model.params, lr=1e-3)
for _ in range(2):
    model.train_step(x, y, opt)
times = []
for _ in range(repeat):
    start = time.perf_counter()
    model.train_step(x, y, opt)
    times.append(time.perf_counter() - start)
print(float(np.median(times)))
"""


def step_seconds(source: Path, shape: tuple) -> float:
    env = dict(os.environ, PYTHONPATH=str(source))
    out = subprocess.run([sys.executable, "-c", ONE_SHAPE, *map(str, shape)], env=env, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the earlier git revision")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.base],
                       check=True)
        try:
            sources = {"old": base / "src", "new": ROOT / "src"}
            times = {(shape, which): [] for shape in SHAPES for which in sources}
            for r in range(args.rounds):
                for shape in SHAPES:
                    for which in (("old", "new") if r % 2 == 0 else ("new", "old")):
                        times[(shape, which)].append(step_seconds(sources[which], shape))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=True)
    print(f"# NumPy engine, {args.base} (old) against the working tree (new); {processor()}; "
          f"{args.rounds} rounds, medians")
    print(f"\n| cell ({processor()}) | steps x inputs | old ms | new ms | new / old (median of rounds) |\n"
          "|---|---|---:|---:|---:|")
    for shape in SHAPES:
        old, new = times[(shape, "old")], times[(shape, "new")]
        ratio = statistics.median(b / a for a, b in zip(old, new))
        print(f"| {shape[0]} | {shape[1]} x {shape[2]} | {1e3 * statistics.median(old):.2f} | "
              f"{1e3 * statistics.median(new):.2f} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
