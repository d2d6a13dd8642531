"""Assignment 2's protocol on real MNIST with the course's per-sample NumPy classes (rnnlab.classic).

The notebook's main cell, unchanged in substance: the first 5,000 training and first 1,000 test
images scaled to [0, 1] and read row by row (28 steps of 28 pixels); hidden 128; one sample at a
time, MSE against the one-hot label, dL/dy = 2 (y - target), BPTT with elementwise clipping at 5
and SGD at learning rate 0.005; 9 epochs, the training set shuffled each epoch.  Its success bar:
test accuracy above 80 % for the RNN and above 90 % for the LSTM.

    python benchmarks/seed000_mnist.py [--epochs 9] [--models rnn lstm] [--seed 0]

Needs MNIST on disk or reachable (`rnnlab data fetch mnist`).  About 5 minutes for both models on
our 2-core machines.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from rnnlab.classic import LSTM, RNN
from rnnlab.tasks import get_task

BAR = {"rnn": 80.0, "lstm": 90.0}


def accuracy(model, x, y) -> float:
    return 100.0 * np.mean([np.argmax(model.forward(sample)[0]) == label for sample, label in zip(x, y)])


def train(model_type: str, data, epochs: int, lr: float, seed: int) -> dict:
    np.random.seed(seed)   # the classes draw their weights from np.random, as in the notebook
    model = (RNN if model_type == "rnn" else LSTM)(28, 128, 10)
    rng = np.random.default_rng(seed)
    x_train, y_train = data.train.x.astype(np.float64), data.train.y
    x_test, y_test = data.test.x.astype(np.float64), data.test.y
    history, start = [], time.perf_counter()
    for epoch in range(epochs):
        correct = 0
        for i in rng.permutation(len(x_train)):
            out, _ = model.forward(x_train[i])
            target = np.zeros((10, 1))
            target[y_train[i]] = 1.0
            correct += int(np.argmax(out) == y_train[i])
            model.backward(2.0 * (out - target), lr)
        test = accuracy(model, x_test, y_test)
        history.append(test)
        print(f"{model_type} epoch {epoch + 1}/{epochs}: train acc {100 * correct / len(x_train):.2f} %, "
              f"test acc {test:.2f} %", flush=True)
    return {"test": history[-1], "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--models", nargs="+", choices=("rnn", "lstm"), default=["rnn", "lstm"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = get_task("mnist-rows").load(seed=args.seed, split="official", n_train=5000, n_test=1000)
    results = {m: train(m, data, args.epochs, args.lr, args.seed) for m in args.models}
    print("\n| model | test accuracy (1,000 images) | Assignment 2's bar | met | training time |")
    print("|---|---:|---:|---|---:|")
    for name, r in results.items():
        ok = "yes" if r["test"] > BAR[name] else "NO"
        print(f"| {name.upper()} | {r['test']:.1f} % | > {BAR[name]:.0f} % | {ok} | {r['seconds']:.0f} s |")


if __name__ == "__main__":
    main()
