"""The LRU (Orvieto et al. 2023) on the NumPy engine: the registry's facts, the ring initialisation, the paper's
equations in a plain complex loop, every gradient against central differences in float64, the refusals."""
import numpy as np
import pytest

from rnnlab.cells import get_cell
from rnnlab.draws import ring
from rnnlab.gradcheck import check_model_gradients
from rnnlab.numpy import RecurrentNet, SequenceModel
from rnnlab.numpy.lru import eigenvalues


def _gelu(v):
    return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))


def test_the_registry_and_the_ring_initialisation():
    cell = get_cell("lru")
    assert cell.recurrence == "linear" and cell.block == "residual" and not cell.takes_state
    assert cell.param_shapes(3, 5) == {"weight_ih_l0": (10, 3), "bias_ih_l0": (10,), "nu_log_l0": (5,),
                                       "theta_log_l0": (5,), "gamma_log_l0": (5,), "weight_c_l0": (5, 10),
                                       "weight_d_l0": (5, 3)}
    drawn = ring(2000, np.random.default_rng(0), 0.5, 0.8, np.pi / 4)
    lam = eigenvalues(drawn["ring_nu"], drawn["ring_theta"])
    assert np.all((np.abs(lam) >= 0.5 - 1e-12) & (np.abs(lam) <= 0.8 + 1e-12))
    assert np.all((np.angle(lam) >= 0) & (np.angle(lam) <= np.pi / 4 + 1e-12))
    np.testing.assert_allclose(np.exp(drawn["ring_gamma"]), np.sqrt(1 - np.abs(lam) ** 2), rtol=1e-12)
    assert np.all(np.abs(eigenvalues(np.array([-30.0, 0.0, 30.0]), np.zeros(3))) < 1)   # any nu_log: |lambda| < 1
    with pytest.raises(ValueError, match=r"ring: expected 0 <= r_min < r_max < 1.*r_max=1.2"):
        ring(3, np.random.default_rng(0), 0.5, 1.2)


def test_forward_is_the_papers_equation():
    """lambda = exp(-exp(nu) + i exp(theta)), h_t = lambda h_{t-1} + gamma (B x_t + b), y_t = Re(C h_t) + D x_t,
    then the block's GELU; h_n is y at the last step."""
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 7, 4, 5
    net = RecurrentNet("lru", D, H, 1, dtype=np.float64, seed=1)
    p = {k[:-3]: v for k, v in net.params.items()}
    assert np.all(np.abs(eigenvalues(p["nu_log"], p["theta_log"])) >= 0.9 - 1e-12)     # the default ring
    x = rng.standard_normal((N, T, D))
    out, h_n = net.forward(x)
    lam, gamma = eigenvalues(p["nu_log"], p["theta_log"]), np.exp(p["gamma_log"])
    B = p["weight_ih"][:H] + 1j * p["weight_ih"][H:]
    b = p["bias_ih"][:H] + 1j * p["bias_ih"][H:]
    C = p["weight_c"][:, :H] + 1j * p["weight_c"][:, H:]
    h = np.zeros((N, H), complex)
    for t in range(T):
        h = lam * h + gamma * (x[:, t] @ B.T + b)
        y = (h @ C.T).real + x[:, t] @ p["weight_d"].T
        np.testing.assert_allclose(out[:, t], _gelu(y), atol=1e-12)
    np.testing.assert_allclose(h_n[0], y, atol=1e-12)


GRID = [("scan", 1, False, "equal"), ("scan", 2, True, "ragged"), ("loop", 2, True, "equal"),
        ("loop", 1, False, "ragged")]


@pytest.mark.parametrize("path,layers,bidirectional,lengths", GRID, ids=["-".join(map(str, g)) for g in GRID])
def test_every_gradient_matches_numerical(path, layers, bidirectional, lengths):
    rng = np.random.default_rng(7)
    N, T, D, H, O = 3, 5, 3, 4, 2
    model = SequenceModel("lru", D, H, O, num_layers=layers, bidirectional=bidirectional, readout="every",
                          dtype=np.float64, seed=3, fused=path == "scan")
    x = rng.standard_normal((N, T, D))
    lens = np.array([5, 2, 4]) if lengths == "ragged" else None
    errors = check_model_gradients(model, x, rng.standard_normal((N, T, O)), "mse", lens, h=1e-3, order=6)
    assert set(errors) == set(model.params) | {"input"}
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{worst}: relative error {errors[worst]:.2e}"


def test_h_n_gradient_and_the_refused_h0():
    """dL/dh_n (h_n = y at each sequence's last step) against central differences in the input; h0 refused."""
    rng = np.random.default_rng(5)
    net = RecurrentNet("lru", 3, 4, 1, True, dtype=np.float64, seed=0)
    x, w_h = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 2, 4))
    lengths = np.array([6, 4])

    def loss(x_):
        _, h_n = net.forward(x_, lengths=lengths)
        return float((h_n * w_h).sum())
    loss(x)
    dx, _ = net.backward(None, d_h_n=w_h)
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        numeric[i] = (loss(x + e) - loss(x - e)) / 2e-6
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="h0: the LRU takes no initial state"):
        net.forward(x, h0=np.ones((2, 2, 4)))


def test_the_ring_setting_redraws_the_eigenvalues_and_is_refused_elsewhere(tmp_path):
    from rnnlab import lab
    from rnnlab.cli import main
    settings = {"task": "adding", "task_options": {"n_train": 64, "n_val": 32, "n_test": 32, "length": 5},
                "hidden_size": 8, "epochs": 1, "batch_size": 32, "lr": 1e-9}
    result = lab.train("lru", engine="numpy", echo=False, ring="0.5,0.6,0.1", **settings)
    w = result.model.weights()
    lam = eigenvalues(w["nu_log_l0"].astype(float), w["theta_log_l0"].astype(float))
    assert np.all((np.abs(lam) > 0.5 - 1e-4) & (np.abs(lam) < 0.6 + 1e-4) & (np.angle(lam) <= 0.1 + 1e-4))
    with pytest.raises(ValueError, match="ring: only the LRU has eigenvalues drawn on a ring, not the LSTM"):
        lab.train("lstm", engine="numpy", echo=False, ring="0.5,0.6", **settings)
    assert main(["train", "--cell", "lru", "--ring", "0.9,1.5", "--runs-dir", str(tmp_path), "--quiet"]) == 2
