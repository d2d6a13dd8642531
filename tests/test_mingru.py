"""minGRU and minLSTM (Feng et al. 2024) on the NumPy engine: the registry's facts, the equations, the scan against the
sequential loop, hand-written backward (the reverse scan) against numerical gradients in float64, the refusals."""
import itertools

import numpy as np
import pytest

from rnnlab.cells import get_cell
from rnnlab.gradcheck import check_model_gradients
from rnnlab.numpy import RecurrentNet, SequenceModel
from rnnlab.numpy.linear import scan_doubling, scan_loop
from rnnlab.rules import check_options


def test_the_registry_says_what_a_mingru_is():
    cell = get_cell("mingru")
    assert cell.recurrence == "linear" and cell.recurrent_weight == "none" and cell.states == ("h",)
    assert cell.letters == ("z", "h") and not cell.layer_norm and not cell.projection
    assert cell.param_shapes(3, 5, 2, 2) == {
        "weight_ih_l0": (10, 3), "bias_ih_l0": (10,), "weight_ih_l0_reverse": (10, 3), "bias_ih_l0_reverse": (10,),
        "weight_ih_l1": (10, 10), "bias_ih_l1": (10,), "weight_ih_l1_reverse": (10, 10),
        "bias_ih_l1_reverse": (10,)}


def test_torch_nn_refuses_it_with_the_engines_that_have_it():
    for cell, title in (("mingru", "minGRU"), ("minlstm", "minLSTM")):
        with pytest.raises(ValueError, match=rf"cell: torch.nn \(engine 'torch'\) has no {title}; use engine "
                                             r"'numpy' or 'scratch'"):
            check_options(cell, "torch", {})
    with pytest.raises(ValueError, match="layer_norm: the layer-normalised cell exists for the vanilla RNN"):
        check_options("mingru", "numpy", {"layer_norm": True})
    with pytest.raises(ValueError, match="nonlinearity"):
        check_options("mingru", "numpy", {"nonlinearity": "relu"})
    with pytest.raises(ValueError, match="recurrent_init: .* not the minLSTM \\(a linear recurrence: no W_hh\\)"):
        check_options("minlstm", None, {"recurrent_init": "orthogonal"})
    check_options("gru", None, {"recurrent_init": "orthogonal"})


@pytest.mark.parametrize("T", [1, 2, 7, 64, 300])
def test_the_doubling_scan_is_the_sequential_loop(T):
    rng = np.random.default_rng(T)
    a, b, h0 = rng.uniform(0, 1, (T, 4, 3)), rng.standard_normal((T, 4, 3)), rng.standard_normal((4, 3))
    a_before = a.copy()
    loop, scan = np.empty_like(a), np.empty_like(a)
    scan_loop(a, b, h0, loop)
    scan_doubling(a, b, h0, scan)
    np.testing.assert_allclose(scan, loop, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(a, a_before)
    a32, b32, h32 = (v.astype(np.float32) for v in (a, b, h0))
    scan32 = np.empty_like(a32)
    scan_doubling(a32, b32, h32, scan32)
    np.testing.assert_allclose(scan32, loop, rtol=0, atol=1e-5)


def _gelu(v):
    return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))


def _layer_norm(v):
    return (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1e-5)


def test_forward_is_the_papers_equation():
    """z = sigma(W_z x + b_z), h~ = W_h x + b_h, h_t = (1 - z) h_{t-1} + z h~, in a plain loop, two layers stacked
    as the paper's residual block: o_0 = gelu(h^0), layer 1 reads LN(o_0), the output is o_0 + gelu(h^1)."""
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 6, 4, 5
    net = RecurrentNet("mingru", D, H, 2, dtype=np.float64, seed=1)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((2, N, H))
    out, h_n = net.forward(x, h0)
    layer_in, p, skip = x, net.params, 0.0
    for k in range(2):
        h, outs = h0[k], []
        for t in range(T):
            a = layer_in[:, t] @ p[f"weight_ih_l{k}"].T + p[f"bias_ih_l{k}"]
            z, h_tilde = 1 / (1 + np.exp(-a[:, :H])), a[:, H:]
            h = (1 - z) * h + z * h_tilde
            outs.append(h)
        np.testing.assert_allclose(h_n[k], h, atol=1e-13)
        skip = skip + _gelu(np.stack(outs, axis=1))
        layer_in = _layer_norm(skip)
    np.testing.assert_allclose(out, skip, atol=1e-13)
    _, gates = net.step_values(0)
    assert gates.shape == (T, 2 * H, N) and np.all((gates[:, :H] > 0) & (gates[:, :H] < 1))


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_scan_and_loop_paths_agree_with_lengths_and_state(cell):
    rng = np.random.default_rng(3)
    N, T, D, H = 5, 40, 3, 6
    nets = [RecurrentNet(cell, D, H, 2, True, dtype=np.float64, seed=2, fused=f) for f in (True, False)]
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((4, N, H))
    lengths = np.array([40, 3, 25, 1, 39])
    d_out = rng.standard_normal((N, T, 2 * H))
    results = []
    for net in nets:
        out, h_n = net.forward(x, h0, lengths=lengths)
        dx, dh0 = net.backward(d_out, d_h_n=np.ones_like(h_n))
        results.append([out, h_n, dx, dh0, *(net.grads[k] for k in sorted(net.grads))])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_padded_steps_keep_the_state_and_give_zero_outputs(cell):
    rng = np.random.default_rng(4)
    net = RecurrentNet(cell, 3, 4, 1, True, dtype=np.float64)
    x = rng.standard_normal((2, 7, 3))
    out, h_n = net.forward(x, lengths=np.array([7, 4]))
    short, h_short = net.forward(x[1:, :4])
    np.testing.assert_allclose(out[1, :4], short[0], atol=1e-13)
    np.testing.assert_array_equal(out[1, 4:], 0.0)
    np.testing.assert_allclose(h_n[:, 1], h_short[:, 0], atol=1e-13)


