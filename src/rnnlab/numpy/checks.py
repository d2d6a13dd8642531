"""Input validation shared by the NumPy engine: errors that name the argument, what it got and
what was expected, and never broadcast silently."""
from __future__ import annotations

import numpy as np


def as_float_array(name: str, value, dtype, ndim: int, expected: str) -> np.ndarray:
    """``value`` as an array of ``dtype`` with ``ndim`` dimensions, finite everywhere."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy's own message is kept
        raise ValueError(f"{name}: could not be read as an array ({exc})") from exc
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array of shape {expected}, "
                         f"got shape {tuple(arr.shape)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
            or arr.dtype == np.bool_):
        raise ValueError(f"{name}: expected numbers, got an array of dtype {arr.dtype}")
    arr = arr.astype(dtype, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name}: contains NaN or infinite values (first at index {tuple(int(i) for i in bad)}); "
                         "clean or impute the data before training")
    return arr


def check_shape(name: str, arr: np.ndarray, expected: tuple[int, ...], meaning: str) -> None:
    if tuple(arr.shape) != tuple(expected):
        raise ValueError(f"{name}: expected shape {tuple(expected)} {meaning}, got shape {tuple(arr.shape)}")


def check_lengths(lengths, batch: int, steps: int) -> np.ndarray:
    """Per-sequence lengths: integers, shape (batch,), each in 1..steps."""
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.shape[0] != batch:
        raise ValueError(f"lengths: expected shape ({batch},) (one length per sequence in the batch), "
                         f"got shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"lengths: expected integers, got dtype {arr.dtype} ({arr.tolist()[:8]})")
    if arr.min() < 1 or arr.max() > steps:
        raise ValueError(f"lengths: every length must lie in 1..{steps} (the number of time steps), "
                         f"got min {int(arr.min())} and max {int(arr.max())}")
    return arr.astype(np.int64)


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of {', '.join(map(repr, choices))}")


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)
