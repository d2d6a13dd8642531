"""Synthetic sequence tasks of the notebooks, each seeded and documented with its chance baseline.

Every generator takes the number of sequences ``n``, the task's length parameter and a ``seed``
(same seed, same data) and returns batch-first float32 inputs ``x: (n, T, D)``.  Targets are
float32 for regression and binary tasks, int64 class indices for the copy task.  Tasks whose loss
skips some steps also return a boolean ``mask: (n, T)`` of the steps that count.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike


def _check(name: str, value: int, least: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name}: expected an integer >= {least}, got {value!r}")


# ---------------------------------------------------------------------------------------------
# Cumulative average (the gradient-flow notebook's generate_batch)


def cumulative_average(n: int, length: int, seed: int | None = None,
                       every_step: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """x_t ~ N(0, 1) and y_t = (x_1 + ... + x_t) / t, the running mean (the gradient-flow notebook).

    Returns x: (n, T, 1) and y: (n, T, 1) when ``every_step``, else y: (n, 1) (the last step only).
    Baseline: predicting 0 gives MSE E[y_t^2] = 1 / t, so (1 + 1/2 + ... + 1/T) / T over every step
    and 1 / T at the last step (:func:`cumulative_average_baseline`).
    """
    _check("n", n, 1)
    _check("length", length, 1)
    x = np.random.default_rng(seed).standard_normal((n, length, 1))
    y = np.cumsum(x, axis=1) / np.arange(1, length + 1)[None, :, None]
    y = y if every_step else y[:, -1, :]
    return x.astype(np.float32), y.astype(np.float32)


def cumulative_average_baseline(length: int, every_step: bool = True) -> float:
    return sum(1.0 / t for t in range(1, length + 1)) / length if every_step else 1.0 / length


# ---------------------------------------------------------------------------------------------
# Copy memory, as in RNN Warmup


def copy_memory_seed(n: int, length: int, features: int = 10, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RNN Warmup's copy memory: step 0 holds values v ~ U[0, 1)^features, steps 1..T-1 hold noise
    U[0, 1) x 0.1, and the target read at the last step is v.

    Returns x: (n, T, features), y: (n, features).  Baseline: predicting 0.5 gives MSE 1/12 = 0.0833
    (the plateau the notebook's RNN and LSTM stay on).
    """
    _check("n", n, 1)
    _check("length", length, 1)
    _check("features", features, 1)
    rng = np.random.default_rng(seed)
    values = rng.random((n, features))
    noise = rng.random((n, length - 1, features)) * 0.1
    x = np.concatenate([values[:, None, :], noise], axis=1)
    return x.astype(np.float32), values.astype(np.float32)


COPY_SEED_BASELINE_MSE = 1.0 / 12.0


# ---------------------------------------------------------------------------------------------
# The standard copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016)

COPY_BLANK, COPY_SYMBOLS, COPY_DELIMITER = 0, 8, 9
COPY_LENGTH = 10   # symbols to recall


