"""Assignment 2's RNN and LSTM written out once more, per sample and in the course's column layout, for the
grader: the correct forward and backward, and the same with one known mistake each ("variants"), so that a
student's numbers can be matched to the mistake that produces them.

    RNN:   a_t = Wx x_t + Wh h_{t-1} + bh,   h_t = tanh(a_t),   y = Wy h_T + by
           da_t = (1 - h_t^2) * dh_t,   dh_{t-1} = Wh^T da_t,   dWx = sum_t da_t x_t^T,  dWh = sum_t da_t h_{t-1}^T
    LSTM:  i, f, o = sigma(W. x_t + U. h_{t-1} + b.),   c~ = tanh(Wc x_t + Uc h_{t-1} + bc)
           c_t = f * c_{t-1} + i * c~,   h_t = o * tanh(c_t)
           dc_t += dh_t * o * (1 - tanh(c_t)^2);   da_i = dc_t c~ i(1-i),  da_f = dc_t c_{t-1} f(1-f),
           da_o = dh_t tanh(c_t) o(1-o),  da_c = dc_t i (1-c~^2);  dc_{t-1} = dc_t f;  dh_{t-1} = sum_g U_g^T da_g

Every backward returns the per-step contributions to each gradient (the gradient is their sum), which the
clipping check needs: clipping each step's contribution before adding them up is a mistake of its own.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

RNN_SHAPES = {"Wx": "HD", "Wh": "HH", "bh": "H1", "Wy": "OH", "by": "O1"}
LSTM_GATES = "ifoc"
LSTM_SHAPES = {**{f"{k}{g}": s for g in LSTM_GATES for k, s in (("W", "HD"), ("U", "HH"), ("b", "H1"))},
               "Wy": "OH", "by": "O1"}

RNN_FORWARD_MISTAKES = {
    "no_carry": "the hidden state is not carried between steps: every step starts again from h = 0",
    "no_tanh": "tanh is missing: h_t is the pre-activation Wx x_t + Wh h_(t-1) + bh itself",
    "no_bias": "the bias bh is not added in the recurrence",
}
RNN_BACKWARD_MISTAKES = {
    "no_tanh_derivative": "the tanh derivative (1 - h_t**2) is missing from the gradient of the pre-activation",
    "transposed_Wh": "Wh is not transposed where the gradient flows back: dh_prev must be Wh.T @ da, not Wh @ da",
    "no_dh_flow": "the gradient does not flow back in time: dh_prev = Wh.T @ da is never passed to step t-1",
    "overwrite": "the gradients are overwritten at each step instead of accumulated (use += over time steps)",
    "no_bias_grad": "the bias gradient is forgotten: dbh is never accumulated",
}
LSTM_FORWARD_MISTAKES = {
    **{f"sign_{g}": f"a sign error in the {name}: it is computed as sigmoid(-(...)), not sigmoid(...)" for g, name in
       (("i", "input gate"), ("f", "forget gate"), ("o", "output gate"))},
    "sign_c": "a sign error in the candidate c~: it is computed as tanh(-(...))",
    "no_c_carry": "the cell state is not carried between steps: every step starts again from c = 0",
    "no_h_carry": "the hidden state is not carried between steps: every step starts again from h = 0",
}
LSTM_BACKWARD_MISTAKES = {
    "no_forget_derivative": "the forget gate's derivative f*(1-f) is missing",
    "no_input_derivative": "the input gate's derivative i*(1-i) is missing",
    "no_output_derivative": "the output gate's derivative o*(1-o) is missing",
    "no_candidate_derivative": "the candidate's tanh derivative (1 - c~**2) is missing",
    "no_tanh_c_derivative": "the derivative of tanh(c_t) is missing where dh reaches the cell: "
                            "dc = dh * o * (1 - tanh(c_t)**2)",
    "no_cell_flow": "the cell state's gradient is not propagated back in time: dc_prev = dc * f_t is lost",
    "transposed_U": "the U matrices are not transposed where the gradient flows back: dh_prev = U.T @ da",
    "no_bias_grad": "the bias gradients (dbi, dbf, dbo, dbc) are forgotten",
}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def shapes(template: dict[str, str], D: int, H: int, O: int) -> dict[str, tuple[int, int]]:
    sizes = {"D": D, "H": H, "O": O, "1": 1}
    return {name: (sizes[s[0]], sizes[s[1]]) for name, s in template.items()}


def rnn_forward(p: dict, X: np.ndarray, mistake: str | None = None) -> tuple[np.ndarray, list]:
    """y (O, 1) and the course's cache [(h_prev, x_t, h_t)] of the RNN (with ``mistake``, the wrong one)."""
    h = np.zeros_like(p["bh"])
    cache = []
    for x in X:
        x = x[:, None]
        a = p["Wx"] @ x + p["Wh"] @ h + (0 if mistake == "no_bias" else p["bh"])
        h_t = a if mistake == "no_tanh" else np.tanh(a)
        cache.append((h, x, h_t))
        h = np.zeros_like(h) if mistake == "no_carry" else h_t
    return p["Wy"] @ cache[-1][2] + p["by"], cache


