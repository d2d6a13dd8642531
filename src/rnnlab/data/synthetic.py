"""Synthetic sequence tasks, seeded and with their chance baselines."""
from __future__ import annotations

import numpy as np


def adding_problem(n: int, length: int, seed: int | None = None, dtype=np.float32):
    """The adding problem (Hochreiter & Schmidhuber 1997; seed 003).

    Each input step has two features: a value drawn from U[0, 1] and a marker that is 1 at exactly
    two steps, one in each half of the sequence.  The target is the sum of the two marked values.

    Returns x: (n, length, 2) and y: (n, 1).  Always predicting 1.0 gives an MSE of about 0.167
    (the variance of the sum of two U[0, 1] values, 1/6): that is the chance baseline.
    """
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
