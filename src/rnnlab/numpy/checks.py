"""Input validation shared by the NumPy engine: errors that name the argument, what it got and
what was expected, and never broadcast silently."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..argcheck import check_state_names


def as_float_array(name: str, value: ArrayLike, dtype: DTypeLike, ndim: int, expected: str) -> np.ndarray:
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


def check_lengths(lengths: ArrayLike, batch: int, steps: int) -> np.ndarray:
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


def check_choice(name: str, value: object, choices: Iterable) -> None:
    if value not in choices:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of {', '.join(map(repr, choices))}")


def check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def load_into(params: dict, state: dict, what: str) -> None:
    """Copy ``state`` into ``params`` after checking names and shapes; nothing changes on error."""
    check_state_names(what, params, state)
    arrays = {}
    for name, p in params.items():
        value = state[name]
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if arr.shape != p.shape:
            raise ValueError(f"{what}[{name!r}]: expected shape {p.shape}, got shape {tuple(arr.shape)}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{what}[{name!r}]: contains NaN or infinite values")
        arrays[name] = arr
    for name, arr in arrays.items():
        params[name][...] = arr


def check_sequences(x: ArrayLike, dtype: DTypeLike, input_size: int, batch_first: bool) -> tuple[np.ndarray, int, int]:
    """A batch of sequences, (N, T, D) batch-first or (T, N, D) time-major; returns it, T and N."""
    layout = "(batch, time, features)" if batch_first else "(time, batch, features)"
    x = as_float_array("x", x, dtype, 3, layout)
    if x.shape[2] != input_size:
        raise ValueError(f"x: expected {input_size} features in the last dimension "
                         f"(input_size), got shape {tuple(x.shape)} with {x.shape[2]}")
    N, T = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    if T < 1 or N < 1:
        raise ValueError(f"x: expected at least one sequence and one time step, got shape {tuple(x.shape)}")
    return x, T, N


def check_array(name: str, value: ArrayLike, dtype: DTypeLike, shape: tuple[int, ...], meaning: str) -> np.ndarray:
    """``value`` as a finite array of ``dtype`` and exactly ``shape``."""
    value = as_float_array(name, value, dtype, len(shape), str(tuple(shape)))
    check_shape(name, value, shape, meaning)
    return value


def check_state(name: str, value: ArrayLike | None, dtype: DTypeLike, shape: tuple[int, int, int],
                meaning: str) -> np.ndarray | None:
    """None, or a state (h0, c0) or its gradient (d_h_n, d_c_n) of torch.nn's shape
    (layers * directions, N, H), returned in the engine's layout (layers * directions, H, N)."""
    if value is None:
        return None
    return np.ascontiguousarray(check_array(name, value, dtype, shape, meaning).transpose(0, 2, 1))
