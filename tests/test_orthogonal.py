"""The orthogonal RNN (W = Cayley(M - M^T)): W stays orthogonal while it trains, every gradient against central
differences (NumPy engine, hand-written chain rule through the Cayley transform), rnnlab.torch equal to the NumPy
engine in float64, gradcheck through the whole-sequence node."""
import numpy as np
import pytest

from rnnlab.cells import get_cell
from rnnlab.gradcheck import check_model_gradients
from rnnlab.numpy import Adam, RecurrentNet, SequenceModel
from rnnlab.numpy.recurrence import cayley

torch = pytest.importorskip("torch")

from rnnlab.torch import LAYERS, STACKS  # noqa: E402
from rnnlab.torch.convert import load_torch_state_dict  # noqa: E402


def test_w_stays_orthogonal_while_it_trains():
    """Ten Adam steps on a float64 classifier: M changes, W = Cayley(M) stays orthogonal to 1e-10."""
    rng = np.random.default_rng(0)
    model = SequenceModel("orthogonal", 2, 6, 3, dtype=np.float64, seed=1)
    opt = Adam(model.params, lr=0.1)
    x, y = rng.standard_normal((8, 12, 2)), rng.integers(0, 3, 8)
    M0 = model.params["weight_hh_l0"].copy()
    for _ in range(10):
        model.train_step(x, y, opt)
    M = model.params["weight_hh_l0"]
    W = cayley(M)
    assert np.abs(M - M0).max() > 0.1
    np.testing.assert_allclose(W.T @ W, np.eye(6), rtol=0, atol=1e-10)
    assert get_cell("orthogonal").param_shapes(2, 6)["weight_hh_l0"] == (6, 6)


@pytest.mark.parametrize("layers,bidirectional,nonlinearity", [(1, False, "tanh"), (2, True, "relu")])
def test_every_gradient_matches_numerical(layers, bidirectional, nonlinearity):
    rng = np.random.default_rng(7)
    model = SequenceModel("orthogonal", 3, 4, 2, num_layers=layers, bidirectional=bidirectional, readout="every",
                          nonlinearity=nonlinearity, dtype=np.float64, seed=3)
    x = rng.standard_normal((3, 5, 3))
    errors = check_model_gradients(model, x, rng.standard_normal((3, 5, 2)), "mse", np.array([5, 2, 4]),
                                   h=1e-3, order=6)
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{worst}: relative error {errors[worst]:.2e}"


def test_rnnlab_torch_equals_the_numpy_engine_and_passes_gradcheck():
    rng = np.random.default_rng(2)
    net = RecurrentNet("orthogonal", 3, 5, 2, True, dtype=np.float64, seed=3)
    ours = STACKS["orthogonal"](3, 5, 2, bidirectional=True).double()
    load_torch_state_dict(ours, net.state_dict())
    x, h0 = rng.standard_normal((4, 9, 3)), rng.standard_normal((4, 4, 5))
    out, h_n = net.forward(x, h0)
    xt = torch.tensor(x, requires_grad=True)
    o, h_nt = ours(xt, torch.tensor(h0))
    np.testing.assert_allclose(o.detach().numpy(), out, atol=1e-12, rtol=0)
    g = rng.standard_normal(out.shape)
    dx, _ = net.backward(g, np.ones_like(h_n))
    ((o * torch.tensor(g)).sum() + h_nt.sum()).backward()
    np.testing.assert_allclose(xt.grad.numpy(), dx, atol=1e-12, rtol=0)
    for k, d, layer in ours.all_layers():
        name = f"weight_hh_l{k}" + ("_reverse" if d else "")
        np.testing.assert_allclose(layer.hh.weight.grad.numpy(), net.grads[name], atol=1e-12, rtol=0)
    torch.manual_seed(0)
    layer = LAYERS["orthogonal"](2, 3).double()
    layer.record_states = False                       # the RNN's whole-sequence node, reading W = Cayley(M)
    params = dict(layer.named_parameters())

    def run(x, *weights):
        return torch.func.functional_call(layer, dict(zip(params, weights)), (x,))
    assert torch.autograd.gradcheck(run, (torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True),
                                          *params.values()))
