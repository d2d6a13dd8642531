"""Initialisations of `rnnlab train`: course, orthogonal / identity recurrent weights, forget-gate bias, chrono."""
import numpy as np
import pytest

from rnnlab.config import TrainConfig
from rnnlab.engines import ModelSpec, build_trainable
from rnnlab.init import apply_init

ENGINES = ("numpy", "scratch", "torch")


def _model(cell, engine, hidden=6, layers=1, bidirectional=False):
    spec = ModelSpec.build(cell, input_size=3, output_size=2, hidden_size=hidden, num_layers=layers,
                     bidirectional=bidirectional)
    return build_trainable(spec, engine, seed=0)


def _total_bias(weights, suffix="l0"):
    """The bias each gate sees: b_ih + b_hh (the NumPy engine exports b_hh = 0)."""
    return weights[f"bias_ih_{suffix}"] + weights[f"bias_hh_{suffix}"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cell,gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_orthogonal_recurrent_blocks(engine, cell, gates):
    model = _model(cell, engine, layers=2, bidirectional=True)
    before = model.weights()
    apply_init(model, "default", seed=3, recurrent_init="orthogonal")
    after = model.weights()
    for name, value in after.items():
        if name.startswith("weight_hh"):
            assert value.shape == (gates * 6, 6)
            for block in np.split(value.astype(np.float64), gates):
                np.testing.assert_allclose(block @ block.T, np.eye(6), atol=1e-5)
        else:   # everything else untouched
            np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("engine", ENGINES)
def test_identity_recurrent_init_is_irnn(engine):
    model = _model("rnn", engine)
    apply_init(model, "default", seed=0, recurrent_init="identity")
    np.testing.assert_array_equal(model.weights()["weight_hh_l0"], np.eye(6))


@pytest.mark.parametrize("engine", ENGINES)
def test_course_init_draws_small_weights_and_zero_biases(engine):
    model = _model("lstm", engine, hidden=32)
    apply_init(model, "course", seed=0)
    weights = model.weights()
    assert all(np.all(weights[n] == 0) for n in weights if "bias" in n)
    w = weights["weight_hh_l0"]
    assert abs(w.std() - 0.1) < 0.01 and abs(w.mean()) < 0.01


@pytest.mark.parametrize("engine", ENGINES)
def test_forget_bias_adds_to_the_forget_gate_only(engine):
    model = _model("lstm", engine)
    before = _total_bias(model.weights())
    apply_init(model, "default", seed=0, forget_bias=1.5)
    after = _total_bias(model.weights())
    np.testing.assert_allclose(after - before, np.r_[np.zeros(6), np.full(6, 1.5), np.zeros(12)], atol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_chrono_init_sets_gate_biases(engine):
    """Tallec & Ollivier: b_f ~ log U(1, T - 1), b_i = -b_f, in every layer and direction."""
    model = _model("lstm", engine, hidden=200, layers=2, bidirectional=True)
    before = model.weights()
    apply_init(model, "default", seed=0, chrono=100)
    after = model.weights()
    for suffix in ("l0", "l0_reverse", "l1", "l1_reverse"):
        bias = _total_bias(after, suffix)
        b_i, b_f, rest = bias[:200], bias[200:400], bias[400:]
        assert b_f.min() >= 0.0 and b_f.max() <= np.log(99) + 1e-6
        # log of a uniform draw: its exponential is uniform on (1, 99)
        assert abs(np.exp(b_f).mean() - 50.0) < 5.0
        np.testing.assert_allclose(b_i, -b_f, atol=1e-6)
        np.testing.assert_allclose(rest, _total_bias(before, suffix)[400:], atol=1e-6)
        # the time scales differ between units
        assert np.unique(np.round(b_f, 4)).size > 150


def test_chrono_is_the_same_on_every_engine():
    biases = []
    for engine in ENGINES:
        model = _model("lstm", engine)
        apply_init(model, "default", seed=7, chrono=50)
        biases.append(_total_bias(model.weights())[:12])
    for other in biases[1:]:
        np.testing.assert_allclose(other, biases[0], atol=1e-6)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_chrono_gives_the_linear_recurrences_memory_time_scales_up_to_t_max(cell):
    """minGRU: b_z = -log U (h_t = (1 - z) h_{t-1} + z h~ keeps 1 - z = U / (1 + U)); minLSTM: b_f = log U and
    b_i = -b_f, so its normalised forget gate f / (f + i) = U / (1 + U): time scales 1 + U on (2, T_max) for
    every unit, in every layer and direction, the same on both engines."""
    def keep(bias, H=200):
        sigma = 1.0 / (1.0 + np.exp(-bias))
        if cell == "mingru":
            return 1.0 - sigma[:H]
        f, i = sigma[:H], sigma[H:2 * H]
        return f / (f + i)
    per_engine = []
    for engine in ("numpy", "scratch"):
        spec = ModelSpec.build(cell, input_size=3, output_size=2, hidden_size=200, num_layers=2, bidirectional=True)
        model = build_trainable(spec, engine, seed=0)
        before = model.weights()
        apply_init(model, "default", seed=0, chrono=100)
        after = model.weights()
        for suffix in ("l0", "l0_reverse", "l1", "l1_reverse"):
            scales = 1.0 / (1.0 - keep(after[f"bias_ih_{suffix}"]))
            assert scales.min() >= 2.0 - 1e-4 and scales.max() <= 100.0 + 1e-3 and abs(scales.mean() - 51) < 5
            candidate = slice(200, 400) if cell == "mingru" else slice(400, 600)
            np.testing.assert_array_equal(after[f"bias_ih_{suffix}"][candidate],
                                          before[f"bias_ih_{suffix}"][candidate])     # h~ keeps its bias
        per_engine.append(after["bias_ih_l0"][:200 if cell == "mingru" else 400])     # the gates' rows
    np.testing.assert_allclose(per_engine[1], per_engine[0], atol=1e-6)


def test_bad_initialisations_are_named():
    with pytest.raises(ValueError, match="chrono: only the LSTM"):
        apply_init(_model("gru", "numpy"), "default", seed=0, chrono=10)
    with pytest.raises(ValueError, match="forget_bias: only the LSTM"):
        apply_init(_model("rnn", "torch"), "default", seed=0, forget_bias=1.0)
    with pytest.raises(ValueError, match="give one of them"):
        apply_init(_model("lstm", "numpy"), "default", seed=0, forget_bias=1.0, chrono=10)
    with pytest.raises(ValueError, match="T_max >= 2"):
        apply_init(_model("lstm", "numpy"), "default", seed=0, chrono=1)
    with pytest.raises(ValueError, match="recurrent_init: unknown value 'eye'"):
        apply_init(_model("rnn", "numpy"), "default", seed=0, recurrent_init="eye")


def test_config_validates_chrono():
    assert TrainConfig.from_flat({"cell": "lstm", "chrono": 200}).init.chrono == 200
    with pytest.raises(ValueError, match="chrono: expected an integer"):
        TrainConfig.from_flat({"chrono": 1.5})
    with pytest.raises(ValueError, match="chrono: only the LSTM"):
        TrainConfig.from_flat({"cell": "gru", "chrono": 20})
    with pytest.raises(ValueError, match="give one of them"):
        TrainConfig.from_flat({"chrono": 20, "forget_bias": 1.0})


@pytest.mark.parametrize("engine", [e for e in ENGINES if e != "torch"])     # torch.nn has no IndRNN
def test_a_diagonal_recurrent_weight_gets_the_diagonal_of_the_scheme(engine):
    """The IndRNN's W_hh is the vector u: identity makes u = 1, orthogonal a diagonal orthogonal matrix (+-1)."""
    model = _model("indrnn", engine, layers=2, bidirectional=True)
    apply_init(model, "default", seed=3, recurrent_init="identity")
    us = {k: v for k, v in model.weights().items() if k.startswith("weight_hh")}
    assert len(us) == 4 and all(u.shape == (6,) and np.all(u == 1) for u in us.values())
    apply_init(model, "default", seed=3, recurrent_init="orthogonal")
    signs = np.concatenate([v for k, v in model.weights().items() if k.startswith("weight_hh")])
    assert set(np.unique(signs)) == {-1.0, 1.0}
