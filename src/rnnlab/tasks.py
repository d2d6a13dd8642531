"""The task registry: each task named once with its data, sizes, loss, metric and chance baseline.

Training, evaluation and reports look a task up here and never special-case one.  A task's data
comes as :class:`TaskData`: train / validation / test :class:`Split` s of batch-first float32 inputs
``x: (N, T, D)`` with targets shaped for the task's loss and readout:

==============  ===========  =================================  =====================
loss            readout      y                                  metric
==============  ===========  =================================  =====================
cross_entropy   last         int64 (N,)                         accuracy
cross_entropy   every        int64 (N, T)                       accuracy (per step)
mse             last/every   float32 (N, O) / (N, T, O)         mse
bce             every        float32 (N, T, O) in {0, 1}        bit_accuracy
==============  ===========  =================================  =====================

``mask: (N, T)`` marks the steps that count (sequential XOR ignores step 0).

The task also decides in which order batches reach the model (``stream_of``, see
:mod:`rnnlab.streams`): shuffled whole samples by default, or a contiguous stream (each batch row
continuing its own part of the data, the model carrying its state) for a long sequence such as a
text, where x and y are ``(S, L, ...)`` read as one sequence of S L steps::

    Task(..., readout="every", stream_of=lambda o: Contiguous(window=o["bptt"]))

The text tasks (``text``: the embedded corpus or ``--opt path=FILE``; ``human-numbers``; ``human-numbers-words``,
which reads a word per step) are such tasks: x is the one-hot symbol (character or word) of every step, y the
next symbol's number (cross-entropy at every step), and their sizes are the vocabulary's, which depends on the
options (``sizes_of``; :meth:`Task.sized`).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from operator import attrgetter

import numpy as np

from .argcheck import shown
from .data import synthetic
from .data.mnist import DATASETS, data_root, load_dataset, where_on_disk
from .data.views import make_splits
from .streams import BatchStream, Contiguous, Shuffled
from .text.corpora import DEFAULT_CORPUS, EMBEDDED, FASTBOOK_ROWS, Corpus, human_numbers, load_corpus
from .text.corpora import next_character_arrays as next_symbol_arrays
from .text.ngram import cached_baseline
from .text.vocab import Vocabulary, WordVocabulary


@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index: np.ndarray | slice) -> Split:
        return Split(self.x[index], self.y[index], None if self.mask is None else self.mask[index])


@dataclass
class TaskData:
    train: Split
    val: Split | None
    test: Split
    extra_tests: dict[str, Split] = field(default_factory=dict)   # e.g. binary addition per length
    info: dict = field(default_factory=dict)                       # every choice, to record in a run
    stream: BatchStream = field(default_factory=Shuffled)          # the batch order (set by Task.load)


# How a task makes its data: build(options, seed, data_dir, download)
Builder = Callable[[dict, int, str | os.PathLike | None, bool], TaskData]


@dataclass(frozen=True)
class Task:
    name: str
    summary: str
    input_size: int
    output_size: int
    loss: str                      # "cross_entropy" | "mse" | "bce"
    metric: str                    # "accuracy" | "mse" | "bit_accuracy"
    readout: str                   # "last" | "every"
    defaults: dict
    build: Builder = field(repr=False)
    baseline_of: Callable[[dict], float] = field(repr=False)
    baseline_note: str
    dataset: str | None = None     # "mnist" / "fashion-mnist" for image tasks
    baseline_measure: str = ""     # what the baseline measures, when it is not the metric
    steps_of: Callable[[dict], int] = field(default=lambda o: o["length"], repr=False)
    stream_of: Callable[[dict], BatchStream] = field(default=lambda o: Shuffled(), repr=False)   # the batch order
    # (input, output) sizes that depend on the options (a text's vocabulary); None: input_size, output_size
    sizes_of: Callable[[dict], tuple[int, int]] | None = field(default=None, repr=False)
    # how many numbers the task's data holds for these options, when the memory estimate cannot count sequences
    numbers_of: Callable[[dict], int] | None = field(default=None, repr=False)

    @property
    def chance_measure(self) -> str:
        return self.baseline_measure or self.metric

    def options(self, **overrides: object) -> dict:
        """The defaults with ``overrides``, each checked against its kind (:data:`OPTION_KINDS`)."""
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise ValueError(f"task {self.name}: unknown option(s) {', '.join(unknown)}; "
                             f"it takes {', '.join(self.defaults) or 'none'}")
        given = {k: _checked_option(self.name, k, v) for k, v in overrides.items() if v is not None}
        return {**self.defaults, **given}

    def sized(self, options: dict | None = None) -> Task:
        """This task with the input and output sizes of ``options`` (a text task's vocabulary size; reading
        the corpus, which refuses a bad file); the task itself when its sizes are fixed."""
        if self.sizes_of is None:
            return self
        inputs, outputs = self.sizes_of(self.options(**(options or {})))
        return replace(self, input_size=inputs, output_size=outputs)

    def steps(self, **overrides: object) -> int:
        """The length of the longest sequence the task makes with these options."""
        return self.steps_of(self.options(**overrides))

    def baseline(self, **overrides: object) -> float:
        """The chance-level value of the task's metric (accuracy) or loss (mse) for these options."""
        return self.baseline_of(self.options(**overrides))

    def load(self, seed: int = 0, data_dir: str | os.PathLike | None = None, download: bool = True,
             **overrides: object) -> TaskData:
        opts = self.options(**overrides)
        data = self.build(opts, seed, data_dir, download)
        data.info = {"task": self.name, "seed": seed, **opts, **data.info}
        data.stream = self.stream_of(opts)
        return data


