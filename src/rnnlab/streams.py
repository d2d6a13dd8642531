"""Batch streams: in which order a split's data reaches the model, batch by batch, epoch by epoch.

A task chooses its stream (``Task.stream_of``, handed on as ``TaskData.stream``); the trainer asks
it for each epoch's plan and never decides the order itself.  Two streams exist:

``Shuffled()`` (the default): every batch is a set of whole samples; epoch e visits them in a
permutation drawn from (seed, e)::

    order_e = default_rng([seed, e]).permutation(N)      batch b = samples order_e[b B : (b + 1) B]

``Contiguous(window)``: the split is read as one long sequence (its S samples one after another:
a corpus is one sample of L steps), cut into B rows of equal length, and batch k is the k-th
window of ``window`` steps of every row, so each row's batches continue one another — truncated
backpropagation through time as language models train (Zaremba et al. 2014, char-rnn)::

    n = S L steps,   K = floor((n - window + 1) / B / window) windows a row,   len = K window
    o_e = default_rng([seed, e]).integers(n - B len + 1)          (0 when shift is False)
    row r = steps [o_e + r len, o_e + (r + 1) len)      batch k = steps [k window, (k + 1) window) of every row

The model carries each row's recurrent state from one window to the next (detached: gradients stop
at the window's start); it starts from zeros at the start of an epoch and in every row that a
batch marks ``fresh``.  The offset o_e changes per epoch, so the cuts between windows (where the
gradient is truncated) fall on other steps each epoch; the slack of at least window - 1 steps
makes the number of batches the same in every epoch.

A stream is a pure function of (split, batch size, seed, epoch, batch): its position is the loop's
(epoch, batch), so a resumed run finds the same batches.  This module knows splits only by their
``x``, ``y`` and ``mask`` arrays (see :class:`rnnlab.tasks.Split`).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Batch(Protocol):
    """One batch of a plan: its rows' data and the rows whose carried state restarts at zero."""
    fresh: np.ndarray | None      # (B,) bool, or None when no row starts afresh

    def __len__(self) -> int:
        """B: the number of rows (samples) in the whole batch."""

    def take(self, rank: int = 0, world: int = 1) -> Any:
        """The split of this worker's rows ``rank::world`` (a new copy of the data)."""


@runtime_checkable
class BatchStream(Protocol):
    carries_state: bool           # whether rows continue from batch to batch (the model carries state)

    def batches_per_epoch(self, split: Any, batch_size: int) -> int:
        """The number of batches of every epoch."""

    def epoch(self, split: Any, batch_size: int, seed: int, epoch: int) -> Sequence[Batch]:
        """The batches of epoch ``epoch``, in order (indexable: a resumed epoch starts at its batch)."""


# ---------------------------------------------------------------------------------------------- shuffled
@dataclass(frozen=True)
class Rows:
    """Whole samples ``index`` of ``split``."""
    split: Any
    index: np.ndarray
    fresh: None = None

    def __len__(self) -> int:
        return len(self.index)

    def take(self, rank: int = 0, world: int = 1) -> Any:
        return self.split.take(self.index[rank::world])


class _ShuffledEpoch(Sequence):
    """The batches of one shuffled epoch, made as they are asked for."""

    def __init__(self, split: Any, order: np.ndarray, batch_size: int) -> None:
        self.split, self.order, self.batch_size = split, order, batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, b: int) -> Rows:
        if not 0 <= b < len(self):
            raise IndexError(f"batch {b}: an epoch has {len(self)} batches")
        return Rows(self.split, self.order[b * self.batch_size:(b + 1) * self.batch_size])


@dataclass(frozen=True)
class Shuffled:
    """Whole samples in a permutation drawn from (seed, epoch); no state is carried (the default)."""
    carries_state: ClassVar[bool] = False

    def batches_per_epoch(self, split: Any, batch_size: int) -> int:
        return math.ceil(len(split) / batch_size)

    def epoch(self, split: Any, batch_size: int, seed: int, epoch: int) -> _ShuffledEpoch:
        return _ShuffledEpoch(split, np.random.default_rng([seed, epoch]).permutation(len(split)), batch_size)


