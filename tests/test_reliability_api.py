"""Settings given in two places, the Python API's wrong arguments, and the messages that were vague (issue 35).

Every wrong argument of rnnlab.lab, rnnlab.plots, rnnlab.widgets and rnnlab.reading is a TypeError or ValueError
naming the argument, what was given and what is expected, raised before any work starts: loading data or
building a model is made to fail loudly, so a check that came too late would show.
"""
import numpy as np
import pytest

from rnnlab import lab, plots, reading, tasks, widgets
from rnnlab.cli import main
from rnnlab.config import PRESETS, Settings, resolve
from rnnlab.trainer import History

TINY = ["--task", "xor", "--opt", "n_train=32", "--opt", "n_val=8", "--opt", "n_test=8", "--opt", "length=4",
        "--hidden-size", "4", "--epochs", "1", "--quiet"]


# ------------------------------------------------------------------------------------- settings in two places
def test_file_task_options_survive_a_task_on_the_command_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task_options: {length: 9, n_train: 40}\n")
    assert resolve(None, path, task="xor").config().data.options == {"length": 9, "n_train": 40}
    assert resolve(None, path, task="xor", task_options={"length": 5}).config().data.options == {
        "length": 5, "n_train": 40}                                  # flags over the file, option by option
    assert resolve("quick", path, task="xor").config().data.options == {"length": 9, "n_train": 40}
    assert resolve("lab", None, task="xor").config().data.options == {}     # a preset's image options: dropped
    assert PRESETS["lab"]["task_options"]


