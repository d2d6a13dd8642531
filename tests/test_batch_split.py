"""The NumPy engine's batch split across threads (rnnlab.numpy.split): the parts' logits and summed gradients equal
one pass over the whole batch, training with two threads uses it and ends where one thread does, and short
passes, small batches and models that draw random numbers, mix rows or carry state run as one pass."""
import numpy as np
import pytest

from rnnlab.engines import build_trainable
from rnnlab.numpy.losses import LOSSES
from rnnlab.numpy.model import SequenceModel
from rnnlab.numpy.split import BatchSplit, splittable, twin
from rnnlab.spec import ModelSpec, RecurrentSpec
from rnnlab.threads import current_threads, use_threads


def one_pass_and_parts(model: SequenceModel, x: np.ndarray, y: np.ndarray, parts: int, mask=None):
    """(logits, loss, grads) of one pass and of ``parts`` parts, from the same weights."""
    out = model.forward(x, train=True)
    value, dy = LOSSES["cross_entropy"](out, y, mask)
    model.backward(dy)
    whole = {k: g.copy() for k, g in model.grads.items()}
    split = BatchSplit(model)
    split_out = split.forward(x, parts)
    split_value, split_dy = LOSSES["cross_entropy"](split_out, y, mask)
    split.backward(split_dy)
    return (out, value, whole), (split_out, split_value, model.grads)


@pytest.mark.parametrize("cell, layers, bidirectional, layer_norm, parts", [
    ("lstm", 2, False, True, 2), ("lstm", 1, True, False, 3), ("gru", 2, True, True, 2), ("rnn", 1, False, False, 4),
    ("indrnn", 2, False, False, 2)])
def test_parts_give_the_logits_and_gradients_of_one_pass(cell, layers, bidirectional, layer_norm, parts):
    rng = np.random.default_rng(1)
    model = SequenceModel(cell, 3, 8, 5, num_layers=layers, bidirectional=bidirectional, layer_norm=layer_norm,
                          dtype=np.float64, seed=2)
    x, y = rng.normal(size=(37, 11, 3)), rng.integers(0, 5, 37)
    (out, value, grads), (split_out, split_value, split_grads) = one_pass_and_parts(model, x, y, parts)
    np.testing.assert_allclose(split_out, out, rtol=0, atol=1e-13)
    assert split_value == pytest.approx(value, abs=1e-13)
    assert set(split_grads) == set(grads)
    for name, g in grads.items():
        np.testing.assert_allclose(split_grads[name], g, rtol=0, atol=1e-12, err_msg=name)


def test_parts_of_a_model_that_reads_out_every_step_with_padding_masked():
    rng = np.random.default_rng(3)
    model = SequenceModel("lstm", 4, 6, 4, readout="every", dtype=np.float64, seed=0)
    x, y = rng.normal(size=(32, 9, 4)), rng.integers(0, 4, (32, 9))
    mask = rng.random((32, 9)) > 0.3
    (out, value, grads), (split_out, split_value, split_grads) = one_pass_and_parts(model, x, y, 2, mask)
    np.testing.assert_allclose(split_out, out, rtol=0, atol=1e-13)
    assert split_value == pytest.approx(value, abs=1e-13)
    for name, g in grads.items():
        np.testing.assert_allclose(split_grads[name], g, rtol=0, atol=1e-12, err_msg=name)


def trainable(**recurrent):
    spec = ModelSpec(RecurrentSpec("lstm", 2, 16, **recurrent), output_size=3)
    return build_trainable(spec, "numpy", lr=1e-2, clip_norm=1.0)


def test_training_with_two_threads_splits_the_batch_and_ends_where_one_thread_does():
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(64, 200, 2)).astype(np.float32), rng.integers(0, 3, 64)) for _ in range(5)]
    ends = {}
    for threads in (1, 2):
        model = trainable(layer_norm=True)
        with use_threads(threads):
            assert current_threads() == threads
            for x, y in batches:
                model.train_batch(x, y, None, "cross_entropy", 1e-2)
                assert len(model.split._models) == (2 if threads == 2 else 0)
            logits = model.predict(batches[0][0])     # evaluation: one pass
        ends[threads] = (model.weights(), logits)
    for name, w in ends[1][0].items():
        np.testing.assert_allclose(ends[2][0][name], w, rtol=0, atol=2e-5, err_msg=name)
    np.testing.assert_allclose(ends[2][1], ends[1][1], rtol=0, atol=2e-5)


def test_what_draws_random_numbers_mixes_rows_or_carries_state_runs_as_one_pass():
    assert current_threads() == 1                         # outside every scope
    split = BatchSplit(trainable().model)
    assert split.parts(64, 784, 2) == 2 and split.parts(64, 784, 3) == 3
    assert split.parts(20, 784, 2) == 1      # parts of fewer than 16 rows do not pay
    assert split.parts(64, 28, 2) == 1       # nor passes of fewer than 200 steps (MNIST rows)
    assert split.parts(64, 784, 1) == 1
    for settings in ({"dropout": 0.3, "num_layers": 2},):
        assert not splittable(trainable(**settings).model)
    spec = ModelSpec(RecurrentSpec("lstm", 2, 16), output_size=3, output_dropout=0.5)
    assert not splittable(build_trainable(spec, "numpy").model)
    spec = ModelSpec(RecurrentSpec("lstm", 2, 16), output_size=3, activation_reg=2.0)
    assert not splittable(build_trainable(spec, "numpy").model)
    linear = SequenceModel("mingru", 2, 8, 3, num_layers=2)
    assert not splittable(linear)
    with pytest.raises(ValueError, match="does not split its batch"):
        twin(linear)
    model = trainable()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 200, 2)).astype(np.float32), rng.integers(0, 3, 64)
    with use_threads(2):
        model.train_batch(x, y, None, "cross_entropy", 1e-2, state={})     # truncated BPTT: one pass, state kept
    assert model.split._models == [] and model.model.final_state["h"].shape == (1, 64, 16)
