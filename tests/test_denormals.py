"""Denormal flushing: in effect inside training and evaluation, in every thread that computes, and
restored afterwards (observed, not assumed: a product whose result is a denormal gives 0.0 only
while flushing)."""
import numpy as np
import pytest
import torch

from rnnlab.config import OptimConfig, TrainConfig
from rnnlab.denormals import flush_denormals, flushing
from rnnlab.engines import ModelSpec, build_trainable
from rnnlab.tasks import Split, TaskData
from rnnlab.trainer import Callback, Trainer, evaluate_split

TINY = 1e-30 * 1e-10     # 1e-40: a float32 denormal (the smallest normal float32 is about 1.18e-38)


def torch_denormals() -> int:
    """How many elements of a large product (split over torch's intra-op threads) stay denormal."""
    x = torch.full((1 << 20,), 1e-30, dtype=torch.float32)
    return int(((x * 1e-10) != 0).sum())


def openblas_denormals() -> int:
    """How many entries of a NumPy matrix product (OpenBLAS threads) come out denormal: 256 * 1e-41."""
    a = np.full((256, 256), 1e-20, np.float32)
    return int(np.count_nonzero(a @ np.full((256, 256), 1e-21, np.float32)))


@pytest.fixture
def two_torch_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_denormals_become_zero_inside_and_come_back_outside():
    assert not flushing()
    assert np.float32(1e-30) * np.float32(1e-10) != 0          # a denormal, computed as such
    with flush_denormals() as on:
        assert on and flushing()
        assert np.float32(1e-30) * np.float32(1e-10) == 0       # flush-to-zero
        assert np.array([TINY], np.float32) * np.float32(1e10) == 0   # denormals-are-zero: read as 0
        assert np.float64(1e-300) * np.float64(1e-10) == 0      # float64: below about 2.2e-308
        assert np.float32(1.2e-38) * np.float32(1) != 0         # normal numbers are untouched
    assert not flushing()
    assert np.array([TINY], np.float32) * np.float32(1e10) != 0


def test_it_reaches_torch_and_openblas_worker_threads(two_torch_threads):
    assert torch_denormals() > 0 and openblas_denormals() > 0
    with flush_denormals():
        assert torch_denormals() == 0        # every intra-op thread flushes, not only the caller
        assert openblas_denormals() == 0     # OpenBLAS hands the caller's setting to its threads
    assert torch_denormals() == 1 << 20 and openblas_denormals() == 256 * 256


def test_keep_denormals_changes_nothing_and_nesting_keeps_the_outer_setting():
    with flush_denormals(False) as on:
        assert not on and not flushing()
    with flush_denormals():
        with flush_denormals():
            assert flushing()
        assert flushing()                    # the inner block does not switch the outer one off
    assert not flushing()


class _Observer(Callback):
    def __init__(self):
        self.seen = []

    def on_batch(self, trainer, state, loss):
        self.seen.append(flushing())


def _data(rng):
    x = rng.standard_normal((24, 5, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(1) > 0).astype(np.int64)
    return TaskData(train=Split(x[:16], y[:16]), val=None, test=Split(x[16:], y[16:]), info={})


@pytest.mark.parametrize("engine", ["numpy", "torch"])
@pytest.mark.parametrize("flush", [True, False])
def test_training_and_evaluation_flush_unless_told_not_to(engine, flush):
    data = _data(np.random.default_rng(0))
    spec = ModelSpec.build("lstm", 3, 2, hidden_size=4)
    model = build_trainable(spec, engine, "adam", 1e-2, 0)
    observer = _Observer()
    trainer = Trainer(model, data, OptimConfig(batch_size=8, epochs=1), "cross_entropy", "accuracy", 0,
                      callbacks=(observer,), flush_denormals=flush)
    trainer.fit()
    assert observer.seen == [flush, flush]
    assert not flushing()

    class Probe:      # evaluation runs the model inside the same scope
        def predict(self, x):
            self.seen = flushing()
            return np.zeros((len(x), 2), np.float32)
    probe = Probe()
    evaluate_split(probe, data.test, "cross_entropy", "accuracy", 8, flush)
    assert probe.seen == flush and not flushing()


def test_the_setting_is_a_run_setting_on_by_default():
    assert TrainConfig().run.flush_denormals is True
    assert TrainConfig.from_flat({"flush_denormals": False}).run.flush_denormals is False
    with pytest.raises(ValueError, match="flush_denormals: expected true or false, got 'no'"):
        TrainConfig.from_flat({"flush_denormals": "no"})


def test_keep_denormals_flag_sets_the_run_setting():
    import argparse

    from rnnlab.cli.options import add_settings_flags, settings_from
    parser = argparse.ArgumentParser()
    add_settings_flags(parser)
    assert settings_from(parser.parse_args([])).config().run.flush_denormals is True
    assert settings_from(parser.parse_args(["--keep-denormals"])).config().run.flush_denormals is False
