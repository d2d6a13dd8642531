"""The fused (numba) steps of the NumPy engine: the same numbers as the reference steps and as
torch.nn, chosen automatically, and switched off by RNNLAB_FUSED=0 or fused=False."""
import itertools

import numpy as np
import pytest
import torch

from rnnlab.numpy import RecurrentNet, SequenceModel
from rnnlab.numpy import fused as fused_module

pytest.importorskip("numba")
from rnnlab.numpy import fused_steps

TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
CASES = list(itertools.product(("rnn", "lstm", "gru", "rnn-relu"), (1, 2), (False, True), (False, True)))


def _run(net: RecurrentNet, x, lengths, h0, d_out):
    """Outputs, final states, input and state gradients and parameter gradients of one pass."""
    out, states = net.forward(x, h0=h0, lengths=lengths)
    grads = net.backward(d_out, d_h_n=np.ones_like(h0))
    return [out, np.asarray(states), *grads, *(net.grads[k] for k in sorted(net.grads))]


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("case,layers,bidirectional,ragged", CASES, ids=["-".join(map(str, c)) for c in CASES])
def test_fused_and_reference_steps_give_the_same_numbers(case, layers, bidirectional, ragged, dtype, tol):
    cell, _, nonlinearity = case.partition("-")
    rng = np.random.default_rng(3)
    N, T, D, H = 5, 7, 3, 6
    nets = [RecurrentNet(cell, D, H, layers, bidirectional, nonlinearity or "tanh", dtype=dtype, seed=2, fused=f)
            for f in (True, False)]
    assert [net.fused for net in nets] == [True, False]
    x = rng.standard_normal((N, T, D)).astype(dtype)
    lengths = np.array([7, 3, 5, 1, 6]) if ragged else None
    h0 = rng.standard_normal((layers * (2 if bidirectional else 1), N, H)).astype(dtype)
    d_out = rng.standard_normal((N, T, H * (2 if bidirectional else 1))).astype(dtype)
    fused, reference = (_run(net, x, lengths, h0, d_out) for net in nets)
    for a, b in zip(fused, reference):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("bidirectional,ragged", [(False, False), (True, True)])
def test_layer_normalised_lstm_fused_and_reference_give_the_same_numbers(bidirectional, ragged, dtype, tol):
    """The LSTM's layer norm in the cell runs fused (its two kernels beside the step's); the RNN's and the
    GRU's take the reference steps."""
    rng = np.random.default_rng(4)
    N, T, D, H = 5, 7, 3, 6
    nets = [RecurrentNet("lstm", D, H, 2, bidirectional, dtype=dtype, seed=2, fused=f, layer_norm=True)
            for f in (True, False)]
    assert [net.fused for net in nets] == [True, False]
    assert not RecurrentNet("gru", D, H, layer_norm=True, fused=True).fused
    for name, value in nets[0].params.items():     # gains and shifts away from 1 and 0, alike in both nets
        if name.startswith("ln_"):
            step = (rng.standard_normal(value.shape) * 0.3).astype(dtype)
            value += step
            nets[1].params[name] += step
    x = rng.standard_normal((N, T, D)).astype(dtype)
    lengths = np.array([7, 3, 5, 1, 6]) if ragged else None
    h0 = rng.standard_normal((2 * (2 if bidirectional else 1), N, H)).astype(dtype)
    d_out = rng.standard_normal((N, T, H * (2 if bidirectional else 1))).astype(dtype)
    fused, reference = (_run(net, x, lengths, h0, d_out) for net in nets)
    for a, b in zip(fused, reference):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_both_paths_equal_torch_nn(cell, fused):
    """Outputs, states and every gradient against torch.nn with the same weights (float64, ragged, two
    bidirectional layers)."""
    rng = np.random.default_rng(11)
    N, T, D, H = 4, 6, 5, 7
    net = RecurrentNet(cell, D, H, 2, True, dtype=np.float64, seed=5, fused=fused)
    twin = TORCH[cell](D, H, 2, batch_first=True, bidirectional=True).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    x, lengths = rng.standard_normal((N, T, D)), np.array([6, 2, 5, 1])
    out = net.forward(x, lengths=lengths)[0]
    d_out = rng.standard_normal(out.shape)
    dx = net.backward(d_out)[0]
    xt = torch.tensor(x, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out_t = torch.nn.utils.rnn.pad_packed_sequence(twin(packed)[0], batch_first=True, total_length=T)[0]
    out_t.backward(torch.tensor(d_out))
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(net.grads[name], p.grad.numpy(), atol=1e-11, err_msg=name)


def test_float32_tanh_is_within_a_few_units_in_the_last_place():
    x = np.concatenate([np.linspace(-12, 12, 100_001), [0.0, 1e-6, -3e-4, 5e-4, 8.0, -20.0, 1e30]]).astype(np.float32)
    kernel_tanh = np.empty_like(x)
    fused_steps.rnn_forward_kernel(x[:, None], np.zeros_like(x)[:, None], kernel_tanh[:, None], False)
    np.testing.assert_allclose(kernel_tanh, np.tanh(x.astype(np.float64)), rtol=5e-7, atol=3e-7)
    assert np.all(np.abs(kernel_tanh) <= 1)


def test_chosen_automatically_and_switched_off_by_the_environment(monkeypatch):
    monkeypatch.delenv(fused_module.ENV, raising=False)
    assert RecurrentNet("lstm", 3, 4).fused is True
    assert SequenceModel("gru", 3, 4, 2).rnn.fused is True
    assert RecurrentNet("lstm", 3, 4, layer_norm=True).fused is True     # the LSTM's layer norm is fused too,
    assert RecurrentNet("gru", 3, 4, layer_norm=True).fused is False     # the GRU's and RNN's is not
    for off in ("0", "false", "off"):
        monkeypatch.setenv(fused_module.ENV, off)
        assert RecurrentNet("lstm", 3, 4).fused is False
    assert RecurrentNet("lstm", 3, 4, fused=True).fused is True          # an explicit choice wins


def test_asking_for_fused_steps_without_numba_says_what_to_do(monkeypatch):
    monkeypatch.setattr(fused_module, "AVAILABLE", False)
    assert RecurrentNet("rnn", 3, 4).fused is False
    with pytest.raises(ValueError, match="fused: True needs numba, which is not installed; install it"):
        RecurrentNet("rnn", 3, 4, fused=True)


def test_a_cell_without_a_compiled_pair_falls_back_to_its_reference_steps(monkeypatch):
    """The engine's table may name no compiled pair for a cell: asking for fused steps then runs the reference
    pair (no KeyError), with the same numbers."""
    from rnnlab.numpy import cells as reference
    monkeypatch.setitem(reference.IMPLEMENTATIONS, "indrnn",
                        reference.Implementation(reference.rnn_forward, reference.rnn_backward, compiled=None))
    x = np.random.default_rng(0).standard_normal((3, 5, 2))
    asked = RecurrentNet("indrnn", 2, 4, fused=True, dtype=np.float64)
    assert asked.fused is False and asked._steps == [reference.rnn_forward, reference.rnn_backward]
    np.testing.assert_array_equal(asked.forward(x)[0], RecurrentNet("indrnn", 2, 4, fused=False,
                                                                    dtype=np.float64).forward(x)[0])
