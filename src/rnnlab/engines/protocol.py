"""What every engine adapter offers the trainer, and nothing more.

Portable weights use torch.nn's names for the recurrent part (``weight_ih_l0`` ...) and
``head.*`` (plus ``norm.*`` and ``dense.*`` for the richer heads), so a model trained on one
engine loads into any other.  The training state (weights, optimizer, random state) is each
engine's own affair: an adapter writes it in its own format and reads back only its own.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..spec import ModelSpec


@runtime_checkable
class Trainable(Protocol):
    engine: str
    spec: ModelSpec
    checkpoint_name: str          # the checkpoint's file name in a run directory (its format's suffix)

    def num_parameters(self) -> int:
        """How many numbers training adjusts."""

    def train_batch(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None, loss: str, lr: float,
                    loss_scale: float = 1.0) -> tuple[float, np.ndarray]:
        """Forward, loss, backward, clipping and one optimizer step at learning rate ``lr``.
        Returns the batch's mean loss and the outputs (NumPy); a non-finite loss takes no step."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs in evaluation mode (no dropout), as a NumPy array."""

    def weights(self) -> dict[str, np.ndarray]:
        """The portable weights (torch.nn names + head)."""

    def load_weights(self, weights: dict) -> None:
        """Load portable weights from any engine; names and shapes are checked first."""

    def state_bytes(self, extra: dict) -> bytes:
        """Weights, optimizer and random state, plus ``extra`` (JSON-able), in this engine's format."""

    def load_state_bytes(self, data: bytes) -> dict:
        """Restore what :meth:`state_bytes` wrote; returns its ``extra``."""
