"""Weight decay (--weight-decay): the same decayed weights on the three engines, from the command line too."""
import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.config import TrainConfig
from rnnlab.engines import build_trainable
from rnnlab.tasks import get_task


def _trained(engine: str, start: dict, weight_decay: float, optimizer: str) -> dict:
    task = get_task("adding")
    spec = TrainConfig.from_flat({"task": "adding", "cell": "lstm", "hidden_size": 6, "engine": engine}
                                 ).model.for_task(task)
    model = build_trainable(spec, engine, optimizer, lr=0.05, seed=1, weight_decay=weight_decay)
    model.load_weights(start)
    data = task.load(seed=0, n_train=32, n_val=8, n_test=8, length=5)
    for i in range(3):
        model.train_batch(data.train.x[i * 8:(i + 1) * 8], data.train.y[i * 8:(i + 1) * 8], None, "mse", lr=0.05)
    return model.weights()


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_engines_decay_alike(optimizer):
    """The NumPy engine and torch.nn (the same parameters) end equal; rnnlab.torch keeps one bias per gate
    where they keep two (b_ih + b_hh: another path under Adam), so its matrices are checked to shrink."""
    task = get_task("adding")
    spec = TrainConfig.from_flat({"task": "adding", "cell": "lstm", "hidden_size": 6}).model.for_task(task)
    start = build_trainable(spec, "numpy", seed=3).weights()
    decayed = {engine: _trained(engine, start, 0.5, optimizer) for engine in ("numpy", "scratch", "torch")}
    plain = {engine: _trained(engine, start, 0.0, optimizer) for engine in ("numpy", "scratch")}
    for name, value in decayed["numpy"].items():
        np.testing.assert_allclose(decayed["torch"][name], value, atol=1e-6, err_msg=name)
    for engine in ("numpy", "scratch"):
        for name in ("weight_ih_l0", "weight_hh_l0", "head.weight"):
            assert np.abs(decayed[engine][name]).sum() < np.abs(plain[engine][name]).sum(), (engine, name)


def test_the_flag_reaches_the_run_and_bad_values_are_refused(tmp_path, capsys):
    flags = ["train", "--task", "adding", "--opt", "n_train=64", "--opt", "n_val=8", "--opt", "n_test=8",
             "--opt", "length=5", "--hidden-size", "4", "--epochs", "1", "--runs-dir", str(tmp_path), "--quiet"]
    assert main(flags + ["--weight-decay", "0.1", "--name", "wd"]) == 0
    import json
    assert json.loads((tmp_path / "wd" / "config.json").read_text())["config"]["optim"]["weight_decay"] == 0.1
    assert main(flags + ["--weight-decay", "-1", "--name", "bad"]) == 2
    assert "weight_decay: expected a non-negative number, got -1.0" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
