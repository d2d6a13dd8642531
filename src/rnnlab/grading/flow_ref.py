"""What the gradient-flow notebook's checks compare with: its own test tensors, the Elman recurrence
h_t = sigma(W_ih x_t + W_hh h_{t-1} + b) with known mistakes, and helpers to fill and count parameters and
to lend the student's namespace rnnlab's pieces for the length of a check."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch

from .checks import Fail

if TYPE_CHECKING:
    from ..torch import RNNLayer

_DATA = [[[0.1, 0.15], [0.2, 0.25], [0.3, 0.35], [0.4, 0.45]], [[-0.1, -1.5], [-0.2, -2.5], [-0.3, -3.5],
                                                                 [-0.4, -0.45]]]
_STATES = [[-0.1244, -0.1073, -0.1320, -0.1444], [0.0599, 0.1509, 0.2305, -0.0840]]      # tanh, every weight -0.1
_TWO_LAYERS = [[-0.0626, -0.0490, -0.0457, -0.0430], [-0.1174, -0.1096, -0.1354, -0.0342]]
_PREDS = [[-0.0627, -0.0678, -0.0604, -0.0567], [-0.1180, -0.1453, -0.1692, -0.0748]]

RNN_FORWARD_MISTAKES = {
    "no_carry": "the hidden state is not carried between steps: every step starts again from h = 0",
    "no_bias": "the bias b is not added",
    "ignores_nonlinearity": "self.nonlinearity is ignored: apply the function the layer was given",
}


def course_tensor(name: str) -> torch.Tensor:
    """The notebook's test data and expected values (every state's three units are equal)."""
    states = torch.tensor(_STATES).unsqueeze(-1).expand(2, 4, 3)
    two = torch.tensor(_TWO_LAYERS).unsqueeze(-1).expand(2, 4, 3)
    return {"data": torch.tensor(_DATA), "model_all_h": states,
            "model_out": torch.tensor(_PREDS).unsqueeze(-1).expand(2, 4, 4),
            "stack1_last_layer_h": states, "stack1_last_step_h": states[:, -1].unsqueeze(0),
            "stack2_last_layer_h": two, "stack2_last_step_h": torch.stack([states[:, -1], two[:, -1]])}[name]


def fill(module: torch.nn.Module, value: float) -> torch.nn.Module:
    """Every parameter (and buffer) of ``module`` set to ``value``, as the notebook's tests do."""
    module.load_state_dict({k: v * 0 + value for k, v in module.state_dict().items()})
    return module


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def reference_layer() -> type[RNNLayer]:
    from ..torch import RNNLayer
    return RNNLayer


def generate_batch(seq_len: int = 10, batch_size: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The notebook's data: random inputs (batch, seq_len, 1) and their running means as targets."""
    data = torch.randn(batch_size, seq_len, 1)
    return data, torch.cumsum(data, dim=1) / torch.arange(1, seq_len + 1).view(1, seq_len, 1)


@contextlib.contextmanager
def swapped(namespace: dict, pieces: dict) -> Iterator[None]:
    """Lend ``namespace`` these names for the length of a check, then put the student's back."""
    saved = {k: namespace[k] for k in pieces if k in namespace}
    namespace.update(pieces)
    try:
        yield
    finally:
        for k in pieces:
            namespace.pop(k, None)
        namespace.update(saved)


def layer_reference(layer: torch.nn.Module, D: int = 2, H: int = 3) -> dict:
    """Give the layer's parameters random values and find them by shape: W_ih (H x D, or its transpose),
    W_hh (H x H), the biases (H values each, added up)."""
    params = list(layer.parameters())
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
    w_ih = next((p if p.shape == (H, D) else p.T for p in params if p.shape in ((H, D), (D, H))), None)
    w_hh = next((p for p in params if p.shape == (H, H)), None)
    if w_ih is None or w_hh is None:
        raise Fail(f"RNNLayer({D}, {H}) has no {H}x{D} input weight and {H}x{H} recurrent weight among its "
                   f"parameters {[tuple(p.shape) for p in params]}")
    bias = sum((p.reshape(H) for p in params if p.numel() == H and p.dim() <= 2 and 1 in (*p.shape, 1)),
               torch.zeros(H))
    return {"W_ih": w_ih.detach(), "W_hh": w_hh.detach(), "b": bias.detach()}


def recurrence(weights: dict, x: torch.Tensor, nonlinearity: Callable[[torch.Tensor], torch.Tensor],
               mistake: str | None = None,
               transpose: bool = False) -> torch.Tensor:
    """All hidden states (batch, T, H) of h_t = sigma(W_ih x_t + W_hh h_{t-1} + b) (or with ``mistake``)."""
    W_hh = weights["W_hh"].T if transpose else weights["W_hh"]
    b = 0 if mistake == "no_bias" else weights["b"]
    act = torch.tanh if mistake == "ignores_nonlinearity" else nonlinearity
    h, states = torch.zeros(x.shape[0], W_hh.shape[0]), []
    for t in range(x.shape[1]):
        new = act(x[:, t] @ weights["W_ih"].T + h @ W_hh.T + b)
        states.append(new)
        h = torch.zeros_like(new) if mistake == "no_carry" else new
    return torch.stack(states, dim=1)


def check_layer_values(out: object, weights: dict, x: torch.Tensor,
                       nonlinearity: Callable[[torch.Tensor], torch.Tensor], name: str, mistakes: dict) -> None:
    """Fail unless ``out`` = (all_h, last_h) of the recurrence, naming a known mistake when it is one."""
    if not isinstance(out, tuple) or len(out) != 2:
        raise Fail("forward must return the pair (all_h, last_h)")
    all_h, last_h = out
    if tuple(all_h.shape) != (2, 4, 3) or tuple(last_h.shape) != (2, 3):
        raise Fail(f"all_h has shape {tuple(all_h.shape)} and last_h {tuple(last_h.shape)}, expected "
                   f"(batch, seq_len, hidden) = (2, 4, 3) and (batch, hidden) = (2, 3)")

    def same(states) -> bool:
        return torch.allclose(all_h, states, atol=1e-5) and torch.allclose(last_h, states[:, -1], atol=1e-5)

    if any(same(recurrence(weights, x, nonlinearity, transpose=t)) for t in (False, True)):
        return
    for mistake, message in mistakes.items():
        if mistake == "ignores_nonlinearity" and name == "tanh":
            continue
        if any(same(recurrence(weights, x, nonlinearity, mistake, t)) for t in (False, True)):
            raise Fail(message)
    raise Fail(f"with {name} as nonlinearity the hidden states differ from h_t = sigma(W_hh h_(t-1) + W_ih x_t + b)")