GRID = list(itertools.product(("mingru", "minlstm"), ("scan", "loop"), (1, 2), (False, True), ("equal", "ragged")))


@pytest.mark.parametrize("cell,path,layers,bidirectional,lengths", GRID, ids=["-".join(map(str, g)) for g in GRID])
def test_every_gradient_matches_numerical(cell, path, layers, bidirectional, lengths):
    rng = np.random.default_rng(7)
    N, T, D, H, O = 3, 5, 3, 4, 2
    model = SequenceModel(cell, D, H, O, num_layers=layers, bidirectional=bidirectional, readout="every",
                          dtype=np.float64, seed=3, fused=path == "scan")
    x = rng.standard_normal((N, T, D))
    lens = np.array([5, 2, 4]) if lengths == "ragged" else None
    errors = check_model_gradients(model, x, rng.standard_normal((N, T, O)), "mse", lens, h=1e-2, order=6)
    assert set(errors) == set(model.params) | {"input"}
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{worst}: relative error {errors[worst]:.2e}"


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_h0_and_h_n_gradients_carry_state(cell):
    """dL/dh0 and the gradient arriving at h_n, against central differences (carried state)."""
    rng = np.random.default_rng(5)
    net = RecurrentNet(cell, 3, 4, 2, True, dtype=np.float64, seed=0)
    x, h0 = rng.standard_normal((2, 6, 3)), rng.standard_normal((4, 2, 4))
    w_out, w_h = rng.standard_normal((2, 6, 8)), rng.standard_normal((4, 2, 4))

    def loss(h0_):
        out, h_n = net.forward(x, h0_, lengths=np.array([6, 4]))
        return float((out * w_out).sum() + (h_n * w_h).sum())
    loss(h0)
    _, dh0 = net.backward(w_out, d_h_n=w_h)
    numeric = np.zeros_like(h0)
    for i in np.ndindex(h0.shape):
        e = np.zeros_like(h0)
        e[i] = 1e-6
        numeric[i] = (loss(h0 + e) - loss(h0 - e)) / 2e-6
    np.testing.assert_allclose(dh0, numeric, rtol=1e-6, atol=1e-8)


def test_minlstm_forward_is_the_papers_equation():
    """f = sigma(W_f x + b_f), i = sigma(W_i x + b_i), h~ = W_h x + b_h, h_t = f' h_{t-1} + i' h~ with the gates
    normalised, f' = f / (f + i), i' = i / (f + i); a plain loop."""
    rng = np.random.default_rng(1)
    N, T, D, H = 3, 6, 4, 5
    net = RecurrentNet("minlstm", D, H, 1, dtype=np.float64, seed=1)
    x, h = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    out, h_n = net.forward(x, h[None])
    p, sig = net.params, lambda v: 1 / (1 + np.exp(-v))
    for t in range(T):
        a = x[:, t] @ p["weight_ih_l0"].T + p["bias_ih_l0"]
        f, i, h_tilde = sig(a[:, :H]), sig(a[:, H:2 * H]), a[:, 2 * H:]
        h = f / (f + i) * h + i / (f + i) * h_tilde
        np.testing.assert_allclose(out[:, t], _gelu(h), atol=1e-13)     # the block's phi after the layer
    np.testing.assert_allclose(h_n[0], h, atol=1e-13)
    assert get_cell("minlstm").param_shapes(4, 5) == {"weight_ih_l0": (15, 4), "bias_ih_l0": (15,)}


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_it_trains_from_rnnlab_lab_and_the_command_line(cell, tmp_path):
    from rnnlab import lab
    from rnnlab.cli import main
    settings = {"task": "adding", "task_options": {"n_train": 512, "n_val": 64, "n_test": 64, "length": 8},
                "hidden_size": 16, "epochs": 3, "batch_size": 32, "lr": 0.01}
    result = lab.train(cell, engine="numpy", echo=False, **settings)
    losses = result.history.iteration_loss
    assert np.isfinite(losses).all() and np.mean(losses[-5:]) < np.mean(losses[:5])
    assert main(["train", "--cell", cell, "--engine", "numpy", "--task", "adding", "--epochs", "1",
                 "--opt", "n_train=256", "--opt", "n_val=32", "--opt", "n_test=32", "--opt", "length=6",
                 "--runs-dir", str(tmp_path), "--name", "mg", "--quiet"]) == 0
    assert (tmp_path / "mg" / "metrics.csv").is_file()
    assert main(["train", "--cell", cell, "--engine", "torch", "--runs-dir", str(tmp_path), "--quiet"]) == 2
