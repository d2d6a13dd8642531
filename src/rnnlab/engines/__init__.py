"""The three engines behind one interface: "numpy" (hand-written BPTT), "scratch" (rnnlab.torch)
and "torch" (torch.nn).

:func:`build_recurrent` builds the recurrent part of a model (a :class:`RecurrentSpec`) on an
engine; :func:`build_trainable` builds a whole model (a :class:`ModelSpec`) with its optimizer,
as an object that follows the :class:`~rnnlab.engines.protocol.Trainable` protocol, which is all
the trainer ever touches.  Each adapter lives in its own module with its own checkpoint format.
"""
from __future__ import annotations

from ..rules import ENGINES, check_options
from ..spec import ModelSpec, RecurrentSpec
from .protocol import Trainable
from .recurrent import build_recurrent

__all__ = ["ENGINES", "ModelSpec", "RecurrentSpec", "Trainable", "build_recurrent", "build_trainable"]


def build_trainable(spec: ModelSpec, engine: str, optimizer: str = "adam", lr: float = 1e-3, seed: int = 0,
                    momentum: float = 0.0, clip_value: float | None = None, clip_norm: float | None = None,
                    device: str = "cpu", weight_decay: float = 0.0) -> Trainable:
    """A whole model of ``spec`` (sizes filled in) on ``engine``, with its optimizer and clipping."""
    from ..config import OptimConfig
    check_options(spec.cell, engine, {**spec.recurrent.options(), "head": spec.head,
                                        "bidirectional_read": spec.bidirectional_read, "device": device})
    if spec.output_size is None or spec.input_size is None:
        raise ValueError("spec: the model has no input or output size yet; use ModelSpec.for_task(task)")
    optim = OptimConfig(optimizer=optimizer, lr=lr, momentum=momentum, clip_value=clip_value, clip_norm=clip_norm,
                        weight_decay=weight_decay)
    if engine == "numpy":
        from .numpy_engine import NumpyTrainable
        return NumpyTrainable(spec, optim, seed)
    from .torch_engine import TorchTrainable
    return TorchTrainable(spec, engine, optim, seed, device)
