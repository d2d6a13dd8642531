"""Batch streams: the shuffled default unchanged, contiguous windows, carried state on every engine,
a gradient check of a window with a carried state, and runs that resume with the same state."""
import json

import numpy as np
import pytest

from rnnlab.config import OptimConfig, TrainConfig
from rnnlab.engines import build_trainable
from rnnlab.rundir import RunDir
from rnnlab.streams import Contiguous, Shuffled
from rnnlab.tasks import TASKS, Split, Task, TaskData, get_task
from rnnlab.trainer import Callback, History, LoopState, StopFlag, Trainer, TrainingInterrupted

ENGINES = ("numpy", "scratch", "torch")


# ------------------------------------------------------------------------------------- a stateful task
def delayed_bits(steps: int, seed: int, delay: int = 2) -> Split:
    """One long sequence of random bits; the target at step t is the bit of step t - delay (none before)."""
    bits = np.random.default_rng(seed).integers(0, 2, steps).astype(np.float32)
    y = np.zeros_like(bits)
    y[delay:] = bits[:-delay]
    mask = np.arange(steps) >= delay
    return Split(bits.reshape(1, steps, 1), y.reshape(1, steps, 1), mask.reshape(1, steps))


def _build(opts: dict, seed: int, data_dir, download) -> TaskData:
    parts = [delayed_bits(opts[key], seed + i) for i, key in enumerate(("n_train", "n_val", "n_test"))]
    return TaskData(*parts)


# windows of 4 steps: the first two targets of a window are bits of the window before (the carried state
# holds them); the last two are within the window, so truncated BPTT can learn to keep a bit two steps
DELAY = Task("delay-stream", "bits delayed by two steps, read as one contiguous stream", 1, 1, "bce", "bit_accuracy",
             "every", {"length": 4, "n_train": 1200, "n_val": 200, "n_test": 400}, _build, lambda o: 0.5,
             "50 % bit accuracy", stream_of=lambda o: Contiguous(window=o["length"]))


def _model(engine: str, cell: str = "gru", hidden: int = 8, lr: float = 0.02, **settings):
    cfg = TrainConfig.from_flat({"task": "xor", "cell": cell, "hidden_size": hidden, **settings})
    return build_trainable(cfg.model.for_task(DELAY), engine, lr=lr, seed=3)


class Reset(Contiguous):
    """The same windows with every row starting afresh at every batch: no state reaches the next window."""

    def epoch(self, split, batch_size, seed, epoch):
        fresh = np.ones(batch_size, bool)
        return [type(w)(w.rows, w.steps, fresh) for w in super().epoch(split, batch_size, seed, epoch)]


# ------------------------------------------------------------------------------------- the shuffled default
def test_shuffled_is_the_permutation_drawn_from_seed_and_epoch():
    split = Split(np.arange(70, dtype=np.float32).reshape(70, 1, 1), np.arange(70))
    for epoch in range(3):
        order = np.random.default_rng([5, epoch]).permutation(70)      # what the trainer drew before streams
        plan = Shuffled().epoch(split, 32, 5, epoch)
        assert len(plan) == Shuffled().batches_per_epoch(split, 32) == 3
        for b, batch in enumerate(plan):
            assert batch.fresh is None and np.array_equal(batch.index, order[b * 32:(b + 1) * 32])
            assert np.array_equal(batch.take().y, order[b * 32:(b + 1) * 32])
            assert np.array_equal(batch.take(1, 2).y, order[b * 32:(b + 1) * 32][1::2])   # a worker's share
    assert not Shuffled.carries_state and isinstance(get_task("xor").load(n_train=8, n_val=4, n_test=4).stream,
                                                     Shuffled)


def test_the_trainer_feeds_the_same_batches_as_before(monkeypatch):
    data = get_task("xor").load(seed=0, n_train=70, n_val=8, n_test=8, length=4)
    model = build_trainable(TrainConfig.from_flat({"task": "xor", "hidden_size": 3}).model.for_task(get_task("xor")),
                            "numpy")
    seen, real = [], model.train_batch

    def record(x, y, mask, *args, **kwargs):
        assert "state" not in kwargs                                    # no state goes in
        seen.append(x)
        return real(x, y, mask, *args, **kwargs)
    monkeypatch.setattr(model, "train_batch", record)
    Trainer(model, data, OptimConfig(epochs=2, batch_size=32), "bce", "bit_accuracy", seed=7).fit()
    expected = [data.train.x[np.random.default_rng([7, e]).permutation(70)[b * 32:(b + 1) * 32]]
                for e in range(2) for b in range(3)]
    assert len(seen) == 6 and all(np.array_equal(a, b) for a, b in zip(seen, expected))


