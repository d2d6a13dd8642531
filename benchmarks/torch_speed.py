"""Training-step time of rnnlab.torch's modules against torch.nn's, side by side in one run.

A step is forward + backward + Adam of a classifier (recurrent stack, hidden 128, last step
read out, linear head to 10 classes, cross-entropy) at batch 64, float32, on the CPU.
Rounds alternate between the implementations; medians are reported with their ratio.

On x86 CPUs torch.nn.LSTM (only the LSTM) runs a fused oneDNN kernel; the last column times
torch.nn with oneDNN switched off (``torch.backends.mkldnn.flags(enabled=False)``), the plain
ATen path that a Python-level implementation can be compared with like for like.

    python benchmarks/torch_speed.py [--rounds 5] [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

from engine_speed import processor
from rnnlab.cells import CELLS
from rnnlab.torch import GRU, LSTM, RNN, SequenceClassifier

HIDDEN, BATCH, CLASSES = 128, 64, 10
OURS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
THEIRS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def stepper(net, x, y):
    torch.manual_seed(0)
    model = SequenceClassifier(net, CLASSES)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def timed(step, repeat, onednn=True):
    with torch.backends.mkldnn.flags(enabled=onednn):
        start = time.perf_counter()
        for _ in range(repeat):
            step()
        return (time.perf_counter() - start) / repeat


def main() -> None:
    warnings.filterwarnings("ignore", message="TF32 acceleration")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="28 steps only")
    args = parser.parse_args()
    shapes = [(28, 28, 10)] if args.quick else [(28, 28, 10), (784, 1, 1)]
    print(f"# rnnlab.torch vs torch.nn, training step, float32, batch {BATCH}, hidden {HIDDEN}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"# {processor()}")
    print()
    print("| cell | steps x inputs | rnnlab.torch ms | torch.nn ms | ratio | torch.nn, oneDNN off ms | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for steps, inputs, repeat in shapes:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(BATCH, steps, inputs, generator=g)
        y = torch.randint(0, CLASSES, (BATCH,), generator=g)
        for cell in CELLS:
            ours = stepper(OURS[cell](inputs, HIDDEN), x, y)
            theirs = stepper(THEIRS[cell](inputs, HIDDEN, batch_first=True), x, y)
            for _ in range(2):
                ours()
                theirs()
            rounds = args.rounds if steps < 100 else max(2, args.rounds // 2)
            t_ours, t_theirs, t_plain = [], [], []
            for _ in range(rounds):
                t_ours.append(timed(ours, repeat))
                t_theirs.append(timed(theirs, repeat))
                t_plain.append(timed(theirs, repeat, onednn=False))
            a, b, c = (statistics.median(t) for t in (t_ours, t_theirs, t_plain))
            print(f"| {cell} | {steps} x {inputs} | {a * 1e3:.2f} | {b * 1e3:.2f} | {a / b:.2f}x "
                  f"| {c * 1e3:.2f} | {a / c:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
