"""Synthetic tasks: shapes, determinism per seed, targets checked by an independent computation."""
import math

import numpy as np
import pytest

from rnnlab.data import synthetic as syn


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("make", [
    lambda seed: syn.cumulative_average(4, 7, seed),
    lambda seed: syn.copy_memory_seed(4, 9, 3, seed),
    lambda seed: syn.copy_task(4, 5, seed),
    lambda seed: syn.sequential_xor(4, 8, seed),
    lambda seed: syn.adding_problem(4, 10, seed),
    lambda seed: syn.binary_addition(4, 6, seed),
])
def test_same_seed_same_data_other_seed_other_data(make):
    assert _same(make(3), make(3))
    assert not _same(make(3), make(4))


def test_cumulative_average_is_the_running_mean():
    x, y = syn.cumulative_average(3, 6, seed=0)
    assert x.shape == y.shape == (3, 6, 1) and x.dtype == np.float32
    for n in range(3):
        for t in range(6):
            assert y[n, t, 0] == pytest.approx(sum(float(v) for v in x[n, :t + 1, 0]) / (t + 1), abs=1e-6)
    _, last = syn.cumulative_average(3, 6, seed=0, every_step=False)
    assert last.shape == (3, 1) and np.allclose(last[:, 0], y[:, -1, 0])


def test_cumulative_average_baseline_matches_predicting_zero():
    x, y = syn.cumulative_average(20000, 10, seed=1)
    assert np.mean(y ** 2) == pytest.approx(syn.cumulative_average_baseline(10), rel=0.03)
    assert syn.cumulative_average_baseline(10) == pytest.approx(sum(1 / t for t in range(1, 11)) / 10)
    assert syn.cumulative_average_baseline(10, every_step=False) == pytest.approx(0.1)


def test_copy_memory_seed_layout():
    x, y = syn.copy_memory_seed(50, 12, features=5, seed=2)
    assert x.shape == (50, 12, 5) and y.shape == (50, 5)
    assert np.array_equal(x[:, 0], y)
    assert x[:, 1:].min() >= 0 and x[:, 1:].max() < 0.1
    big_x, big_y = syn.copy_memory_seed(20000, 3, 10, seed=3)
    assert np.mean((big_y - 0.5) ** 2) == pytest.approx(syn.COPY_SEED_BASELINE_MSE, rel=0.02)


def test_copy_task_layout_and_baseline():
    delay = 7
    x, y = syn.copy_task(30, delay, seed=4)
    steps = delay + 20
    assert x.shape == (30, steps, 10) and y.shape == (30, steps) and y.dtype == np.int64
    assert np.all(x.sum(-1) == 1)                            # one-hot
    inputs = x.argmax(-1)
    for n in range(30):
        symbols = list(inputs[n, :10])
        assert all(1 <= s <= 8 for s in symbols)
        assert list(inputs[n, 10:delay + 9]) == [0] * (delay - 1)
        assert inputs[n, delay + 9] == 9                     # the delimiter
        assert list(inputs[n, delay + 10:]) == [0] * 10
        assert list(y[n, :delay + 10]) == [0] * (delay + 10)
        assert list(y[n, -10:]) == symbols
    assert syn.copy_task_baseline(delay) == pytest.approx(10 * math.log(8) / (delay + 20))


def test_sequential_xor_targets():
    x, y, mask = syn.sequential_xor(6, 9, seed=5)
    assert x.shape == y.shape == (6, 9, 1) and mask.shape == (6, 9)
    assert not mask[:, 0].any() and mask[:, 1:].all()
    for n in range(6):
        bits = [int(b) for b in x[n, :, 0]]
        assert set(bits) <= {0, 1}
        assert [int(v) for v in y[n, 1:, 0]] == [a ^ b for a, b in zip(bits[1:], bits[:-1])]


def test_adding_problem_targets():
    x, y = syn.adding_problem(20, 11, seed=6)
    assert x.shape == (20, 11, 2) and y.shape == (20, 1)
    for n in range(20):
        marked = np.flatnonzero(x[n, :, 1])
        assert len(marked) == 2 and marked[0] < 11 // 2 <= marked[1]
        assert y[n, 0] == pytest.approx(x[n, marked, 0].sum())


def test_binary_addition_targets_are_the_sum():
    bits = 7
    x, y = syn.binary_addition(40, bits, seed=8)
    assert x.shape == (40, bits + 1, 2) and y.shape == (40, bits + 1, 1)
    assert np.all(x[:, -1] == 0)                              # padding step for the carry
    for n in range(40):
        a = int("".join(str(int(b)) for b in x[n, ::-1, 0]), 2)
        b = int("".join(str(int(b)) for b in x[n, ::-1, 1]), 2)
        total = int("".join(str(int(b)) for b in y[n, ::-1, 0]), 2)
        assert a < 2 ** bits and b < 2 ** bits and total == a + b


def test_binary_addition_of_long_numbers():
    x, y = syn.binary_addition(5, 100, seed=3)
    for n in range(5):
        a = int("".join(str(int(b)) for b in x[n, ::-1, 0]), 2)
        b = int("".join(str(int(b)) for b in x[n, ::-1, 1]), 2)
        assert int("".join(str(int(b)) for b in y[n, ::-1, 0]), 2) == a + b


def test_binary_addition_test_sets_per_length():
    sets = syn.binary_addition_by_length(5, range(1, 21), seed=9)
    assert list(sets) == list(range(1, 21))
    assert all(sets[k][0].shape == (5, k + 1, 2) for k in sets)
    assert _same(sets[3], syn.binary_addition_by_length(5, range(1, 21), seed=9)[3])


@pytest.mark.parametrize("call,message", [
    (lambda: syn.adding_problem(3, 1), "at least 2 steps"),
    (lambda: syn.copy_task(0, 5), "n: expected an integer >= 1"),
    (lambda: syn.sequential_xor(2, 1), "length: expected an integer >= 2"),
    (lambda: syn.binary_addition(2, 0), "bits: expected an integer >= 1"),
])
def test_bad_sizes_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
