"""How well trained runs read foreign handwriting (rnnlab.data.foreign), with each normalisation one by one,
and what augmentation costs per training batch.

    python benchmarks/foreign_handwriting.py RUN [RUN ...]          # the table of accuracies
    python benchmarks/foreign_handwriting.py --speed                # augmentation vs a training step

Each run's MNIST test accuracy comes from its summary.json; the foreign set's accuracy is measured here
with the preparation of `rnnlab predict` and then none, deskew, stroke, and both normalisations; the
per-class accuracy and the most frequent confusions are printed for each run without normalisation.
--speed times, interleaved in one process, the recommended augmentation of a batch of 128 MNIST-sized
images and one training step of a torch LSTM of 256 units on the same batch (ratios, not seconds, are
what a shared machine lets one compare).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rnnlab.data.foreign import load_foreign
from rnnlab.reading import _probabilities, image_sequence, load_model

NORMALISATIONS = ((), ("deskew",), ("stroke",), ("deskew", "stroke"))


def accuracies(run: Path, prepared: dict) -> tuple[dict, np.ndarray]:
    model = load_model(run)
    info = json.loads((run / "task.json").read_text())
    loss = json.loads((run / "config.json").read_text())["loss"]
    result, first = {}, None
    for names, (images, labels) in prepared.items():
        x = np.stack([image_sequence(image, info) for image in images])
        predicted = np.concatenate([_probabilities(model.predict(x[i:i + 500]), loss).argmax(-1)
                                    for i in range(0, len(x), 500)])
        result["+".join(names) or "none"] = float((predicted == labels).mean())
        if first is None:
            first = predicted
    return result, first


def table(runs: list[Path]) -> None:
    prepared = {names: load_foreign(names) for names in NORMALISATIONS}
    labels = prepared[()][1]
    print(f"foreign set: {len(labels)} digits\n")
    print("| run | MNIST test | foreign: " + " | ".join("+".join(n) or "none" for n in NORMALISATIONS) + " |")
    print("|---|---|" + "---|" * len(NORMALISATIONS))
    details = []
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        scores, predicted = accuracies(run, prepared)
        print(f"| {run} | {100 * summary['final_test_metric']:.2f} % | "
              + " | ".join(f"{100 * v:.1f} %" for v in scores.values()) + " |")
        details.append((run, predicted))
    for run, predicted in details:
        per_class = [float((predicted[labels == k] == k).mean()) for k in range(10)]
        pairs = {}
        for t, p in zip(labels, predicted):
            if t != p:
                pairs[(int(t), int(p))] = pairs.get((int(t), int(p)), 0) + 1
        worst = sorted(pairs.items(), key=lambda item: -item[1])[:5]
        print(f"\n{run} (no normalisation): per class " + "  ".join(f"{k}: {100 * v:.0f} %"
                                                                  for k, v in enumerate(per_class)))
        print("  most frequent mistakes: " + ", ".join(f"{t} read as {p}: {n}" for (t, p), n in worst))


def speed(rounds: int = 20) -> None:
    from rnnlab.data.augment import RECOMMENDED, Augmenter
    from rnnlab.engines import build_trainable
    from rnnlab.spec import ModelSpec
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (128, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    augment = Augmenter(RECOMMENDED, {"view": "rows", "shift": 0.0, "scale": 1.0}, 0)
    spec = ModelSpec.build("lstm", 28, 10, readout="last", hidden_size=256)
    model = build_trainable(spec, "torch", "adam", 4e-3, 0)
    model.train_batch(x, y, None, "cross_entropy", 4e-3)
    times = {"augment": [], "train step": []}
    for step in range(rounds):
        start = time.perf_counter()
        augment(x, step, np.arange(128), 128)
        middle = time.perf_counter()
        model.train_batch(x, y, None, "cross_entropy", 4e-3)
        times["augment"].append(middle - start)
        times["train step"].append(time.perf_counter() - middle)
    a, t = np.median(times["augment"]), np.median(times["train step"])
    print(f"batch of 128, median of {rounds} interleaved rounds: augmentation {1000 * a:.1f} ms, "
          f"training step (torch LSTM 256) {1000 * t:.1f} ms: augmentation adds {100 * a / t:.0f} % to a step")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--speed", action="store_true")
    args = parser.parse_args()
    if args.speed:
        speed()
    if args.runs:
        table(args.runs)
