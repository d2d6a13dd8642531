"""Layer normalisation inside the cell (Ba et al. 2016): NumPy engine against rnnlab.torch, and its limits."""
import numpy as np
import pytest
import torch

from rnnlab.config import TrainConfig
from rnnlab.engines import ModelSpec, RecurrentSpec, build_recurrent, build_trainable
from rnnlab.init import apply_init
from rnnlab.numpy import RecurrentNet
from rnnlab.spec import parse_model_name
from rnnlab.torch import GRU, LSTM, RNN, GRULayer, LSTMLayer, RNNLayer
from rnnlab.torch.cells import gate_layer_norm
from rnnlab.torch.convert import load_torch_state_dict, to_torch, to_torch_state_dict

STACKS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def _pair(cell, layers=2, bidirectional=True, nonlinearity="tanh"):
    """The NumPy engine and rnnlab.torch with layer norm in the cell and the same float64 weights."""
    numpy_net = RecurrentNet(cell, 3, 5, layers, bidirectional, nonlinearity, dtype=np.float64, seed=1,
                             layer_norm=True)
    options = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    torch_net = STACKS[cell](3, 5, layers, bidirectional=bidirectional, layer_norm=True, **options).double()
    rng = np.random.default_rng(0)
    for value in numpy_net.params.values():      # gains and shifts away from 1 and 0 as well
        value[...] = rng.standard_normal(value.shape) * 0.5
    load_torch_state_dict(torch_net, numpy_net.state_dict())
    return numpy_net, torch_net, rng


def _torch_grads(torch_net) -> dict:
    """rnnlab.torch's gradients under torch.nn's names (one bias per gate where b_hh merges into b_ih)."""
    grads = {}
    for k, d, layer in torch_net.all_layers():
        suffix = f"_l{k}" + ("_reverse" if d else "")
        grads["ln_weight" + suffix] = layer.ln_weight.grad
        grads["ln_bias" + suffix] = layer.ln_bias.grad
        grads["weight_hh" + suffix] = layer.hh.weight.grad
        grads["weight_ih" + suffix] = layer.ih.weight.grad
        grads["bias_ih" + suffix] = layer.ih.bias.grad      # = db_ih = db_hh where they merge
        if layer.hh.bias is not None:
            grads["bias_hh" + suffix] = layer.hh.bias.grad
    return grads


CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