def test_file_task_options_for_another_task_are_refused_naming_both_places(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("task: adding\ntask_options: {length: 9}\n")
    with pytest.raises(ValueError) as info:
        resolve(None, path, task="xor")
    message = str(info.value)
    assert "length=9 is given for task adding in config file" in message and "the command line" in message
    assert main(["train", *TINY[:2], "--config", str(path), "--runs-dir", str(tmp_path)]) == 2
    assert "given for task adding in config file" in capsys.readouterr().err
    assert resolve(None, path, task="adding").config().data.options == {"length": 9}


@pytest.mark.parametrize("model,settings,name", [
    ("lstm", {"cell": "gru"}, "cell"), ("bilstm", {"bidirectional": False}, "bidirectional"),
    ("lstm2", {"num_layers": 3}, "num_layers"), ("lstm-ln", {"head": "dense"}, "head"),
    ("rnn-relu", {"nonlinearity": "tanh"}, "nonlinearity"),
])
def test_a_model_name_and_a_setting_that_disagree_are_refused(model, settings, name):
    with pytest.raises(ValueError, match=f"^{name}: the settings give .* but the model name '{model}' means"):
        Settings(settings).config(model)
    with pytest.raises(ValueError, match=f"^{name}: the settings give"):
        lab.configure(model, **settings)
    assert Settings({"hidden_size": 8}).config(model).model.recurrent.hidden_size == 8


def test_compare_with_a_cell_flag_that_its_models_contradict(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("bidirectional: true\n")
    assert main(["compare", "rnn", *TINY, "--config", str(path), "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bidirectional: the settings give True but the model name 'rnn' means False" in err


# ------------------------------------------------------------------------------------- the Python API
@pytest.fixture
def no_work(monkeypatch):
    """Loading any task's data fails loudly: a refusal must come before it."""
    def refuse(*args, **kwargs):
        raise AssertionError("data were loaded before the arguments were checked")
    monkeypatch.setattr(tasks.Task, "load", refuse)


API_CASES = [
    (lambda: lab.train(data="mnist-rows"), TypeError, "data: expected the TaskData of lab.load_data(...) or None, "
                                                      "got str 'mnist-rows'; load it with lab.load_data('mnist-rows')"),
    (lambda: lab.train(model=None), TypeError, "model: expected a model's short name such as 'lstm'"),
    (lambda: lab.train(model=5), TypeError, "got int 5"),
    (lambda: lab.train("lstm", run_dir=5), TypeError, "run_dir: expected a path (text or pathlib.Path) or None, "
                                                      "got int 5"),
    (lambda: lab.train("lstm", run_dir=""), ValueError, "run_dir: expected a path"),
    (lambda: lab.train("lstm", run_dir="runs/a\nb"), ValueError, "run_dir: expected a path without control"),
    (lambda: lab.train("lstm", echo="yes"), TypeError, "echo: expected True or False, got str 'yes'"),
    (lambda: lab.train("lstm", preset=3), TypeError, "preset: expected a preset's name"),
    (lambda: lab.train("lstm", preset="colab"), ValueError, "preset: unknown value 'colab'"),
    (lambda: lab.train("lstm", epochz=3), ValueError, "unknown setting(s) epochz"),
    (lambda: lab.compare([]), ValueError, "models: expected a non-empty list of model names"),
    (lambda: lab.compare("lstm"), TypeError, "models: expected a list of model names such as ['rnn', 'lstm'], "
                                             "got str 'lstm'"),
    (lambda: lab.compare(["rnn", 5]), TypeError, "models[1]: expected text"),
    (lambda: lab.compare(["rnn", "rnn"]), ValueError, "'rnn' is given twice"),
    (lambda: lab.compare(["rnn"], data=[1, 2]), TypeError, "data: expected the TaskData"),
    (lambda: lab.load_data(5), TypeError, "task: expected a task's name"),
    (lambda: lab.load_data("xor", seed=-1), ValueError, "seed: expected a whole number >= 0, got int -1"),
    (lambda: lab.load_data("xor", seed=1.5), TypeError, "seed: expected a whole number >= 0, got float 1.5"),
    (lambda: lab.load_data("xor", data_dir=3), TypeError, "data_dir: expected a path"),
    (lambda: lab.add_binary(None, 1, 2), TypeError, "result: expected the Result of lab.train(...), got NoneType"),
    (lambda: lab.binary_probabilities("r"), TypeError, "result: expected the Result of lab.train(...)"),
    (lambda: plots.curves([]), ValueError, "items: expected a lab Result or History"),
    (lambda: plots.curves("lstm"), TypeError, "items: expected a lab Result or History"),
    (lambda: plots.curves({"a": 5}), TypeError, "int 5 holds no training history"),
    (lambda: plots.curves(History("a", "accuracy", [], []), title=5), TypeError, "title: expected text or None"),
    (lambda: plots.iteration_loss(History("a", "accuracy", [], []), smooth=0), ValueError, "smooth: expected"),
    (lambda: plots.confusion(5), TypeError, "items: expected a lab Result"),
    (lambda: plots.confusion({"a": (np.zeros(3), np.zeros((4, 2)))}), ValueError, "of the same N"),
    (lambda: plots.samples([]), ValueError, "(at least one)"),
    (lambda: plots.gallery(5), TypeError, "images: expected a list (or array) of pictures"),
    (lambda: plots.gallery([np.zeros((28, 28))], columns=0), ValueError, "columns: expected a whole number >= 1"),
    (lambda: plots.gallery([np.zeros((28, 28))] * 2, titles=["a"]), ValueError, "titles: expected a list of 2"),
    (lambda: plots.predictions("r"), TypeError, "result: expected the Result of lab.train(...) on an image task"),
    (lambda: plots.mistakes(None), TypeError, "result: expected the Result"),
    (lambda: plots.lengths([5]), TypeError, "items: expected a binary-add Result"),
    (lambda: reading.load_model(5), TypeError, "run_dir: expected a path"),
    (lambda: reading.read_image("runs/x", "img"), TypeError, "image: expected a 28 x 28 array"),
    (lambda: reading.read_image("runs/x", np.zeros((28, 28)) + 3), ValueError, "image: expected numbers in [0, 1]"),
    (lambda: reading.read_image(None, np.zeros((28, 28))), TypeError, "run_dir: expected a path"),
    (lambda: reading.read_image("runs/x", np.zeros((28, 28)), model=5), TypeError, "model: expected a model"),
    (lambda: reading.read_picture("runs/x", "digit.png"), TypeError, "picture: expected a PIL.Image.Image"),
    (lambda: reading.reading_figure(None), TypeError, "reading: expected the Reading of read_image"),
    (lambda: widgets.gradient_visualizer(model=5), TypeError, "model: expected a RecurrentRegressionModel"),
    (lambda: widgets.draw_flow([1], [1], [1]), TypeError, "axes: expected two matplotlib axes"),
]


@pytest.mark.parametrize("call,kind,fragment", API_CASES, ids=[f"case{k}" for k in range(len(API_CASES))])
def test_wrong_arguments_are_named_before_any_work(no_work, call, kind, fragment):
    with pytest.raises(kind) as info:
        call()
    assert fragment in str(info.value) and "\n" not in str(info.value) and len(str(info.value)) < 400


def test_a_huge_argument_is_quoted_by_a_prefix(no_work):
    with pytest.raises(TypeError) as info:
        lab.train(data="x" * 100_000)
    assert len(str(info.value)) < 400 and "..." in str(info.value)


# ------------------------------------------------------------------------------------- messages that were vague
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("vague")
    assert main(["train", *TINY, "--runs-dir", str(root / "runs"), "--name", "ok"]) == 0
    return root


def _main(argv):
    """main()'s exit code, argparse's own refusals (SystemExit) included."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


@pytest.mark.parametrize("argv,fragment", [
    (["predict", "runs/ok", "x.png", "--picture", "out.xyz"], "--picture: 'out.xyz' has the extension '.xyz'; give "
                                                              "a file name ending in .png"),
    (["predict", "runs/ok", "x.png", "--picture", "out"], "--picture: 'out' has no extension"),
    (["predict", "runs/ok", "x.png", "--picture", "nowhere/p.png"], "--picture: the folder 'nowhere' does not exist"),
    (["evaluate", "runs"], "runs: not a run directory (no config.json, no model.npz); it holds runs: give one of "
                           "them, such as runs/ok"),
    (["train", "--config", "runs"], "config: runs is a folder; give the YAML file inside it (this folder holds no"),
    (["sweep", "runs"], "sweep: runs is a folder; give the YAML file inside it"),
    (["gradients", "--out", "x.png"], "--out: 'x.png' is a file, not a folder"),
    (["bench", "--out", "x.png/b", "--quick", "--only", "cumavg"], "--out: 'x.png' is a file, not a folder"),
    (["explore", "--host", "host.invalid", "--port", "0"], "--host: 'host.invalid' is not an address of this machine"),
    (["inspect", "lstm", "--proj-size", "50"], "`rnnlab inspect --help` lists the options"),
    (["train", *TINY, "--opt", "=5"], "expected KEY=VALUE with KEY an option's name"),
    (["train", *TINY, "--data-dir", "x.png"], "--data-dir: 'x.png' is a file, not a folder"),
    (["data", "list", "--data-dir", "x.png/d"], "--data-dir: 'x.png' is a file, not a folder"),
    (["demo", "--length", "10000000", "--steps", "1"], "--length 10000000 with --hidden 32 needs about"),
    (["evaluate", "runs/ok", "--data-dir", "x.png"], "give a folder for the data"),
])
def test_messages_that_were_vague(finished, monkeypatch, capsys, argv, fragment):
    monkeypatch.chdir(finished)
    (finished / "x.png").write_bytes(b"not a picture")
    assert _main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.strip().count("\n") == 0 and "Traceback" not in err, err


@pytest.mark.parametrize("runs_dir,fragment", [("missing", "'missing' does not exist (--runs-dir)"),
                                               ("x.png", "'x.png' is a file, not a folder of runs")])
def test_runs_in_a_folder_that_is_not_one(finished, monkeypatch, capsys, runs_dir, fragment):
    monkeypatch.chdir(finished)
    (finished / "x.png").write_bytes(b"x")
    assert main(["runs", "--runs-dir", runs_dir]) == 0
    assert fragment in capsys.readouterr().out


def test_a_bad_task_option_is_quoted_by_a_short_prefix():
    from rnnlab.tasks import get_task
    with pytest.raises(ValueError) as info:
        get_task("xor").options(length="x" * 5000)
    message = str(info.value)
    assert message.startswith("task xor: option length: expected a positive whole number, got 'xxx")
    assert len(message) < 200 and "..." in message


def test_tensorboard_in_memory_is_refused_not_dropped(monkeypatch):
    from rnnlab import lab, tasks
    monkeypatch.setattr(tasks.Task, "load", lambda *a, **k: pytest.fail("the data loaded before the refusal"))
    for call in (lambda: lab.train("rnn", task="xor", tensorboard=True, echo=False),
                 lambda: lab.compare(["rnn", "gru"], task="xor", tensorboard=True, echo=False)):
        with pytest.raises(ValueError, match=r"^tensorboard: TensorBoard's logs are written into a run directory"):
            call()
