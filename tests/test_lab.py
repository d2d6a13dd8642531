"""rnnlab from Python (rnnlab.lab, rnnlab.plots): results in memory, figures from them, the course's numbers."""
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from rnnlab import lab, plots, tasks
from rnnlab.numpy.losses import mse_onehot
from rnnlab.train import train_run

XOR = {"task": "xor", "task_options": {"n_train": 96, "n_val": 16, "n_test": 32, "length": 6}, "hidden_size": 6,
       "epochs": 2, "batch_size": 32, "lr": 0.01}


def test_training_in_memory_writes_nothing_and_equals_a_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = lab.train("gru", engine="numpy", echo=False, **XOR)
    assert list(tmp_path.iterdir()) == []
    assert len(result.history.iteration_loss) == 6 and result.history.column("epoch") == [1, 2]
    assert result.test_metric == pytest.approx(result.history.epochs[-1].test_metric)
    assert result.parameters == result.model.num_parameters() and result.test_outputs.shape == (32, 6, 1)
    cfg = lab.configure("gru", engine="numpy", **XOR)
    history = train_run(cfg, tmp_path / "run", progress=False, echo=lambda line: None)
    assert history.iteration_loss == result.history.iteration_loss            # the same training, step by step
    assert history.column("test_metric") == result.history.column("test_metric")
    assert history.summary["final_test_metric"] == pytest.approx(result.test_metric)
    on_disk = lab.train("gru", engine="numpy", echo=False, run_dir=tmp_path / "kept", **XOR)
    assert (tmp_path / "kept" / "metrics.csv").exists()
    assert on_disk.history.column("test_loss") == result.history.column("test_loss")


def test_none_means_none_and_a_ready_configuration_trains_as_it_is():
    """clip_norm=None turns clipping off (it used to fall back to the default 1.0); a TrainConfig made
    elsewhere (a run's config.json, the results suite) trains unchanged or with settings changed by name."""
    assert lab.configure("lstm").optim.clip_norm == 1.0
    assert lab.configure("lstm", clip_norm=None).optim.clip_norm is None
    assert lab.configure("lstm", preset="course", clip_value=None).optim.clip_value is None
    cfg = lab.configure("gru", engine="numpy", **XOR)
    assert lab.configure(cfg) is cfg and lab.configure(cfg, lr=0.5).optim.lr == 0.5
    result = lab.train(cfg, echo=False)
    assert result.name == "gru" and result.config == cfg
    assert result.history.iteration_loss == lab.train("gru", engine="numpy", echo=False, **XOR).history.iteration_loss
    with pytest.raises(ValueError, match="a ready TrainConfig was given"):
        lab.configure(cfg, preset="course")


def test_compare_loads_the_data_once_and_checks_every_model_first(monkeypatch):
    calls = {"n": 0}
    real = tasks.Task.load

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return real(self, *args, **kwargs)
    monkeypatch.setattr(tasks.Task, "load", counting)
    results = lab.compare(["rnn", "lstm"], echo=False, **XOR)
    assert list(results) == ["rnn", "lstm"] and calls["n"] == 1
    assert results["lstm"].parameters > results["rnn"].parameters
    with pytest.raises(ValueError, match="chrono: only the LSTM, the minGRU and the minLSTM take chrono "
                                         "initialisation, not the GRU"):
        lab.compare(["lstm", "gru"], chrono=6, echo=False, **XOR)
    assert calls["n"] == 1                                                    # refused before loading


def test_figures_from_results_in_memory():
    results = lab.compare(["rnn", "gru"], echo=False, **XOR)
    fig = plots.curves(results)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    metric_axes = fig.axes[2:]
    assert all(isinstance(ax.yaxis.get_major_formatter(), PercentFormatter) for ax in metric_axes)
    assert all(isinstance(ax.xaxis.get_major_locator(), MaxNLocator) for ax in fig.axes)
    assert {line.get_label() for line in fig.axes[0].lines} == {"rnn", "gru"}
    assert len(plots.iteration_loss(results).axes[0].lines) == 4              # steps and validation, per model
    samples = plots.samples(results["gru"])
    assert len(samples.axes) == 1 and samples.axes[0].get_title() == "gru"


