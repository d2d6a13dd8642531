"""Metrics computed from a model's outputs, the same for every engine.

    accuracy       share of positions whose arg-max class is the label        (cross-entropy tasks)
    bit_accuracy   share of bits where (logit > 0) equals the target bit       (bce tasks)
    mse            mean squared error over the positions that count            (regression tasks)

Positions that ``mask`` marks False do not count.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .numpy.losses import LOSSES

HIGHER_IS_BETTER = {"accuracy": True, "bit_accuracy": True, "mse": False}


def metric_value(metric: str, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    if metric == "accuracy":
        hits = outputs.argmax(-1) == y
    elif metric == "bit_accuracy":
        hits = ((outputs > 0) == (y > 0.5)).mean(-1)
    elif metric == "mse":
        hits = ((outputs - y) ** 2).mean(-1)
    else:
        raise ValueError(f"metric: unknown value {metric!r}; expected one of {', '.join(HIGHER_IS_BETTER)}")
    if mask is None:
        return float(np.mean(hits))
    return float(np.sum(hits * mask) / np.sum(mask))


def sequence_accuracy(outputs: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of sequences whose every counted bit is right (binary addition: the whole sum)."""
    wrong = ((outputs > 0) != (y > 0.5)).any(-1)
    if mask is not None:
        wrong &= mask.astype(bool)
    return float(np.mean(~wrong.any(-1)))


def metric_sums(metric: str, outputs: np.ndarray, y: np.ndarray,
                mask: np.ndarray | None = None) -> tuple[float, float]:
    """(sum, count) of the metric over a batch, to accumulate a running value over an epoch."""
    count = float(np.sum(mask)) if mask is not None else float(np.prod(outputs.shape[:-1]))
    return metric_value(metric, outputs, y, mask) * count, count


def loss_value(loss: str, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    return LOSSES[loss](outputs.astype(np.float64), y, mask)[0]


def format_metric(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.2f} %" if metric in ("accuracy", "bit_accuracy") else f"{value:.4f}"


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j] = number of samples of class i predicted as class j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels.ravel(), predicted.ravel()), 1)
    return counts


def analyze_confusion(counts: np.ndarray, names: Iterable[str] | None = None) -> dict:
    """Assignment 2's analyze_confusion_matrix: per-class accuracy, best and worst class, top confusions."""
    names = list(names) if names is not None else [str(i) for i in range(len(counts))]
    totals = counts.sum(axis=1)
    per_class = np.divide(np.diag(counts), totals, out=np.zeros(len(counts)), where=totals > 0)
    off = counts.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:3]
    confusions = [(names[i], names[j], int(off[i, j])) for i, j in zip(*np.unravel_index(order, off.shape))
                  if off[i, j] > 0]
    return {"per_class": {names[i]: float(per_class[i]) for i in range(len(names))},
            "best": names[int(per_class.argmax())], "worst": names[int(per_class.argmin())],
            "confusions": confusions}
