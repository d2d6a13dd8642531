"""IndRNN (Li et al. 2018) on the NumPy engine: the registry's facts, the equations, hand-written BPTT against
numerical gradients (float64), both step paths, the bound on |u|, and the refusal on torch.nn."""
import itertools

import numpy as np
import pytest

from rnnlab.cells import U_MAX, get_cell
from rnnlab.gradcheck import check_model_gradients
from rnnlab.numpy import RecurrentNet, SequenceModel
from rnnlab.rules import check_options


def test_the_registry_says_what_an_indrnn_is():
    cell = get_cell("indrnn")
    assert cell.num_gates == 1 and cell.states == ("h",) and cell.memory_gate is None
    assert cell.nonlinearities == ("relu", "tanh") and cell.default_nonlinearity == "relu"
    assert cell.recurrent_weight == "diagonal" and cell.recurrence == "dense"
    assert cell.engines == ("numpy", "scratch") and not cell.separate_hh_bias
    assert not cell.layer_norm and not cell.projection
    assert cell.param_shapes(3, 5) == {"weight_ih_l0": (5, 3), "weight_hh_l0": (5,), "bias_ih_l0": (5,),
                                       "bias_hh_l0": (5,)}
    assert cell.param("weight_hh").bound == U_MAX == 1.0 and cell.param("weight_hh").init == "uniform01"


def test_torch_nn_refuses_it_with_the_engines_that_have_it():
    with pytest.raises(ValueError, match=r"cell: torch.nn \(engine 'torch'\) has no IndRNN; use engine 'numpy' or "
                                         r"'scratch'"):
        check_options("indrnn", "torch", {})
    check_options("indrnn", "numpy", {"nonlinearity": "tanh"})
    with pytest.raises(ValueError, match="layer_norm: the layer-normalised cell exists for the vanilla RNN"):
        check_options("indrnn", "numpy", {"layer_norm": True})


def test_forward_is_the_papers_equation():
    """h_t = relu(W_ih x_t + b_ih + u * h_{t-1} + b_hh), written out in a plain loop, two layers."""
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 6, 4, 5
    net = RecurrentNet("indrnn", D, H, 2, dtype=np.float64, seed=1)
    assert net.nonlinearity == "relu"
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((2, N, H))
    out, h_n = net.forward(x, h0)
    layer_in, p = x, net.params
    for k in range(2):
        h, outs = h0[k], []
        for t in range(T):
            a = layer_in[:, t] @ p[f"weight_ih_l{k}"].T + p[f"bias_ih_l{k}"] + p[f"weight_hh_l{k}"] * h \
                + p[f"bias_hh_l{k}"]
            h = np.maximum(a, 0.0)
            outs.append(h)
        layer_in = np.stack(outs, axis=1)
        np.testing.assert_allclose(h_n[k], h, atol=1e-13)
    np.testing.assert_allclose(out, layer_in, atol=1e-13)


def test_u_starts_within_its_bound_and_apply_bounds_keeps_it_there():
    net = RecurrentNet("indrnn", 3, 64, 2, True, seed=0)
    us = [v for k, v in net.params.items() if k.startswith("weight_hh")]
    assert len(us) == 4 and all(u.shape == (64,) and np.all((u >= 0) & (u <= 1)) for u in us)
    net.params["weight_hh_l1"][:3] = [3.0, -2.0, 0.5]
    net.apply_bounds()
    np.testing.assert_array_equal(net.params["weight_hh_l1"][:3], np.array([1.0, -1.0, 0.5], np.float32))


GRID = list(itertools.product(("relu", "tanh"), (1, 2), (False, True), ("equal", "ragged")))
PATHS = [("fused", *g) for g in GRID] + [("reference", *g) for g in GRID if g[1] == 2 and g[2]]


@pytest.mark.parametrize("path,nonlinearity,layers,bidirectional,lengths", PATHS,
                         ids=["-".join(map(str, g)) for g in PATHS])