def copy_task(n: int, delay: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Recall 10 symbols after ``delay`` blank steps.

    Input alphabet (one-hot, 10 wide): 0 blank, 1..8 symbols, 9 delimiter.  A sequence has T + 20
    steps (T = ``delay``): 10 symbols drawn uniformly from 1..8, T - 1 blanks, the delimiter, then
    10 blanks while the model must output the 10 symbols.  Targets are classes 0..8 at every step:
    blank for the first T + 10 steps, the symbols for the last 10.

    Returns x: (n, T + 20, 10) float32 one-hot, y: (n, T + 20) int64.
    Baseline: blanks, then a uniform guess among 8 symbols: cross-entropy 10 log 8 / (T + 20).
    """
    _check("n", n, 1)
    _check("delay", delay, 1)
    rng = np.random.default_rng(seed)
    steps = delay + 2 * COPY_LENGTH
    symbols = rng.integers(1, COPY_SYMBOLS + 1, size=(n, COPY_LENGTH))
    inputs = np.full((n, steps), COPY_BLANK)
    inputs[:, :COPY_LENGTH] = symbols
    inputs[:, delay + COPY_LENGTH - 1] = COPY_DELIMITER
    targets = np.full((n, steps), COPY_BLANK, dtype=np.int64)
    targets[:, -COPY_LENGTH:] = symbols
    x = np.eye(COPY_DELIMITER + 1, dtype=np.float32)[inputs]
    return x, targets


def copy_task_baseline(delay: int) -> float:
    return COPY_LENGTH * math.log(COPY_SYMBOLS) / (delay + 2 * COPY_LENGTH)


# ---------------------------------------------------------------------------------------------
# Sequential XOR (RNN Warmup)


def sequential_xor(n: int, length: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bits x_t in {0, 1}; target y_t = x_t xor x_{t-1} for t >= 1; step 0 has no target.

    Returns x: (n, T, 1), y: (n, T, 1) (y_0 = 0) and mask: (n, T) bool, False at step 0.
    Baseline: 50 % bit accuracy, binary cross-entropy log 2 = 0.693.
    """
    _check("n", n, 1)
    _check("length", length, 2)
    bits = np.random.default_rng(seed).integers(0, 2, size=(n, length, 1))
    y = np.zeros_like(bits)
    y[:, 1:] = bits[:, 1:] ^ bits[:, :-1]
    mask = np.ones((n, length), dtype=bool)
    mask[:, 0] = False
    return bits.astype(np.float32), y.astype(np.float32), mask


# ---------------------------------------------------------------------------------------------
# The adding problem (RNN Warmup)


def adding_problem(n: int, length: int, seed: int | None = None,
                   dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997; RNN Warmup).

    Each input step has two features: a value drawn from U[0, 1] and a marker that is 1 at exactly
    two steps, one in each half of the sequence.  The target is the sum of the two marked values.

    Returns x: (n, length, 2) and y: (n, 1).  Always predicting 1.0 gives an MSE of about 0.167
    (the variance of the sum of two U[0, 1] values, 1/6): that is the chance baseline.
    """
    _check("n", n, 1)
    if length < 2:
        raise ValueError(f"length: the adding problem needs at least 2 steps, got {length}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length))
    markers = np.zeros((n, length))
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second])[:, None].astype(dtype)
    return x, y


ADDING_BASELINE_MSE = 1.0 / 6.0


# ---------------------------------------------------------------------------------------------
# Binary addition (Programming Assignment 4)


def binary_addition(n: int, bits: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Add two ``bits``-bit numbers a, b ~ U{0, ..., 2^bits - 1}, fed least significant bit first.

    Step t carries (bit t of a, bit t of b); the sequence has bits + 1 steps, the last input step
    padded with zeros so that the final carry fits.  The target at step t is bit t of a + b.
    The bits are drawn directly and added with a ripple carry, so any length works (100 bits too).

    Returns x: (n, bits + 1, 2), y: (n, bits + 1, 1).  Baseline: 50 % bit accuracy.
    """
    _check("n", n, 1)
    _check("bits", bits, 1)
    rng = np.random.default_rng(seed)
    x = np.zeros((n, bits + 1, 2), dtype=np.int64)
    x[:, :bits] = rng.integers(0, 2, size=(n, bits, 2))
    y = np.zeros((n, bits + 1), dtype=np.int64)
    carry = np.zeros(n, dtype=np.int64)
    for t in range(bits + 1):
        total = x[:, t, 0] + x[:, t, 1] + carry
        y[:, t] = total & 1
        carry = total >> 1
    return x.astype(np.float32), y[..., None].astype(np.float32)


def binary_addition_by_length(n_per_length: int, lengths: Sequence[int] = range(1, 21),
                              seed: int | np.random.SeedSequence | None = None) -> dict:
    """One test set per number length (Programming Assignment 4 tests lengths 1 to 20): {bits: (x, y)}."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    seeds = root.spawn(len(lengths))
    return {int(bits): binary_addition(n_per_length, int(bits), seed=child) for bits, child in zip(lengths, seeds)}
