"""Weight drop (--weight-drop, AWD-LSTM's DropConnect on W_hh): the NumPy engine's hand-written gradient checked
numerically, every engine equal to a copy of itself whose W_hh was masked by hand, evaluation untouched, the cells
without a full W_hh refused, and the flag from the command line and rnnlab.lab."""
import copy
import json

import numpy as np
import pytest
import torch

from rnnlab.cli import main
from rnnlab.engines.recurrent import build_recurrent
from rnnlab.gradcheck import eval_numerical_gradient_array
from rnnlab.numpy import SequenceModel
from rnnlab.numpy.losses import LOSSES
from rnnlab.numpy.split import splittable
from rnnlab.spec import ModelSpec
from rnnlab.torch.models import TaskModel, recurrent_matrices

W_HH = ["weight_hh_l0", "weight_hh_l0_reverse", "weight_hh_l1", "weight_hh_l1_reverse"]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_numpy_gradient_with_weight_drop_is_the_numerical_one(cell):
    """The same masks in every forward (the generator set back before each), so the loss is a function of the
    weights that central differences can read, every element of the matrices listed."""
    rng = np.random.default_rng(1)
    model = SequenceModel(cell, 3, 4, 3, num_layers=2, bidirectional=True, readout="every", dtype=np.float64,
                          seed=2, weight_drop=0.4, dropout=0.3)
    x, y = rng.normal(size=(3, 5, 3)), rng.integers(0, 3, size=(3, 5))
    start = model.rnn.rng.bit_generator.state

    def loss(_: object = None) -> float:
        model.rnn.rng.bit_generator.state = start
        return LOSSES["cross_entropy"](model.forward(x, train=True), y, None)[0]

    model.rnn.rng.bit_generator.state = start
    model.backward(LOSSES["cross_entropy"](model.forward(x, train=True), y, None)[1])
    assert all(0 < (keep == 0).mean() < 1 for keep in model.weight_keep.values())   # some weights were dropped
    for name in ["weight_hh_l0", "weight_hh_l1_reverse", "weight_ih_l1", "bias_hh_l0"]:
        analytic = model.grads[name].copy()
        numeric = eval_numerical_gradient_array(loss, model.params[name], h=1e-6)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_the_numpy_engine_steps_with_the_masked_matrices_and_evaluates_with_the_whole_ones():
    x = np.random.default_rng(0).normal(size=(2, 6, 3))
    model = SequenceModel("lstm", 3, 5, 4, num_layers=2, bidirectional=True, readout="every", dtype=np.float64,
                          weight_drop=0.3)
    masked = SequenceModel("lstm", 3, 5, 4, num_layers=2, bidirectional=True, readout="every", dtype=np.float64)
    before = model.state_dict()
    y = model.forward(x, train=True)
    keep = model.weight_keep
    assert sorted(keep) == sorted(W_HH)
    assert {float(v) for k in keep.values() for v in np.unique(k)} == {0.0, 1 / 0.7}
    masked.load_state_dict({name: w * keep[name] if name in keep else w for name, w in before.items()})
    np.testing.assert_allclose(y, masked.forward(x, train=True), atol=1e-13)
    dy = np.random.default_rng(1).normal(size=y.shape)
    model.backward(dy)
    masked.backward(dy)
    for name, g in model.grads.items():          # dL/dW_hh = dL/dW' m / (1 - p), the others as they are
        np.testing.assert_allclose(g, masked.grads[name] * keep.get(name, 1.0), atol=1e-13, err_msg=name)
    assert model.rnn.dropped == {}               # the net is back on its own weights after the backward pass
    for name, w in model.state_dict().items():   # and those were never overwritten
        np.testing.assert_array_equal(w, before[name], err_msg=name)
    plain = SequenceModel("lstm", 3, 5, 4, num_layers=2, bidirectional=True, readout="every", dtype=np.float64)
    plain.load_state_dict(before)
    np.testing.assert_array_equal(model.forward(x), plain.forward(x))    # evaluation reads every weight
    assert model.weight_keep == {} and not splittable(model)   # and the batch split leaves weight drop alone


