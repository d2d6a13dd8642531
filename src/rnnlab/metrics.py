"""Metrics computed from a model's outputs, the same for every engine, in one table (:data:`METRICS`).

    accuracy       share of positions whose arg-max class is the label        (cross-entropy tasks)
    bit_accuracy   share of bits where (logit > 0) equals the target bit       (bce tasks)
    mse            mean squared error over the positions that count            (regression tasks)

Positions that ``mask`` marks False do not count.  A new metric is one :class:`Metric` row in
:data:`METRICS` (its value per position, whether higher is better, how it prints); the trainer,
the epoch lines, the summaries and the tables read it from there and never compare metric names.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np


def _hits(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    return outputs.argmax(-1) == y


def _bit_hits(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ((outputs > 0) == (y > 0.5)).mean(-1)


def _squared_error(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ((outputs - y) ** 2).mean(-1)


@dataclass(frozen=True)
class Metric:
    """One metric: its value at every position, which direction is better, and how it prints.

    The metric of a split is the mean of ``at(outputs, y)`` over the positions that count; ``finish``
    (when given) maps that mean to the reported number (perplexity = exp of the mean cross-entropy).
    ``whole`` (when given) scores whole sequences (binary addition: every bit of the sum right)."""
    name: str
    at: Callable[[np.ndarray, np.ndarray], np.ndarray]   # (outputs, y) -> a value per position (N,) or (N, T)
    higher_is_better: bool
    scale: float = 1                                      # printed: f"{scale * value:.{digits}f}{unit}"
    digits: int = 4
    unit: str = ""
    finish: Callable[[float], float] | None = None
    whole: Callable[..., float] | None = None

    def format(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return f"{self.scale * value:.{self.digits}f}{self.unit}"

    @property
    def percent(self) -> bool:
        """Printed (and best plotted) as a percentage."""
        return self.unit.strip() == "%"

    def best(self, values: Iterable[float]) -> float:
        """The best of ``values``: the largest or the smallest."""
        return max(values) if self.higher_is_better else min(values)


def sequence_accuracy(outputs: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of sequences whose every counted bit is right (binary addition: the whole sum)."""
    wrong = ((outputs > 0) != (y > 0.5)).any(-1)
    if mask is not None:
        wrong &= mask.astype(bool)
    return float(np.mean(~wrong.any(-1)))


METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("accuracy", _hits, higher_is_better=True, scale=100, digits=2, unit=" %"),
    Metric("bit_accuracy", _bit_hits, higher_is_better=True, scale=100, digits=2, unit=" %", whole=sequence_accuracy),
    Metric("mse", _squared_error, higher_is_better=False),
]}

HIGHER_IS_BETTER = {name: m.higher_is_better for name, m in METRICS.items()}   # read from the table


def get_metric(name: str) -> Metric:
    """The row of metric ``name``; a ValueError lists the known metrics."""
    metric = METRICS.get(name) if isinstance(name, str) else None
    if metric is None:
        raise ValueError(f"metric: unknown value {name!r}; expected one of {', '.join(METRICS)}")
    return metric


def _mean(name: str, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray | None) -> float:
    """The mean of the metric's per-position values over the positions in ``mask`` (before ``finish``)."""
    values = get_metric(name).at(outputs, y)
    if mask is None:
        return float(np.mean(values))
    return float(np.sum(values * mask) / np.sum(mask))


def metric_value(metric: str, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    return finish_metric(metric, _mean(metric, outputs, y, mask))


def metric_sums(metric: str, outputs: np.ndarray, y: np.ndarray,
                mask: np.ndarray | None = None) -> tuple[float, float]:
    """(sum, count) of the metric over a batch, to accumulate a running value over an epoch
    (the running value is ``metric_of_sums(metric, sum, count)``)."""
    count = float(np.sum(mask)) if mask is not None else float(np.prod(outputs.shape[:-1]))
    return _mean(metric, outputs, y, mask) * count, count


def finish_metric(metric: str, mean: float) -> float:
    """The reported value of a mean of per-position values (unchanged unless the metric has a ``finish``)."""
    finish = get_metric(metric).finish
    return mean if finish is None else finish(mean)


def metric_of_sums(metric: str, total: float, count: float) -> float:
    """The running value of sums accumulated by :func:`metric_sums`."""
    return finish_metric(metric, total / count)


def format_metric(metric: str, value: float | None) -> str:
    """``value`` as the metric prints (a percentage, or four decimals for a metric not in the table)."""
    row = METRICS.get(metric)
    if row is None:
        row = Metric(str(metric), _squared_error, higher_is_better=False)
    return row.format(value)


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