@pytest.mark.parametrize("cell,nonlinearity", CASES)
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("ragged", [False, True])
def test_numpy_engine_equals_rnnlab_torch(cell, nonlinearity, layers, bidirectional, ragged):
    numpy_net, torch_net, rng = _pair(cell, layers, bidirectional, nonlinearity)
    x = rng.standard_normal((4, 6, 3))
    lengths = np.array([6, 3, 5, 1]) if ragged else None
    out_np, state_np = numpy_net.forward(x, lengths=lengths)
    x_t = torch.tensor(x, requires_grad=True)
    out_t, state_t = torch_net(x_t, lengths=None if lengths is None else torch.tensor(lengths))
    np.testing.assert_allclose(out_np, out_t.detach().numpy(), rtol=0, atol=1e-10)
    h_np, h_t = (state_np[0], state_t[0]) if cell == "lstm" else (state_np, state_t)
    np.testing.assert_allclose(h_np, h_t.detach().numpy(), rtol=0, atol=1e-10)
    upstream = rng.standard_normal(out_np.shape)
    dx = numpy_net.backward(upstream)[0]
    (out_t * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=0, atol=1e-10)
    torch_grads = _torch_grads(torch_net)
    per_layer = 6 if cell == "gru" else 5
    assert len(torch_grads) == layers * (2 if bidirectional else 1) * per_layer
    for name, grad in torch_grads.items():
        np.testing.assert_allclose(numpy_net.grads[name], grad.numpy(), rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("layer_class,gates", [(RNNLayer, 1), (LSTMLayer, 4), (GRULayer, 3)])
def test_single_layers_normalise_every_gate(layer_class, gates):
    """With zero gains and shifts every normalised pre-activation is 0 (n's too, for the GRU):
    r = z = i = f = o = 1/2 and n = g = tanh(0) = 0, so from h0 = 0 nothing ever moves."""
    layer = layer_class(3, 4, layer_norm=True).double()
    assert layer.ln_weight.shape == (gates * 4,) and bool(torch.all(layer.ln_weight == 1))
    with torch.no_grad():
        layer.ln_weight.zero_()
        all_h, last_h = layer(torch.randn(2, 5, 3, dtype=torch.float64))
    assert all_h.shape == (2, 5, 4) and bool(torch.all(all_h == 0)) and bool(torch.all(last_h == 0))


def test_each_gate_block_is_normalised_on_its_own():
    a = torch.randn(3, 4 * 6, dtype=torch.float64) * 5 + 2
    out = gate_layer_norm(a, 4, torch.ones(24, dtype=torch.float64), torch.zeros(24, dtype=torch.float64))
    blocks = out.view(3, 4, 6)
    torch.testing.assert_close(blocks.mean(-1), torch.zeros(3, 4, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(blocks.var(-1, unbiased=False), torch.ones(3, 4, dtype=torch.float64),
                               atol=1e-4, rtol=0)
    gain, shift = torch.full((24,), 2.0, dtype=torch.float64), torch.arange(24, dtype=torch.float64)
    torch.testing.assert_close(gate_layer_norm(a, 4, gain, shift), out * 2 + shift)


def test_parameters_names_and_initial_values():
    net = RNN(3, 4, num_layers=2, layer_norm=True)
    state = to_torch_state_dict(net)
    assert state["ln_weight_l1"].tolist() == [1.0] * 4 and state["ln_bias_l1"].tolist() == [0.0] * 4
    numpy_net = build_recurrent(RecurrentSpec("lstm", 3, 4, layer_norm=True), "numpy")
    assert numpy_net.params["ln_weight_l0"].shape == (16,) and np.all(numpy_net.params["ln_weight_l0"] == 1)
    assert set(build_recurrent(RecurrentSpec("lstm", 3, 4), "numpy").params) == {
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}          # nothing new without it
    gru = to_torch_state_dict(GRU(3, 4, bidirectional=True, layer_norm=True))   # 3 gates: 3H gains and shifts
    assert gru["ln_weight_l0_reverse"].tolist() == [1.0] * 12 and gru["ln_bias_l0"].tolist() == [0.0] * 12
    numpy_gru = RecurrentNet("gru", 3, 4, layer_norm=True)
    assert numpy_gru.params["ln_weight_l0"].shape == (12,) and np.all(numpy_gru.params["ln_bias_l0"] == 0)


def test_course_init_keeps_the_gains_at_one():
    spec = ModelSpec.build("lstm", 3, 2, hidden_size=4, layer_norm=True)
    for engine in ("numpy", "scratch"):
        model = build_trainable(spec, engine)
        apply_init(model, "course", seed=0)
        weights = model.weights()
        assert np.all(weights["ln_weight_l0"] == 1) and np.all(weights["ln_bias_l0"] == 0)
        assert weights["weight_hh_l0"].std() > 0.05


def test_short_names_and_labels():
    assert parse_model_name("bilnlstm2-ln") == {"cell": "lstm", "bidirectional": True, "head": "layernorm",
                                                "layer_norm": True, "num_layers": 2}
    assert parse_model_name("lstm")["layer_norm"] is False
    assert ModelSpec.build("rnn", 3, 2, layer_norm=True, nonlinearity="relu").label == "lnrnn-relu"
    cfg = TrainConfig.from_flat({"engine": "scratch"}).for_model("lnrnn")
    assert (cfg.model.cell, cfg.model.recurrent.layer_norm) == ("rnn", True)
    assert TrainConfig.from_flat({"engine": "numpy"}).for_model("lngru").label == "lngru"


def test_where_it_does_not_exist_the_error_says_so():
    assert RecurrentSpec("gru", 3, 4, layer_norm=True).layer_norm        # every cell has one now
    assert TrainConfig.from_flat({"cell": "gru", "layer_norm": True, "engine": "scratch"}).model.recurrent.layer_norm
    with pytest.raises(ValueError, match="torch.nn has no layer-normalised cell; use engine 'numpy' or 'scratch'"):
        TrainConfig.from_flat({"layer_norm": True})                    # the default engine is torch.nn
    with pytest.raises(ValueError, match="use engine 'numpy' or 'scratch'"):
        build_recurrent(RecurrentSpec("lstm", 3, 4, layer_norm=True), "torch")
    for stack in (RNN, LSTM, GRU):
        with pytest.raises(ValueError, match="no torch.nn twin"):
            to_torch(stack(3, 4, layer_norm=True))


@pytest.mark.parametrize("engine", ["numpy", "scratch"])
def test_a_layer_normalised_lstm_learns(engine):
    """The adding problem at T = 10 from the trainer's interface, both engines from the same
    weights: well under the 0.167 of chance (the same LSTM without layer norm stays near 0.16)."""
    from rnnlab.data.synthetic import adding_problem
    x, y = adding_problem(512, 10, seed=0)
    spec = ModelSpec.build("lstm", 2, 1, hidden_size=16, layer_norm=True)
    model = build_trainable(spec, engine, "adam", 1e-2, seed=0)
    model.load_weights(build_trainable(spec, "scratch", seed=0).weights())
    for _ in range(8):
        for i in range(0, 512, 32):
            model.train_batch(x[i:i + 32], y[i:i + 32], None, "mse", 1e-2)
    mse = float(np.mean((model.predict(x) - y) ** 2))
    assert mse < 0.05, mse


@pytest.mark.parametrize("engine", ["numpy", "scratch"])
def test_gate_bias_settings_reach_the_gates_through_the_normalisation(engine):
    """A constant added before the normalisation vanishes in it; forget bias and chrono go to its shifts."""
    spec = ModelSpec.build("lstm", 3, 2, hidden_size=8, layer_norm=True)
    model = build_trainable(spec, engine, seed=0)
    before = model.weights()
    apply_init(model, "default", seed=0, forget_bias=2.0)
    after = model.weights()
    np.testing.assert_allclose(after["ln_bias_l0"], np.r_[np.zeros(8), np.full(8, 2.0), np.zeros(16)])
    np.testing.assert_allclose(after["bias_ih_l0"] + after["bias_hh_l0"], before["bias_ih_l0"] + before["bias_hh_l0"],
                               atol=1e-6)
    model = build_trainable(spec, engine, seed=0)
    apply_init(model, "default", seed=0, chrono=30)
    shift = model.weights()["ln_bias_l0"]
    assert np.all((shift[8:16] >= 0) & (shift[8:16] <= np.log(29) + 1e-6))
    np.testing.assert_allclose(shift[:8], -shift[8:16])
    # and what reaches the forget gates moves by exactly the bias (a bias before the norm would vanish)
    if engine == "scratch":
        import torch

        def forget_preactivation(forget_bias):
            model = build_trainable(spec, engine, seed=0)
            apply_init(model, "default", seed=0, forget_bias=forget_bias)
            layer = model.model.recurrent.layers[0]
            with torch.no_grad():
                return layer.norm(layer.ih(torch.ones(1, 3)) + layer.hh(torch.zeros(1, 8)))[0, 8:16]
        torch.testing.assert_close(forget_preactivation(2.0) - forget_preactivation(0.0), torch.full((8,), 2.0))
