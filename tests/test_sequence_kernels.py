"""The NumPy engine's whole-sequence loops (numpy/sequence.py): the same numbers as its step-by-step loop, and
chosen only where that loop would run the compiled steps with a full W_hh and nothing per step to keep apart."""
import itertools

import numpy as np
import pytest

pytest.importorskip("numba")
from rnnlab.kernels.blas import ADDRESSES
from rnnlab.numpy import SGD, RecurrentNet, SequenceModel

pytestmark = pytest.mark.skipif(not ADDRESSES, reason="NumPy's BLAS has no 64-bit-integer gemm to call")
CASES = list(itertools.product(("rnn", "lstm", "gru", "rnn-relu", "lstm-ln"), ((1, False), (2, True))))


def _run(net: RecurrentNet, x, h0, c0, d_out):
    out, states = net.forward(x, h0=h0, c0=c0)
    d_states = {"d_h_n": np.ones_like(h0), **({"d_c_n": np.full_like(c0, 0.5)} if c0 is not None else {})}
    grads = net.backward(d_out, **d_states)
    return [out, *np.atleast_3d(states), *grads, *(net.grads[k] for k in sorted(net.grads))]


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-6)], ids=["float64", "float32"])
@pytest.mark.parametrize("case,shape", CASES, ids=[f"{c}-{n}-{'bi' if b else 'uni'}" for c, (n, b) in CASES])
def test_whole_sequence_and_step_by_step_give_the_same_numbers(case, shape, dtype, tol):
    cell, _, variant = case.partition("-")
    layer_norm, nonlinearity = variant == "ln", variant if variant == "relu" else "tanh"
    layers, bidirectional = shape
    rng = np.random.default_rng(5)
    N, T, D, H = 4, 6, 3, 5
    nets = [RecurrentNet(cell, D, H, layers, bidirectional, nonlinearity, dtype=dtype, seed=1, sequence=s,
                         layer_norm=layer_norm) for s in (True, False)]
    if layer_norm:    # gains and shifts away from 1 and 0, so that their gradients and uses are all checked
        for name, p in nets[0].params.items():
            if name.startswith("ln_"):
                p += rng.uniform(-0.5, 0.5, p.shape).astype(dtype)
                nets[1].params[name][...] = p
    assert nets[0]._sequence is not None and nets[1]._sequence is None and nets[1].fused
    k = layers * (2 if bidirectional else 1)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((k, N, H)).astype(dtype)
    c0 = rng.standard_normal((k, N, H)).astype(dtype) if cell == "lstm" else None
    d_out = rng.standard_normal((N, T, H * (2 if bidirectional else 1))).astype(dtype)
    whole, steps = (_run(net, x, h0, c0, d_out) for net in nets)
    for a, b in zip(whole, steps, strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_a_training_step_is_the_same_both_ways():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5, 3)).astype(np.float32), rng.integers(0, 4, 8)
    models = [SequenceModel("gru", 3, 6, 4, seed=3) for _ in range(2)]
    models[1].rnn._sequence = None
    losses = [m.train_step(x, y, SGD(m.params, lr=0.1)) for m in models]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for name in models[0].params:
        np.testing.assert_allclose(models[0].params[name], models[1].params[name], rtol=1e-5, atol=1e-6)


def test_the_whole_sequence_runs_only_where_it_fits():
    assert all(RecurrentNet(cell, 3, 4)._sequence is not None for cell in ("rnn", "lstm", "gru"))
    assert RecurrentNet("lstm", 3, 4, fused=False)._sequence is None          # the reference steps
    assert RecurrentNet("lstm", 3, 4, sequence=False)._sequence is None
    assert RecurrentNet("lstm", 3, 4, layer_norm=True)._sequence is not None  # the LSTM with layer norm too
    assert RecurrentNet("gru", 3, 4, layer_norm=True)._sequence is None       # layer norm: the reference steps
    assert RecurrentNet("indrnn", 3, 4)._sequence is None                     # a diagonal recurrent weight


def test_ragged_lengths_and_recorded_gradients_take_the_step_by_step_loop(monkeypatch):
    from rnnlab.numpy import sequence
    calls = []
    monkeypatch.setattr(sequence, "lstm_sequence_backward", lambda *a: calls.append(a))
    net = RecurrentNet("lstm", 3, 4, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((3, 5, 3))
    out, _ = net.forward(x, lengths=[5, 2, 4])
    net.backward(np.ones_like(out))
    net.recorded_dh = {}
    out, _ = net.forward(x)
    net.backward(np.ones_like(out))
    assert calls == [] and len(net.recorded_dh[(0, 0)]) == 5
