"""Models on top of a recurrent net (ours or torch.nn's), the gradient-flow notebook's loss and eigenvalue helper."""
from __future__ import annotations

import torch
from torch import nn

from ..spec import BIDIRECTIONAL_READS, HEADS, check_regularisation

HEAD_NORMS = (None, "layernorm", "batchnorm")


def _feature_size(net: nn.Module) -> int:
    """Size of the per-step output of a layer, a stack of ours, or a torch.nn recurrent module."""
    size = getattr(net, "output_size", None) or getattr(net, "proj_size", 0) or net.hidden_size
    return size * (2 if getattr(net, "bidirectional", False) else 1)


class RecurrentRegressionModel(nn.Module):
    """A linear read-out on every step (the gradient-flow notebook):  y_t = W^f h_t + b^f.

    forward(x) returns (out (batch, seq_len, output_dim), all_h (batch, seq_len, features)).
    ``RecurrentRegressionModel(RNNLayer(2, 3), 4)`` has 34 parameters.
    """

    def __init__(self, recurrent_net: nn.Module, output_dim: int = 1) -> None:
        super().__init__()
        self.recurrent_net = recurrent_net
        self.output_dim = output_dim
        self.linear = nn.Linear(_feature_size(recurrent_net), output_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        all_h, _ = self.recurrent_net(x)
        return self.linear(all_h), all_h


class SequenceClassifier(nn.Module):
    """Classify a sequence from its last step (both directions' final states when bidirectional).

        r = [h_T forward ; h_1 backward]             (the top layer's final states)
        r = LayerNorm(r) or BatchNorm(r)             (optional, Programming Assignment 4)
        r = ReLU(W_d r + b_d)                        (optional extra dense layer of size hidden_dense)
        logits = W r + b
    """

    def __init__(self, recurrent_net: nn.Module, num_classes: int, norm: str | None = None,
                 hidden_dense: int | None = None, dense_dropout: float = 0.0) -> None:
        super().__init__()
        if norm not in HEAD_NORMS:
            raise ValueError(f"norm: unknown value {norm!r}; expected one of {HEAD_NORMS}")
        if hidden_dense is not None and (isinstance(hidden_dense, bool) or not isinstance(hidden_dense, int)
                                         or hidden_dense < 1):
            raise ValueError(f"hidden_dense: expected a positive integer or None, got {hidden_dense!r}")
        self.recurrent_net = recurrent_net
        features = _feature_size(recurrent_net)
        self.norm = {None: None, "layernorm": nn.LayerNorm, "batchnorm": nn.BatchNorm1d}[norm]
        self.norm = self.norm(features) if self.norm is not None else None
        layers: list[nn.Module] = []
        if hidden_dense:
            layers += [nn.Linear(features, hidden_dense), nn.ReLU()]
            if dense_dropout:
                layers.append(nn.Dropout(dense_dropout))
            features = hidden_dense
        layers.append(nn.Linear(features, num_classes))
        self.head = nn.Sequential(*layers)

    def read_out(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The final states of the top layer, (batch, features)."""
        net = self.recurrent_net
        out = net(x, lengths=lengths) if lengths is not None else net(x)
        return final_states(net, out[1])

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        r = self.read_out(x, lengths)
        if self.norm is not None:
            r = self.norm(r)
        return self.head(r)


def final_states(net: nn.Module, state: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The top layer's final hidden states, both directions side by side: (batch, features)."""
    if isinstance(state, tuple):        # LSTM: (h_n, c_n)
        state = state[0]
    if state.dim() == 2:                # a single layer of ours: last_h
        return state
    dirs = 2 if getattr(net, "bidirectional", False) else 1
    return torch.cat(list(state[-dirs:]), dim=1)




class TaskModel(nn.Module):
    """Any recurrent net with the head a task needs, read at the last step or at every step.

        r = final states of the top layer (readout "last")  |  r_t = output_t (readout "every")
        r = output_T, the last step's output             (readout "last", bidirectional_read "last-output":
                                                           [h_T forward ; h_T backward after one step])
        r = LayerNorm(r) | BatchNorm(r)                        (head "layernorm" / "batchnorm", "...-dense/-linear")
        r = ReLU(W_d r + b_d)                                  (head "dense" or "...-dense", dense_size units)
        r = W_d r + b_d                                        (head "...-linear": no ReLU, two linear layers)
        y = W r + b

    While training, with o the top layer's outputs (N, T, F) (:class:`rnnlab.spec.ModelSpec`):

        r = r m / (1 - p)                                      (output_dropout p: F.dropout)
        regularisation = a mean(o^2) + b mean((o_t - o_{t-1})^2)   (AR a, TAR b; 0 when both are 0)
        W_hh -> W_hh m / (1 - p), m ~ Bernoulli(1 - p) per weight   (weight_drop p, one m per forward for every
                                                               step: torch.func.functional_call; autograd
                                                               gives W_hh the gradient m / (1 - p) dL/dW')

    the engine adds ``regularisation`` of the last forward to the task's loss.

    Carried state (truncated BPTT): ``forward(x, state, return_state=True)`` starts the recurrent net
    from ``state`` (torch.nn's ``hx``: h_0, or (h_0, c_0) for the LSTM; None for zeros) and returns
    ``(y, final state)`` in the same form, still connected to the graph: the caller detaches it
    before carrying it into the next window.
    """

    def __init__(self, recurrent: nn.Module, output_size: int, readout: str = "last", head: str = "plain",
                 dense_size: int = 64, bidirectional_read: str = "final-states", output_dropout: float = 0.0,
                 activation_reg: float = 0.0, temporal_reg: float = 0.0, weight_drop: float = 0.0) -> None:
        super().__init__()
        check_regularisation(output_dropout, activation_reg, temporal_reg, weight_drop)
        self.output_dropout, self.activation_reg, self.temporal_reg = output_dropout, activation_reg, temporal_reg
        self.weight_drop = weight_drop
        self.weight_keep: dict[str, torch.Tensor] = {}     # weight drop's m / (1 - p) per W_hh, of the last forward
        self._matrices = recurrent_matrices(recurrent)      # the names of the W_hh weight drop masks
        if weight_drop and not self._matrices:
            raise ValueError(f"weight_drop: it drops connections of the recurrent matrices W_hh, and "
                             f"{type(recurrent).__name__} has none (weight_hh_l0 or layers.0.hh.weight); "
                             f"use an RNN, LSTM or GRU, or leave it at 0")
        self.regularisation: torch.Tensor | float = 0.0
        if readout not in ("last", "every"):
            raise ValueError(f"readout: unknown value {readout!r}; expected 'last' or 'every'")
        if head not in HEADS:
            raise ValueError(f"head: unknown value {head!r}; expected one of {', '.join(HEADS)}")
        if bidirectional_read not in BIDIRECTIONAL_READS:
            raise ValueError(f"bidirectional_read: unknown value {bidirectional_read!r}; expected one of "
                             f"{', '.join(BIDIRECTIONAL_READS)}")
        self.recurrent, self.readout, self.head_kind = recurrent, readout, head
        self.last_output = bidirectional_read == "last-output"
        features = _feature_size(recurrent)
        self.norm = (nn.LayerNorm(features) if head.startswith("layernorm")
                     else nn.BatchNorm1d(features) if head.startswith("batchnorm") else None)
        self.dense = nn.Linear(features, dense_size) if head.endswith(("dense", "linear")) else None
        self.dense_relu = head.endswith("dense")
        self.head = nn.Linear(dense_size if self.dense is not None else features, output_size)

    def forward(self, x: torch.Tensor, state: torch.Tensor | tuple[torch.Tensor, ...] | None = None,
                return_state: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | tuple]:
        out, final = self._recurrent((x,) if state is None else (x, state))
        self.regularisation = self._regularisation(out) if self.training else 0.0
        if self.readout == "every":
            y = self._head(out)
        else:
            y = self._head(out[:, -1] if self.last_output else final_states(self.recurrent, final))
        return (y, final) if return_state else y

    def _recurrent(self, args: tuple) -> tuple:
        """The recurrent net on ``args``; while training with weight drop, with W_hh m / (1 - p) in place of
        each W_hh (new masks every call)."""
        self.weight_keep = {}
        if not (self.training and self.weight_drop):
            return self.recurrent(*args)
        dropped = {}
        for name in self._matrices:
            W = self.recurrent.get_parameter(name)
            self.weight_keep[name] = nn.functional.dropout(torch.ones_like(W), self.weight_drop)
            dropped[name] = W * self.weight_keep[name]
        return torch.func.functional_call(self.recurrent, dropped, args)

    def _regularisation(self, o: torch.Tensor) -> torch.Tensor | float:
        """a mean(o^2) + b mean((o_t - o_{t-1})^2) of the outputs o (N, T, F); 0.0 when a = b = 0."""
        value: torch.Tensor | float = 0.0
        if self.activation_reg:
            value = self.activation_reg * o.pow(2).mean()
        if self.temporal_reg and o.shape[1] > 1:
            value = value + self.temporal_reg * (o[:, 1:] - o[:, :-1]).pow(2).mean()
        return value

    def _head(self, r: torch.Tensor) -> torch.Tensor:
        if self.output_dropout:
            r = nn.functional.dropout(r, self.output_dropout, self.training)
        if self.norm is not None:
            if isinstance(self.norm, nn.BatchNorm1d) and r.dim() == 3:
                r = self.norm(r.transpose(1, 2)).transpose(1, 2)
            else:
                r = self.norm(r)
        if self.dense is not None:
            r = torch.relu(self.dense(r)) if self.dense_relu else self.dense(r)
        return self.head(r)


def recurrent_matrices(recurrent: nn.Module) -> list[str]:
    """The names of the recurrent matrices W_hh in ``recurrent``: torch.nn's ``weight_hh_l{k}[_reverse]``,
    rnnlab.torch's ``layers.{k}.hh.weight`` and ``reverse_layers.{k}.hh.weight`` (full matrices only: the
    IndRNN's u is a vector, the orthogonal RNN's W is made from another parameter)."""
    return [name for name, w in recurrent.named_parameters() if w.dim() == 2
            and (name.startswith("weight_hh_l") or name.endswith(".hh.weight")) and not _cayley(recurrent, name)]


def _cayley(recurrent: nn.Module, name: str) -> bool:
    """Whether ``name`` belongs to a module whose W is made from it (the orthogonal RNN's ``hh.matrix()``)."""
    owner = recurrent.get_submodule(name.rsplit(".", 1)[0]) if "." in name else recurrent
    return hasattr(owner, "matrix")


def loss_fn(pred: torch.Tensor, y: torch.Tensor, last_timestep_only: bool = False) -> torch.Tensor:
    """MSE between predictions and targets (batch, seq_len[, 1]); with last_timestep_only, at the
    final step only: mean((pred[:, -1] - y[:, -1])^2)."""
    if pred.shape != y.shape:
        raise ValueError(f"y: expected the shape of pred {tuple(pred.shape)}, got {tuple(y.shape)}")
    if last_timestep_only:
        pred, y = pred[:, -1], y[:, -1]
    return nn.functional.mse_loss(pred, y)


def biggest_eig_magnitude(matrix: torch.Tensor) -> float:
    """|lambda_max|: > 1 lets a linear RNN's gradients explode, < 1 makes them vanish."""
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix: expected a square matrix, got shape {tuple(matrix.shape)}")
    return float(torch.linalg.eigvals(matrix.detach()).abs().max())
