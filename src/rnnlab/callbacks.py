"""What happens around the training loop, one job per callback: the progress bar, the epoch lines,
the run directory's files (metrics, per-step losses, log, checkpoints) and TensorBoard."""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TextIO

from . import progress
from .metrics import format_metric, metric_of_sums
from .rundir import RunDir
from .text.sampling import generate
from .text.vocab import Vocabulary, WordVocabulary, vocabulary_of
from .trainer import Callback, EpochRecord, History, LoopState, Trainer


def epoch_text(label: str, metric: str, epochs: int, record: EpochRecord, text_bits: str = "") -> str:
    """``lstm epoch 2/4: train loss 0.1375 accuracy 96.09 % | val 97.75 % | test loss 0.0768 ... | 6.0 s``; a text
    run (``text_bits``: how its bits per step print, "bpc" or "bits per word") adds its cross-entropy in bits and
    its perplexity (:func:`text_numbers`)."""
    val = f" | val {format_metric(metric, record.val_metric)}" if record.val_metric is not None else ""
    text = text_numbers(record, text_bits) if text_bits else ""
    return (f"{label} epoch {record.epoch}/{epochs}: train loss {record.train_loss:.4f} "
            f"{metric} {format_metric(metric, record.train_metric)}{val} | test loss {record.test_loss:.4f} "
            f"{metric} {format_metric(metric, record.test_metric)}{text} | {record.seconds:.1f} s")


def text_numbers(record: EpochRecord, bits: str = "bpc") -> str:
    """`` | train/val/test 2.101/2.254/2.300 bpc, perplexity 4.29/4.77/4.92``: the cross-entropy L (nats) of
    each split as bits per character (or per word: ``bits``) L / ln 2 and as perplexity exp(L)."""
    losses = [record.train_loss, record.val_loss, record.test_loss]
    names = "/".join(name for name, loss in zip(("train", "val", "test"), losses) if loss is not None)
    present = [loss for loss in losses if loss is not None]
    return (f" | {names} {'/'.join(f'{loss / math.log(2):.3f}' for loss in present)} {bits}, perplexity "
            f"{'/'.join(f'{math.exp(min(loss, 700)):.2f}' for loss in present)}")


def epoch_line(trainer: Trainer, record: EpochRecord) -> str:
    """The epoch's line (:func:`epoch_text`) of a trainer's run."""
    return epoch_text(trainer.label, trainer.metric, trainer.optim.epochs, record,
                      text_bits(getattr(trainer.data, "info", {})))


def text_bits(info: dict) -> str:
    """How a text run's bits per step print ("bpc", "bits per word"); "" for a task's data without a vocabulary."""
    return vocabulary_of(info["vocabulary"]).bits if "vocabulary" in info else ""


