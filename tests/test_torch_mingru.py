"""minGRU and minLSTM in rnnlab.torch (the ``scratch`` engine): the NumPy engine's numbers (its scan and its
reverse-scan backward) in float64, gradient-checked, weights portable both ways, refused by torch.nn."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine_parity import assert_stack_equals_numpy  # noqa: E402
from rnnlab.cells import get_cell  # noqa: E402
from rnnlab.numpy import RecurrentNet  # noqa: E402
from rnnlab.torch import LAYERS, STACKS, implementation  # noqa: E402
from rnnlab.torch.convert import MODULES, load_torch_state_dict, to_torch_state_dict  # noqa: E402

CASES = [(c, *g) for c in ("mingru", "minlstm")
         for g in [(1, False, False, True), (2, True, True, True), (2, False, True, False), (1, True, False, False)]]
CELLS = ["mingru", "minlstm"]


@pytest.mark.parametrize("cell,layers,bidirectional,ragged,scan", CASES, ids=["-".join(map(str, c)) for c in CASES])
def test_linear_cells_equal_the_numpy_engine_in_float64(cell, layers, bidirectional, ragged, scan):
    rng = np.random.default_rng(7)
    N, T, D, H = 4, 9, 3, 5
    net = RecurrentNet(cell, D, H, layers, bidirectional, dtype=np.float64, seed=3, fused=scan)
    ours = STACKS[cell](D, H, layers, bidirectional=bidirectional).double()
    load_torch_state_dict(ours, net.state_dict())
    lengths = np.array([9, 2, 5, 1]) if ragged else None
    assert_stack_equals_numpy(net, ours, rng, N, T, D, H, lengths)
    for k, d, layer in ours.all_layers():
        sfx = f"_l{k}" + ("_reverse" if d else "")
        np.testing.assert_allclose(layer.ih.weight.grad.numpy(), net.grads["weight_ih" + sfx], atol=1e-12, rtol=0)
        np.testing.assert_allclose(layer.ih.bias.grad.numpy(), net.grads["bias_ih" + sfx], atol=1e-12, rtol=0)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
def test_linear_cell_layer_passes_gradcheck(cell, reverse):
    torch.manual_seed(0)
    layer = LAYERS[cell](3, 4).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    params = dict(layer.named_parameters())
    assert set(params) == {"ih.weight", "ih.bias"}

    def run(x, h0, *weights):
        return torch.func.functional_call(layer, dict(zip(params, weights)), (x, h0, mask, reverse))
    assert torch.autograd.gradcheck(run, (x, h0, *params.values()))


@pytest.mark.parametrize("cell", CELLS)
def test_linear_cell_weights_are_declared_by_the_registry_and_round_trip(cell):
    torch.manual_seed(1)
    ours = STACKS[cell](3, 5, num_layers=2, bidirectional=True).double()
    state = to_torch_state_dict(ours)
    assert {k: tuple(v.shape) for k, v in state.items()} == get_cell(cell).param_shapes(3, 5, 2, 2)
    net = RecurrentNet(cell, 3, 5, 2, True, dtype=np.float64)
    net.load_state_dict({k: v.numpy() for k, v in state.items()})
    back = STACKS[cell](3, 5, num_layers=2, bidirectional=True).double()
    load_torch_state_dict(back, net.state_dict())
    for k, v in to_torch_state_dict(back).items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)


@pytest.mark.parametrize("cell", CELLS)
def test_linear_cells_are_refused_by_torch_nn_and_run_the_scan_node(cell):
    assert implementation(cell).sequence is not None and implementation(cell).sequence.masks
    assert not any(layer.record_states for _, _, layer in STACKS[cell](3, 4, 2).all_layers())
    with pytest.raises(ValueError, match=rf"torch\.nn has no {get_cell(cell).title}.*'numpy' or 'scratch'"):
        MODULES["torch"][cell]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
def test_the_scan_node_is_the_step_path_and_passes_gradcheck(cell, reverse):
    """The layer's whole-sequence node (record_states off) against its own step path (on), values and gradients,
    with padding; then torch's gradcheck through the node."""
    torch.manual_seed(2)
    layer = LAYERS[cell](3, 4).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1] * 6, [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    results = []
    for record in (True, False):
        layer.record_states = record
        out, h_n = layer(x, h0, mask, reverse)
        grads = torch.autograd.grad((out * out).sum() + h_n.sum(), (x, h0, *layer.parameters()))
        results.append((out, h_n, *grads))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    params = dict(layer.named_parameters())

    def run(x, h0, *weights):
        return torch.func.functional_call(layer, dict(zip(params, weights)), (x, h0, mask, reverse))
    assert torch.autograd.gradcheck(run, (x, h0, *params.values()))
