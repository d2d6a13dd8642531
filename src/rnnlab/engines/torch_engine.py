"""The PyTorch engines' adapter: a rnnlab.torch.TaskModel on our modules ("scratch") or torch.nn's
("torch").

Its training state is a ``torch.save`` file of tensors and plain values only (read back with
``weights_only=True``): the model's and the optimizer's state dicts, torch's random state and the
trainer's ``extra`` as JSON text.

Carried state crosses the protocol as NumPy arrays named by the cell registry (``{"h": h_n, "c": c_n}``);
here it becomes torch.nn's ``hx`` (h_0, or the tuple (h_0, c_0) in the registry's order) on the model's
device, and the final state comes back ``.detach()``-ed and copied to the host, so the next window's
backward stops at its first step.
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from ..cells import get_cell
from ..config import LOSS_NAMES, OptimConfig
from ..spec import ModelSpec
from ..torch import clip_to_bounds_
from .recurrent import build_recurrent

HEAD_PARTS = ("head", "norm", "dense")


def clip_grad_norm_float64(parameters: Iterable[torch.nn.Parameter], max_norm: float) -> float:
    """Scale the gradients so that their global norm is at most ``max_norm``; the norm is summed in
    float64. (torch.nn.utils.clip_grad_norm_ sums in the gradients' float32: past entries of about 1e19
    the norm overflows to inf and every gradient is scaled by max_norm / inf = 0, which froze an IRNN
    for good after a loss spike on the adding problem; see benchmarks/irnn_stability.py.)"""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    total = float(torch.sqrt(sum((g.detach().double() ** 2).sum() for g in grads)))
    if total > max_norm:
        scale = max_norm / (total + 1e-12)
        for g in grads:
            g.mul_(scale)
    return total


def _decay_groups(model: torch.nn.Module, weight_decay: float) -> list:
    """The parameters for the optimizer: with weight decay, every weight matrix (ndim >= 2) in a group that
    decays and the rest (biases, gains, the LRU's eigenvalue logs) in one that does not, as on the NumPy engine."""
    params = list(model.parameters())
    if not weight_decay:
        return params
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return [group for group in groups if group["params"]]


def torch_loss(kind: str, out: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The same losses as rnnlab.numpy.losses, in torch, averaged over the positions in ``mask``."""
    if kind == "cross_entropy":
        per = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none").reshape(y.shape)
    elif kind == "mse_onehot":
        per = ((out - F.one_hot(y, out.shape[-1]).to(out.dtype)) ** 2).sum(-1)
    elif kind == "mse":
        per = ((out - y) ** 2).mean(-1)
    elif kind == "mse_sigmoid":     # Programming Assignment 4's adder: a Sigmoid layer, then MSE against the bits
        per = ((torch.sigmoid(out) - y) ** 2).mean(-1)
    elif kind == "bce":
        per = F.binary_cross_entropy_with_logits(out, y, reduction="none").mean(-1)
    else:
        raise ValueError(f"loss: unknown value {kind!r}; expected one of {', '.join(LOSS_NAMES)}")
    if mask is None:
        return per.mean()
    weight = mask.to(per.dtype)
    return (per * weight).sum() / weight.sum()


class TorchTrainable:
    checkpoint_name = "checkpoint.pt"

    def __init__(self, spec: ModelSpec, engine: str, optim: OptimConfig, seed: int, device: str = "cpu") -> None:
        from ..torch.models import TaskModel
        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: 'cuda' asked for, but PyTorch sees no CUDA device here; use --device cpu")
        self.engine, self.spec, self.device = engine, spec, torch.device(device)
        recurrent = build_recurrent(spec.recurrent, engine, seed=seed)
        torch.manual_seed(seed)
        self.model = TaskModel(recurrent, spec.output_size, spec.readout, spec.head, spec.dense_size,
                               spec.bidirectional_read, **spec.regularisation()).to(self.device)
        self.runner = self.model          # what training calls: the model, or its DistributedDataParallel wrapper
        params = _decay_groups(self.model, optim.weight_decay)
        adam = torch.optim.AdamW if optim.weight_decay else torch.optim.Adam
        self.optimizer = (adam(params, lr=optim.lr) if optim.optimizer == "adam"
                          else torch.optim.SGD(params, lr=optim.lr, momentum=optim.momentum))
        self.clip_value, self.clip_norm = optim.clip_value, optim.clip_norm
        self.bounded = any(param.bound is not None for param in get_cell(spec.recurrent.cell).params)
        self.state_names = get_cell(spec.recurrent.cell).states    # the states carried between windows

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _tensor(self, a):
        return None if a is None else torch.as_tensor(a, device=self.device)

    def data_parallel(self) -> None:
        """Train through torch.nn.parallel.DistributedDataParallel (the process group must exist):
        gradients are averaged across the workers in backward()."""
        from torch.nn.parallel import DistributedDataParallel
        self.runner = DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda"
                                              else None)

    def _hx(self, state: dict) -> torch.Tensor | tuple[torch.Tensor, ...] | None:
        """torch.nn's ``hx`` from a carried state ({}: None, zeros)."""
        if not state:
            return None
        missing = [name for name in self.state_names if name not in state]
        unknown = sorted(set(state) - set(self.state_names))
        if missing or unknown:
            raise ValueError(f"state: the {self.spec.recurrent.cell} cell carries {', '.join(self.state_names)}; "
                             f"got {', '.join(sorted(state)) or 'nothing'}; pass all of them, or {{}} for zeros")
        dtype = next(self.model.parameters()).dtype
        tensors = tuple(torch.as_tensor(state[name], dtype=dtype, device=self.device) for name in self.state_names)
        return tensors[0] if len(tensors) == 1 else tensors

    def _carried(self, final: torch.Tensor | tuple[torch.Tensor, ...]) -> dict[str, np.ndarray]:
        """The final state, detached from the graph and copied to the host, named as the registry names it."""
        parts = final if isinstance(final, tuple) else (final,)
        return {name: part.detach().cpu().numpy().copy() for name, part in zip(self.state_names, parts)}

    def train_batch(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None, loss: str, lr: float,
                    loss_scale: float = 1.0, state: dict | None = None) -> tuple:
        """One step (see :class:`~rnnlab.engines.protocol.Trainable`); with ``state``, from it, and the
        final state (detached) returned third."""
        self.model.train()
        if state is None:
            return self._step(self.runner(self._tensor(x)), y, mask, loss, lr, loss_scale)
        out, final = self.runner(self._tensor(x), self._hx(state), return_state=True)
        carried = self._carried(final)      # taken before backward, which may reuse the forward's buffers
        return (*self._step(out, y, mask, loss, lr, loss_scale), carried)

    def _step(self, out: torch.Tensor, y: np.ndarray, mask: np.ndarray | None, loss: str, lr: float,
              loss_scale: float) -> tuple[float, np.ndarray]:
        """Loss, backward, clipping and one optimizer step; the loss as reported and the outputs."""
        value = torch_loss(loss, out, self._tensor(y), self._tensor(mask))
        result = float(value.detach())
        if loss == "mse_onehot":     # reported as Assignment 2 prints it: the mean over the classes
            result /= out.shape[-1]
        if not np.isfinite(result) and self.runner is self.model:   # data-parallel workers all step together
            return result, out.detach().cpu().numpy()
        self.optimizer.zero_grad(set_to_none=True)
        value = value + self.model.regularisation      # AR and TAR (0.0 without them): trained, not reported
        self.model.regularisation = 0.0                 # consumed: the module keeps no graph between steps
        (value * loss_scale if loss_scale != 1.0 else value).backward()
        if self.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self.model.parameters(), self.clip_value)
        if self.clip_norm is not None:
            clip_grad_norm_float64(self.model.parameters(), self.clip_norm)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        if self.bounded:   # parameters the cell registry bounds (the IndRNN's |u| <= 1), clipped after each update
            clip_to_bounds_(self.model)
        return result, out.detach().cpu().numpy()

    def predict(self, x: np.ndarray, state: dict | None = None) -> np.ndarray | tuple[np.ndarray, dict]:
        self.model.eval()
        with torch.no_grad():
            if state is None:
                return self.model(self._tensor(x)).cpu().numpy()
            out, final = self.model(self._tensor(x), self._hx(state), return_state=True)
            return out.cpu().numpy(), self._carried(final)

    def weights(self) -> dict[str, np.ndarray]:
        from ..torch.convert import to_torch_state_dict
        rec = self.model.recurrent
        recurrent = rec.state_dict() if self.engine == "torch" else to_torch_state_dict(rec)
        out = {k: v.detach().cpu().numpy().copy() for k, v in recurrent.items()}
        for name, value in self.model.state_dict().items():
            if not name.startswith("recurrent."):
                out[name] = value.detach().cpu().numpy().copy()
        return out

    def load_weights(self, weights: dict) -> None:
        from ..torch.convert import load_torch_state_dict
        head = {k: torch.as_tensor(np.asarray(v)) for k, v in weights.items() if k.split(".")[0] in HEAD_PARTS}
        recurrent = {k: np.asarray(v) for k, v in weights.items() if k not in head}
        if self.engine == "torch":
            self.model.recurrent.load_state_dict({k: torch.as_tensor(v) for k, v in recurrent.items()})
        else:
            load_torch_state_dict(self.model.recurrent, recurrent)
        missing, unexpected = self.model.load_state_dict(
            {**{f"recurrent.{k}": v for k, v in self.model.recurrent.state_dict().items()}, **head}, strict=False)
        if missing or unexpected:
            raise ValueError(f"weights: the head does not match this model; missing {missing}, "
                             f"unexpected {unexpected}")

    def state_bytes(self, extra: dict) -> bytes:
        buffer = io.BytesIO()
        torch.save({"weights": {k: torch.from_numpy(v) for k, v in self.weights().items()},
                    "optimizer": self.optimizer.state_dict(), "rng": torch.get_rng_state(),
                    "extra": json.dumps(extra)}, buffer)
        return buffer.getvalue()

    def load_state_bytes(self, data: bytes) -> dict:
        saved = torch.load(io.BytesIO(data), weights_only=True)
        self.load_weights({k: v.numpy() for k, v in saved["weights"].items()})
        self.optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
        return json.loads(saved["extra"])
