"""Training-step time of the NumPy engine against torch.nn, measured side by side in one run.

A training step is forward + backward + Adam update of a classifier: recurrent net (hidden 128)
read at its last step, a linear head to 10 classes, softmax cross-entropy, batch 64.
Shapes: MNIST rows (28 steps of 28 inputs) and pixels (784 steps of 1 input).

Three contestants: the NumPy engine with its fused steps (numba, ``rnnlab/numpy/fused.py``), the
same engine with its reference NumPy steps (``cells.py``), and torch.nn.  Rounds alternate between
them so that machine drift hits all alike; the table reports the median step time of each and
the ratios to torch.  Denormals are flushed (``rnnlab.denormals``), as in training; the 784-step
rows are measured twice, with denormals kept and flushed, side by side (Intel processors compute
with denormals very slowly, AMD's hardly).  Peak memory of one NumPy training step at 784 steps
(tracemalloc, which sees NumPy's allocations) is compared with the activations BPTT must keep:
per step and direction the gate activations (G*H) plus the states (h, and c for the LSTM, and the
GRU's W_hn h_{t-1} + b_hn).  Every table names the processor.

    python benchmarks/engine_speed.py [--rounds 7] [--quick] [--cells lstm,gru] [--keep-denormals]
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
from rnnlab.denormals import flush_denormals
from rnnlab.machine import processor
from rnnlab.numpy import Adam, SequenceModel
from rnnlab.numpy.fused import AVAILABLE as FUSED_AVAILABLE

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


def numpy_stepper(cell, inputs, x, y, fused):
    model = SequenceModel(cell, inputs, HIDDEN, CLASSES, seed=0, fused=fused)
    opt = Adam(model.params, lr=1e-3)
    return lambda: model.train_step(x, y, opt)


def torch_stepper(cell, inputs, x, y):
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


def contestants(cell, inputs, x, y) -> dict:
    out = {"fused": numpy_stepper(cell, inputs, x, y, True)} if FUSED_AVAILABLE else {}
    out["reference"] = numpy_stepper(cell, inputs, x, y, False)
    out["torch"] = torch_stepper(cell, inputs, x, y)
    return out


def median_times(steppers: dict, rounds: int, repeat: int) -> dict:
    """Median seconds per step of each stepper, rounds alternating between them."""
    for step in steppers.values():     # warm up (and compile the fused kernels)
        step()
        step()
    times = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            times[name].append(time_steps(step, repeat))
    return {name: statistics.median(t) for name, t in times.items()}


def peak_memory(cell, steps, inputs, x, y):
    """Peak traced bytes of one NumPy training step (workspace included) and the BPTT minimum."""
    model = SequenceModel(cell, inputs, HIDDEN, CLASSES, seed=0)
    opt = Adam(model.params, lr=1e-3)
    model.train_step(x[:2], y[:2], opt)     # imports and kernel compilation are not the step's memory
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    model.train_step(x, y, opt)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    itemsize = np.dtype(np.float32).itemsize
    must_keep = steps * BATCH * HIDDEN * kept_per_step(cell) * itemsize
    return peak, must_keep


def _ms(times: dict, name: str) -> str:
    return f"{times[name] * 1e3:.2f}" if name in times else "-"


def _ratio(times: dict, name: str) -> str:
    return f"{times[name] / times['torch']:.2f}x" if name in times else "-"


def speed_table(shapes, cells, rounds, modes) -> None:
    rng = np.random.default_rng(0)
    print(f"# NumPy engine (fused steps and reference steps) vs torch.nn, training step (forward + backward + "
          f"Adam), float32, batch {BATCH}, hidden {HIDDEN}")
    print(f"# {processor()} ({platform.machine()}), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), numpy {np.__version__}")
    print()
    print("| cell | steps x inputs | denormals | NumPy fused ms | NumPy reference ms | torch.nn ms "
          "| fused / torch | reference / torch |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for steps, inputs, repeat in shapes:
        x = rng.random((BATCH, steps, inputs), dtype=np.float32)
        y = rng.integers(0, CLASSES, BATCH)
        for cell in cells:
            for mode in (modes if steps > 100 else modes[-1:]):
                with flush_denormals(mode == "flushed"):
                    times = median_times(contestants(cell, inputs, x, y),
                                         max(2, rounds if steps < 100 else rounds // 2), repeat)
                print(f"| {cell} | {steps} x {inputs} | {mode} | {_ms(times, 'fused')} | {_ms(times, 'reference')} "
                      f"| {_ms(times, 'torch')} | {_ratio(times, 'fused')} | {_ratio(times, 'reference')} |",
                      flush=True)


def memory_table(cells) -> None:
    rng = np.random.default_rng(1)
    print()
    print(f"# peak memory of one NumPy training step, batch {BATCH}, hidden {HIDDEN}; {processor()}")
    print()
    print("| cell | steps | peak memory of a NumPy step | activations BPTT must keep | ratio |")
    print("|---|---|---:|---:|---:|")
    x = rng.random((BATCH, 784, 1), dtype=np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    for cell in cells:
        with flush_denormals():
            peak, must = peak_memory(cell, 784, 1, x, y)
        print(f"| {cell} | 784 | {peak / 2**20:.1f} MiB | {must / 2**20:.1f} MiB | {peak / must:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="28 steps only, fewer repeats")
    parser.add_argument("--keep-denormals", action="store_true", help="784 steps with denormals kept only")
    twins = [name for name, cell in CELLS.items() if "torch" in cell.engines]     # the cells torch.nn has
    parser.add_argument("--cells", default=",".join(twins), help="comma-separated cells (default: those torch.nn has)")
    args = parser.parse_args()
    cells = [c for c in args.cells.split(",") if c]
    unknown = [c for c in cells if c not in twins]
    if unknown:
        parser.error(f"--cells: no torch.nn twin for {', '.join(unknown)}; expected some of {', '.join(twins)}")
    shapes = [(28, 28, 20)] if args.quick else [(28, 28, 20), (784, 1, 2)]
    modes = ("kept",) if args.keep_denormals else ("kept", "flushed")
    speed_table(shapes, cells, args.rounds, modes)
    if not args.quick:
        memory_table(cells)


if __name__ == "__main__":
    main()