@pytest.mark.parametrize("engine,cell", [("scratch", "lstm"), ("scratch", "gru"), ("scratch", "rnn"),
                                         ("torch", "lstm"), ("torch", "gru")])
def test_the_torch_engines_step_with_the_masked_matrices(engine, cell):
    spec = ModelSpec.build(cell, 3, 4, hidden_size=5, num_layers=2, bidirectional=True, readout="every")
    model = TaskModel(build_recurrent(spec.recurrent, engine, dtype=torch.float64), 4, readout="every",
                      weight_drop=0.3).double()
    masked, plain = copy.deepcopy(model), copy.deepcopy(model)
    masked.weight_drop = plain.weight_drop = 0.0
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    y = model(x)
    keep = model.weight_keep
    assert len(keep) == 4 and sorted(keep) == sorted(recurrent_matrices(model.recurrent))
    with torch.no_grad():
        for name, w in masked.recurrent.named_parameters():
            w.mul_(keep.get(name, 1.0))
    y_masked = masked(x)
    torch.testing.assert_close(y, y_masked, rtol=0, atol=1e-13)
    dy = torch.randn_like(y)
    y.backward(dy)
    y_masked.backward(dy)
    ours, theirs = dict(model.recurrent.named_parameters()), dict(masked.recurrent.named_parameters())
    for name, w in ours.items():
        torch.testing.assert_close(w.grad, theirs[name].grad * keep.get(name, 1.0), rtol=0, atol=1e-13)
    model.eval()
    plain.eval()
    torch.testing.assert_close(model(x), plain(x), rtol=0, atol=0)     # evaluation reads every weight
    assert model.weight_keep == {}


@pytest.mark.parametrize("cell", ["indrnn", "orthogonal", "mingru", "lru"])
def test_cells_without_a_full_recurrent_matrix_are_refused(cell):
    with pytest.raises(ValueError, match="weight_drop: it drops connections of the recurrent matrix W_hh, and the "
                                         ".* has no full W_hh; use it with the vanilla RNN, the LSTM and the GRU"):
        ModelSpec.build(cell, 3, 4, weight_drop=0.2)
    if cell in ("indrnn", "orthogonal"):
        with pytest.raises(ValueError, match="has no full W_hh"):
            SequenceModel(cell, 3, 4, 2, weight_drop=0.2)
    spec = ModelSpec.build(cell, 3, 4)
    with pytest.raises(ValueError, match="has none"):
        TaskModel(build_recurrent(spec.recurrent, "scratch"), 4, weight_drop=0.2)


def test_the_flag_reaches_the_run_and_bad_values_are_refused(tmp_path, capsys):
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat. " * 200, encoding="utf-8")
    flags = ["train", "--task", "text", "--opt", f"path={corpus}", "--opt", "bptt=16", "--hidden-size", "8",
             "--epochs", "1", "--batch-size", "4", "--runs-dir", str(tmp_path), "--quiet", "--engine", "numpy"]
    assert main(flags + ["--weight-drop", "0.25", "--name", "wd"]) == 0     # carried state (truncated BPTT) too
    config = json.loads((tmp_path / "wd" / "config.json").read_text())["config"]["model"]
    assert config["weight_drop"] == 0.25
    capsys.readouterr()
    assert main(flags + ["--weight-drop", "1", "--name", "bad"]) == 2
    assert "weight_drop: expected a probability in [0, 1), got 1.0" in capsys.readouterr().err
    assert main(flags + ["--weight-drop", "0.2", "--cell", "indrnn", "--name", "bad"]) == 2
    assert "the IndRNN has no full W_hh" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("engine", ["numpy", "scratch", "torch"])
def test_rnnlab_lab_trains_with_weight_drop(engine):
    from rnnlab import lab
    result = lab.train("lstm", task="copy", task_options={"n_train": 64, "n_val": 16, "n_test": 16, "delay": 3},
                       hidden_size=8, epochs=2, engine=engine, echo=False, weight_drop=0.3)
    assert result.config.model.weight_drop == 0.3
    assert result.model.model.weight_drop == 0.3          # the engine's model holds it, not just the settings
    assert np.isfinite(result.test_loss) and len(result.history.epochs) == 2
