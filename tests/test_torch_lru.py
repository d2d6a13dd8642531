"""The LRU in rnnlab.torch: the NumPy engine's numbers in float64 (forward and every gradient), gradcheck through
the scan node and the step-by-step walk, weights portable both ways, and the LRU from rnnlab.lab and the CLI."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.cells import get_cell  # noqa: E402
from rnnlab.numpy import RecurrentNet  # noqa: E402
from rnnlab.torch import LAYERS, STACKS  # noqa: E402
from rnnlab.torch.convert import load_torch_state_dict, to_torch_state_dict  # noqa: E402


@pytest.mark.parametrize("layers,bidirectional,ragged", [(1, False, False), (2, True, True)])
def test_the_lru_equals_the_numpy_engine_in_float64(layers, bidirectional, ragged):
    rng = np.random.default_rng(7)
    N, T, D, H = 4, 9, 3, 5
    net = RecurrentNet("lru", D, H, layers, bidirectional, dtype=np.float64, seed=3)
    ours = STACKS["lru"](D, H, layers, bidirectional=bidirectional).double()
    load_torch_state_dict(ours, net.state_dict())
    x = rng.standard_normal((N, T, D))
    lengths = np.array([9, 2, 5, 1]) if ragged else None
    out, h_n = net.forward(x, lengths=lengths)
    xt = torch.tensor(x, requires_grad=True)
    o, h_nt = ours(xt, lengths=None if lengths is None else torch.tensor(lengths))
    np.testing.assert_allclose(o.detach().numpy(), out, atol=1e-12, rtol=0)
    np.testing.assert_allclose(h_nt.detach().numpy(), h_n, atol=1e-12, rtol=0)
    g_out, g_h = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape)
    dx, _ = net.backward(g_out, g_h)
    ((o * torch.tensor(g_out)).sum() + (h_nt * torch.tensor(g_h)).sum()).backward()
    np.testing.assert_allclose(xt.grad.numpy(), dx, atol=1e-12, rtol=0)
    for k, d, layer in ours.all_layers():
        for stem, tensor in layer.portable_parameters().items():
            if tensor is not None:
                name = f"{stem}_l{k}" + ("_reverse" if d else "")
                np.testing.assert_allclose(tensor.grad.numpy(), net.grads[name], atol=1e-12, rtol=0, err_msg=name)


@pytest.mark.parametrize("reverse", [False, True])
def test_the_scan_node_and_the_step_walk_agree_and_pass_gradcheck(reverse):
    torch.manual_seed(0)
    layer = LAYERS["lru"](3, 4).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    params = dict(layer.named_parameters())
    results = []
    for record in (False, True):
        layer.record_states = record

        def run(x, *weights):
            return torch.func.functional_call(layer, dict(zip(params, weights)), (x, None, mask, reverse))
        assert torch.autograd.gradcheck(run, (x, *params.values()))
        out, last = layer(x, None, mask, reverse)
        results.append((out, last, *torch.autograd.grad((out ** 2).sum() + last.sum(), (x, *params.values()))))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert len(layer.h_list) == 5 and layer.h_list[0].is_complex()       # the walk kept the complex states
    with pytest.raises(ValueError, match="h0: the LRU takes no initial state"):
        layer(x, torch.zeros(2, 4, dtype=torch.float64))


def test_lru_weights_round_trip_and_start_on_the_ring():
    torch.manual_seed(1)
    ours = STACKS["lru"](3, 5, num_layers=2).double()
    state = to_torch_state_dict(ours)
    assert {k: tuple(v.shape) for k, v in state.items()} == get_cell("lru").param_shapes(3, 5, 2)
    modulus = torch.exp(-torch.exp(state["nu_log_l0"]))
    assert bool(((modulus >= 0.9 - 1e-6) & (modulus <= 0.999 + 1e-6)).all())
    net = RecurrentNet("lru", 3, 5, 2, dtype=np.float64)
    net.load_state_dict({k: v.numpy() for k, v in state.items()})
    back = STACKS["lru"](3, 5, num_layers=2).double()
    load_torch_state_dict(back, net.state_dict())
    for k, v in to_torch_state_dict(back).items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)


@pytest.mark.parametrize("engine", ["numpy", "scratch"])
def test_the_lru_trains_from_rnnlab_lab_and_the_command_line(engine, tmp_path):
    from rnnlab import lab
    from rnnlab.cli import main
    settings = {"task": "adding", "task_options": {"n_train": 512, "n_val": 64, "n_test": 64, "length": 8},
                "hidden_size": 16, "epochs": 3, "batch_size": 32, "lr": 0.01}
    losses = lab.train("lru", engine=engine, echo=False, **settings).history.iteration_loss
    assert np.isfinite(losses).all() and np.mean(losses[-5:]) < np.mean(losses[:5])
    assert main(["train", "--cell", "lru", "--engine", engine, "--task", "adding", "--epochs", "1",
                 "--opt", "n_train=256", "--opt", "n_val=32", "--opt", "n_test=32", "--opt", "length=6",
                 "--runs-dir", str(tmp_path), "--name", "lru", "--quiet"]) == 0
    assert (tmp_path / "lru" / "metrics.csv").is_file()
