"""What happens around the training loop, one job per callback: the progress bar, the epoch lines,
the run directory's files (metrics, per-step losses, log, checkpoints) and TensorBoard."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from .metrics import format_metric, metric_of_sums
from .rundir import RunDir
from .trainer import Callback, EpochRecord, History, LoopState, Trainer


def epoch_line(trainer: Trainer, record: EpochRecord) -> str:
    """``lstm epoch 2/4: train loss 0.1375 accuracy 96.09 % | val 97.75 % | test loss 0.0768 ... | 6.0 s``."""
    metric = trainer.metric
    val = f" | val {format_metric(metric, record.val_metric)}" if record.val_metric is not None else ""
    return (f"{trainer.label} epoch {record.epoch}/{trainer.optim.epochs}: train loss {record.train_loss:.4f} "
            f"{metric} {format_metric(metric, record.train_metric)}{val} | test loss {record.test_loss:.4f} "
            f"{metric} {format_metric(metric, record.test_metric)} | {record.seconds:.1f} s")


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss and metric, on standard error; only on a terminal
    (a piped or logged run prints its epoch lines, not thousands of carriage-return updates)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar = None

    @staticmethod
    def wanted(stream: object = None) -> bool:
        stream = stream or sys.stderr
        return hasattr(stream, "isatty") and stream.isatty()

    def on_epoch_start(self, trainer: Trainer, state: LoopState, epoch: int) -> None:
        from tqdm import tqdm
        self.close()
        self.bar = tqdm(total=trainer.batches_per_epoch, initial=state.batch, leave=False, file=self.stream,
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
        self.run.write_iterations(self.history.iteration_loss)
        self.run.save_checkpoint(trainer.model, state.to_dict())
        self.run.append_log(epoch_line(trainer, record))

    def on_interrupt(self, trainer: Trainer, state: LoopState) -> None:
        self.run.write_iterations(self.history.iteration_loss)
        self.run.save_checkpoint(trainer.model, state.to_dict())


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
