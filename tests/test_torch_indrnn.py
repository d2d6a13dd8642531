"""IndRNN in rnnlab.torch (the ``scratch`` engine): the NumPy engine's numbers in float64, gradient-checked,
weights portable both ways, |u| kept within the registry's bound, and refused where it is not implemented."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine_parity import assert_stack_equals_numpy  # noqa: E402
from rnnlab.cells import get_cell  # noqa: E402
from rnnlab.numpy import RecurrentNet  # noqa: E402
from rnnlab.torch import IndRNN, IndRNNLayer, implementation  # noqa: E402
from rnnlab.torch.convert import MODULES, load_torch_state_dict, to_torch_state_dict  # noqa: E402

CASES = [(1, False, False, "relu"), (2, True, True, "relu"), (2, False, True, "tanh"), (1, True, False, "tanh")]


@pytest.mark.parametrize("layers,bidirectional,ragged,nonlinearity", CASES,
                         ids=["-".join(map(str, c)) for c in CASES])
def test_indrnn_equals_the_numpy_engine_in_float64(layers, bidirectional, ragged, nonlinearity):
    """Outputs, final states, input and state gradients and every parameter gradient, after loading the NumPy
    engine's weights into the torch stack."""
    rng = np.random.default_rng(7)
    N, T, D, H = 4, 6, 3, 5
    net = RecurrentNet("indrnn", D, H, layers, bidirectional, nonlinearity, dtype=np.float64, seed=3)
    ours = IndRNN(D, H, layers, nonlinearity=nonlinearity, bidirectional=bidirectional).double()
    load_torch_state_dict(ours, net.state_dict())
    lengths = np.array([6, 2, 5, 1]) if ragged else None
    assert_stack_equals_numpy(net, ours, rng, N, T, D, H, lengths)
    for k, d, layer in ours.all_layers():
        sfx = f"_l{k}" + ("_reverse" if d else "")
        np.testing.assert_allclose(layer.ih.weight.grad.numpy(), net.grads["weight_ih" + sfx], atol=1e-12, rtol=0)
        np.testing.assert_allclose(layer.hh.weight.grad.numpy(), net.grads["weight_hh" + sfx], atol=1e-12, rtol=0)
        # one bias per unit (b = b_ih + b_hh): its gradient is each of theirs
        np.testing.assert_allclose(layer.ih.bias.grad.numpy(), net.grads["bias_ih" + sfx], atol=1e-12, rtol=0)
        np.testing.assert_allclose(layer.ih.bias.grad.numpy(), net.grads["bias_hh" + sfx], atol=1e-12, rtol=0)


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
@pytest.mark.parametrize("reverse", [False, True])
def test_indrnn_layer_passes_gradcheck(nonlinearity, reverse):
    torch.manual_seed(0)
    layer = IndRNNLayer(3, 4, nonlinearity).double()
    with torch.no_grad():
        layer.hh.weight.uniform_(-1, 1)          # both signs of u
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    params = dict(layer.named_parameters())

    def run(x, h0, *weights):
        outs = torch.func.functional_call(layer, dict(zip(params, weights)), (x, h0, mask, reverse))
        return outs
    assert torch.autograd.gradcheck(run, (x, h0, *params.values()))


def test_indrnn_weights_are_declared_by_the_registry_and_round_trip():
    """weight_hh is the vector u (H,), as the registry declares; the state dict loads into the NumPy engine's
    IndRNN and back unchanged (b_hh exported as zeros, b_ih carrying b = b_ih + b_hh)."""
    torch.manual_seed(1)
    ours = IndRNN(3, 5, num_layers=2, bidirectional=True).double()
    state = to_torch_state_dict(ours)
    assert {k: tuple(v.shape) for k, v in state.items()} == get_cell("indrnn").param_shapes(3, 5, 2, 2)
    assert state["weight_hh_l1_reverse"].shape == (5,)
    net = RecurrentNet("indrnn", 3, 5, 2, True, dtype=np.float64)
    net.load_state_dict({k: v.numpy() for k, v in state.items()})
    back = IndRNN(3, 5, num_layers=2, bidirectional=True).double()
    load_torch_state_dict(back, net.state_dict())
    for k, v in to_torch_state_dict(back).items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)
    assert float(ours.layers[0].hh.weight.detach().min()) >= 0 and float(ours.layers[0].hh.weight.detach().max()) <= 1