# ------------------------------------------------------------------------------------- contiguous windows
def _positions(steps: int = 100, samples: int = 1) -> Split:
    """A split whose x and y at every step hold the step's position in the long sequence."""
    where = np.arange(samples * steps, dtype=np.float32).reshape(samples, steps)
    return Split(where[..., None], where[..., None].copy(), np.ones((samples, steps), bool))


@pytest.mark.parametrize("samples", [1, 4])
def test_each_row_reads_its_own_contiguous_windows(samples):
    split, stream = _positions(100 // samples, samples), Contiguous(window=6)
    offsets = set()
    for epoch in range(6):
        plan = stream.epoch(split, 4, seed=1, epoch=epoch)
        assert len(plan) == stream.batches_per_epoch(split, 4) == (100 - 5) // 4 // 6     # the same every epoch
        rows = np.concatenate([batch.take().x[..., 0] for batch in plan], axis=1)           # (4, K * 6)
        assert np.all(np.diff(rows, axis=1) == 1)                          # each row: one contiguous run of steps
        assert np.all(rows[1:, 0] == rows[:-1, -1] + 1)                    # rows one after another
        assert np.array_equal(plan[0].take().y, plan[0].take().x)          # y and mask cut the same way
        assert plan[0].fresh.all() and all(batch.fresh is None for batch in plan[1:])
        offsets.add(int(rows[0, 0]))
        again = Contiguous(window=6).epoch(split, 4, seed=1, epoch=epoch)
        assert all(np.array_equal(a.take().x, b.take().x) for a, b in zip(plan, again))    # from the seed alone
        assert rows[0, 0] >= 0 and rows[-1, -1] < 100
    assert len(offsets) > 2                                                # the offsets change from epoch to epoch
    assert Contiguous(window=6, shift=False).epoch(split, 4, 1, 3)[0].take().x[0, 0, 0] == 0
    other = Contiguous(window=6).epoch(split, 4, seed=2, epoch=0)[0].take().x
    assert any(not np.array_equal(other, Contiguous(window=6).epoch(split, 4, seed=s, epoch=0)[0].take().x)
               for s in (1, 3, 4))


def test_contiguous_streams_refuse_what_they_cannot_read():
    with pytest.raises(ValueError, match=r"needs at least 39 steps; the split has 20. Use a smaller batch size"):
        Contiguous(window=8).batches_per_epoch(_positions(20), 4)
    with pytest.raises(ValueError, match=r"needs per-step data: x \(S, L, ...\), y \(S, L, ...\).*got x \(5, 3, 1\), "
                                         r"y \(5,\).*readout 'every'"):
        Contiguous(window=2).batches_per_epoch(Split(np.zeros((5, 3, 1)), np.zeros(5)), 2)
    with pytest.raises(ValueError, match=r"window: expected a positive whole number.*got 0"):
        Contiguous(window=0)


def test_evaluation_reads_every_step_once():
    split, stream = _positions(103), Contiguous(window=4)
    rows, windows = stream.evaluation(split, 5)
    assert rows.x.shape == (5, 21, 1) and [w.stop - w.start for w in windows] == [4, 4, 4, 4, 4, 1]
    assert rows.mask.sum() == 103 and not rows.mask[-1, -2:].any()             # the last row's two padded steps
    assert np.array_equal(rows.x[..., 0][rows.mask], np.arange(103))
    assert np.array_equal(stream.uncut(rows.x, split), split.x)


# ------------------------------------------------------------------------------------- carried state, every engine
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_windows_with_carried_state_equal_one_long_forward(engine, cell):
    model = _model(engine, cell, num_layers=2)
    x = np.random.default_rng(0).normal(size=(3, 12, 1)).astype(np.float32)
    whole = model.predict(x)
    outputs, state = [], {}
    for start in range(0, 12, 5):                              # windows of 5, 5 and 2 steps
        out, state = model.predict(x[:, start:start + 5], state=state)
        outputs.append(out)
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), whole, rtol=1e-5, atol=1e-6)
    assert sorted(state) == sorted(("h", "c") if cell == "lstm" else ("h",))
    assert all(isinstance(s, np.ndarray) and s.shape == (2, 3, 8) for s in state.values())
    fresh = model.predict(x[:, 10:], state={})[0]             # {}: zeros, not the state of the steps before
    assert not np.allclose(fresh, whole[:, 10:], atol=1e-4)


