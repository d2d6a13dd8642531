"""What every engine adapter offers the trainer, and nothing more.

Portable weights use torch.nn's names for the recurrent part (``weight_ih_l0`` ...) and
``head.*`` (plus ``norm.*`` and ``dense.*`` for the richer heads), so a model trained on one
engine loads into any other.  The training state (weights, optimizer, random state) is each
engine's own affair: an adapter writes it in its own format and reads back only its own.

Carried state (contiguous batch streams, truncated BPTT; see :mod:`rnnlab.streams`): a :data:`State`
is a dict of the cell's states as the registry names them (``cells.CELLS[cell].states``: "h", and
"c" for the LSTM), each a NumPy array (layers*dirs, N, H) laid out as torch.nn lays out h_0, so it
is the same on every engine, the trainer can zero a row of it and a checkpoint can keep it.
``{}`` means zeros.  Passing ``state`` asks for the final state back: ``train_batch`` then returns
``(loss, outputs, state)`` and ``predict`` ``(outputs, state)``; the returned state is detached
(connected to no graph: gradients of the next window stop at its start).  Without ``state`` both
behave, and return, as before.
"""
from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np

from ..spec import ModelSpec

State: TypeAlias = dict[str, np.ndarray]   # {state name: (layers*dirs, N, H)}; {} = zeros


@runtime_checkable
class Trainable(Protocol):
    engine: str
    spec: ModelSpec
    checkpoint_name: str          # the checkpoint's file name in a run directory (its format's suffix)

    def num_parameters(self) -> int:
        """How many numbers training adjusts."""

    def train_batch(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None, loss: str, lr: float,
                    loss_scale: float = 1.0, state: State | None = None
                    ) -> tuple[float, np.ndarray] | tuple[float, np.ndarray, State]:
        """Forward, loss, backward, clipping and one optimizer step at learning rate ``lr``.
        Returns the batch's mean loss and the outputs (NumPy); a non-finite loss takes no step.
        With ``state``: the forward starts from it, and the final state (detached) is returned third."""

    def predict(self, x: np.ndarray, state: State | None = None) -> np.ndarray | tuple[np.ndarray, State]:
        """Outputs in evaluation mode (no dropout), as a NumPy array; with ``state``, from it, and the
        final state returned too."""

    def weights(self) -> dict[str, np.ndarray]:
        """The portable weights (torch.nn names + head)."""

    def load_weights(self, weights: dict) -> None:
        """Load portable weights from any engine; names and shapes are checked first."""

    def state_bytes(self, extra: dict) -> bytes:
        """Weights, optimizer and random state, plus ``extra`` (JSON-able), in this engine's format."""

    def load_state_bytes(self, data: bytes) -> dict:
        """Restore what :meth:`state_bytes` wrote; returns its ``extra``."""