def test_indrnn_is_clipped_to_its_bound_and_refused_where_unimplemented():
    ours = IndRNN(2, 3)
    with torch.no_grad():
        ours.layers[0].hh.weight.copy_(torch.tensor([-3.0, 0.5, 2.0]))
    ours.clip_to_bounds_()
    assert ours.layers[0].hh.weight.tolist() == [-1.0, 0.5, 1.0]
    assert implementation("indrnn").sequence is None        # the step path, autograd's backward
    with pytest.raises(ValueError, match=r"torch\.nn has no IndRNN.*'numpy' or 'scratch'"):
        MODULES["torch"]["indrnn"]
    with pytest.raises(ValueError, match="layer_norm"):
        IndRNN(2, 3, layer_norm=True)
    with pytest.raises(ValueError, match="nonlinearity: unknown value 'sigmoid'"):
        IndRNN(2, 3, nonlinearity="sigmoid")


def test_every_cell_rnnlab_torch_implements_is_in_its_table():
    from rnnlab.cells import CELLS
    from rnnlab.torch.table import IMPLEMENTATIONS
    assert {name for name, cell in CELLS.items() if "scratch" in cell.engines} == set(IMPLEMENTATIONS)
    assert {name for name, cell in CELLS.items() if "scratch" in cell.engines} == set(MODULES["scratch"])
    from rnnlab.torch import LAYERS
    assert set(LAYERS) == set(IMPLEMENTATIONS) and all(LAYERS[name].cell == name for name in LAYERS)


def test_a_cell_without_an_implementation_is_refused_by_name(monkeypatch):
    """The table decides, not a cell-name branch: a registry cell missing from it is refused with its name and
    the engines that implement it (by the layers, the stacks and the drop-in's walk alike), never computed as
    some other cell."""
    from rnnlab.torch import GRU, GRULayer, table
    from rnnlab.torch import nn as dropin
    assert dropin.__name__ == "rnnlab.torch.nn"        # not shadowed by the package's made-from-registry names
    gru = dropin.GRU(3, 4)
    monkeypatch.delitem(table.IMPLEMENTATIONS, "gru")
    says = r"rnnlab\.torch has no implementation of the GRU \('gru'\); use engine 'numpy' .* or 'torch'"
    for build in (lambda: GRULayer(3, 4), lambda: GRU(3, 4), lambda: gru(torch.zeros(5, 2, 3))):
        with pytest.raises(ValueError, match=says):
            build()
    with pytest.raises(ValueError, match="cell: unknown value 'elman'"):
        implementation("elman")


def test_the_table_names_compiled_kernels_that_exist():
    pytest.importorskip("numba")
    from rnnlab.torch import kernels
    from rnnlab.torch.table import IMPLEMENTATIONS
    named = [k for impl in IMPLEMENTATIONS.values() if impl.sequence for k in impl.sequence.kernels]
    assert named and all(callable(getattr(kernels, k)) for k in named)


def test_the_indrnn_classes_are_made_from_the_registry_and_pickle():
    """IndRNN's layer and stack are not written by hand: made from the registry and its step (rnnlab.torch's
    side of the cell is its step in cells.STEPS), found by name for imports and pickling."""
    import pickle

    from rnnlab.torch import LAYERS, STACKS
    from rnnlab.torch.cells import STEPS
    assert STACKS["indrnn"] is IndRNN and LAYERS["indrnn"] is IndRNNLayer and "indrnn" in STEPS
    assert IndRNN.__name__ == get_cell("indrnn").title and IndRNN.__module__ == "rnnlab.torch.stacks"
    torch.manual_seed(3)
    ours = IndRNN(2, 3, num_layers=2, nonlinearity="tanh")
    back = pickle.loads(pickle.dumps(ours))
    x = torch.randn(4, 5, 2)
    torch.testing.assert_close(back(x)[0], ours(x)[0], rtol=0, atol=0)
    assert back.nonlinearity == "tanh" and back.layers[1].nonlinearity is torch.tanh
