"""Metrics computed from a model's outputs, the same for every engine, in one table (:data:`METRICS`).

    accuracy       share of positions whose arg-max class is the label        (cross-entropy tasks)
    bit_accuracy   share of bits where (logit > 0) equals the target bit       (bce tasks)
    mse            mean squared error over the positions that count            (regression tasks)
    bits_per_char  cross-entropy in bits: -log2 softmax(outputs)[y], averaged   (text tasks)
    perplexity     exp of the mean cross-entropy in nats (= 2 ** bits_per_char)
    word_accuracy  share of words written right: every character of the word and the space after it is the
                   arg-max of its step (greedy decoding from the word's start writes it exactly); words end
                   where the target is the vocabulary's first character, the space (HUMAN_NUMBERS)

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


def cross_entropy_at(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """-ln softmax(outputs)[y] at every position, in float64 (nats): logsumexp(o) - o_y."""
    o = outputs.astype(np.float64)
    top = o.max(-1, keepdims=True)
    lse = np.log(np.exp(o - top).sum(-1)) + top[..., 0]
    return lse - np.take_along_axis(o, y[..., None].astype(np.int64), -1)[..., 0]


def _bits(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    return cross_entropy_at(outputs, y) / math.log(2.0)


SPACE = 0   # word_accuracy: the id that ends a word (HUMAN_NUMBERS' vocabulary sorts the space first)


def _words(outputs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, counted) at every position (N, T): at a word's last position, whether all the positions of the
    word were right; counted only where the word starts inside the row (its first position follows an end)."""
    wrong = np.cumsum(outputs.argmax(-1) != y, axis=-1)
    ends = y == SPACE
    at_ends = np.maximum.accumulate(np.where(ends, wrong, -1), axis=-1)      # wrong count at the latest end <= t
    before = np.concatenate([np.full((*y.shape[:-1], 1), -1), at_ends[..., :-1]], axis=-1)
    return (ends & (wrong == before)).astype(np.float64), (ends & (before >= 0)).astype(np.float64)


def _word_hits(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _words(outputs, y)[0]


def _word_weights(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _words(outputs, y)[1]


@dataclass(frozen=True)
class Metric:
    """One metric: its value at every position, which direction is better, and how it prints.

    The metric of a split is the mean of ``at(outputs, y)`` over the positions that count; ``finish``
    (when given) maps that mean to the reported number (perplexity = exp of the mean cross-entropy).
    ``whole`` (when given) scores whole sequences (binary addition: every bit of the sum right).
    ``weight`` (when given) weighs the positions (word accuracy counts a word once, at its last position)."""
    name: str
    at: Callable[[np.ndarray, np.ndarray], np.ndarray]   # (outputs, y) -> a value per position (N,) or (N, T)
    higher_is_better: bool
    scale: float = 1                                      # printed: f"{scale * value:.{digits}f}{unit}"
    digits: int = 4
    unit: str = ""
    finish: Callable[[float], float] | None = None
    whole: Callable[..., float] | None = None
    weight: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

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
    Metric("bits_per_char", _bits, higher_is_better=False, digits=3, unit=" bpc"),
    Metric("perplexity", cross_entropy_at, higher_is_better=False, digits=3, finish=math.exp),
    Metric("word_accuracy", _word_hits, higher_is_better=True, scale=100, digits=2, unit=" %", weight=_word_weights),
]}

HIGHER_IS_BETTER = {name: m.higher_is_better for name, m in METRICS.items()}   # read from the table


def get_metric(name: str) -> Metric:
    """The row of metric ``name``; a ValueError lists the known metrics."""
    metric = METRICS.get(name) if isinstance(name, str) else None
    if metric is None:
        raise ValueError(f"metric: unknown value {name!r}; expected one of {', '.join(METRICS)}")
    return metric


def metric_sums(metric: str, outputs: np.ndarray, y: np.ndarray,
                mask: np.ndarray | None = None) -> tuple[float, float]:
    """(sum, count) of the metric's per-position values over the positions in ``mask`` (weighted by the
    metric's ``weight``), to accumulate a running value over an epoch (``metric_of_sums(metric, sum, count)``)."""
    row = get_metric(metric)
    values = row.at(outputs, y)
    weights = np.ones(values.shape) if mask is None else np.broadcast_to(mask, values.shape).astype(np.float64)
    if row.weight is not None:
        weights = weights * row.weight(outputs, y)
    return float(np.sum(values * weights)), float(np.sum(weights))


def metric_value(metric: str, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    return metric_of_sums(metric, *metric_sums(metric, outputs, y, mask))


def finish_metric(metric: str, mean: float) -> float:
    """The reported value of a mean of per-position values (unchanged unless the metric has a ``finish``)."""
    finish = get_metric(metric).finish
    return mean if finish is None else finish(mean)


def metric_of_sums(metric: str, total: float, count: float) -> float:
    """The running value of sums accumulated by :func:`metric_sums` (NaN when nothing counted)."""
    return finish_metric(metric, total / count) if count else float("nan")


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