# ---------------------------------------------------------------------------------------------- contiguous
@dataclass(frozen=True)
class Window:
    """Steps ``steps`` of every row of ``rows`` (a split already cut into rows: (B, len, ...))."""
    rows: Any
    steps: slice
    fresh: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows.x)

    def take(self, rank: int = 0, world: int = 1) -> Any:
        def part(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.ascontiguousarray(a[rank::world, self.steps])
        return dataclasses.replace(self.rows, x=part(self.rows.x), y=part(self.rows.y), mask=part(self.rows.mask))


def _long(split: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """x, y and mask of ``split`` as one long sequence: (S, L, ...) -> (S L, ...)."""
    x, y, mask = split.x, split.y, split.mask
    if x.ndim < 2 or y.shape[:2] != x.shape[:2] or (mask is not None and mask.shape != x.shape[:2]):
        raise ValueError(f"a contiguous stream needs per-step data: x (S, L, ...), y (S, L, ...) and mask (S, L); "
                         f"got x {x.shape}, y {y.shape}, mask {None if mask is None else mask.shape}. Give the task "
                         f"per-step targets (readout 'every') or keep the shuffled stream")
    n = x.shape[0] * x.shape[1]
    return (x.reshape(n, *x.shape[2:]), y.reshape(n, *y.shape[2:]),
            None if mask is None else mask.reshape(n))


def _cut(split: Any, start: int, rows: int, length: int) -> Any:
    """Steps [start, start + rows length) of the long sequence of ``split`` as ``rows`` rows: (rows, length, ...)."""
    def cut(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[start:start + rows * length].reshape(rows, length, *a.shape[1:])
    x, y, mask = _long(split)
    return dataclasses.replace(split, x=cut(x), y=cut(y), mask=cut(mask))


@dataclass(frozen=True)
class Contiguous:
    """Each batch row reads its own contiguous part of the split, ``window`` steps a batch (see the module
    docstring); the model carries each row's state across batches.

    ``shift``: draw each epoch's offset from (seed, epoch) (False: always 0).  ``eval_rows``: how many rows
    evaluation reads the split in (None: the number it is given; the trainer gives its training batch size)."""
    window: int
    shift: bool = True
    eval_rows: int | None = None
    carries_state: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for name in ("window", "eval_rows"):
            value = getattr(self, name)
            if not (value is None and name == "eval_rows") and (isinstance(value, bool) or not isinstance(value, int)
                                                                or value < 1):
                raise ValueError(f"{name}: expected a positive whole number of steps (rows), got {value!r}")

    def _windows(self, steps: int, rows: int) -> int:
        """K, the number of windows of every row."""
        slack = self.window - 1 if self.shift else 0
        count = max(steps - slack, 0) // rows // self.window
        if count == 0:
            raise ValueError(f"a contiguous stream of {rows} rows of {self.window}-step windows needs at least "
                             f"{rows * self.window + slack} steps; the split has {steps}. Use a smaller batch size "
                             f"or window, or more data")
        return count

    def batches_per_epoch(self, split: Any, batch_size: int) -> int:
        return self._windows(len(_long(split)[0]), batch_size)

    def epoch(self, split: Any, batch_size: int, seed: int, epoch: int) -> list[Window]:
        steps = len(_long(split)[0])
        count = self._windows(steps, batch_size)
        length = count * self.window
        offset = int(np.random.default_rng([seed, epoch]).integers(steps - batch_size * length + 1)) if self.shift \
            else 0
        rows = _cut(split, offset, batch_size, length)
        every = np.ones(batch_size, dtype=bool)
        return [Window(rows, slice(k * self.window, (k + 1) * self.window), every if k == 0 else None)
                for k in range(count)]

    def evaluation(self, split: Any, batch_size: int) -> tuple[Any, list[slice]]:
        """The whole split cut into rows for evaluation, and the windows to read them in.

        Every step is read once: ``rows`` rows of len = ceil(n / rows) steps, the last row padded with
        steps that the returned mask marks False; windows of ``window`` steps, the last one shorter."""
        x, y, mask = _long(split)
        steps = len(x)
        rows = max(1, min(self.eval_rows or batch_size, steps))
        length = math.ceil(steps / rows)
        pad = rows * length - steps
        if pad or mask is not None:
            mask = np.concatenate([np.ones(steps, bool) if mask is None else mask.astype(bool), np.zeros(pad, bool)])

        def padded(a: np.ndarray | None) -> np.ndarray | None:
            if a is None or not pad:
                return a
            return np.concatenate([a, np.zeros((pad, *a.shape[1:]), a.dtype)])
        whole = dataclasses.replace(split, x=padded(x).reshape(1, rows * length, *x.shape[1:]),
                                    y=padded(y).reshape(1, rows * length, *y.shape[1:]),
                                    mask=None if mask is None else mask.reshape(1, -1))
        windows = [slice(start, min(start + self.window, length)) for start in range(0, length, self.window)]
        return _cut(whole, 0, rows, length), windows

    @staticmethod
    def uncut(outputs: np.ndarray, split: Any) -> np.ndarray:
        """Outputs of :meth:`evaluation`'s rows, (rows, len, O), laid out as the split's steps: (S, L, O)."""
        S, L = split.x.shape[:2]
        return outputs.reshape(-1, *outputs.shape[2:])[:S * L].reshape(S, L, *outputs.shape[2:])