@pytest.mark.parametrize("engine", ENGINES)
def test_train_batch_carries_the_state_detached(engine):
    model = _model(engine, "lstm")
    data = DELAY.load(seed=0)
    window = data.stream.epoch(data.train, 8, 0, 0)
    part = window[0].take()
    loss, out, state = model.train_batch(part.x, part.y, part.mask, "bce", 0.01, state={})
    assert out.shape == (8, 4, 1) and sorted(state) == ["c", "h"]
    assert all(isinstance(s, np.ndarray) and s.base is None for s in state.values())   # its own memory
    kept = {k: v.copy() for k, v in state.items()}
    part = window[1].take()
    loss2, _, state2 = model.train_batch(part.x, part.y, part.mask, "bce", 0.01, state=state)   # no graph to reach
    assert all(np.array_equal(kept[k], state[k]) for k in kept)                # the input state is left as it was
    assert not np.allclose(state2["h"], state["h"])
    assert len(model.train_batch(part.x, part.y, part.mask, "bce", 0.01)) == 2        # without state: as before
    if engine != "numpy":                      # what the adapter detaches: the model's state is on the graph
        import torch
        torch_model = model.model
        y, final = torch_model(torch.as_tensor(part.x), (torch.as_tensor(state["h"]), torch.as_tensor(state["c"])),
                               return_state=True)
        assert final[0].grad_fn is not None
        carried = model._carried(final)
        assert all(not torch.as_tensor(v).requires_grad for v in carried.values())


def test_rows_that_start_afresh_restart_from_zeros():
    from rnnlab.trainer import _restarted
    carried = {"h": np.ones((2, 4, 3)), "c": np.full((2, 4, 3), 2.0)}
    restarted = _restarted(carried, np.array([False, True, False, True]))
    assert np.all(restarted["h"][:, [1, 3]] == 0) and np.all(restarted["c"][:, [0, 2]] == 2.0)
    assert np.all(carried["h"] == 1)                                   # a copy: the state passed in is kept
    assert _restarted(carried, None) is carried and _restarted(carried, np.ones(4, bool)) == {}
    assert _restarted({}, np.array([True, False])) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_training_with_carried_state_differs_from_resetting_it(engine):
    runs = {}
    for name, stream in (("carried", Contiguous(window=2)), ("reset", Reset(window=2))):
        data = DELAY.load(seed=0, n_train=200, n_val=40, n_test=40)
        trainer = Trainer(_model(engine), data, OptimConfig(epochs=1, batch_size=8, lr=0.02), "bce", "bit_accuracy",
                          seed=0, stream=stream)
        runs[name] = trainer.fit().iteration_loss
    assert runs["carried"][0] == runs["reset"][0]                   # both start from zeros
    assert runs["carried"][1:] != runs["reset"][1:]


def test_only_the_carried_state_makes_the_delay_learnable():
    accuracy = {}
    for name, stream in (("carried", Contiguous(window=4)), ("reset", Reset(window=4))):
        optim = OptimConfig(epochs=6, batch_size=16, lr=0.03, schedule="constant")
        trainer = Trainer(_model("numpy", hidden=8, lr=0.03), DELAY.load(seed=0), optim, "bce", "bit_accuracy",
                          seed=0, stream=stream)
        accuracy[name] = trainer.fit().epochs[-1].test_metric
    # evaluated in 16 rows of 25 steps: the first two steps of each row cannot be known (8 %)
    assert accuracy["carried"] > 0.9 and accuracy["reset"] < 0.75, accuracy


def test_data_parallel_training_with_a_carried_state_is_refused():
    from rnnlab import distributed
    with pytest.raises(ValueError, match=r"--ddp: a contiguous stream carries each row's state.*without --ddp"):
        Trainer(_model("numpy"), DELAY.load(), OptimConfig(), "bce", "bit_accuracy", seed=0,
                workers=distributed.Workers(rank=0, world=2))


# ------------------------------------------------------------------------------------- gradient check
@pytest.mark.parametrize("cell,readout", [("rnn", "every"), ("lstm", "every"), ("lstm", "last"), ("gru", "every"),
                                         ("mingru", "every"), ("minlstm", "every")])
