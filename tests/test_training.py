"""Losses, optimizers, clipping and training of the NumPy engine."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.data.synthetic import ADDING_BASELINE_MSE, adding_problem  # noqa: E402
from rnnlab.numpy import (  # noqa: E402
    SGD,
    Adam,
    SequenceModel,
    bce_with_logits,
    clip_by_global_norm,
    clip_by_value,
    global_norm,
    mse,
    softmax_cross_entropy,
)


def _torch_loss_and_grad(fn, pred, *args):
    p = torch.tensor(pred, requires_grad=True)
    value = fn(p, *args)
    value.backward()
    return value.item(), p.grad.numpy()


def test_softmax_cross_entropy_equals_torch(rng):
    logits = rng.standard_normal((6, 5)) * 3
    labels = rng.integers(0, 5, 6)
    value, grad = softmax_cross_entropy(logits, labels)
    tv, tg = _torch_loss_and_grad(torch.nn.functional.cross_entropy, logits, torch.tensor(labels))
    assert value == pytest.approx(tv, rel=1e-12)
    np.testing.assert_allclose(grad, tg, atol=1e-12)


def test_mse_and_bce_equal_torch(rng):
    pred, target = rng.standard_normal((4, 3)), rng.random((4, 3))
    value, grad = mse(pred, target)
    tv, tg = _torch_loss_and_grad(torch.nn.functional.mse_loss, pred, torch.tensor(target))
    assert value == pytest.approx(tv, rel=1e-12)
    np.testing.assert_allclose(grad, tg, atol=1e-12)
    value, grad = bce_with_logits(pred * 10, target)
    tv, tg = _torch_loss_and_grad(torch.nn.functional.binary_cross_entropy_with_logits, pred * 10,
                                  torch.tensor(target))
    assert value == pytest.approx(tv, rel=1e-12)
    np.testing.assert_allclose(grad, tg, atol=1e-12)


def test_masked_loss_ignores_padded_positions(rng):
    logits = rng.standard_normal((2, 4, 3))
    labels = rng.integers(0, 3, (2, 4))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    value, grad = softmax_cross_entropy(logits, labels, mask)
    expected, _ = softmax_cross_entropy(logits[mask], labels[mask])
    assert value == pytest.approx(expected)
    assert np.all(grad[1, 2:] == 0)


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_optimizers_equal_torch_over_several_steps(name, rng):
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(5)]
    params = {"w": p0.copy()}
    tp = torch.nn.Parameter(torch.tensor(p0))
    if name == "adam":
        ours, theirs = Adam(params, lr=0.01), torch.optim.Adam([tp], lr=0.01)
    else:
        ours, theirs = SGD(params, lr=0.1, momentum=0.9), torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    for g in grads:
        ours.step({"w": g})
        tp.grad = torch.tensor(g)
        theirs.step()
    np.testing.assert_allclose(params["w"], tp.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_weight_decay_equals_torch_on_matrices_and_spares_vectors(name, rng):
    """AdamW's decoupled decay and SGD's L2, as torch.optim.AdamW and SGD; a bias (1-D) does not decay."""
    shapes = {"w": (3, 4), "b": (4,)}
    start = {k: rng.standard_normal(shape) for k, shape in shapes.items()}
    grads = [{k: rng.standard_normal(shape) for k, shape in shapes.items()} for _ in range(5)]
    params = {k: v.copy() for k, v in start.items()}
    tps = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in start.items()}
    groups = [{"params": [tps["w"]], "weight_decay": 0.3}, {"params": [tps["b"]], "weight_decay": 0.0}]
    if name == "adam":
        ours, theirs = Adam(params, lr=0.01, weight_decay=0.3), torch.optim.AdamW(groups, lr=0.01)
    else:
        ours, theirs = SGD(params, lr=0.1, momentum=0.9, weight_decay=0.3), torch.optim.SGD(groups, lr=0.1,
                                                                                         momentum=0.9)
    plain = {k: v.copy() for k, v in start.items()}
    undecayed = Adam(plain, lr=0.01) if name == "adam" else SGD(plain, lr=0.1, momentum=0.9)
    for g in grads:
        ours.step({k: v.copy() for k, v in g.items()})
        undecayed.step({k: v.copy() for k, v in g.items()})
        for k, tp in tps.items():
            tp.grad = torch.tensor(g[k])
        theirs.step()
    for k in shapes:
        np.testing.assert_allclose(params[k], tps[k].detach().numpy(), atol=1e-12)
    np.testing.assert_array_equal(params["b"], plain["b"])
    assert np.abs(params["w"]).sum() < np.abs(plain["w"]).sum()
    with pytest.raises(ValueError, match="weight_decay: expected a number >= 0, got -1"):
        Adam(params, weight_decay=-1)


def test_clipping():
    grads = {"a": np.array([3.0, -4.0]), "b": np.array([[0.5, -7.0]])}
    clip_by_value(grads, 1.0)
    np.testing.assert_array_equal(grads["a"], [1.0, -1.0])
    np.testing.assert_array_equal(grads["b"], [[0.5, -1.0]])
    grads = {"a": np.array([3.0, 4.0])}
    assert clip_by_global_norm(grads, 1.0) == pytest.approx(5.0)
    assert global_norm(grads) == pytest.approx(1.0)
    grads = {"a": np.array([0.3, 0.4])}
    clip_by_global_norm(grads, 1.0)
    np.testing.assert_array_equal(grads["a"], [0.3, 0.4])
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_global_norm(grads, 0.0)


def test_a_huge_float32_gradient_is_scaled_down_not_zeroed():
    """Entries of 1e30 overflow a float32 sum of squares; clipping by norm must still leave a gradient of
    norm max_norm pointing the same way (it used to scale by max_norm / inf = 0: an IRNN froze for good)."""
    from rnnlab.engines.torch_engine import clip_grad_norm_float64
    huge = np.array([3e30, -4e30], dtype=np.float32)
    grads = {"a": huge.copy(), "b": np.array([[0.0]], dtype=np.float32)}
    assert float(np.vdot(huge, huge)) == np.inf                      # what float32 gives
    assert clip_by_global_norm(grads, 1.0) == pytest.approx(5e30)
    np.testing.assert_allclose(grads["a"], [0.6, -0.8], rtol=1e-6)
    parameter = torch.nn.Parameter(torch.zeros(2))
    parameter.grad = torch.tensor([3e30, -4e30])
    assert torch.nn.utils.get_total_norm([parameter.grad]).isinf()   # what torch's float32 norm gives
    assert clip_grad_norm_float64([parameter], 1.0) == pytest.approx(5e30)
    np.testing.assert_allclose(parameter.grad.numpy(), [0.6, -0.8], rtol=1e-6)
    small = torch.nn.Parameter(torch.zeros(2))
    small.grad = torch.tensor([0.3, 0.4])
    clip_grad_norm_float64([small], 1.0)
    assert small.grad.tolist() == pytest.approx([0.3, 0.4])       # below max_norm: unchanged


def test_float32_by_default_and_float64_on_request():
    assert SequenceModel("gru", 2, 3, 1).forward(np.zeros((1, 2, 2))).dtype == np.float32
    assert SequenceModel("gru", 2, 3, 1, dtype=np.float64).forward(np.zeros((1, 2, 2))).dtype == np.float64


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_learns_the_adding_problem(cell):
    model = SequenceModel(cell, 2, 24, 1, seed=1)
    opt = Adam(model.params, lr=0.01)
    x_test, y_test = adding_problem(500, 10, seed=99)
    first = model.loss(model.forward(x_test), y_test, "mse")[0]
    for step in range(1000):
        x, y = adding_problem(64, 10, seed=step)
        model.train_step(x, y, opt, loss="mse", clip_norm=1.0)
    final = model.loss(model.forward(x_test), y_test, "mse")[0]
    assert final < 0.2 * ADDING_BASELINE_MSE < first


def test_same_seed_same_numbers():
    def run():
        model = SequenceModel("lstm", 2, 8, 1, num_layers=2, dropout=0.3, seed=4)
        opt = Adam(model.params)
        x, y = adding_problem(16, 6, seed=0)
        return [model.train_step(x, y, opt, loss="mse") for _ in range(3)]
    assert run() == run()


def test_dropout_between_layers_only_in_training():
    model = SequenceModel("gru", 2, 16, 1, num_layers=2, dropout=0.5, seed=0)
    x, _ = adding_problem(8, 5, seed=0)
    a, b = model.forward(x), model.forward(x)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(model.forward(x, train=True), a)


def test_nan_loss_is_reported():
    model = SequenceModel("rnn", 2, 4, 1)
    opt = SGD(model.params, lr=0.1)
    x, y = adding_problem(4, 3, seed=0)
    model.params["head.bias"][...] = np.float32(3e38)
    with np.errstate(over="ignore"), pytest.raises(FloatingPointError, match="learning rate"):
        model.train_step(x, y * 1e30, opt, loss="mse")
