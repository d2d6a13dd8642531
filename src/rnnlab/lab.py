"""rnnlab from Python, for notebooks: train and compare models in memory, get the results back.

    from rnnlab import lab, plots
    data = lab.load_data("mnist-rows", n_train=5000)
    result = lab.train("lstm", data=data, epochs=3, hidden_size=64)
    result.test_metric, result.history.column("test_loss")
    plots.curves({"lstm": result})

Nothing is written to disk unless ``run_dir`` is given (then it is an ordinary run directory, the
same as `rnnlab train` leaves) or the result is saved (``result.save("runs/my-lstm")``, the same run
directory); ``lab.load(path)`` reads any run directory back into a :class:`Result`.  In a notebook each
epoch shows a progress bar with the running loss (a widget, closed when the epoch ends) above its line.

Settings are the flat names of `rnnlab train`'s flags (``hidden_size``, ``lr``, ``batch_size``, ``engine``,
``clip_norm``, ``task_options``...); a model is a short name (``lstm``, ``bilstm2-ln``, ``lnrnn-relu``). Every
run is resolved and checked by :mod:`rnnlab.plan` before any data loads, exactly as `rnnlab train` and
`compare` check theirs, so the same bad settings are refused here with the same message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import plan as run_plan
from .argcheck import check_bool, check_int, check_names, check_path, check_text, fail_type, fail_value
from .callbacks import EpochPrinter, ProgressBar, TextSampler
from .config import TrainConfig, resolve
from .engines import Trainable
from .metrics import analyze_confusion, confusion_matrix
from .plan import RunPlan
from .reading import Reading
from .rundir import RunDir
from .tasks import Split, Task, TaskData, get_task
from .text.vocab import vocabulary_of
from .train import FinalEvaluation, build_model, final_evaluation, make_trainer, save_run, train_run
from .trainer import History

if TYPE_CHECKING:
    from .text_cells import Connectivity, UnitSearch


@dataclass
class Result:
    """A trained model and everything about its training, in memory."""
    name: str
    config: TrainConfig
    task: Task
    model: Trainable
    data: TaskData = field(repr=False)
    history: History = field(repr=False)
    test_outputs: np.ndarray = field(repr=False)
    test_loss: float = float("nan")
    test_metric: float = float("nan")
    extra_tests: dict[str, float] = field(default_factory=dict)    # e.g. binary addition per length
    extra_whole: dict[str, float] = field(default_factory=dict)    # ...whole sums right
    run_dir: Path | None = None        # the run directory it was trained into, saved to or loaded from

    @property
    def loss(self) -> str:
        return self.config.optim.loss or self.task.loss

    @property
    def parameters(self) -> int:
        return self.model.num_parameters()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model's outputs for ``x`` (sequences shaped as the task's: (N, steps, inputs))."""
        try:
            array = np.asarray(x, dtype=np.float32)
        except (TypeError, ValueError):
            raise fail_type("x", x, "an array of numbers (N, steps, inputs)") from None
        inputs = self.task.input_size
        if array.ndim != 3 or array.shape[-1] != inputs or 0 in array.shape:
            raise fail_value("x", x, f"an array shaped (N, steps, {inputs}), not {array.shape}")
        return self.model.predict(array)

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the result as the ordinary run directory `rnnlab train` leaves (``rnnlab evaluate``, ``report``,
        ``runs`` and :func:`load` read it; ``rnnlab train --resume PATH --epochs N`` adds epochs).  A folder
        that holds anything else (another run, other files) is replaced only with ``force=True``; saving
        again where the result already is does nothing.  Returns the folder."""
        _check_run_path("path", path)
        check_bool("force", force)
        folder = RunDir(path)
        if self.run_dir is not None and folder.path.resolve() == self.run_dir.resolve() \
                and folder.file("summary.json").exists():
            return folder.path
        if folder.path.exists() and not folder.path.is_dir():
            raise FileExistsError(f"path: {str(path)!r} is a file, not a folder; choose a folder's name such as "
                                  f"'runs/my-{self.name}'")
        if folder.is_occupied() and not force:
            what = "a run" if folder.file("config.json").exists() else "other files"
            raise FileExistsError(f"path: {str(path)!r} already holds {what}; pass force=True to replace it, "
                                  f"or choose another folder")
        final = FinalEvaluation(self.test_loss, self.test_metric, self.test_outputs, self.extra_tests,
                                self.extra_whole)
        plan = run_plan.resolve(self.config, self.name)
        self.run_dir = save_run(plan, self.model, self.data, self.history, final, folder.path, force=force)
        return self.run_dir

    def predicted_classes(self) -> np.ndarray:
        return self.test_outputs.argmax(-1)

    def confusion(self) -> dict:
        """The test set's confusion matrix and its reading: per-class accuracy, the best and worst
        class and the three most common confusions (classification tasks)."""
        classes = self.test_outputs.shape[-1]
        counts = confusion_matrix(self.data.test.y, self.predicted_classes(), classes)
        return {"matrix": counts, **analyze_confusion(counts)}


def load_data(task: str = "mnist-rows", seed: int = 0, data_dir: str | Path | None = None,
              **options: object) -> TaskData:
    """A task's train / validation / test sets (``options``: the task's options, as ``--opt``)."""
    check_text("task", task, "a task's name such as 'mnist-rows' (`rnnlab data list`)")
    check_int("seed", seed, 0)
    check_path("data_dir", data_dir, optional=True)
    return get_task(task).load(seed=seed, data_dir=data_dir, **options)


def _check_model(model: object) -> None:
    """``model`` is a short model name or a TrainConfig (None is refused: it would mean a default model)."""
    if not isinstance(model, (str, TrainConfig)):
        raise fail_type("model", model, "a model's short name such as 'lstm' or 'bilstm2-ln', or a TrainConfig")


def _check_common(data: object, preset: object, echo: object) -> None:
    """The arguments train and compare share, checked before anything is resolved or loaded."""
    if data is not None and not isinstance(data, TaskData):
        raise fail_type("data", data, "the TaskData of lab.load_data(...) or None",
                        f"load it with lab.load_data({data!r}), or leave data out to load the task's data"
                        if isinstance(data, str) and len(data) <= 40 else "leave data out to load the task's data")
    check_text("preset", preset, "a preset's name such as 'quick'", optional=True)
    check_bool("echo", echo)


def configure(model: str | TrainConfig = "lstm", preset: str | None = None, **settings: object) -> TrainConfig:
    """The training configuration of a short model name and flat settings (over a preset), or a ready
    :class:`TrainConfig` with some settings changed.

    A setting given as None means none of it where that is a value it can take (``clip_norm=None``:
    no clipping by norm; ``loss=None``: the task's loss), not "the default"."""
    _check_model(model)
    check_text("preset", preset, "a preset's name such as 'quick'", optional=True)
    if isinstance(model, TrainConfig):
        if preset is not None:
            raise ValueError(f"preset {preset!r}: a ready TrainConfig was given; change its settings by name "
                             f"instead (for example lr=0.01)")
        return model.with_settings(**settings) if settings else model
    cfg = resolve(preset, **settings).config(model)
    cleared = {name: None for name, value in settings.items() if value is None}
    return cfg.with_settings(**cleared) if cleared else cfg


def train(model: str | TrainConfig = "lstm", data: TaskData | None = None, preset: str | None = None,
          run_dir: str | Path | None = None, echo: bool = True, **settings: object) -> Result:
    """Train one model (a short name, or a whole :class:`TrainConfig`); returns its :class:`Result` (with
    ``run_dir``: also a run directory on disk).

    The run is resolved and checked by :func:`rnnlab.plan.resolve` before any data loads, as every
    entry point's is.  ``echo`` prints one line per epoch, as `rnnlab train` does.  Wrong arguments are a
    TypeError or ValueError naming the argument before anything starts."""
    _check_model(model)
    _check_common(data, preset, echo)
    _check_run_path("run_dir", run_dir, optional=True)
    cfg = configure(model, preset, **settings)
    plan = run_plan.resolve(cfg, model if isinstance(model, str) else cfg.label)
    _check_in_memory(plan, run_dir)
    return _train_plan(plan, data, run_dir, echo)


def _check_run_path(name: str, path: object, optional: bool = False) -> None:
    check_path(name, path, optional=optional)
    if path is not None and not str(path).isprintable():
        raise fail_value(name, path, "a path without control characters (a newline would forge a row of "
                         "`rnnlab runs`)")


def _check_in_memory(plan: RunPlan, run_dir: str | Path | None) -> None:
    """A setting that writes files needs somewhere to write them: refused in memory, never dropped."""
    if plan.config.run.tensorboard and run_dir is None:
        raise ValueError("tensorboard: TensorBoard's logs are written into a run directory; give run_dir=... "
                         "(e.g. run_dir='runs/my-lstm'), or leave tensorboard out to train in memory")


def _train_plan(plan: RunPlan, data: TaskData | None, run_dir: str | Path | None, echo: bool) -> Result:
    """Train a resolved run in memory (or, with ``run_dir``, as a run directory), on ``data`` or its task's."""
    if run_dir is not None:
        return _train_on_disk(plan, data, run_dir, echo)
    if data is not None:
        plan.check_data(data)
    data = data if data is not None else plan.load()
    net = build_model(plan)
    callbacks = ((ProgressBar(),) if ProgressBar.wanted() else ()) + (EpochPrinter(),) if echo else ()
    if echo and "vocabulary" in data.info:      # a text run: a sample after each epoch
        callbacks += (TextSampler(vocabulary_of(data.info["vocabulary"]), seed=plan.seed),)
    history = make_trainer(plan, net, data, callbacks).fit()
    return _result(plan, net, data, history)


def _train_on_disk(plan: RunPlan, data: TaskData | None, run_dir: str | Path, echo: bool) -> Result:
    """:func:`rnnlab.train.train_run` into ``run_dir`` (replacing a run there), and the result read back."""
    from .runs import load_run_model
    if data is None:
        RunDir(run_dir).check_free(force=True)      # a file in the way is refused before the data loads
        data = plan.load()
    history = train_run(plan, run_dir, data=data, force=True, progress=echo,
                        echo=print if echo else (lambda line: None))
    net, _ = load_run_model(run_dir)
    return _result(plan, net, data, history, Path(run_dir))


def _result(plan: RunPlan, net: Trainable, data: TaskData, history: History, run_dir: Path | None = None) -> Result:
    """The trained model's result: its test loss and metric, and those of the task's extra test sets."""
    final = final_evaluation(net, plan.config, plan.task, data, plan.loss)
    return Result(plan.name, plan.config, plan.task, net, data, history, final.outputs, final.test_loss,
                  final.test_metric, final.extra, final.whole, run_dir)


def compare(models: list[str], data: TaskData | None = None, preset: str | None = None, echo: bool = True,
            **settings: object) -> dict[str, Result]:
    """Train several models on the same data (loaded once); every run is resolved and checked by
    :func:`rnnlab.plan.resolve_all` before the data loads or the first model trains."""
    check_names("models", models)
    _check_common(data, preset, echo)
    plans = run_plan.resolve_all({name: configure(name, preset, **settings) for name in models}, shared_data=True)
    for plan in plans.values():
        _check_in_memory(plan, None)
    if data is None and plans:
        data = next(iter(plans.values())).load()
    return {name: _train_plan(plan, data, None, echo) for name, plan in plans.items()}


def load(path: str | Path, data: TaskData | None = None, data_dir: str | Path | None = None) -> Result:
    """A finished run directory read back into a :class:`Result`: one that `rnnlab train` or `rnnlab compare`
    left (``runs/compare-mnist-rows/lstm``), or that ``lab.train(run_dir=...)`` or :meth:`Result.save` wrote.

    The result holds the run's settings, its history (``result.history``: every epoch and step), its
    trained model (``result.predict``) and its evaluation on the test set, which is loaded again (``data``,
    or the task's data as the run loaded it, from ``data_dir`` or the usual places).  A folder that is not a
    run, a run that has not finished and damaged files are refused with the file and what to do."""
    from .runs import load_history, load_run_model
    _check_run_path("path", path)
    _check_common(data, None, True)
    check_path("data_dir", data_dir, optional=True)
    run = RunDir(path)
    if not run.path.is_dir():
        raise FileNotFoundError(f"path: {str(path)!r} is not a folder; give a run's folder (`rnnlab runs` lists "
                                f"them), such as 'runs/compare-mnist-rows/lstm'")
    if not run.file("config.json").exists():
        raise ValueError(f"path: {str(path)!r} is not a run directory (no config.json); give a run's folder "
                         f"(`rnnlab runs` lists them)")
    doc = run.read_config()
    try:
        cfg = TrainConfig.from_dict(doc["config"])
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValueError(f"{run.file('config.json')}: its settings cannot be read ({exc}); train the run "
                         f"again") from None
    if not run.file("model.npz").exists() or not run.file("summary.json").exists():
        raise ValueError(f"{run}: the run has not finished (no model.npz or summary.json); finish it with "
                         f"`rnnlab train --resume {run}`")
    plan = run_plan.resolve(cfg, str(doc.get("label") or cfg.label))
    history = load_history(run.path)
    net, _ = load_run_model(run.path)
    if data is not None:
        plan.check_data(data)
    return _result(plan, net, data if data is not None else plan.load(data_dir), history, run.path)


def generate(source: Result | str | Path, prime: str = "", length: int = 200, temperature: float = 1.0,
             top_k: int | None = None, seed: int = 0, engine: str | None = None, best: bool = False,
             replace: str | None = None) -> str:
    """Text written by a language model: the :class:`Result` of ``lab.train(task="text", ...)`` (or
    ``"human-numbers"``, or ``"human-numbers-words"``: a word-level model, whose prime is split into words and
    whose ``length`` counts words) or a text run's directory.  ``prime`` (the text it starts from), then ``length``
    characters drawn at ``temperature`` (> 0) from the ``top_k`` likeliest, with a NumPy Generator seeded by
    ``seed`` — the same text on every engine (``engine``: load the weights into another one).  ``best``: a run
    directory's model of lowest validation loss.  ``replace``: a character (a word) that stands for the prime's
    characters (words) the vocabulary lacks (default: they are refused).  See :mod:`rnnlab.text.sampling`."""
    from .runs import generate_text
    from .text.sampling import check_sampling
    from .text.sampling import generate as write
    if not isinstance(source, Result):
        check_path("source", source)
        return generate_text(source, prime, length, temperature, top_k, seed, engine, best, replace)
    if "vocabulary" not in source.data.info:
        raise ValueError(f"source: the result of a {source.task.name} run, not of a text run; train with "
                         f"task='text', 'human-numbers' or 'human-numbers-words'")
    if best:
        raise ValueError("best: a result in memory keeps its final model only; give the run directory "
                         "(lab.train(..., run_dir=...)) for its best-model.npz")
    vocabulary = vocabulary_of(source.data.info["vocabulary"])
    check_sampling(temperature, length, top_k, seed, vocabulary.size)
    model = source.model
    if engine is not None and engine != model.engine:
        from .engines import build_trainable
        from .rules import ENGINES
        if engine not in ENGINES:
            raise fail_value("engine", engine, f"one of {', '.join(ENGINES)}")
        model = build_trainable(model.spec, engine)
        model.load_weights(source.model.weights())
    return write(model, vocabulary, prime, length, temperature, top_k, seed, replace)


def read_digit(result: Result, image: np.ndarray) -> Reading:
    """How a model trained on an image task reads one prepared digit (28, 28) in [0, 1], row by row: the class
    probabilities after each row, the hidden state and the gates (:class:`rnnlab.reading.Reading`; draw it with
    ``rnnlab.reading.reading_figure``)."""
    _check_result(result)
    if "view" not in result.data.info:
        raise ValueError(f"read_digit: the model was trained on {result.task.name}, not on images; train it on an "
                         f"image task such as mnist-rows")
    from .reading import read_with
    return read_with(result.model, image, result.data.info, result.loss)


def add_binary(result: Result, a: int, b: int) -> int:
    """Add two whole numbers with a model trained on binary addition (``binary-add``): the bits of
    ``a`` and ``b``, least significant first, one pair per step, and a last step for the carry."""
    _check_result(result)
    if result.task.name != "binary-add":
        raise ValueError(f"add_binary: the model was trained on {result.task.name}, not on binary-add")
    for name, value in (("a", a), ("b", b)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}: expected a whole number >= 0, got {value!r}")
        if value.bit_length() > 4096:
            raise ValueError(f"{name}: a number of {value.bit_length()} bits; expected at most 4096 bits")
    bits = max(a.bit_length(), b.bit_length(), 1) + 1
    x = np.array([[[(a >> k) & 1, (b >> k) & 1] for k in range(bits)]], dtype=np.float32)
    probabilities = 1.0 / (1.0 + np.exp(-result.predict(x)[0, :, 0]))
    return int(sum(int(p > 0.5) << k for k, p in enumerate(probabilities)))


def binary_probabilities(result: Result, split: Split | None = None, count: int = 3) -> np.ndarray:
    """The model's probability of a 1 at every bit of the first ``count`` sums of ``split`` (test set)."""
    _check_result(result)
    if split is not None and not isinstance(split, Split):
        raise fail_type("split", split, "a Split such as result.data.test, or None (the test set)")
    check_int("count", count, 1)
    split = split or result.data.test
    return 1.0 / (1.0 + np.exp(-result.predict(split.x[:count])[..., 0]))


def units(result: Result, text: str, of: str = "hidden", top: int = 3, vocabulary: object = None) -> UnitSearch:
    """What the cells of a text model learned, on ``text``: its :class:`~rnnlab.text_cells.UnitSearch` — every
    unit's correlation with the text's quotes, brackets, line position and word boundaries, the best ``top`` per
    signal, and the trace (h_t and the gates per step) for :func:`rnnlab.plots.unit_text` and
    :func:`rnnlab.plots.gate_saturation`.  ``vocabulary``: the run's (taken from the result's data when None)."""
    _check_result(result)
    from .text_cells import find_units, read_text
    trace = read_text(result.model.spec, result.model.weights(), _vocabulary(result, vocabulary), text)
    return find_units(trace, of, top)


def connectivity(result: Result, text: str, step: int | None = None, vocabulary: object = None) -> Connectivity:
    """The gradient norm of the text model's prediction at ``step`` (the last character when None) with respect
    to each character of ``text`` (:func:`rnnlab.text_cells.connectivity`; drawn by
    :func:`rnnlab.plots.connectivity`)."""
    _check_result(result)
    from .text_cells import connectivity as gradient_norms
    return gradient_norms(result.model.spec, result.model.weights(), _vocabulary(result, vocabulary), text, step)


def _vocabulary(result: Result, vocabulary: object) -> object:
    """The vocabulary given, or the one the result's task data keeps (a text task's ``info["vocabulary"]``)."""
    found = vocabulary if vocabulary is not None else result.data.info.get("vocabulary")
    if found is None:
        raise ValueError(f"vocabulary: the model was trained on {result.task.name}, which keeps no vocabulary; "
                         f"train on a text task (task='text'), or pass vocabulary=")
    return found


def _check_result(result: object) -> None:
    if not isinstance(result, Result):
        raise fail_type("result", result, "the Result of lab.train(...)")
