"""Hand-written BPTT against numerical gradients, for every cell and every structural option."""
import itertools

import numpy as np
import pytest

from rnnlab.gradcheck import check_model_gradients, eval_numerical_gradient_array, rel_error
from rnnlab.numpy import SequenceModel

GRID = list(itertools.product(("rnn", "lstm", "gru"), (1, 2), (False, True), ("last", "every"),
                              ("equal", "ragged")))
# Both step paths of the NumPy engine (rnnlab/numpy/fused.py): the fused (numba) steps on the whole
# grid, the reference NumPy steps on its most general part (two bidirectional layers;
# tests/test_fused_cells.py checks the two paths equal on every structure).
PATHS = [("fused", *g) for g in GRID] + [("reference", *g) for g in GRID if g[1] == 2 and g[2]]


@pytest.mark.parametrize("path,cell,layers,bidirectional,readout,lengths", PATHS,
                         ids=["-".join(map(str, g)) for g in PATHS])
def test_every_gradient_matches_numerical(path, cell, layers, bidirectional, readout, lengths):
    if path == "fused":
        pytest.importorskip("numba")
    rng = np.random.default_rng(7)
    N, T, D, H, O = 3, 5, 3, 4, 2
    model = SequenceModel(cell, D, H, O, num_layers=layers, bidirectional=bidirectional,
                          readout=readout, dtype=np.float64, seed=3, fused=path == "fused")
    x = rng.standard_normal((N, T, D))
    lens = np.array([5, 2, 4]) if lengths == "ragged" else None
    y = rng.standard_normal((N, O) if readout == "last" else (N, T, O))
    errors = check_model_gradients(model, x, y, "mse", lens)
    assert set(errors) == set(model.params) | {"input"}
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{worst}: relative error {errors[worst]:.2e}"


LN_GRID = list(itertools.product(("rnn", "lstm", "gru"), (1, 2), (False, True), ("equal", "ragged")))


@pytest.mark.parametrize("cell,layers,bidirectional,lengths", LN_GRID, ids=["-".join(map(str, g)) for g in LN_GRID])
def test_layer_normalised_cells_match_numerical(cell, layers, bidirectional, lengths):
    """Layer norm in the cell: gains, shifts, weights and the input, every readout position."""
    rng = np.random.default_rng(11)
    N, T, D, H, O = 3, 5, 3, 4, 2
    model = SequenceModel(cell, D, H, O, num_layers=layers, bidirectional=bidirectional, readout="every",
                          dtype=np.float64, seed=5, layer_norm=True)
    for name, p in model.params.items():   # gains and shifts away from 1 and 0, so that both matter
        if name.startswith("ln_"):
            p += rng.uniform(-0.5, 0.5, p.shape)
    x = rng.standard_normal((N, T, D))
    lens = np.array([5, 2, 4]) if lengths == "ragged" else None
    # a smaller step than the default 1e-2: a block of 4 units can have a small spread, and the
    # normalisation then curves on a scale below 1e-2
    errors = check_model_gradients(model, x, rng.standard_normal((N, T, O)), "mse", lens, h=1e-3)
    assert {f"ln_weight_l{layers - 1}", f"ln_bias_l{layers - 1}"} <= set(errors)
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{worst}: relative error {errors[worst]:.2e}"


def test_padded_steps_receive_no_gradient():
    rng = np.random.default_rng(0)
    model = SequenceModel("lstm", 3, 4, 2, bidirectional=True, readout="every", dtype=np.float64)
    x = rng.standard_normal((2, 6, 3))
    lens = np.array([6, 3])
    logits = model.forward(x, lens)
    _, dy = model.loss(logits, rng.standard_normal(logits.shape), "mse", lens)
    dx = model.backward(dy)
    assert np.all(dx[1, 3:] == 0.0)
    assert np.all(np.abs(dx[1, :3]) > 0.0)
    # and the padded inputs do not change anything the model computes
    x2 = x.copy()
    x2[1, 3:] = 99.0
    np.testing.assert_array_equal(model.forward(x2, lens)[1, :3], logits[1, :3])


def test_rel_error_is_the_seed_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.array([0.0]), np.array([0.0])) == 0.0


@pytest.mark.parametrize("order,h", [(2, 1e-5), (4, 1e-3), (6, 1e-2)])
def test_numerical_gradient_of_a_known_function(order, h):
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    grad = eval_numerical_gradient_array(lambda v: np.sum(np.sin(v) * v), x, h=h, order=order)
    exact = np.cos(x) * x + np.sin(x)
    assert rel_error(grad, exact) < 1e-8
    np.testing.assert_array_equal(x, [[0.3, -1.2], [2.0, 0.5]])  # restored


def test_numerical_gradient_with_upstream_array():
    x = np.array([1.0, 2.0, 3.0])
    df = np.array([0.5, -1.0, 2.0])
    grad = eval_numerical_gradient_array(lambda v: v ** 2, x, df=df)
    np.testing.assert_allclose(grad, 2 * x * df, rtol=1e-8)


def test_check_needs_float64():
    model = SequenceModel("rnn", 2, 3, 1)
    with pytest.raises(ValueError, match="float64"):
        check_model_gradients(model, np.zeros((1, 2, 2)), np.zeros((1, 1)))
