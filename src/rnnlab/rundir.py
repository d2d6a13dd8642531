"""The run directory: what each file holds, how it is written (atomically) and read (with clear errors).

    config.json      the resolved configuration (sectioned), the model spec with the task's sizes,
                     the task, loss, metric and number of parameters
    task.json        everything the task recorded (split sizes, scaling, the pixel permutation...)
    metrics.csv      one row per epoch: train / validation / test loss and metric, seconds, lr
    train.log        the one-line summary of every epoch
    checkpoint.pt    (PyTorch engines) or checkpoint.npz (NumPy engine): weights, optimizer and random
                     state after the last finished epoch (or at Ctrl-C), in the engine's own format, and
                     the loop's position (rnnlab.trainer.LoopState: with a contiguous stream, also the
                     recurrent state carried into the next batch, so a run cut mid-epoch resumes exactly;
                     a position saved before streams existed has none and still loads)
    model.npz        the final weights under torch.nn's names (+ head) and the spec, loadable by every engine
    best-model.npz   the same for the epoch of the lowest validation loss so far (runs with a validation set);
                     best.json says which epoch and its validation numbers
    vocabulary.json  text runs: the characters (or words) the model reads and writes (rnnlab.text.vocab)
    samples.json     text runs: a short text the model wrote after each epoch
    predictions.npz  test-set targets and outputs (for confusion matrices and sample plots)
    summary.json     final and best metrics, parameters, time
    events.out.tfevents.*  TensorBoard's copy of metrics.csv (with --tensorboard)

Every file is written whole or not at all (:func:`rnnlab.files.write_atomic`); a file that cannot
be read raises a ``ValueError`` naming the file, what is wrong, and what to do.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .filecheck import MAX_JSON_FILE, npz_headers, open_regular, read_regular
from .files import write_atomic
from .modelfile import check_archive, checkpoint_limit, read_model_file
from .spec import ModelSpec
from .text.vocab import Vocabulary, WordVocabulary, vocabulary_from_json
from .trainer import EpochRecord, History

if TYPE_CHECKING:
    from .engines.protocol import Trainable

METRIC_COLUMNS = ("epoch", "train_loss", "train_metric", "val_loss", "val_metric", "test_loss", "test_metric",
                  "seconds", "lr")
REQUIRED_COLUMNS = ("epoch", "train_loss", "train_metric", "test_loss", "test_metric")
MAX_CSV_FILE = 128 * 2 ** 20       # metrics.csv, iterations.csv (a row per optimizer step)
MAX_MODEL_FILE = 2 ** 30           # model.npz: the bytes its arrays may hold in all
MAX_PREDICTIONS_FILE = 2 ** 30
MAX_NAME = 200
RUN_FILES = ("config.json", "task.json", "metrics.csv", "train.log", "checkpoint.pt", "checkpoint.npz")


class RunExists(RuntimeError):
    """A run directory is in the way (pass --force, --resume or another --name)."""


def check_run_name(name: object, what: str = "--name") -> str:
    """A run's name is one printable folder name: not empty, not ``.`` or ``..``, no path separator, no
    control character (a newline would forge a row of `rnnlab runs`), at most MAX_NAME characters.  ``what``
    says where the name came from, for the message."""
    shown = repr(name) if not isinstance(name, str) or len(name) <= 60 else repr(name[:60]) + "..."
    if not isinstance(name, str):
        reason = f"expected text, got {type(name).__name__}"
    elif name in ("", ".", ".."):
        reason = "empty, '.' or '..' is not a run's own folder"
    elif "/" in name or "\\" in name:
        reason = "it holds a path separator ('/' or '\\\\')"
    elif any(unicodedata.category(c)[0] in "CZ" and c != " " for c in name):
        bad = next(c for c in name if unicodedata.category(c)[0] in "CZ" and c != " ")
        reason = f"it holds the control or invisible character {bad!r}"
    elif len(name) > MAX_NAME:
        reason = f"{len(name)} characters, more than {MAX_NAME}"
    else:
        return name
    raise ValueError(f"{what}: {shown} is not a folder name ({reason}); a run name is a single printable folder "
                     f"name such as 'lstm-try2'")


class RunDir:
    """The files of one run, in folder ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def file(self, name: str) -> Path:
        return self.path / name

    # ------------------------------------------------------------------------------ the folder
    def is_occupied(self) -> bool:
        return self.path.exists() and any(self.path.iterdir())

    def check_free(self, force: bool) -> None:
        """Refuse to start a new run over an existing one unless ``force`` (nothing is deleted here)."""
        if self.path.exists() and not self.path.is_dir():
            raise RunExists(f"{self.path} is a file, not a run directory; choose another --name")
        if self.is_occupied() and not force:
            raise RunExists(f"{self.path} already exists; pass --force to overwrite it, --resume to continue it, "
                            f"or choose another --name")

    def make_fresh(self, force: bool) -> None:
        """An empty folder for a new run (an existing run is replaced only with ``force``)."""
        self.check_free(force)
        if self.is_occupied():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------------------ JSON files
    def write_json(self, name: str, doc: dict) -> None:
        write_atomic(self.file(name), json.dumps(doc, indent=2, default=str).encode())

    def read_json(self, name: str, hint: str = "") -> dict:
        path = self.file(name)
        try:
            doc = json.loads(read_regular(path, MAX_JSON_FILE, "JSON file of a run").decode("utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{path}: missing; {hint or 'is this a run directory (rnnlab runs lists them)?'}") \
                from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())[:120]
            raise ValueError(f"{path}: damaged ({reason}); {hint or 'train the run again with --force'}") from None
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(doc).__name__}; train the run again")
        return doc

    def read_config(self) -> dict:
        """config.json, checked to hold what the other commands read from it."""
        doc = self.read_json("config.json")
        missing = [key for key in ("config", "model", "task", "engine", "loss", "metric") if key not in doc]
        if missing:
            raise ValueError(f"{self.file('config.json')}: damaged (no {', '.join(missing)}); "
                             f"train the run again with --force")
        return doc

    # ------------------------------------------------------------------------------ metrics and log
    def _read_csv(self, name: str, check: Callable[[dict], object]) -> list[dict]:
        """The rows of one of the run's CSV files (none when it is absent), each passed to ``check``."""
        path = self.file(name)
        if not path.exists():
            return []
        raw = open_regular(path, MAX_CSV_FILE, "CSV file of a run")     # its refusals name the file themselves
        try:
            with raw:
                rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))
            for row in rows:
                check(row)
        except (OSError, UnicodeDecodeError, csv.Error, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: damaged ({type(exc).__name__}); train the run again with --force") from None
        return rows

    def read_metrics(self, upto_epoch: int | None = None) -> list[dict]:
        """The rows of metrics.csv (text values): the columns every run writes, numbers (or nothing) in every cell."""
        def check(row: dict) -> None:
            EpochRecord.from_row({k: row[k] for k in REQUIRED_COLUMNS})
            for value in row.values():
                if value not in ("", None):
                    float(value)
        rows = self._read_csv("metrics.csv", check)
        return [row for row in rows if upto_epoch is None or int(row["epoch"]) <= upto_epoch]

    def write_metrics(self, rows: list[dict]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(self.file("metrics.csv"), buffer.getvalue().encode())

    def write_iterations(self, losses: list[float], metrics: list[float] | None = None) -> None:
        """iterations.csv: the training loss of every optimizer step, and the task's metric on its batch."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if metrics is None or len(metrics) != len(losses):     # a history without the batches' metric
            writer.writerow(("step", "train_loss"))
            writer.writerows(enumerate(losses, 1))
        else:
            writer.writerow(("step", "train_loss", "train_metric"))
            writer.writerows(zip(range(1, len(losses) + 1), losses, metrics))
        write_atomic(self.file("iterations.csv"), buffer.getvalue().encode())

    def read_iterations(self, steps: int | None = None) -> list[float]:
        """The training loss of the first ``steps`` steps (all when None; empty when absent)."""
        return self.read_iteration_columns(steps)[0]

    def read_iteration_columns(self, steps: int | None = None) -> tuple[list[float], list[float]]:
        """(training loss, batch metric) of the first ``steps`` steps; the metric is empty for a file of an
        older version, which has no ``train_metric`` column."""
        def check(row: dict) -> None:
            float(row["train_loss"])
            float(row.get("train_metric") or "nan")     # NaN: a batch with nothing to score
        rows = self._read_csv("iterations.csv", check)[:steps]
        metrics = [float(row["train_metric"]) for row in rows] if rows and "train_metric" in rows[0] else []
        return [float(row["train_loss"]) for row in rows], metrics

    def read_history(self, label: str, metric: str, upto_epoch: int | None = None,
                     steps: int | None = None) -> History:
        """The History the files hold (up to an epoch and a step, for a resumed run)."""
        losses, metrics = self.read_iteration_columns(steps)
        return History(label, metric, losses, [EpochRecord.from_row(row) for row in self.read_metrics(upto_epoch)],
                       iteration_metric=metrics)

    def append_log(self, line: str) -> None:
        with self.file("train.log").open("a") as handle:
            handle.write(line + "\n")

    # ------------------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, model: Trainable, position: dict) -> Path:
        """The model's training state and the trainer's position, in the engine's own format."""
        path = self.file(model.checkpoint_name)
        write_atomic(path, model.state_bytes({"position": position}))
        return path

    def load_checkpoint(self, model: Trainable) -> dict | None:
        """Restore the model's training state; returns the trainer's position (None: no checkpoint yet)."""
        path = self.file(model.checkpoint_name)
        if not path.exists():
            others = sorted(p.name for p in self.path.glob("checkpoint.*") if not p.name.startswith("."))
            if others:   # a NumPy run of rnnlab 0.1 saved checkpoint.pt; its format is not this engine's
                raise ValueError(f"{self.file(others[0])}: not a {model.engine} checkpoint ({model.checkpoint_name} "
                                 f"expected; written by an older rnnlab?); train the run again with --force")
            return None
        limit = checkpoint_limit(model)
        with open_regular(path, limit, f"{model.engine} checkpoint") as handle:
            data = handle.read(limit + 1)
        check_archive(data, path, limit, model)
        try:
            return model.load_state_bytes(data)["position"]
        except Exception as exc:   # any damage: the formats' own errors are long and name internals
            raise ValueError(f"{path}: cannot be read as a {model.engine} checkpoint of this model "
                             f"({type(exc).__name__}); train the run again with --force") from None

    # ------------------------------------------------------------------------------ the trained model
    def save_model(self, weights: dict, spec: ModelSpec, engine: str, name: str = "model.npz") -> None:
        """The portable model file: an .npz of named arrays plus the spec as JSON (no pickle)."""
        buffer = io.BytesIO()
        np.savez(buffer, __spec__=np.array(json.dumps({"spec": spec.to_dict(), "engine": engine})), **weights)
        write_atomic(self.file(name), buffer.getvalue())

    def load_model(self, name: str = "model.npz") -> tuple[ModelSpec, str, dict[str, np.ndarray]]:
        """The spec, the engine and the weights of model.npz (or ``name``: best-model.npz), every array checked
        from its header against the model the spec describes (names, shapes, dtypes, sizes) before any is
        decompressed or allocated."""
        path = self.file(name)
        if name != "model.npz" and self.file("config.json").exists() and not path.exists():
            raise ValueError(f"{self.path}: no {name} (a run keeps its best model only when it has a validation "
                             f"set and has finished an epoch); use the final model instead")
        if not self.path.is_dir():
            raise ValueError(f"{self.path}: no such run directory; `rnnlab runs` lists the runs")
        if not path.exists() and not any(self.file(name).exists() for name in RUN_FILES):
            inside = sorted(p.parent.name for p in self.path.glob("*/config.json"))[:3]
            raise ValueError(f"{self.path}: not a run directory (no config.json, no model.npz)"
                             + (f"; it holds runs: give one of them, such as {self.path / inside[0]}" if inside
                                else "; `rnnlab runs` lists the runs"))
        if not path.exists():
            raise ValueError(f"{self.path}: no model.npz (the run did not finish; "
                             f"`rnnlab train --resume {self.path}`)")
        return read_model_file(path, MAX_MODEL_FILE)

    # ------------------------------------------------------------------------------ text runs
    def write_vocabulary(self, vocabulary: Vocabulary | WordVocabulary) -> None:
        self.write_json("vocabulary.json", vocabulary.to_json())

    def read_vocabulary(self) -> Vocabulary | WordVocabulary:
        """The vocabulary of a text run; a ValueError when the run is not one."""
        if not self.file("vocabulary.json").exists():
            task = self.read_config().get("task", "?") if self.file("config.json").exists() else "?"
            raise ValueError(f"{self.path}: not a text run (no vocabulary.json; trained on task {task}); give a run "
                             f"of --task text, human-numbers or human-numbers-words")
        return vocabulary_from_json(self.read_json("vocabulary.json"), str(self.file("vocabulary.json")))

    def append_sample(self, epoch: int, text: str, settings: dict) -> None:
        """Add the text written after ``epoch`` to samples.json."""
        samples = self.read_samples()
        samples = [s for s in samples if s["epoch"] < epoch] + [{"epoch": epoch, "text": text, **settings}]
        self.write_json("samples.json", {"samples": samples})

    def read_samples(self) -> list[dict]:
        if not self.file("samples.json").exists():
            return []
        samples = self.read_json("samples.json").get("samples")
        if not isinstance(samples, list) or not all(isinstance(s, dict) and isinstance(s.get("epoch"), int)
                                                    and isinstance(s.get("text"), str) for s in samples):
            raise ValueError(f"{self.file('samples.json')}: not the samples rnnlab writes; delete the file")
        return samples

    def read_predictions(self) -> dict[str, np.ndarray] | None:
        """predictions.npz (None when absent), its arrays checked from their headers first."""
        path = self.file("predictions.npz")
        if not path.exists():
            return None
        with open_regular(path, MAX_PREDICTIONS_FILE, "predictions file") as handle:
            headers = npz_headers(handle, path, MAX_PREDICTIONS_FILE, "predictions file")
            if any(h.dtype.kind == "U" for h in headers.values()):
                raise ValueError(f"{path}: holds text, not numbers; train the run again with --force")
            try:
                handle.seek(0)
                with np.load(handle, allow_pickle=False) as data:
                    return {k: data[k] for k in data.files}
            except Exception as exc:
                raise ValueError(f"{path}: damaged, not a predictions file of rnnlab ({type(exc).__name__}); "
                                 f"train the run again with --force") from None

    def save_predictions(self, **arrays: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        write_atomic(self.file("predictions.npz"), buffer.getvalue())
