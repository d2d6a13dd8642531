"""The cell registry: its facts, and that every engine agrees with them."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnlab.cells import CELLS, get_cell
from rnnlab.numpy import RecurrentNet
from rnnlab.rules import check_options
from rnnlab.torch import GRU, LSTM, RNN
from rnnlab.torch.convert import load_torch_state_dict

TORCH_NN = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
OURS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
THREE = [CELLS[name] for name in ("rnn", "lstm", "gru")]


def test_the_three_cells_and_their_facts():
    assert list(CELLS) == ["rnn", "lstm", "gru", "indrnn", "orthogonal", "mingru", "minlstm", "lru"]
    lstm, gru, rnn = get_cell("lstm"), get_cell("gru"), get_cell("rnn")
    assert [(g.letter, g.meaning) for g in lstm.gates] == [
        ("i", "input gate"), ("f", "forget gate"), ("g", "cell candidate"), ("o", "output gate")]
    assert [g.letter for g in gru.gates] == ["r", "z", "n"] and [g.letter for g in rnn.gates] == ["h"]
    assert (rnn.num_gates, lstm.num_gates, gru.num_gates) == (1, 4, 3)
    assert (rnn.memory_gate, lstm.memory_gate, gru.memory_gate) == (None, "f", "z")
    assert (rnn.states, lstm.states, gru.states) == (("h",), ("h", "c"), ("h",))
    assert (rnn.nonlinearities, lstm.nonlinearities, gru.nonlinearities) == (("tanh", "relu"), ("tanh",), ("tanh",))
    assert [c.separate_hh_bias for c in THREE] == [False, False, True]
    assert [c.projection for c in THREE] == [False, True, False]
    assert all(c.layer_norm for c in THREE)
    assert all(c.engines == ("numpy", "scratch", "torch") and c.recurrence == "dense" for c in THREE)
    assert lstm.gate_slice("f", 5) == slice(5, 10) and gru.gate_slice("n", 7) == slice(14, 21)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="cell: unknown value 'x'; expected one of 'rnn', 'lstm', 'gru'"):
        get_cell("x")
    with pytest.raises(ValueError, match="gate: the GRU has no gate 'f'; its gates are 'r', 'z', 'n'"):
        get_cell("gru").gate_slice("f", 4)


def test_options_a_cell_lacks_are_refused_with_the_cells_that_have_them():
    with pytest.raises(ValueError, match="nonlinearity: 'relu' applies to the vanilla RNN, the IndRNN and "
                                         "the orthogonal RNN only; the LSTM uses"):
        check_options("lstm", None, {"nonlinearity": "relu"})
    with pytest.raises(ValueError, match="nonlinearity: unknown value 'gelu'; expected one of 'tanh', 'relu'"):
        check_options("rnn", None, {"nonlinearity": "gelu"})
    with pytest.raises(ValueError, match="proj_size: only the LSTM has a projection, not the GRU"):
        check_options("gru", None, {"proj_size": 2})
    check_options("gru", None, {"layer_norm": True})


def test_the_numpy_engine_implements_exactly_the_cells_the_registry_gives_it():
    from rnnlab.numpy.cells import IMPLEMENTATIONS
    from rnnlab.numpy.fused_steps import COMPILED
    assert set(IMPLEMENTATIONS) == {name for name, cell in CELLS.items() if cell.implemented_by("numpy")}
    assert all(i.compiled is None or i.compiled in COMPILED for i in IMPLEMENTATIONS.values())


def test_the_registry_is_plain_data():
    """No engine named in it, nothing imported by it (numpy/ and torch/ read it, not the other way round)."""
    from pathlib import Path

    import rnnlab.cells
    source = Path(rnnlab.cells.__file__).read_text()
    assert "importlib" not in source and "import rnnlab" not in source and "from ." not in source


@pytest.mark.parametrize("cell", list(CELLS))
def test_parameter_declarations_give_the_shapes_every_engine_has(cell):
    spec = get_cell(cell)
    shapes = spec.param_shapes(3, 5, num_layers=2, num_directions=2)
    assert list(shapes) == [f"{p.stem}_l{k}{sfx}" for k in (0, 1) for sfx in ("", "_reverse")
                            for p in spec.params_with()]
    assert shapes == RecurrentNet(cell, 3, 5, 2, True).param_shapes()
    if spec.implemented_by("torch"):
        reference = TORCH_NN[cell](3, 5, 2, bidirectional=True)
        assert shapes == {k: tuple(v.shape) for k, v in reference.state_dict().items()}


def test_the_registry_and_the_numpy_engine_never_import_torch():
    code = "import sys, rnnlab.cells, rnnlab.numpy, rnnlab.classic; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("cell", list(TORCH_NN))
def test_every_engine_lays_its_weights_out_as_the_registry_says(cell):
    spec, H = get_cell(cell), 5
    reference = TORCH_NN[cell](3, H)
    assert reference.weight_ih_l0.shape == (spec.num_gates * H, 3)
    assert RecurrentNet(cell, 3, H).params["weight_hh_l0"].shape == (spec.num_gates * H, H)
    layer = OURS[cell](3, H).layers[0]
    assert layer.ih.weight.shape == (spec.num_gates * H, 3)
    assert (layer.hh.bias is not None) == spec.separate_hh_bias
    out = reference(torch.zeros(1, 2, 3))[1]
    assert len(out if isinstance(out, tuple) else (out,)) == len(spec.states)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_memory_gate_is_the_block_the_registry_names(cell):
    """Saturate the memory gate open (and the LSTM's input gate shut) through its slice of the
    bias: the memory (the LSTM's c, the GRU's h) stays as it was on every engine."""
    spec, H = get_cell(cell), 4
    net = RecurrentNet(cell, 3, H, dtype=np.float64, seed=0)
    net.params["bias_ih_l0"][spec.gate_slice(spec.memory_gate, H)] = 50.0
    if cell == "lstm":
        net.params["bias_ih_l0"][spec.gate_slice("i", H)] = -50.0
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 3))
    state0 = tuple(rng.uniform(-0.5, 0.5, (1, 2, H)) for _ in spec.states)   # h0 (and c0)
    memory = spec.states.index("c" if cell == "lstm" else "h")

    def last_memory(state):
        return np.asarray((state if isinstance(state, tuple) else (state,))[memory])

    np.testing.assert_allclose(last_memory(net.forward(x, *state0)[1]), state0[memory], atol=1e-12)
    weights = {k: torch.tensor(v) for k, v in net.state_dict().items()}
    ours = OURS[cell](3, H).double()
    load_torch_state_dict(ours, weights)
    reference = TORCH_NN[cell](3, H, batch_first=True).double()
    reference.load_state_dict(weights)
    hx = tuple(torch.tensor(s) for s in state0)
    for module in (ours, reference):
        with torch.no_grad():
            _, state = module(torch.tensor(x), hx if len(hx) > 1 else hx[0])
        np.testing.assert_allclose(last_memory(state), state0[memory], atol=1e-12)


def test_a_new_cell_is_a_registry_entry_and_a_table_line(monkeypatch):
    """A made-up dense cell (the IndRNN's definition under another name, NumPy engine only): with one
    CellDef and one line in the NumPy engine's table, the engine builds, runs and differentiates it, the
    closed form counts it, and the engines that lack it refuse it by name."""
    import dataclasses

    from rnnlab.gradcheck import check_model_gradients
    from rnnlab.inspect import closed_form
    from rnnlab.numpy import SequenceModel
    from rnnlab.numpy import cells as numpy_cells
    from rnnlab.spec import RecurrentSpec
    toy = dataclasses.replace(get_cell("indrnn"), name="toy", title="Toy", full_name="toy cell",
                              engines=("numpy",))
    monkeypatch.setitem(CELLS, "toy", toy)
    monkeypatch.setitem(numpy_cells.IMPLEMENTATIONS, "toy", numpy_cells.IMPLEMENTATIONS["indrnn"])
    model = SequenceModel("toy", 2, 3, 2, num_layers=2, bidirectional=True, nonlinearity="tanh",
                          readout="every", dtype=np.float64, seed=1)
    assert model.params["weight_hh_l1_reverse"].shape == (3,)
    rng = np.random.default_rng(0)
    errors = check_model_gradients(model, rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 2)))
    assert max(errors.values()) < 1e-6
    assert closed_form(RecurrentSpec("toy", 2, 3))[1] == 3 * 2 + 3 + 2 * 3
    with pytest.raises(ValueError, match=r"cell: rnnlab.torch \(engine 'scratch'\) has no toy cell; use engine "
                                         r"'numpy'"):
        check_options("toy", "scratch", {})