def rnn_backward(p: dict, cache: list, dLdy: np.ndarray, mistake: str | None = None) -> list[dict]:
    """Per-step contributions to dWx, dWh, dbh (one dict per step, last step first) and dWy, dby (in the first)."""
    h_T = cache[-1][2]
    steps = [{"Wy": dLdy @ h_T.T, "by": dLdy.copy()}]
    dh = p["Wy"].T @ dLdy
    for t in reversed(range(len(cache))):
        h_prev, x, h = cache[t]
        da = dh if mistake == "no_tanh_derivative" else (1 - h ** 2) * dh
        step = {"Wx": da @ x.T, "Wh": da @ h_prev.T, "bh": np.zeros_like(da) if mistake == "no_bias_grad" else da}
        steps.append(step)
        dh = (p["Wh"] @ da) if mistake == "transposed_Wh" else p["Wh"].T @ da
        if mistake == "no_dh_flow":
            dh = np.zeros_like(dh)
    if mistake == "overwrite":
        steps = steps[:1] + steps[-1:]
    return steps


def lstm_forward(p: dict, X: np.ndarray, mistake: str | None = None) -> tuple[np.ndarray, list]:
    """y (O, 1) and the course's cache [(x_t, h_prev, c_prev, i, f, o, c~, c_t, h_t)] of the LSTM."""
    h = np.zeros_like(p["bi"])
    c = np.zeros_like(h)
    cache = []
    for x in X:
        x = x[:, None]
        pre = {g: p[f"W{g}"] @ x + p[f"U{g}"] @ h + p[f"b{g}"] for g in LSTM_GATES}
        sign = {g: -1.0 if mistake == f"sign_{g}" else 1.0 for g in LSTM_GATES}
        i, f, o = (sigmoid(sign[g] * pre[g]) for g in "ifo")
        c_tilde = np.tanh(sign["c"] * pre["c"])
        c_t = f * c + i * c_tilde
        h_t = o * np.tanh(c_t)
        cache.append((x, h, c, i, f, o, c_tilde, c_t, h_t))
        h = np.zeros_like(h) if mistake == "no_h_carry" else h_t
        c = np.zeros_like(c) if mistake == "no_c_carry" else c_t
    return p["Wy"] @ cache[-1][8] + p["by"], cache


def lstm_backward(p: dict, cache: list, dLdy: np.ndarray, mistake: str | None = None) -> list[dict]:
    """Per-step contributions to every LSTM gradient (see the module's equations)."""
    steps = [{"Wy": dLdy @ cache[-1][8].T, "by": dLdy.copy()}]
    dh = p["Wy"].T @ dLdy
    dc = np.zeros_like(dh)
    keep = {"no_forget_derivative": "f", "no_input_derivative": "i", "no_output_derivative": "o",
            "no_candidate_derivative": "c"}.get(mistake or "")
    for t in reversed(range(len(cache))):
        x, h_prev, c_prev, i, f, o, c_tilde, c_t, h_t = cache[t]
        tc = np.tanh(c_t)
        dc = dc + (dh * o if mistake == "no_tanh_c_derivative" else dh * o * (1 - tc ** 2))
        upstream = {"i": dc * c_tilde, "f": dc * c_prev, "o": dh * tc, "c": dc * i}
        slope = {"i": i * (1 - i), "f": f * (1 - f), "o": o * (1 - o), "c": 1 - c_tilde ** 2}
        da = {g: upstream[g] * (1.0 if keep == g else slope[g]) for g in LSTM_GATES}
        step = {}
        for g in LSTM_GATES:
            step[f"W{g}"], step[f"U{g}"] = da[g] @ x.T, da[g] @ h_prev.T
            step[f"b{g}"] = np.zeros_like(da[g]) if mistake == "no_bias_grad" else da[g]
        steps.append(step)
        dh = sum((p[f"U{g}"] @ da[g]) if mistake == "transposed_U" else p[f"U{g}"].T @ da[g] for g in LSTM_GATES)
        dc = np.zeros_like(dc) if mistake == "no_cell_flow" else dc * f
    return steps


def total(steps: list[dict], names: Iterable[str]) -> dict[str, np.ndarray]:
    """The gradient of each parameter: the sum of its per-step contributions."""
    out = {}
    for name in names:
        parts = [s[name] for s in steps if name in s]
        out[name] = sum(parts[1:], parts[0].copy())
    return out


def clipped_per_step(steps: list[dict], names: Iterable[str], clip: float) -> dict[str, np.ndarray]:
    """The mistake of clipping each step's contribution before summing them."""
    return total([{k: np.clip(v, -clip, clip) for k, v in s.items()} for s in steps], names)