def test_classification_figures_and_the_confusion_reading():
    images = np.zeros((60, 28, 28), np.uint8)
    labels = np.arange(60) % 10
    for k, image in enumerate(images):
        image[2 * labels[k]:2 * labels[k] + 3, :] = 255                       # class k: a bar at row 2k
    data = tasks.TaskData(*(tasks.Split(images[s].astype(np.float32) / 255, labels[s]) for s in
                            (slice(0, 40), slice(40, 50), slice(50, 60))))
    data.info = {}
    result = lab.train("gru", data=data, task="mnist-rows", epochs=3, hidden_size=16, batch_size=8, lr=0.02,
                       echo=False)
    reading = result.confusion()
    assert reading["matrix"].sum() == 10 and set(reading) >= {"per_class", "best", "worst", "confusions"}
    assert len(plots.confusion({"gru": result}).axes) == 1
    wrong = int((result.predicted_classes() != data.test.y).sum())
    gallery = plots.mistakes(result, count=16)
    assert sum(ax.get_title() != "" for ax in gallery.axes) == wrong
    shown = plots.predictions(result, count=4)
    assert [ax.get_title() for ax in shown.axes[:4]] == [
        f"read {p}, is {t}" for p, t in zip(result.predicted_classes()[:4], data.test.y[:4])]


def test_assignment_2_loss_is_printed_as_it_defines_it():
    rng = np.random.default_rng(0)
    out = rng.normal(size=(4, 10))
    labels = np.array([1, 3, 5, 7])
    target = np.eye(10)[labels]
    value, grad = mse_onehot(out, labels)
    assert value == pytest.approx(np.mean([np.mean((o - t) ** 2) for o, t in zip(out, target)]))   # its loss
    np.testing.assert_allclose(grad * 4, 2 * (out - target))                 # its dLdy = 2 (y - t), per sample


class _PerfectAdder:
    """Logits that are +-10 at the bits of the true sum."""

    def predict(self, x):
        out = []
        for sequence in x:
            a = sum(int(bit) << k for k, bit in enumerate(sequence[:, 0]))
            b = sum(int(bit) << k for k, bit in enumerate(sequence[:, 1]))
            out.append([[10.0 if ((a + b) >> k) & 1 else -10.0] for k in range(x.shape[1])])
        return np.array(out)


def test_add_binary_reads_the_models_bits():
    result = lab.train("gru", echo=False, task="binary-add", epochs=1, hidden_size=4,
                       task_options={"n_train": 16, "n_val": 4, "n_test": 4, "max_test_bits": 3,
                                     "long_test_bits": []})
    result.model = _PerfectAdder()
    assert lab.add_binary(result, 37, 91) == 128 and lab.add_binary(result, 0, 0) == 0
    assert lab.add_binary(result, 2 ** 60, 2 ** 60 - 1) == 2 ** 61 - 1
    with pytest.raises(ValueError, match="a: expected a whole number >= 0, got -1"):
        lab.add_binary(result, -1, 3)
    probabilities = lab.binary_probabilities(result, count=2)
    assert probabilities.shape == (2, 6) and set(np.round(probabilities.ravel(), 3)) <= {0.0, 1.0}


def test_importing_every_module_leaves_the_matplotlib_backend_alone():
    code = ("import matplotlib, pkgutil, importlib, rnnlab\n"
            "matplotlib.use('svg')\n"
            "for m in pkgutil.walk_packages(rnnlab.__path__, 'rnnlab.'):\n"
            "    if m.name != 'rnnlab.__main__':\n"
            "        importlib.import_module(m.name)\n"
            "assert matplotlib.get_backend().lower() == 'svg', matplotlib.get_backend()\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_figures_show_themselves_in_a_notebook_and_an_empty_gallery_is_a_figure():
    from IPython.core.formatters import PNGFormatter
    fig = plots.gallery([], [])
    png = PNGFormatter()(fig)
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")              # a cell's value shows as a picture
    assert png == fig._repr_png_()
