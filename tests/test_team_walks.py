"""The LSTM node's whole walks on torch's OpenMP team (rnnlab/torch/team.py, team_walks.py): the rows split between
threads give what ordinary autograd through the step-by-step equations gives, in float64 to round-off."""
from __future__ import annotations

import pytest
import torch

from rnnlab.threads import use_threads
from rnnlab.torch import fused, team
from rnnlab.torch.fused import LSTMSequence, lstm_sequence

pytestmark = pytest.mark.skipif(not team.AVAILABLE or fused.team_walks(torch.zeros(1)) is None,
                                reason="torch without a GNU OpenMP team, or compiled kernels off")


@pytest.fixture
def two_threads():
    with use_threads(2):
        yield


@pytest.fixture
def team_calls(monkeypatch):
    """The number of threads of every walk run on the team."""
    calls: list[int] = []
    real = team.run

    def spy(entry, block, threads):
        calls.append(threads)
        real(entry, block, threads)
    monkeypatch.setattr(team, "run", spy)
    return calls


def _leaves(T, B, H, I, dtype, zero_h0, seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes = (((T, B, I), 1.0), ((4 * H, I), 0.2), ((4 * H,), 0.5), ((B, H), 0.5), ((B, H), 0.5), ((4 * H, H), 0.1))
    x, W_ih, bias, h0, c0, W = (torch.randn(*s, generator=g, dtype=dtype) * scale for s, scale in shapes)
    if zero_h0:
        h0 = torch.zeros_like(h0)
    return x, W_ih, bias, h0, c0, W


def _outputs_and_grads(function, leaves, need, readout, reverse):
    leaves = [t.detach().clone().requires_grad_(k in need) for k, t in enumerate(leaves)]
    all_h, h_n, c_n = function(*leaves, None, reverse)
    g = torch.Generator().manual_seed(7)
    weights = torch.randn(all_h.shape, generator=g, dtype=all_h.dtype)
    loss = (h_n * 0.3).sum() + (c_n * c_n).sum()
    if readout == "every":
        loss = loss + (all_h * weights).sum()
    elif readout == "last-batch-first":       # the output read batch-first at the last step: a strided gradient
        loss = loss + (all_h.transpose(0, 1)[:, -1] * weights[-1]).sum()
    grads = torch.autograd.grad(loss, [leaves[k] for k in need])
    return [all_h.detach(), h_n.detach(), c_n.detach(), *grads]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("zero_h0", [True, False])
@pytest.mark.parametrize("readout", ["every", "last-batch-first", "final-states"])
def test_team_walk_equals_autograd_in_float64(reverse, zero_h0, readout, two_threads, team_calls):
    leaves = _leaves(T=6, B=21, H=5, I=3, dtype=torch.float64, zero_h0=zero_h0)
    for need in ((0, 1, 2, 3, 4, 5), (0, 1, 2, 5)):          # with and without the gradients of h0 and c0
        ours = _outputs_and_grads(LSTMSequence.apply, leaves, need, readout, reverse)
        reference = _outputs_and_grads(lstm_sequence, leaves, need, readout, reverse)
        for a, b in zip(ours, reference, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert team_calls and set(team_calls) == {2}               # 21 rows: 10 and 11 per thread


@pytest.mark.parametrize("reverse", [False, True])
def test_team_walk_without_a_bias_equals_autograd(reverse, two_threads, team_calls):
    """A layer without biases (bias=False): the walk adds nothing to the gates, and no bias gradient comes back."""
    x, W_ih, _, h0, c0, W = _leaves(T=5, B=18, H=4, I=3, dtype=torch.float64, zero_h0=False, seed=5)
    results = []
    for function in (LSTMSequence.apply, lstm_sequence):
        leaves = [t.detach().clone().requires_grad_(True) for t in (x, W_ih, h0, c0, W)]
        all_h, h_n, c_n = function(leaves[0], leaves[1], None, *leaves[2:], None, reverse)
        loss = (all_h * all_h).sum() + h_n.sum() + (c_n * 0.5).sum()
        results.append([all_h.detach(), *torch.autograd.grad(loss, leaves)])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert team_calls == [2, 2]


def test_team_walk_equals_the_aten_steps_in_float32_at_training_size(two_threads, team_calls, monkeypatch):
    """Batch 64, 28 steps, hidden 128: the team's walk (MKL products, compiled steps) against the ATen
    step-by-step walk (RNNLAB_FUSED=0), outputs and every gradient within float32 round-off."""
    leaves = _leaves(T=28, B=64, H=128, I=28, dtype=torch.float32, zero_h0=True, seed=3)
    need = (0, 1, 2, 5)
    ours = _outputs_and_grads(LSTMSequence.apply, leaves, need, "last-batch-first", False)
    assert team_calls == [2, 2]
    monkeypatch.setenv("RNNLAB_FUSED", "0")
    aten = _outputs_and_grads(LSTMSequence.apply, leaves, need, "last-batch-first", False)
    assert team_calls == [2, 2]
    for a, b in zip(ours, aten, strict=True):
        assert float((a - b).abs().max()) <= 1e-5 * float(b.abs().max())


def test_padded_batches_keep_the_step_by_step_walk(two_threads, team_calls):
    x, W_ih, bias, h0, c0, W = _leaves(T=4, B=16, H=3, I=2, dtype=torch.float64, zero_h0=True)
    mask = torch.ones(4, 16, dtype=torch.bool)
    mask[2:, :5] = False
    LSTMSequence.apply(x, W_ih, bias, h0, c0, W, mask, False)
    assert team_calls == []


@pytest.mark.parametrize("rows, threads, expected", [(64, 2, 2), (16, 2, 2), (15, 2, 1), (3, 2, 1), (64, 1, 1),
                                                     (40, 8, 5)])
def test_threads_for_leaves_each_thread_eight_rows_or_more(rows, threads, expected):
    with use_threads(threads):
        assert team.threads_for(rows) == expected


def test_without_a_team_the_step_by_step_walk_gives_the_same(two_threads, team_calls, monkeypatch):
    """Where torch has no GNU OpenMP team or MKL (team.AVAILABLE False), the compiled step-by-step walk runs."""
    leaves = _leaves(T=5, B=18, H=4, I=3, dtype=torch.float64, zero_h0=False)
    need = (0, 1, 2, 3, 4, 5)
    on_team = _outputs_and_grads(LSTMSequence.apply, leaves, need, "every", True)
    assert team_calls == [2, 2]
    monkeypatch.setattr(team, "AVAILABLE", False)
    assert fused.team_walks(torch.zeros(1, dtype=torch.float64)) is None
    stepwise = _outputs_and_grads(LSTMSequence.apply, leaves, need, "every", True)
    assert team_calls == [2, 2]
    for a, b in zip(on_team, stepwise, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mixed", ["bias", "W_hh"])
def test_mixed_dtypes_are_refused_not_read_as_the_gates_dtype(mixed, two_threads, team_calls):
    """The walk reads every tensor by address as the gates' dtype: a float64 bias or W_hh beside float32 inputs
    stays off the team, and the step-by-step walk's products refuse it."""
    x, W_ih, bias, h0, c0, W = _leaves(T=4, B=16, H=3, I=2, dtype=torch.float32, zero_h0=True)
    if mixed == "bias":
        bias = bias.double()
    else:
        W = W.double()
    with pytest.raises(RuntimeError, match="dtype"):
        LSTMSequence.apply(x, W_ih, bias, h0, c0, W, None, False)
    assert team_calls == []
