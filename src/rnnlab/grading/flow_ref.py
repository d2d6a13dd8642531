"""What the gradient-flow notebook's checks compare with: its own test tensors, the Elman recurrence
h_t = sigma(W_ih x_t + W_hh h_{t-1} + b) with known mistakes, and helpers to fill and count parameters and
reach the pieces the grader lends a submission inside its sandbox (``lend_flow``)."""
from __future__ import annotations

from collections.abc import Callable

import torch

from .checks import Fail

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


def parameters(module) -> dict[str, torch.Tensor]:
    """The parameters of a module in the sandbox, by name (their values)."""
    return module._session.request("params", module)


def fill(module, value: float):
    """Every parameter (and buffer) of ``module`` set to ``value``, as the notebook's tests do."""
    return module._session.request("fill", module, value)


def parameter_count(module) -> int:
    return sum(p.numel() for p in parameters(module).values())


def lent(session, name: str):
    """A piece of ``lend_flow`` (the grader's correct layer, model, loss, data, recorder) in the sandbox."""
    return session.request("lent", name)


def layer_reference(layer, D: int = 2, H: int = 3) -> list[dict]:
    """Give the layer's parameters random values and find them by shape: W_ih (H x D, or its transpose),
    W_hh (H x H), the biases (H values each, added up); one fused (H x (D+H)) matrix is split both ways.
    The candidates, each a dict of W_ih, W_hh and b."""
    session = layer._session
    generator = torch.Generator().manual_seed(4)
    shapes = parameters(layer)
    session.request("load", layer, {k: torch.randn(p.shape, generator=generator) * 0.5 for k, p in shapes.items()})
    params = [p.double() for p in parameters(layer).values()]
    bias = sum((p.reshape(H) for p in params if p.numel() == H and p.dim() <= 2 and 1 in (*p.shape, 1)),
               torch.zeros(H, dtype=torch.float64))
    w_ih = next((p if p.shape == (H, D) else p.T for p in params if p.shape in ((H, D), (D, H))), None)
    w_hh = next((p for p in params if p.shape == (H, H)), None)
    if w_ih is not None and w_hh is not None:
        return [{"W_ih": w_ih, "W_hh": w_hh, "b": bias}]
    fused = next((p if p.shape == (H, D + H) else p.T for p in params if p.shape in ((H, D + H), (D + H, H))), None)
    if fused is not None:             # one nn.Linear on [x, h] (or [h, x]), which the notebook allows
        return [{"W_ih": fused[:, :D], "W_hh": fused[:, D:], "b": bias},
                {"W_ih": fused[:, H:], "W_hh": fused[:, :H], "b": bias}]
    raise Fail(f"RNNLayer({D}, {H}) has no {H}x{D} input weight and {H}x{H} recurrent weight (nor one {H}x{D + H} "
               f"matrix for both) among its parameters {[tuple(p.shape) for p in params]}")


def recurrence(weights: dict, x: torch.Tensor, nonlinearity: Callable[[torch.Tensor], torch.Tensor],
               mistake: str | None = None,
               transpose: bool = False) -> torch.Tensor:
    """All hidden states (batch, T, H) of h_t = sigma(W_ih x_t + W_hh h_{t-1} + b) (or with ``mistake``)."""
    W_hh = weights["W_hh"].T if transpose else weights["W_hh"]
    b = 0 if mistake == "no_bias" else weights["b"]
    act = torch.tanh if mistake == "ignores_nonlinearity" else nonlinearity
    x = x.to(W_hh.dtype)
    h, states = torch.zeros(x.shape[0], W_hh.shape[0], dtype=W_hh.dtype), []
    for t in range(x.shape[1]):
        new = act(x[:, t] @ weights["W_ih"].T + h @ W_hh.T + b)
        states.append(new)
        h = torch.zeros_like(new) if mistake == "no_carry" else new
    return torch.stack(states, dim=1)


def check_layer_values(out: object, candidates: list[dict], x: torch.Tensor,
                       nonlinearity: Callable[[torch.Tensor], torch.Tensor], name: str, mistakes: dict) -> None:
    """Fail unless ``out`` = (all_h, last_h) of the recurrence, naming a known mistake when it is one."""
    if not isinstance(out, tuple) or len(out) != 2:
        raise Fail("forward must return the pair (all_h, last_h)")
    all_h, last_h = out
    if tuple(all_h.shape) != (2, 4, 3) or tuple(last_h.shape) != (2, 3):
        raise Fail(f"all_h has shape {tuple(all_h.shape)} and last_h {tuple(last_h.shape)}, expected "
                   f"(batch, seq_len, hidden) = (2, 4, 3) and (batch, hidden) = (2, 3)")

    def same(states) -> bool:
        return (torch.allclose(all_h.double(), states, atol=1e-5) and
                torch.allclose(last_h.double(), states[:, -1], atol=1e-5))

    def any_same(mistake=None) -> bool:
        return any(same(recurrence(w, x, nonlinearity, mistake, t)) for w in candidates for t in (False, True))

    if any_same():
        return
    for mistake, message in mistakes.items():
        if mistake == "ignores_nonlinearity" and name == "tanh":
            continue
        if any_same(mistake):
            raise Fail(message)
    raise Fail(f"with {name} as nonlinearity the hidden states differ from h_t = sigma(W_hh h_(t-1) + W_ih x_t + b)")