# what each task option holds: "count" a positive whole number, "seed" a non-negative one,
# "counts" a list of counts, a tuple the choices
OPTION_KINDS: dict[str, object] = {
    "n_train": "count", "n_val": "count", "n_test": "count", "length": "count", "delay": "count",
    "features": "count", "bits": "count", "max_test_bits": "count", "long_test_bits": "counts",
    "permutation_seed": "seed", "split": ("official", "validation"), "scaling": ("unit", "symmetric", "standard"),
    "bptt": "count", "corpus": tuple(EMBEDDED), "path": "path", "numbers": "count"}


def _whole(value: object, smallest: int) -> int | None:
    """``value`` as an int when it is a whole number >= smallest (1000.0 and 1e3 count), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (value == value and value.is_integer()):
        return None
    return int(value) if value >= smallest else None


def _checked_option(task: str, name: str, value: object) -> object:
    kind = OPTION_KINDS.get(name)
    if isinstance(kind, tuple):
        if value in kind:
            return value
        expected = f"one of {', '.join(kind)}"
    elif kind in ("count", "seed"):
        number = _whole(value, 1 if kind == "count" else 0)
        if number is not None:
            return number
        expected = "a positive whole number" if kind == "count" else "a whole number >= 0"
    elif kind == "counts":
        numbers = [_whole(v, 1) for v in value] if isinstance(value, (list, tuple)) else [None]
        if None not in numbers:
            return tuple(numbers)
        expected = "a list of positive whole numbers such as [50, 100]"
    elif kind == "path":
        if isinstance(value, (str, os.PathLike)) and str(value):
            return str(value)
        expected = "the path of a UTF-8 text file"
    else:
        return value
    raise ValueError(f"task {task}: option {name}: expected {expected}, got {shown(value)}; "
                     f"e.g. --opt {name}={_example(name, kind)}")


def _example(name: str, kind: object) -> str:
    if isinstance(kind, tuple):
        return kind[0]
    return {"counts": "[50,100]", "seed": "0", "path": "corpus.txt"}.get(str(kind), "20")


def _seeds(seed: int, count: int = 3) -> list[np.random.SeedSequence]:
    """Independent child seeds for the train, validation and test sets of one task seed."""
    return np.random.SeedSequence(seed).spawn(count)


# ---------------------------------------------------------------------------------------------
# Image tasks


def _image_task(dataset: str, view: str) -> Builder:
    def build(opts: dict, seed: int, data_dir: str | os.PathLike | None, download: bool) -> TaskData:
        images = load_dataset(dataset, data_dir, download=download)
        s = make_splits(images, view=view, scaling=opts["scaling"], split=opts["split"], seed=seed,
                        n_train=opts["n_train"], n_test=opts["n_test"], n_val=opts["n_val"],
                        permutation_seed=opts["permutation_seed"])
        val = None if s.val_x is None else Split(s.val_x, s.val_y)
        return TaskData(Split(s.train_x, s.train_y), val, Split(s.test_x, s.test_y), info=s.info)
    return build


_IMAGE_DEFAULTS = {"split": "validation", "scaling": "unit", "n_train": None, "n_test": None, "n_val": 10000,
                   "permutation_seed": 0}


def _image(name: str, dataset: str, view: str, summary: str) -> Task:
    steps, width = {"rows": (28, 28), "pixels": (784, 1), "permuted": (784, 1)}[view]
    return Task(name, summary, input_size=width, output_size=10, loss="cross_entropy", metric="accuracy",
                readout="last", defaults=dict(_IMAGE_DEFAULTS), build=_image_task(dataset, view),
                baseline_of=lambda opts: 0.1, baseline_note="10 balanced classes: 10 % accuracy",
                dataset=dataset, steps_of=lambda opts: steps)


# ---------------------------------------------------------------------------------------------
# Synthetic tasks


def _fixed_sets(make: Callable[[int, dict, np.random.SeedSequence], Split]) -> Builder:
    """A builder drawing train / validation / test sets of the sizes in the options from ``make``."""
    def build(opts: dict, seed: int, data_dir: str | os.PathLike | None, download: bool) -> TaskData:
        parts = [make(opts[key], opts, child) for key, child in zip(("n_train", "n_val", "n_test"), _seeds(seed))]
        return TaskData(*parts)
    return build


def _cumavg(every_step: bool) -> Callable[[int, dict, np.random.SeedSequence], Split]:
    def make(n: int, opts: dict, seed: np.random.SeedSequence) -> Split:
        x, y = synthetic.cumulative_average(n, opts["length"], seed, every_step=every_step)
        return Split(x, y)
    return make


def _copy(n: int, opts: dict, seed: np.random.SeedSequence) -> Split:
    return Split(*synthetic.copy_task(n, opts["delay"], seed))


def _copy_seed(n: int, opts: dict, seed: np.random.SeedSequence) -> Split:
    return Split(*synthetic.copy_memory_seed(n, opts["length"], opts["features"], seed))


def _xor(n: int, opts: dict, seed: np.random.SeedSequence) -> Split:
    return Split(*synthetic.sequential_xor(n, opts["length"], seed))


def _adding(n: int, opts: dict, seed: np.random.SeedSequence) -> Split:
    return Split(*synthetic.adding_problem(n, opts["length"], seed))


def _binary_add(opts: dict, seed: int, data_dir: str | os.PathLike | None, download: bool) -> TaskData:
    train_seed, val_seed, test_seed = _seeds(seed)
    bits = opts["bits"]
    lengths = [*range(1, opts["max_test_bits"] + 1), *(k for k in opts["long_test_bits"] if k > opts["max_test_bits"])]
    by_length = synthetic.binary_addition_by_length(opts["n_test"], lengths, test_seed)
    extra = {f"bits={length}": Split(x, y) for length, (x, y) in by_length.items()}
    train = Split(*synthetic.binary_addition(opts["n_train"], bits, train_seed))
    val = Split(*synthetic.binary_addition(opts["n_val"], bits, val_seed))
    return TaskData(train, val, extra[f"bits={bits}"] if bits <= opts["max_test_bits"]
                    else Split(*synthetic.binary_addition(opts["n_test"], bits, test_seed)), extra)


# ---------------------------------------------------------------------------------------------
# Text tasks (rnnlab.text): one long text read as a contiguous stream, the next symbol at every step: a character,
# or a word for a word-level task (the task's ``symbols`` picks the corpus's vocabulary of either kind)
Symbols = Callable[[Corpus], Vocabulary | WordVocabulary]
_characters, _words = attrgetter("vocabulary"), attrgetter("word_vocabulary")


def _corpus(opts: dict) -> Corpus:
    if "numbers" in opts:
        return human_numbers(opts["numbers"])
    return load_corpus(opts.get("corpus", DEFAULT_CORPUS), opts.get("path"), opts.get("n_train"))


def ngram_baseline(opts: dict, symbols: Symbols = _characters) -> dict:
    """The interpolated Kneser-Ney baseline of a text task's corpus (rnnlab.text.ngram) over its symbols, computed
    once."""
    corpus = _corpus(opts)
    vocab = symbols(corpus)
    return cached_baseline((corpus.name, len(corpus), vocab.unit), corpus.train, corpus.val, corpus.test, vocab)


def _text(symbols: Symbols) -> Builder:
    def build(opts: dict, seed: int, data_dir: str | os.PathLike | None, download: bool) -> TaskData:
        corpus = _corpus(opts)
        vocab = symbols(corpus)
        parts = [Split(*next_symbol_arrays(part, vocab)) for part in (corpus.train, corpus.val, corpus.test)]
        counts = {"train": vocab.count(corpus.train), "val": vocab.count(corpus.val), "test": vocab.count(corpus.test)}
        info = {"corpus": corpus.name, "corpus_source": corpus.source, "vocabulary": vocab.recorded,
                f"{vocab.unit}s": counts, "ngram": ngram_baseline(opts, symbols)}
        return TaskData(*parts, info=info)
    return build


def _majority_word(opts: dict) -> float:
    """HUMAN_NUMBERS' chance level as fastbook gives it: always the training text's most common word ("." counts)."""
    corpus = _corpus(opts)
    words = corpus.train.split()
    common = max(set(words), key=words.count)
    val = corpus.val.split()
    return val.count(common) / len(val)


def _text_task(name: str, summary: str, metric: str, defaults: dict, baseline: Callable[[dict], float],
               note: str, symbols: Symbols = _characters, eval_rows: int | None = None) -> Task:
    def sizes(o: dict) -> tuple[int, int]:
        return (symbols(_corpus(o)).size,) * 2

    def numbers(o: dict) -> int:
        corpus = _corpus(o)
        vocab = symbols(corpus)
        steps = sum(vocab.count(part) for part in (corpus.train, corpus.val, corpus.test))
        return steps * (vocab.size + 2)   # one-hot inputs, targets, mask
    return Task(name, summary, 0, 0, "cross_entropy", metric, "every", defaults, _text(symbols), baseline, note,
                steps_of=lambda o: o["bptt"], stream_of=lambda o: Contiguous(o["bptt"], eval_rows=eval_rows),
                sizes_of=sizes, numbers_of=numbers)


TEXT_TASKS = (
    _text_task("text", "next character of a text: The Devil's Dictionary (embedded, public domain) or --opt path=FILE",
               "bits_per_char", {"corpus": "devils-dictionary", "path": None, "bptt": 64, "n_train": None},
               lambda o: ngram_baseline(o)["test_bpc"],
               "interpolated Kneser-Ney n-gram of the training text (order by validation): its test bits per char"),
    _text_task("human-numbers", "next character of fastbook's HUMAN_NUMBERS (1 to 9,999 in words), scored by word",
               "word_accuracy", {"bptt": 64, "numbers": 9999}, _majority_word,
               "always the most common word (fastbook's baseline): word accuracy"),
    _text_task("human-numbers-words", "next word of fastbook's HUMAN_NUMBERS, one word per step (fastbook's task: "
                                      "its accuracies compare directly)", "accuracy", {"bptt": 16, "numbers": 9999},
               _majority_word, "always the most common word (fastbook's baseline): next-word accuracy",
               symbols=_words, eval_rows=FASTBOOK_ROWS),   # validated in fastbook's 64 rows, whatever the batch
)

_SIZES = {"n_train": 10000, "n_val": 1000, "n_test": 1000}

TASKS: dict[str, Task] = {task.name: task for task in [
    _image("mnist-rows", "mnist", "rows", "MNIST read row by row: 28 steps of 28 pixels"),
    _image("mnist-pixels", "mnist", "pixels", "MNIST read pixel by pixel: 784 steps of 1 pixel"),
    _image("mnist-permuted", "mnist", "permuted", "MNIST pixels in one fixed random order: 784 steps"),
    _image("fashion-rows", "fashion-mnist", "rows", "Fashion-MNIST read row by row: 28 steps of 28 pixels"),
    _image("fashion-pixels", "fashion-mnist", "pixels", "Fashion-MNIST pixel by pixel: 784 steps of 1 pixel"),
    Task("cumavg", "running mean of N(0,1) inputs, target at every step (the gradient-flow notebook)", 1, 1, "mse",
         "mse", "every",
         {"length": 10, **_SIZES}, _fixed_sets(_cumavg(True)),
         lambda o: synthetic.cumulative_average_baseline(o["length"], True),
         "predicting 0: MSE (1 + 1/2 + ... + 1/T) / T"),
    Task("cumavg-last", "running mean of N(0,1) inputs, target at the last step only (the gradient-flow notebook)",
         1, 1, "mse", "mse", "last", {"length": 10, **_SIZES}, _fixed_sets(_cumavg(False)),
         lambda o: synthetic.cumulative_average_baseline(o["length"], False), "predicting 0: MSE 1 / T"),
    Task("copy", "recall 10 symbols (of 8) after a delay of T blank steps", synthetic.COPY_DELIMITER + 1,
         synthetic.COPY_SYMBOLS + 1, "cross_entropy", "accuracy", "every", {"delay": 50, **_SIZES},
         _fixed_sets(_copy), lambda o: synthetic.copy_task_baseline(o["delay"]),
         "blanks then a uniform guess: cross-entropy 10 log 8 / (T + 20)", baseline_measure="cross_entropy",
         steps_of=lambda o: o["delay"] + 2 * synthetic.COPY_LENGTH),
    Task("copy-seed", "RNN Warmup's copy memory: values at step 0, noise after, recall at the end", 10, 10, "mse",
         "mse", "last", {"length": 50, "features": 10, **_SIZES}, _fixed_sets(_copy_seed),
         lambda o: synthetic.COPY_SEED_BASELINE_MSE, "predicting 0.5: MSE 1/12 = 0.083"),
    Task("xor", "sequential XOR: y_t = x_t xor x_(t-1), step 0 ignored (RNN Warmup)", 1, 1, "bce", "bit_accuracy",
         "every", {"length": 20, **_SIZES}, _fixed_sets(_xor), lambda o: 0.5,
         "50 % bit accuracy (binary cross-entropy log 2)"),
    Task("adding", "adding problem: sum the two marked values (RNN Warmup)", 2, 1, "mse", "mse", "last",
         {"length": 50, **_SIZES}, _fixed_sets(_adding), lambda o: synthetic.ADDING_BASELINE_MSE,
         "predicting 1.0: MSE 1/6 = 0.167"),
    Task("binary-add", "binary addition, LSB first; tests at 1..20, 50 and 100 bits (Programming Assignment 4)", 2, 1,
         "bce", "bit_accuracy", "every", {"bits": 5, "max_test_bits": 20, "long_test_bits": (50, 100),
                                          "n_train": 2000, "n_val": 200, "n_test": 100},
         _binary_add, lambda o: 0.5, "50 % bit accuracy",
         steps_of=lambda o: max(o["bits"], o["max_test_bits"], *o["long_test_bits"]) + 1),
    *TEXT_TASKS,
]}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)} (see `rnnlab data list`)")
    return TASKS[name]


def availability(task: Task, data_dir: str | os.PathLike | None = None) -> str:
    """Where a task's data comes from now: generated, or the folder holding the dataset, or missing."""
    if task.dataset is None:
        return "generated"
    found = where_on_disk(DATASETS[task.dataset], data_root(data_dir))
    return f"on disk: {found}" if found else f"missing: run `rnnlab data fetch {task.dataset}`"


def describe_tasks(data_dir: str | os.PathLike | None = None) -> str:
    """The registry as a table (what `rnnlab data list` prints)."""
    rows = [("task", "in", "out", "loss", "metric", "baseline", "data")]
    for task in TASKS.values():
        task = task.sized()
        rows.append((task.name, str(task.input_size), str(task.output_size), task.loss, task.metric,
                     f"{task.chance_measure} {task.baseline():.3g}", availability(task, data_dir)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
