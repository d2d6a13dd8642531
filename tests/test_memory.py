"""The memory estimate (rnnlab.memory): what BPTT keeps per step for each kind of cell, and evaluation read
in batches that fit the free memory."""
import numpy as np

from rnnlab import memory, plan, trainer
from rnnlab.cells import get_cell

ADDING = {"task": "adding", "task_options": {"length": 1000, "n_train": 64, "n_val": 8, "n_test": 8},
          "hidden_size": 128, "batch_size": 64, "engine": "numpy"}


def test_linear_recurrences_are_counted_with_what_they_keep_per_step():
    assert memory.step_numbers(get_cell("lstm")) == 7 and memory.step_numbers(get_cell("gru")) == 6   # G + 3
    activations = {cell: memory.estimate(p.config, p.task)["activations"]
                   for cell in ("lstm", "mingru", "minlstm", "lru") for p in [plan.resolve({**ADDING, "cell": cell})]}
    # measured 6.0 H, 11.9 H, 14.8 H and 18.5 H per step at this size (see rnnlab.memory): the estimate errs high
    for cell, measured in (("lstm", 6.0), ("mingru", 11.9), ("minlstm", 14.8), ("lru", 18.5)):
        assert measured * 128 * 1000 * 64 * 4 < activations[cell] < 1.3 * measured * 128 * 1000 * 64 * 4 + 2e8
    assert activations["lru"] == activations["lstm"] / 7 * 20          # not (G + 3) H = 5 H, as it was


def test_evaluation_reads_fewer_sequences_where_a_pass_would_not_fit():
    spec = plan.resolve({**ADDING, "cell": "lru", "num_layers": 2}).spec
    per_sequence = 4 * 1000 * 2 * 20 * 128                               # bytes, float32, two layers
    assert memory.evaluation_batch(spec, 1000, 1000, limit=4 * 100 * per_sequence) == 100
    assert memory.evaluation_batch(spec, 1000, 50, limit=4 * 100 * per_sequence) == 50
    assert memory.evaluation_batch(spec, 1000, 1000, limit=1) == 1          # always at least one
    assert memory.evaluation_batch(spec, 1000, 1000, itemsize=8, limit=4 * 100 * per_sequence) == 50


def test_predict_all_reads_in_the_batches_that_fit(monkeypatch):
    p = plan.resolve({**ADDING, "cell": "mingru", "task_options": {**ADDING["task_options"], "length": 20}})
    from rnnlab.train import build_model
    model = build_model(p)
    x = np.random.default_rng(0).random((30, 20, 2), dtype=np.float32)
    whole = trainer.predict_all(model, x, 1000)
    per_sequence = 4 * 20 * 1 * 13 * 128
    monkeypatch.setattr(memory, "available_bytes", lambda: 4 * 7 * per_sequence)
    sizes = []
    predict = model.predict
    monkeypatch.setattr(model, "predict", lambda xs: sizes.append(len(xs)) or predict(xs))
    np.testing.assert_allclose(trainer.predict_all(model, x, 1000), whole, rtol=1e-5, atol=1e-6)
    assert sizes == [7, 7, 7, 7, 2]
