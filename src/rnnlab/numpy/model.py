"""A recurrent network with a readout and a linear head, trained by hand-written BPTT.

    readout "last":  r = [h_n of the top layer, forward ; backward]        (N, dirs*H)
                     (for a forward direction this is the output of each sequence's last valid step)
    readout "every": r_t = output_t                                        (N, T, dirs*H)
    head:            y = r W^T + b                                          W: (O, dirs*H)

Parameters: the recurrent ones under torch.nn's names, plus ``head.weight`` and ``head.bias``.

While training (``forward(..., train=True)``), with o_t the top layer's outputs (T, F, N here):

    output dropout p:  the head reads r m / (1 - p), m ~ Bernoulli(1 - p) drawn from the net's generator
    AR a:              R = a mean(o_t^2)                   dR/do_t = 2 a o_t / (T F N)
    TAR b:             R = b mean((o_t - o_{t-1})^2)       dR/do_t = 2 b (D_t - D_{t+1}) / ((T - 1) F N),
                                                           D_t = o_t - o_{t-1} (D_0 = D_T = 0)
    weight drop p:     the net steps with W' = W_hh m / (1 - p), m ~ Bernoulli(1 - p) per weight, one m per
                       forward for every step;   dL/dW_hh = dL/dW' * m / (1 - p)

``regularisation`` is R of the last training forward; ``backward`` adds dR/do to the head's gradient.

Carried state (truncated BPTT over a contiguous stream): ``forward(x, state=...)`` starts every layer
and direction from the given states instead of zeros, ``state`` a dict of the cell's states as the
registry names them (``cells.CELLS[cell].states``: "h", and "c" for the LSTM), each
(layers*dirs, N, H) as torch.nn lays them out; ``final_state`` is then the states after the last step,
new arrays connected to nothing, ready to be carried into the next window.  ``backward`` treats the
initial state as an input: the gradient reaching it, dL/dh_0 (and dL/dc_0), is ``initial_state_grads``
(truncated BPTT drops it; the gradient check reads it).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..spec import READOUTS, check_regularisation, check_weight_drop
from .checks import check_choice, check_positive_int, load_into
from .losses import LOSSES
from .optim import SGD, Adam, clip_by_global_norm, clip_by_value
from .recurrent import RecurrentNet
from .workspace import public_states, to_internal


class SequenceModel:
    def __init__(self, cell: str, input_size: int, hidden_size: int, output_size: int,
                 num_layers: int = 1, bidirectional: bool = False, nonlinearity: str | None = None,
                 readout: str = "last", dropout: float = 0.0, bias: bool = True,
                 dtype: DTypeLike = np.float32, seed: int | None = 0, layer_norm: bool = False,
                 fused: bool | None = None, output_dropout: float = 0.0, activation_reg: float = 0.0,
                 temporal_reg: float = 0.0, weight_drop: float = 0.0) -> None:
        check_choice("readout", readout, READOUTS)
        check_regularisation(output_dropout, activation_reg, temporal_reg, weight_drop)
        check_weight_drop(cell, weight_drop)
        self.output_dropout, self.activation_reg, self.temporal_reg = output_dropout, activation_reg, temporal_reg
        self.weight_drop = weight_drop
        self.output_size = check_positive_int("output_size", output_size)
        self.readout = readout
        self.rnn = RecurrentNet(cell, input_size, hidden_size, num_layers, bidirectional, nonlinearity,
                                bias=bias, dropout=dropout, batch_first=True, dtype=dtype, seed=seed,
                                layer_norm=layer_norm, fused=fused)
        feat = hidden_size * self.rnn.num_directions
        k = 1.0 / np.sqrt(feat)
        self.params = self.rnn.params  # one dictionary: recurrent weights and head
        self.params["head.weight"] = self.rnn.rng.uniform(-k, k, (output_size, feat)).astype(self.rnn.dtype)
        self.params["head.bias"] = self.rnn.rng.uniform(-k, k, (output_size,)).astype(self.rnn.dtype)
        self.grads = self.rnn.grads
        self.grads["head.weight"] = np.zeros_like(self.params["head.weight"])
        self.grads["head.bias"] = np.zeros_like(self.params["head.bias"])
        self._cache = None
        self._keep: np.ndarray | None = None     # the output dropout's kept fraction m / (1 - p) of the last forward
        self.weight_keep: dict[str, np.ndarray] = {}   # weight drop's m / (1 - p) per W_hh, of the last forward
        self._outputs: np.ndarray | None = None  # o of the last training forward, where AR or TAR read it
        self.regularisation = 0.0
        self._final: tuple = (None, None)      # h_n, c_n of the last forward (internal layout)
        self._d_initial: tuple = (None, None)  # dL/dh_0, dL/dc_0 of the last backward

    @property
    def state_names(self) -> tuple[str, ...]:
        """The states the cell carries from step to step, as the registry names them."""
        return self.rnn.cell_def.states

    @property
    def dtype(self) -> np.dtype:
        return self.rnn.dtype

    def num_parameters(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state: dict) -> None:
        load_into(self.params, state, "state_dict")

    # ------------------------------------------------------------------------------------
    def _initial(self, state: dict | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """h0 and c0 for RecurrentNet from a state dict keyed by the registry's state names."""
        if not state:
            return None, None
        unknown = sorted(set(state) - set(self.state_names))
        if unknown:
            raise ValueError(f"state: the {self.rnn.cell_def.full_name} carries {', '.join(self.state_names)}, "
                             f"not {', '.join(unknown)}; pass a dict with those keys (or none for zeros)")
        initial = {f"{name}0": state[name] for name in self.state_names if name in state}
        return initial.get("h0"), initial.get("c0")

    @property
    def final_state(self) -> dict[str, np.ndarray]:
        """The states after the last step of the last forward: {name: (layers*dirs, N, H)}, new arrays."""
        if self._final[0] is None:
            raise RuntimeError("final_state: run forward on a batch first")
        return dict(zip(self.state_names, public_states(*self._final)))

    @property
    def initial_state_grads(self) -> dict[str, np.ndarray]:
        """dL/d(initial state) of the last backward: {name: (layers*dirs, N, H)}."""
        if self._d_initial[0] is None:
            raise RuntimeError("initial_state_grads: run backward first")
        return dict(zip(self.state_names, public_states(*self._d_initial)))

    def forward(self, x: ArrayLike, lengths: ArrayLike | None = None, train: bool = False,
                state: dict | None = None) -> np.ndarray:
        """x: (N, T, D) -> logits (N, O) for readout "last", (N, T, O) for "every".
        ``state``: the initial states ({name: (layers*dirs, N, H)}; zeros when None or missing)."""
        rnn = self.rnn
        x, h0, c0, lengths, _, _ = rnn._check_inputs(x, *self._initial(state), lengths)
        self._drop_weights(train)
        out, h_n, c_n = rnn._forward(to_internal(rnn.batch_first, x), h0, c0, lengths, train)
        self._final = (h_n, c_n)
        W, b = self.params["head.weight"], self.params["head.bias"]
        if self.readout == "last":
            nd = rnn.num_directions
            r = np.concatenate(h_n[-nd:], axis=0) if nd > 1 else h_n[-1]     # (dirs*H, N)
        else:
            r = out                                                             # (T, dirs*H, N)
        self._keep = None
        if train and self.output_dropout:
            self._keep = (rnn.rng.random(r.shape) >= self.output_dropout).astype(rnn.dtype)
            self._keep /= 1.0 - self.output_dropout
            r = r * self._keep
        if self.readout == "last":
            y = (W @ r + b[:, None]).T                                          # (N, O)
        else:
            y = (np.matmul(W, r) + b[:, None]).transpose(2, 0, 1)               # (N, T, O)
        self._cache = r
        self._outputs = out if train and (self.activation_reg or self.temporal_reg) else None
        self.regularisation = 0.0 if self._outputs is None else self._regularisation(out)
        return np.ascontiguousarray(y)

    def _drop_weights(self, train: bool) -> None:
        """Weight drop: new masks m / (1 - p) for every W_hh, and the net steps with W_hh m / (1 - p) until
        ``backward`` (none when not training)."""
        rnn, p = self.rnn, self.weight_drop
        self.weight_keep = {}
        if train and p:
            for name in rnn.params:
                if name.startswith("weight_hh_l"):
                    W = rnn.params[name]
                    self.weight_keep[name] = (rnn.rng.random(W.shape) >= p).astype(rnn.dtype) / (1.0 - p)
        rnn.dropped = {name: rnn.params[name] * keep for name, keep in self.weight_keep.items()}

    def _regularisation(self, o: np.ndarray) -> float:
        """R = a mean(o_t^2) + b mean((o_t - o_{t-1})^2) of the outputs o (T, F, N)."""
        value = self.activation_reg * float(np.mean(np.square(o, dtype=np.float64)))
        if self.temporal_reg and len(o) > 1:
            value += self.temporal_reg * float(np.mean(np.square(np.diff(o, axis=0), dtype=np.float64)))
        return value

    def _regularisation_grad(self, o: np.ndarray) -> np.ndarray:
        """dR/do (T, F, N), the formulas of the module's docstring."""
        grad = (2.0 * self.activation_reg / o.size) * o
        if self.temporal_reg and len(o) > 1:
            D = np.diff(o, axis=0) * (2.0 * self.temporal_reg / (o.size - o[0].size))    # D_1 .. D_{T-1}, scaled
            grad[1:] += D
            grad[:-1] -= D
        return grad.astype(o.dtype, copy=False)

    __call__ = forward

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy: dL/dlogits, the shape of ``forward``'s result. Fills ``self.grads``; returns dL/dx."""
        r = self._cache
        if r is None:
            raise RuntimeError("backward() called before forward(): run forward on a batch first")
        W = self.params["head.weight"]
        rnn = self.rnn
        nd, H = rnn.num_directions, rnn.hidden_size
        gW, gb = self.grads["head.weight"], self.grads["head.bias"]
        d_outputs = None if self._outputs is None else self._regularisation_grad(self._outputs)
        if self.readout == "last":
            dy_fm = np.ascontiguousarray(dy.T)                     # (O, N)
            np.matmul(dy_fm, r.T, out=gW)
            dy_fm.sum(axis=1, out=gb)
            dr = W.T @ dy_fm                                       # (dirs*H, N)
            if self._keep is not None:
                dr *= self._keep
            d_h_n = np.zeros((rnn.num_layers * nd, H, dr.shape[1]), rnn.dtype)
            d_h_n[-nd:] = dr.reshape(nd, H, -1)
            dX, *d_initial = rnn._backward(d_outputs, d_h_n, None)
        else:
            dy_fm = np.ascontiguousarray(dy.transpose(1, 2, 0))    # (T, O, N)
            gW[...] = np.tensordot(dy_fm, r, axes=([0, 2], [0, 2]))
            dy_fm.sum(axis=(0, 2), out=gb)
            dr = np.matmul(W.T, dy_fm)                             # (T, dirs*H, N)
            if self._keep is not None:
                dr *= self._keep
            dX, *d_initial = rnn._backward(dr if d_outputs is None else dr + d_outputs, None, None)
        self._d_initial = tuple(d_initial)
        for name, keep in self.weight_keep.items():
            self.grads[name] *= keep                               # dL/dW_hh = dL/dW' m / (1 - p)
        rnn.dropped = {}
        return dX.transpose(2, 0, 1)

    # ------------------------------------------------------------------------------------
    def loss(self, logits: np.ndarray, target: ArrayLike, loss: str = "cross_entropy",
             lengths: ArrayLike | None = None) -> tuple[float, np.ndarray]:
        """The loss and dL/dlogits; with readout "every" and lengths, padded steps do not count."""
        check_choice("loss", loss, tuple(LOSSES))
        mask = None
        if self.readout == "every" and lengths is not None:
            T = logits.shape[1]
            mask = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
        return LOSSES[loss](logits, target, mask)

    def train_step(self, x: ArrayLike, target: ArrayLike, optimizer: SGD | Adam, loss: str = "cross_entropy",
                   lengths: ArrayLike | None = None,
                   clip_value: float | None = None, clip_norm: float | None = None) -> float:
        """forward, loss, backward, optional clipping, optimizer step. Returns the loss."""
        logits = self.forward(x, lengths, train=True)
        value, dy = self.loss(logits, target, loss, lengths)
        if not np.isfinite(value):
            raise FloatingPointError(f"loss became {value}; lower the learning rate or clip the gradients")
        self.backward(dy)
        if clip_value is not None:
            clip_by_value(self.grads, clip_value)
        if clip_norm is not None:
            clip_by_global_norm(self.grads, clip_norm)
        optimizer.step(self.grads)
        return value