def test_gradients_of_a_window_with_a_carried_state(cell, readout):
    """NumPy engine, float64: dL/dtheta and dL/d(initial state) of a window that starts from a carried state,
    against central differences (L = mse of every output)."""
    from rnnlab.numpy import SequenceModel
    from rnnlab.numpy.losses import LOSSES
    model = SequenceModel(cell, 2, 3, 2, num_layers=2, readout=readout, dtype=np.float64, seed=1)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 2))
    state = {name: rng.normal(size=(2, 2, 3)) for name in model.state_names}    # (layers, N, H)
    y = rng.normal(size=(2, 4, 2) if readout == "every" else (2, 2))

    def loss() -> float:
        return LOSSES["mse"](model.forward(x, state=state), y, None)[0]
    _, dy = LOSSES["mse"](model.forward(x, state=state), y, None)
    model.backward(dy)
    analytic = {**{k: g.copy() for k, g in model.grads.items()},
                **{f"state {k}": g for k, g in model.initial_state_grads.items()}}
    values = {**model.params, **{f"state {k}": v for k, v in state.items()}}
    assert set(analytic) == set(values) and len(model.state_names) == (2 if cell == "lstm" else 1)
    for name, value in values.items():
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            keep = value[i]
            value[i] = keep + 1e-6
            up = loss()
            value[i] = keep - 1e-6
            numeric[i] = (up - loss()) / 2e-6
            value[i] = keep
        error = np.abs(numeric - analytic[name]).max() / max(1e-8, np.abs(numeric).max() + np.abs(analytic[name]).max())
        assert error < 1e-6, (name, error)
    assert np.abs(analytic["state h"]).max() > 1e-3                   # the carried state does reach the loss


# ------------------------------------------------------------------------------------- checkpoint and resume
class StopAt(Callback):
    """Asks the loop to stop once ``steps`` optimizer steps are done (mid-epoch, as Ctrl-C would)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_batch(self, trainer, state, loss):
        if state.step == self.steps:
            trainer.stop.requested = True


class Checkpoints(Callback):
    """Writes the checkpoint as the run directory's files do: after each epoch and at an interruption."""

    def __init__(self, run: RunDir) -> None:
        self.run = run

    def on_epoch(self, trainer, state, record):
        self.run.save_checkpoint(trainer.model, state.to_dict())

    def on_interrupt(self, trainer, state):
        self.run.save_checkpoint(trainer.model, state.to_dict())


def _numbers(history):
    return history.iteration_loss, [{k: v for k, v in vars(r).items() if k != "seconds"} for r in history.epochs]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_interrupted_run_resumes_with_the_same_state_and_numbers(tmp_path, engine):
    def trainer(*callbacks, stop=None):
        data = DELAY.load(seed=0, n_train=300, n_val=50, n_test=50)
        return Trainer(_model(engine, "lstm", dropout=0.0), data, OptimConfig(epochs=2, batch_size=8, lr=0.02),
                       "bce", "bit_accuracy", seed=4, callbacks=callbacks, stop=stop)
    whole = trainer().fit()
    assert len(whole.iteration_loss) == 2 * 9                      # (300 - 3) // 8 // 4 windows an epoch
    run, history = RunDir(tmp_path), History("lstm", "bit_accuracy")
    with pytest.raises(TrainingInterrupted):
        trainer(StopAt(13), Checkpoints(run), stop=StopFlag()).fit(None, history)   # in the second epoch
    resumed = trainer()                                                # a new model, loaded from the checkpoint
    state = LoopState.from_dict(run.load_checkpoint(resumed.model))
    assert (state.epoch, state.batch, state.step) == (1, 4, 13)
    assert sorted(state.carried) == ["c", "h"] and np.abs(state.carried["h"]).max() > 0.01   # a real state
    assert _numbers(resumed.fit(state, history)) == _numbers(whole)
    # without the carried state (zeros instead) the resumed run would differ: the state matters
    state = LoopState.from_dict(run.load_checkpoint(resumed.model))
    state.carried = {}
    zeros = resumed.fit(state, History("lstm", "bit_accuracy")).iteration_loss
    assert len(zeros) == 5 and zeros != whole.iteration_loss[13:]