class ProgressBar(Callback):
    """A bar per epoch with the running loss and metric, closed when the epoch ends: a widget in a Jupyter
    notebook (``tqdm.auto``), a tqdm bar on a terminal's standard error; none in a log or a pipe, which
    keeps its plain epoch lines, not thousands of carriage-return updates (:mod:`rnnlab.progress`)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar = None

    @staticmethod
    def wanted(stream: object = None) -> bool:
        """A notebook with ipywidgets, or ``stream`` (standard error) is a terminal."""
        return progress.bar_shown(stream)

    def on_epoch_start(self, trainer: Trainer, state: LoopState, epoch: int) -> None:
        self.close()
        self.bar = progress.bar(total=trainer.batches_per_epoch, initial=state.batch, stream=self.stream,
                                desc=f"{trainer.label} {epoch + 1}/{trainer.optim.epochs}", unit="batch")

    def on_batch(self, trainer: Trainer, state: LoopState, loss: float) -> None:
        if state.batch % 10 == 1 or state.batch == trainer.batches_per_epoch:
            self.bar.set_postfix(loss=f"{state.loss_sum / state.batches:.4f}",
                                 metric=format_metric(trainer.metric, metric_of_sums(trainer.metric, state.metric_sum,
                                                                            state.metric_count)))
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_epoch(self, trainer: Trainer, state: LoopState, record: EpochRecord) -> None:
        self.close()

    def on_interrupt(self, trainer: Trainer, state: LoopState) -> None:
        self.close()


class EpochPrinter(Callback):
    """One line per epoch through ``echo`` (print by default)."""

    def __init__(self, echo: Callable[[str], None] = print) -> None:
        self.echo = echo

    def on_fit_start(self, trainer: Trainer, threads_line: str) -> None:
        self.echo(threads_line)

    def on_epoch(self, trainer: Trainer, state: LoopState, record: EpochRecord) -> None:
        self.echo(epoch_line(trainer, record))


class RunFiles(Callback):
    """metrics.csv, iterations.csv (training loss per step), train.log and the checkpoint, after every
    epoch; the checkpoint (and the steps so far) also at Ctrl-C."""

    def __init__(self, run: RunDir, history: History) -> None:
        self.run, self.history = run, history

    def on_fit_start(self, trainer: Trainer, threads_line: str) -> None:
        self.run.append_log(threads_line)

    def on_epoch(self, trainer: Trainer, state: LoopState, record: EpochRecord) -> None:
        self.run.write_metrics([vars(r) for r in self.history.epochs])
        self.run.write_iterations(self.history.iteration_loss, self.history.iteration_metric)
        self.run.save_checkpoint(trainer.model, state.to_dict())
        self.run.append_log(epoch_line(trainer, record))

    def on_interrupt(self, trainer: Trainer, state: LoopState) -> None:
        self.run.write_iterations(self.history.iteration_loss, self.history.iteration_metric)
        self.run.save_checkpoint(trainer.model, state.to_dict())


class BestModel(Callback):
    """best-model.npz: the weights of the epoch with the lowest validation loss so far, and best.json (its
    epoch and validation numbers).  Attached before :class:`RunFiles`, so the checkpoint of an epoch is
    never written before that epoch's best model: a run cut in between trains the epoch again and
    writes both."""

    def __init__(self, run: RunDir, history: History) -> None:
        self.run, self.history = run, history

    def on_epoch(self, trainer: Trainer, state: LoopState, record: EpochRecord) -> None:
        if record.val_loss is None:
            return
        earlier = [r.val_loss for r in self.history.epochs if r.epoch < record.epoch and r.val_loss is not None]
        if earlier and record.val_loss >= min(earlier):
            return
        self.run.save_model(trainer.model.weights(), trainer.model.spec, trainer.model.engine, "best-model.npz")
        self.run.write_json("best.json", {"epoch": record.epoch, "val_loss": record.val_loss,
                                          "val_metric": record.val_metric, "metric": trainer.metric})


class TextSampler(Callback):
    """After each epoch, a short text the model writes (:func:`rnnlab.text.sampling.generate`, seeded by the
    run's seed and the epoch, so a resumed run writes the same): in the epoch lines, and in the run's train.log
    and samples.json when there is a run directory."""

    def __init__(self, vocabulary: Vocabulary | WordVocabulary, echo: Callable[[str], None] | None = print,
                 run: RunDir | None = None, length: int | None = None, temperature: float = 0.8, seed: int = 0
                 ) -> None:
        self.vocabulary, self.echo, self.run = vocabulary, echo, run
        self.length = vocabulary.sample_length if length is None else length      # 160 characters, 32 words
        self.temperature, self.seed = temperature, seed

    def on_epoch(self, trainer: Trainer, state: LoopState, record: EpochRecord) -> None:
        text = generate(trainer.model, self.vocabulary, length=self.length, temperature=self.temperature,
                        seed=self.seed + record.epoch)
        line = f"{trainer.label} sample after epoch {record.epoch} (temperature {self.temperature:g}): {text!r}"
        if self.echo is not None:
            self.echo(line)
        if self.run is not None:
            self.run.append_log(line)
            self.run.append_sample(record.epoch, text, {"temperature": self.temperature, "seed": self.seed
                                                        + record.epoch})


class TensorBoard(Callback):
    """TensorBoard event files in the run directory: per epoch every number of metrics.csv (tag
    ``epoch/<column>``, step = the epoch), per optimizer step the training loss (``step/train_loss``)."""

    def __init__(self, run: RunDir) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:   # torch's writer needs the tensorboard package
            raise ValueError("--tensorboard needs the tensorboard package: pip install tensorboard, "
                             "then run again") from None
        self.writer = SummaryWriter(log_dir=str(run.path))

    def on_batch(self, trainer: Trainer, state: LoopState, loss: float) -> None:
        self.writer.add_scalar("step/train_loss", loss, state.step)

    def on_epoch(self, trainer: Trainer, state: LoopState, record: EpochRecord) -> None:
        for name, value in vars(record).items():
            if name != "epoch" and value is not None:
                self.writer.add_scalar(f"epoch/{name}", value, record.epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
