"""The NumPy engine's adapter: rnnlab.numpy.SequenceModel with a hand-written optimizer.

Its training state is an ``.npz`` file (no pickle): ``weights/<name>`` and ``optim/<name>`` arrays
and one JSON document ``meta`` (the optimizer's scalars, the dropout generator's state and the
trainer's ``extra``).
"""
from __future__ import annotations

import io
import json

import numpy as np

from ..cells import get_cell
from ..config import OptimConfig
from ..numpy.split import BatchSplit
from ..spec import ModelSpec
from ..threads import current_threads


class NumpyTrainable:
    engine = "numpy"
    checkpoint_name = "checkpoint.npz"

    def __init__(self, spec: ModelSpec, optim: OptimConfig, seed: int) -> None:
        from ..numpy import SGD, Adam, SequenceModel
        r = spec.recurrent
        self.spec = spec
        self.model = SequenceModel(r.cell, r.input_size, r.hidden_size, spec.output_size, r.num_layers,
                                   r.bidirectional, r.nonlinearity, spec.readout, r.dropout, seed=seed,
                                   layer_norm=r.layer_norm, **spec.regularisation())
        self.optimizer = (Adam(self.model.params, lr=optim.lr, weight_decay=optim.weight_decay)
                          if optim.optimizer == "adam"
                          else SGD(self.model.params, lr=optim.lr, momentum=optim.momentum,
                                   weight_decay=optim.weight_decay))
        self.clip_value, self.clip_norm = optim.clip_value, optim.clip_norm
        self.bounded = any(param.bound is not None for param in get_cell(r.cell).params)
        self.split = BatchSplit(self.model)     # a batch's parts on a thread each, where threads are in use

    def num_parameters(self) -> int:
        return self.model.num_parameters()

    def train_batch(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None, loss: str, lr: float,
                    loss_scale: float = 1.0, state: dict | None = None) -> tuple:
        """One step (see :class:`~rnnlab.engines.protocol.Trainable`).  With ``state`` (carried state, {} for
        zeros) the window starts from it and ``(loss, outputs, final state)`` comes back; the final state
        is new arrays, so the next window's backward stops at its start (truncated BPTT)."""
        from ..numpy.losses import LOSSES
        parts = 1 if state is not None else self.split.parts(len(x), x.shape[1], current_threads())
        out = self.model.forward(x, train=True, state=state) if parts == 1 else self.split.forward(x, parts)
        value, dy = LOSSES[loss](out, y, mask)
        if np.isfinite(value):
            if parts == 1:
                self.model.backward(dy)
            else:
                self.split.backward(dy)
            self._step(lr)
        return (value, out) if state is None else (value, out, self.model.final_state)

    def _step(self, lr: float) -> None:
        """Clipping of the gradients the backward pass left, and one optimizer step at ``lr``."""
        from ..numpy.optim import clip_by_global_norm, clip_by_value
        if self.clip_value is not None:
            clip_by_value(self.model.grads, self.clip_value)
        if self.clip_norm is not None:
            clip_by_global_norm(self.model.grads, self.clip_norm)
        self.optimizer.lr = lr
        self.optimizer.step(self.model.grads)
        if self.bounded:   # parameters the cell registry bounds (the IndRNN's |u| <= 1), clipped after each update
            self.model.rnn.apply_bounds()

    def predict(self, x: np.ndarray, state: dict | None = None) -> np.ndarray | tuple[np.ndarray, dict]:
        out = self.model.forward(x, train=False, state=state)     # one pass: BLAS's threads serve it as well
        return out if state is None else (out, self.model.final_state)

    def weights(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_weights(self, weights: dict) -> None:
        self.model.load_state_dict({k: np.asarray(v, self.model.dtype) for k, v in weights.items()})

    def state_bytes(self, extra: dict) -> bytes:
        optimizer = self.optimizer.state_dict()
        meta = {"optimizer": optimizer["scalars"], "rng": self.model.rnn.rng.bit_generator.state, "extra": extra}
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)),
                 **{f"weights/{k}": v for k, v in self.weights().items()},
                 **{f"optim/{k}": v for k, v in optimizer["arrays"].items()})
        return buffer.getvalue()

    def load_state_bytes(self, data: bytes) -> dict:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            arrays = {name: archive[name] for name in archive.files if name != "meta"}
        part = {"weights/": {}, "optim/": {}}
        for name, value in arrays.items():
            prefix = name[:name.index("/") + 1]
            part[prefix][name[len(prefix):]] = value
        self.load_weights(part["weights/"])
        self.optimizer.load_state_dict({"scalars": meta["optimizer"], "arrays": part["optim/"]})
        self.model.rnn.rng.bit_generator.state = meta["rng"]
        return meta["extra"]