def test_every_gradient_matches_numerical(path, nonlinearity, layers, bidirectional, lengths):
    if path == "fused":
        pytest.importorskip("numba")
    rng = np.random.default_rng(7)
    N, T, D, H, O = 3, 5, 3, 4, 2
    model = SequenceModel("indrnn", D, H, O, num_layers=layers, bidirectional=bidirectional,
                          nonlinearity=nonlinearity, readout="every", dtype=np.float64, seed=3,
                          fused=path == "fused")
    for name, p in model.params.items():      # u of both signs, within the bound
        if name.startswith("weight_hh"):
            p[...] = rng.uniform(-1, 1, p.shape)
    x = rng.standard_normal((N, T, D))
    lens = np.array([5, 2, 4]) if lengths == "ragged" else None
    # relu is piecewise linear: a small central step that does not cross a kink
    h, order = (1e-5, 2) if nonlinearity == "relu" else (1e-2, 6)
    errors = check_model_gradients(model, x, rng.standard_normal((N, T, O)), "mse", lens, h=h, order=order)
    assert set(errors) == set(model.params) | {"input"}
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{worst}: relative error {errors[worst]:.2e}"


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
def test_compiled_and_reference_steps_give_the_same_numbers(nonlinearity, dtype, tol):
    pytest.importorskip("numba")
    rng = np.random.default_rng(3)
    N, T, D, H = 5, 7, 3, 6
    nets = [RecurrentNet("indrnn", D, H, 2, True, nonlinearity, dtype=dtype, seed=2, fused=f) for f in (True, False)]
    assert [net.fused for net in nets] == [True, False]
    x = rng.standard_normal((N, T, D)).astype(dtype)
    lengths = np.array([7, 3, 5, 1, 6])
    d_out = rng.standard_normal((N, T, 2 * H)).astype(dtype)
    results = []
    for net in nets:
        out, h_n = net.forward(x, lengths=lengths)
        dx, dh0 = net.backward(d_out, d_h_n=np.ones_like(h_n))
        results.append([out, h_n, dx, dh0, *(net.grads[k] for k in sorted(net.grads))])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_it_trains_from_rnnlab_lab_and_the_command_line(tmp_path):
    """lab.train and `rnnlab train` build it by name on the NumPy engine; the adding problem's loss falls."""
    from rnnlab import lab
    from rnnlab.cli import main
    settings = {"task": "adding", "task_options": {"n_train": 512, "n_val": 64, "n_test": 64, "length": 8},
                "hidden_size": 16, "epochs": 3, "batch_size": 32, "lr": 0.01}
    result = lab.train("indrnn", engine="numpy", echo=False, **settings)
    assert result.config.model.recurrent.nonlinearity == "relu"
    losses = result.history.iteration_loss
    assert np.isfinite(losses).all() and np.mean(losses[-5:]) < np.mean(losses[:5])
    assert main(["train", "--cell", "indrnn", "--engine", "numpy", "--task", "adding", "--epochs", "1",
                 "--opt", "n_train=256", "--opt", "n_val=32", "--opt", "n_test=32", "--opt", "length=6",
                 "--runs-dir", str(tmp_path), "--name", "ind", "--quiet"]) == 0
    assert (tmp_path / "ind" / "metrics.csv").is_file()
    assert main(["train", "--cell", "indrnn", "--engine", "torch", "--runs-dir", str(tmp_path), "--quiet"]) == 2


@pytest.mark.parametrize("engine", ["numpy", "scratch"])
def test_training_keeps_u_within_its_bound_on_both_engines(engine):
    """The engines' adapters clip the registry-bounded u after every optimizer step: a u pushed past the bound
    by a large step comes back to |u| <= U_MAX, on the NumPy engine and on rnnlab.torch alike."""
    from rnnlab.config import TrainConfig
    from rnnlab.engines import build_trainable
    from rnnlab.tasks import get_task
    task = get_task("adding")
    settings = {"task": "adding", "cell": "indrnn", "hidden_size": 8, "engine": engine}
    spec = TrainConfig.from_flat(settings).model.for_task(task)
    model = build_trainable(spec, engine, lr=10.0, seed=1)
    weights = model.weights()
    weights["weight_hh_l0"] = np.full_like(weights["weight_hh_l0"], 0.999)
    model.load_weights(weights)
    data = task.load(seed=0, n_train=32, n_val=8, n_test=8, length=6)
    for _ in range(3):
        model.train_batch(data.train.x[:16], data.train.y[:16], data.train.mask, "mse", lr=10.0)
    u = model.weights()["weight_hh_l0"]
    assert np.abs(u).max() <= U_MAX
    assert np.isclose(np.abs(u), U_MAX).any()     # the step did push some u past the bound, and it was clipped
