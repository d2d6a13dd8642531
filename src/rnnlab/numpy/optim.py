"""Optimizers and gradient clipping for dictionaries of NumPy parameters (updated in place)."""
from __future__ import annotations

import math

import numpy as np


def clip_by_value(grads: dict[str, np.ndarray], clip_value: float) -> None:
    """g <- min(max(g, -c), c) for every gradient element."""
    if not clip_value > 0:
        raise ValueError(f"clip_value: expected a positive number, got {clip_value!r}")
    for g in grads.values():
        np.clip(g, -clip_value, clip_value, out=g)


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """sqrt(sum of squares of every gradient element), summed in float64.

    In float32 the sum of squares overflows to inf once entries pass about 1e19 (a loss spike of an
    IRNN on a long sequence); clipping would then scale every gradient by max_norm / inf = 0 and the
    model would never move again. In float64 the huge gradient is scaled down to max_norm instead."""
    total = 0.0
    for g in grads.values():
        wide = g if g.dtype == np.float64 else g.astype(np.float64)
        total += float(np.vdot(wide, wide))
    return math.sqrt(total)


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """If ||g|| > max_norm, scale every gradient by max_norm / ||g||. Returns ||g|| before clipping."""
    if not max_norm > 0:
        raise ValueError(f"max_norm: expected a positive number, got {max_norm!r}")
    norm = global_norm(grads)
    if norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= scale
    return norm


def decayed(params: dict[str, np.ndarray]) -> tuple[str, ...]:
    """The parameters weight decay applies to: every weight matrix (ndim >= 2), not the biases, gains or the
    LRU's eigenvalue logs (rnnlab.torch's engine groups them the same way)."""
    return tuple(name for name, p in params.items() if p.ndim >= 2)


def _check_decay(weight_decay: float) -> None:
    if not (weight_decay >= 0 and math.isfinite(weight_decay)):
        raise ValueError(f"weight_decay: expected a number >= 0, got {weight_decay!r}")


class SGD:
    """g <- g + wd * p (weight matrices only);  v <- momentum * v + g;  p <- p - lr * v
    (plain SGD when momentum = 0 and wd = 0; torch.optim.SGD's weight_decay)."""

    def __init__(self, params: dict[str, np.ndarray], lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        if not lr > 0:
            raise ValueError(f"lr: expected a positive learning rate, got {lr!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum: expected a value in [0, 1), got {momentum!r}")
        _check_decay(weight_decay)
        self.params, self.lr, self.momentum, self.weight_decay = params, lr, momentum, weight_decay
        self.decayed = frozenset(decayed(params)) if weight_decay else frozenset()
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()} if momentum else None

    def step(self, grads: dict[str, np.ndarray]) -> None:
        for name, p in self.params.items():
            g = grads[name]
            if name in self.decayed:
                g = g + self.weight_decay * p
            if self.velocity is not None:
                v = self.velocity[name]
                v *= self.momentum
                v += g
                g = v
            p -= self.lr * g

    def state_dict(self) -> dict:
        """``{"scalars": {...}, "arrays": {"velocity.<param>": ...}}``: plain values and named arrays."""
        arrays = {} if self.velocity is None else {f"velocity.{k}": v.copy() for k, v in self.velocity.items()}
        return {"scalars": {"lr": self.lr, "momentum": self.momentum}, "arrays": arrays}

    def load_state_dict(self, state: dict) -> None:
        self.lr, self.momentum = state["scalars"]["lr"], state["scalars"]["momentum"]
        arrays = state["arrays"]
        self.velocity = ({k: np.array(arrays[f"velocity.{k}"], copy=True) for k in self.params}
                         if self.momentum else None)


class Adam:
    """Adam (Kingma & Ba 2015), as torch.optim.Adam, with AdamW's decoupled weight decay (Loshchilov & Hutter
    2019) as torch.optim.AdamW where ``weight_decay`` > 0:

        p <- p (1 - lr wd)                              (weight matrices only; see ``decayed``)
        m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
        p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        if not lr > 0:
            raise ValueError(f"lr: expected a positive learning rate, got {lr!r}")
        _check_decay(weight_decay)
        self.params, self.lr, self.betas, self.eps = params, lr, tuple(betas), eps
        self.weight_decay = weight_decay
        self.decayed = frozenset(decayed(params)) if weight_decay else frozenset()
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self._tmp = {k: np.empty_like(p) for k, p in params.items()}
        self.t = 0

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.betas
        bias1 = 1 - b1 ** self.t
        bias2 = 1 - b2 ** self.t
        step_size = self.lr / bias1
        for name, p in self.params.items():
            g, m, v, tmp = grads[name], self.m[name], self.v[name], self._tmp[name]
            if name in self.decayed:
                p *= 1 - self.lr * self.weight_decay
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= (1 - b2)
            v += tmp
            # denominator sqrt(v / bias2) + eps, then p -= step_size * m / denom
            np.multiply(v, 1.0 / bias2, out=tmp)
            np.sqrt(tmp, out=tmp)
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp

    def state_dict(self) -> dict:
        """``{"scalars": {...}, "arrays": {"m.<param>": ..., "v.<param>": ...}}``."""
        arrays = {f"{slot}.{k}": a.copy() for slot, moments in (("m", self.m), ("v", self.v))
                  for k, a in moments.items()}
        return {"scalars": {"lr": self.lr, "betas": list(self.betas), "eps": self.eps, "t": self.t},
                "arrays": arrays}

    def load_state_dict(self, state: dict) -> None:
        scalars, arrays = state["scalars"], state["arrays"]
        self.lr, self.betas, self.eps, self.t = scalars["lr"], tuple(scalars["betas"]), scalars["eps"], scalars["t"]
        for k in self.params:
            self.m[k][...] = arrays[f"m.{k}"]
            self.v[k][...] = arrays[f"v.{k}"]


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
