"""Helpers shared by the ported PyTorch tests (tests/test_torch_nn_*.py); no tests here.

They stand in for torch's test framework (torch.testing._internal.common_utils needs expecttest and
takes seconds to import): ``assert_equal`` / ``assert_not_equal`` are TestCase.assertEqual /
assertNotEqual on tensors and nested tuples with the same default tolerances (those of
torch.testing.assert_close), ``gradcheck`` / ``gradgradcheck`` are common_utils' wrappers with
their defaults (fast_mode=True, check_batched_grad=True).
"""
from __future__ import annotations

import pytest
import torch
from torch.testing._utils import freeze_rng_state  # noqa: F401  (re-exported for the ported tests)


def _flatten(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _flatten(value[key])]
    if isinstance(value, torch.nn.utils.rnn.PackedSequence):
        return _flatten(tuple(v for v in value if v is not None))
    return [value]


def assert_equal(actual, expected, atol: float | None = None, rtol: float | None = None,
                 exact_dtype: bool = True, msg: str | None = None) -> None:
    """TestCase.assertEqual for tensors, numbers and (nested) tuples of them."""
    a, e = _flatten(actual), _flatten(expected)
    assert len(a) == len(e), f"{msg or ''}: {len(a)} values against {len(e)}"
    for x, y in zip(a, e):
        if x is None or y is None:
            assert x is None and y is None, msg
            continue
        x, y = torch.as_tensor(x), torch.as_tensor(y)
        if atol is None and rtol is None:
            torch.testing.assert_close(x, y, check_dtype=exact_dtype, msg=msg)
        else:
            torch.testing.assert_close(x, y, atol=atol or 0.0, rtol=rtol or 0.0, check_dtype=exact_dtype, msg=msg)


def assert_not_equal(actual, expected) -> None:
    """TestCase.assertNotEqual: the two differ beyond assertEqual's tolerances."""
    try:
        assert_equal(actual, expected)
    except AssertionError:
        return
    raise AssertionError("expected the values to differ")


def gradcheck(fn, inputs, **kwargs) -> bool:
    """common_utils.gradcheck: torch.autograd.gradcheck with fast_mode and check_batched_grad on by default."""
    for key in ("check_batched_grad", "fast_mode"):
        kwargs[key] = True if kwargs.get(key) is None else kwargs[key]
    return torch.autograd.gradcheck(fn, inputs, **kwargs)


def gradgradcheck(fn, inputs, grad_outputs=None, **kwargs) -> bool:
    """common_utils.gradgradcheck, with the same defaults."""
    for key in ("check_batched_grad", "fast_mode"):
        kwargs[key] = True if kwargs.get(key) is None else kwargs[key]
    return torch.autograd.gradgradcheck(fn, inputs, grad_outputs, **kwargs)


@pytest.fixture
def one_thread():
    """Tiny tensors: one intra-op thread (on a busy 2-core machine a second thread's spin-waits cost up to 100x)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
