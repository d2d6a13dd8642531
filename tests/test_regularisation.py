"""Output dropout, AR and TAR (--output-dropout, --ar, --tar): the NumPy engine's hand-written gradient checked
numerically, the three engines equal, the reported loss the task's alone, and the flags from the command line."""
import json

import numpy as np
import pytest
import torch

from rnnlab.cli import main
from rnnlab.config import TrainConfig
from rnnlab.engines import build_trainable
from rnnlab.gradcheck import eval_numerical_gradient_array
from rnnlab.numpy import SequenceModel
from rnnlab.numpy.losses import LOSSES
from rnnlab.tasks import get_task


def _numeric_check(model: SequenceModel, x: np.ndarray, y: np.ndarray, loss: str, names: list[str]) -> None:
    """Every listed parameter's gradient of the task's loss plus R equals central differences (float64,
    :func:`rnnlab.gradcheck.eval_numerical_gradient_array`, every element); the dropout mask is the same in every
    forward (the generator is set back before each)."""
    start = model.rnn.rng.bit_generator.state

    def total(_: object = None) -> float:
        model.rnn.rng.bit_generator.state = start
        value, _ = LOSSES[loss](model.forward(x, train=True), y, None)
        return value + model.regularisation

    model.rnn.rng.bit_generator.state = start
    _, dy = LOSSES[loss](model.forward(x, train=True), y, None)
    assert model.regularisation > 0
    model.backward(dy)
    analytic = {name: model.grads[name].copy() for name in names}
    for name in names:
        numeric = eval_numerical_gradient_array(total, model.params[name], h=1e-6)
        np.testing.assert_allclose(analytic[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("readout,bidirectional,dropout", [("every", False, 0.0), ("every", True, 0.5),
                                                           ("last", False, 0.5), ("last", True, 0.0)])
def test_the_numpy_gradient_of_ar_tar_and_output_dropout_is_the_numerical_one(readout, bidirectional, dropout):
    rng = np.random.default_rng(1)
    model = SequenceModel("lstm", 3, 5, 4, num_layers=2, bidirectional=bidirectional, readout=readout,
                          dtype=np.float64, seed=2, output_dropout=dropout, activation_reg=2.0, temporal_reg=1.0)
    x = rng.normal(size=(3, 6, 3))
    y = rng.integers(0, 4, size=(3, 6) if readout == "every" else (3,))
    _numeric_check(model, x, y, "cross_entropy", ["weight_ih_l0", "weight_hh_l1", "bias_hh_l1", "head.weight"])


def test_the_regularisers_follow_their_formulas():
    model = SequenceModel("gru", 2, 3, 2, readout="every", dtype=np.float64, activation_reg=2.0, temporal_reg=1.0)
    x = np.random.default_rng(0).normal(size=(4, 5, 2))
    model.forward(x, train=True)
    o = model.rnn.forward(x)[0]                       # (N, T, H): the top layer's outputs
    expected = 2.0 * np.mean(o ** 2) + 1.0 * np.mean((o[:, 1:] - o[:, :-1]) ** 2)
    assert model.regularisation == pytest.approx(expected, rel=1e-12)
    model.forward(x, train=False)
    assert model.regularisation == 0.0                # evaluation adds nothing


def _trained(engine: str, start: dict, task_name: str, options: dict, settings: dict) -> dict:
    task = get_task(task_name)
    spec = TrainConfig.from_flat({"task": task_name, "cell": "lstm", "hidden_size": 6, "num_layers": 2,
                                  **settings}).model.for_task(task)
    model = build_trainable(spec, engine, "adam", lr=0.05, seed=1)
    model.load_weights(start)
    data = task.load(seed=0, n_train=24, n_val=8, n_test=8, **options)
    losses = []
    for i in range(3):
        x, y = data.train.x[i * 8:(i + 1) * 8], data.train.y[i * 8:(i + 1) * 8]
        value, out = model.train_batch(x, y, None, task.loss, lr=0.05)[:2]
        expected = float(torch.nn.functional.cross_entropy(torch.as_tensor(out).reshape(-1, out.shape[-1]),
                                                           torch.as_tensor(y).reshape(-1).long())) \
            if task.loss == "cross_entropy" else float(np.mean((out - y) ** 2))
        losses.append((value, expected))
    for value, expected in losses:        # the reported loss is the task's alone, without AR and TAR
        assert value == pytest.approx(expected, rel=1e-5)
    return model.weights()


@pytest.mark.parametrize("task_name,options", [("copy", {"delay": 4}), ("adding", {"length": 5})])
def test_the_three_engines_train_alike_with_ar_and_tar(task_name, options):
    """The NumPy engine and torch.nn (the same parameters) end equal after three steps; rnnlab.torch keeps one
    bias per gate where they keep two, so its weights are checked to move away from the unregularised ones."""
    task = get_task(task_name)
    settings = {"activation_reg": 2.0, "temporal_reg": 1.0}
    spec = TrainConfig.from_flat({"task": task_name, "cell": "lstm", "hidden_size": 6, "num_layers": 2}
                                 ).model.for_task(task)
    start = build_trainable(spec, "numpy", seed=3).weights()
    trained = {engine: _trained(engine, start, task_name, options, settings) for engine in ("numpy", "scratch",
                                                                                         "torch")}
    for name, value in trained["numpy"].items():
        np.testing.assert_allclose(trained["torch"][name], value, atol=2e-6, err_msg=name)
    plain = _trained("scratch", start, task_name, options, {})
    assert not np.allclose(plain["weight_hh_l1"], trained["scratch"]["weight_hh_l1"], atol=1e-4)


@pytest.mark.parametrize("engine", ["numpy", "scratch", "torch"])
def test_output_dropout_acts_while_training_only(engine):
    task = get_task("copy")
    spec = TrainConfig.from_flat({"task": "copy", "cell": "gru", "hidden_size": 16, "output_dropout": 0.5}
                                 ).model.for_task(task)
    model = build_trainable(spec, engine, seed=0)
    x = task.load(seed=0, n_train=8, n_val=8, n_test=8, delay=3).train.x
    first, again = model.predict(x), model.predict(x)
    np.testing.assert_array_equal(first, again)
    trained_out = model.train_batch(x, np.zeros(x.shape[:2], np.int64), None, "cross_entropy", lr=0.0)[1]
    assert not np.allclose(trained_out, first, atol=1e-4)      # the head read a dropped-out copy


def test_the_flags_reach_the_run_and_bad_values_are_refused(tmp_path, capsys):
    flags = ["train", "--task", "copy", "--opt", "n_train=64", "--opt", "n_val=8", "--opt", "n_test=8",
             "--opt", "delay=3", "--hidden-size", "4", "--epochs", "1", "--runs-dir", str(tmp_path), "--quiet",
             "--engine", "numpy"]
    assert main(flags + ["--output-dropout", "0.5", "--ar", "2", "--tar", "1", "--name", "reg"]) == 0
    model = json.loads((tmp_path / "reg" / "config.json").read_text())["config"]["model"]
    assert (model["output_dropout"], model["activation_reg"], model["temporal_reg"]) == (0.5, 2.0, 1.0)
    assert main(flags + ["--ar", "-1", "--name", "bad"]) == 2
    assert "activation_reg: expected a finite number >= 0 (0: none), got -1.0" in capsys.readouterr().err
    assert main(flags + ["--output-dropout", "1", "--name", "bad"]) == 2
    assert "output_dropout: expected a probability in [0, 1), got 1.0" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_rnnlab_lab_trains_with_them(engine):
    from rnnlab import lab
    settings = {"output_dropout": 0.5, "activation_reg": 2.0, "temporal_reg": 1.0, "weight_drop": 0.0}
    result = lab.train("gru", task="copy", task_options={"n_train": 64, "n_val": 16, "n_test": 16, "delay": 3},
                       hidden_size=8, epochs=2, engine=engine, echo=False, **settings)
    assert result.config.model.regularisation() == settings
    assert result.model.model.output_dropout == 0.5     # the engine's model holds them, not just the settings
    assert np.isfinite(result.test_loss) and len(result.history.epochs) == 2