def test_checkpoints_without_a_carried_state_still_load(tmp_path):
    """A position written before streams existed has no ``carried``: it loads, with None (no state)."""
    old = {"epoch": 1, "batch": 2, "step": 5, "loss_sum": 1.5, "batches": 2, "metric_sum": 3.0, "metric_count": 4.0,
           "elapsed": 0.5, "epoch_elapsed": 0.25}
    assert LoopState.from_dict(old) == LoopState(1, 2, 5, 1.5, 2, 3.0, 4.0, 0.5, 0.25, carried=None)
    for engine in ("numpy", "torch"):
        model = _model(engine)
        run = RunDir(tmp_path / engine)
        run.path.mkdir()
        run.save_checkpoint(model, old)                                # the old format: no carried state
        assert LoopState.from_dict(run.load_checkpoint(_model(engine))).carried is None
    with pytest.raises(KeyError):                                      # a field of the old format is still required
        LoopState.from_dict({k: v for k, v in old.items() if k != "step"})


def test_the_carried_state_survives_the_checkpoint_exactly(tmp_path):
    rng = np.random.default_rng(0)
    carried = {"h": rng.normal(size=(2, 3, 4)).astype(np.float32), "c": rng.normal(size=(2, 3, 4))}
    state = LoopState(epoch=1, batch=3, step=9, carried=carried)
    run = RunDir(tmp_path)
    run.save_checkpoint(_model("numpy"), state.to_dict())              # through the checkpoint's JSON
    back = LoopState.from_dict(run.load_checkpoint(_model("numpy"))).carried
    for name in carried:
        assert back[name].dtype == carried[name].dtype and np.array_equal(back[name], carried[name])
    assert LoopState.from_dict(LoopState(carried={}).to_dict()).carried == {}


# ------------------------------------------------------------------------------------- from the run's entry point
@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_train_run_follows_the_task_stream_and_resumes_exactly(tmp_path, monkeypatch, engine):
    """``rnnlab train`` needs no new wiring: the task's stream reaches the trainer through its data."""
    monkeypatch.setitem(TASKS, DELAY.name, DELAY)
    from rnnlab.train import train_run
    cfg = TrainConfig.from_flat({"task": DELAY.name, "task_options": {"n_train": 300, "n_val": 50, "n_test": 50},
                                 "cell": "lstm", "hidden_size": 6, "epochs": 2, "batch_size": 8, "engine": engine})
    quiet = {"progress": False, "echo": lambda line: None}
    whole = train_run(cfg, tmp_path / "whole", **quiet)
    assert len(whole.iteration_loss) == 18                             # 9 windows an epoch, not ceil(1 / 8)
    real, calls = Trainer._train_batch, {"n": 0}

    def stop_after_13(self, batch, state):
        calls["n"] += 1
        if calls["n"] == 13:
            self.stop.requested = True
        return real(self, batch, state)
    monkeypatch.setattr(Trainer, "_train_batch", stop_after_13)
    with pytest.raises(TrainingInterrupted):
        train_run(cfg, tmp_path / "cut", **quiet)
    monkeypatch.setattr(Trainer, "_train_batch", real)
    resumed = train_run(None, tmp_path / "cut", resume=True, **quiet)
    assert resumed.iteration_loss == whole.iteration_loss
    cut, full = ([line.split(",")[:7] for line in (tmp_path / name / "metrics.csv").read_text().splitlines()]
                 for name in ("cut", "whole"))
    assert cut == full and len(cut) == 3
    # the summary's final test numbers read the test split as the epochs did: with the state carried
    summary = json.loads((tmp_path / "whole" / "summary.json").read_text())
    assert summary["final_test_metric"] == pytest.approx(float(full[-1][6]), rel=1e-12)


def test_the_run_plan_refuses_data_parallel_training_of_a_stream_that_carries_state(monkeypatch):
    monkeypatch.setitem(TASKS, DELAY.name, DELAY)
    from rnnlab.plan import resolve
    settings = {"task": DELAY.name, "cell": "lstm", "hidden_size": 6, "engine": "torch"}
    assert resolve(settings).task is DELAY
    with pytest.raises(ValueError, match=r"^ddp: the task .* carries each row's state .*\(without --ddp\)$"):
        resolve({**settings, "ddp": True})
    with pytest.raises(ValueError, match=r"^cell: the task delay-stream carries .* the LRU takes no state"):
        resolve({**settings, "cell": "lru", "engine": "numpy"})
