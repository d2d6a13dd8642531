"""The checks of Lab sheet 9 (its two MNIST models) and of RNN Warmup (its models and the data of its three memory
tasks).  Neither document gives points; two per item, as Assignment 2 gives per TODO.

The models are checked against the documents' own (``checks_models``).  A task's data is checked by what defines
it, on a batch the student's function makes: the copy task's target is the first step's values and the rest is
noise below 0.1; the sequential XOR's target at step t is x_t XOR x_(t-1) (0 at the first step); the adding
problem's mask has one 1 in each half and the target is the sum of the two marked values.
"""
from __future__ import annotations

import torch

from .checks import Check, Fail, call, need
from .checks_models import forward_check, init_check, inputs

TYPES = ("rnn", "gru", "lstm")
SCORES = "(batch, 10) class scores"


def _pair(value, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, torch.Tensor) for v in value)):
        unwritten = isinstance(value, tuple) and all(v is None for v in value)
        got = "(None, None): is the TODO written yet?" if unwritten else f"a {type(value).__name__}"
        raise Fail(f"{what} must return the pair (X, y) of tensors, got {got}")
    return value


def _shape(tensor: torch.Tensor, expected: tuple, what: str) -> None:
    if tuple(tensor.shape) != expected:
        raise Fail(f"{what} has shape {tuple(tensor.shape)}, expected {expected}")


def check_copy_data(namespace) -> str:
    fn = need(namespace, "generate_copy_memory_data", "function")
    X, y = _pair(call("generate_copy_memory_data(16, 12, 5)", fn, 16, 12, 5), "generate_copy_memory_data")
    _shape(X, (16, 12, 5), "X (batch, seq_length, feature_dim)")
    _shape(y, (16, 5), "y (batch, feature_dim)")
    if not torch.allclose(X[:, 0], y):
        raise Fail("the target y must be the values of the first time step, X[:, 0, :]")
    if not (y.min() >= 0 and y.max() <= 1 and float(y.std()) > 0.1):
        raise Fail("the values to remember must be random in [0, 1) (torch.rand)")
    rest = X[:, 1:]
    if not (rest.min() >= 0 and rest.max() <= 0.1 and float(rest.std()) > 0.005):
        raise Fail("the steps after the first must be noise in [0, 0.1): torch.rand(...) * 0.1")
    return "X[:, 0] holds the values to copy, y equals them, the rest is noise in [0, 0.1)"


def check_xor_data(namespace) -> str:
    fn = need(namespace, "generate_sequential_xor_data", "function")
    X, y = _pair(call("generate_sequential_xor_data(32, 15)", fn, 32, 15), "generate_sequential_xor_data")
    _shape(X, (32, 15, 1), "X (batch, seq_length, 1)")
    _shape(y, (32, 15, 1), "y (batch, seq_length, 1)")
    if not bool(((X == 0) | (X == 1)).all()) or float(X.mean()) in (0.0, 1.0):
        raise Fail("X must be random bits, 0 or 1 (torch.randint(0, 2, ...))")
    want = torch.zeros_like(y)
    want[:, 1:] = (X[:, 1:] != X[:, :-1]).float()
    if not torch.equal(y.float(), want):
        if torch.equal(y[:, :-1].float(), want[:, 1:]):
            raise Fail("y is one step early: y[:, t] must be X[:, t] XOR X[:, t-1] (and 0 at t = 0)")
        raise Fail("y[:, t] must be X[:, t] XOR X[:, t-1] for t >= 1 and 0 at the first step")
    return "y[:, t] = X[:, t] XOR X[:, t-1], 0 at the first step"


def check_adding_data(namespace) -> str:
    fn = need(namespace, "generate_adding_problem_data", "function")
    X, y = _pair(call("generate_adding_problem_data(32, 20)", fn, 32, 20), "generate_adding_problem_data")
    _shape(X, (32, 20, 2), "X (batch, seq_length, 2)")
    _shape(y, (32, 1), "y (batch, 1)")
    values, mask = X[..., 0], X[..., 1]
    if not (values.min() >= 0 and values.max() <= 1 and float(values.std()) > 0.1):
        raise Fail("X[..., 0] must be random values in [0, 1) (torch.rand)")
    if not (bool(((mask == 0) | (mask == 1)).all()) and bool((mask.sum(1) == 2).all())):
        raise Fail("X[..., 1] must be a mask of zeros with exactly two 1s per sequence")
    if not bool((mask[:, :10].sum(1) == 1).all()):
        raise Fail("the mask's first 1 must be in the first half of the sequence and the second in the second half")
    if not torch.allclose(y[:, 0], (values * mask).sum(1), atol=1e-6):
        raise Fail("y must be the sum of the two values marked by the mask")
    return "values in [0, 1), one marked in each half, y = their sum"


def _first_step(reference, x):
    out, hidden = reference.rnn(x)
    return reference.fc(out[:, 0, :]), hidden


def lab_checks(items: tuple[tuple[str, float], ...]) -> list[Check]:
    """Lab sheet 9: ``RNN_Model`` (nn.RNN, batch first, the last step read out) and ``LSTM_Model`` (a two-layer
    nn.LSTM, the last layer's final hidden state read out)."""
    mnist = inputs((4, 28, 28))
    run = {
        "RNN_Model.__init__": (init_check("RNN_Model"), 0),
        "RNN_Model.forward": (forward_check("RNN_Model", ((), {}, mnist), returns=SCORES, mistakes={
            "forward reads the first row's output: the class comes from the last time step, out[:, -1, :]":
                lambda r, x: r.fc(r.rnn(x)[0][:, 0]),
            "the RNN reads the batch as time: create it with nn.RNN(..., batch_first=True)":
                lambda r, x: r.fc(r.rnn(x.transpose(0, 1))[0].transpose(0, 1)[:, -1])}), 1),
        "LSTM_Model.__init__": (init_check("LSTM_Model"), 0),
        "LSTM_Model.forward": (forward_check("LSTM_Model", ((), {}, mnist), returns=SCORES, mistakes={
            "forward reads hn[0], the first layer's final state: the sheet reads the last layer's, hn[-1]":
                lambda r, x: r.fc(r.lstm(x)[1][0][0])}), 1),
    }
    return [Check(item, points, *run[item]) for item, points in items]


def warmup_checks(items: tuple[tuple[str, float], ...]) -> list[Check]:
    """RNN Warmup: ``RecurrentModel`` (built and run for each of rnn, gru, lstm), the three tasks' data, and the
    forward passes of ``SequentialXORModel`` and ``AddingModel``."""
    kinds = [((10, 8, 10), {"rnn_type": t}) for t in TYPES]
    run = {
        "RecurrentModel.__init__": (init_check("RecurrentModel", kinds), 0),
        "RecurrentModel.forward": (forward_check(
            "RecurrentModel", [(a, k, inputs((3, 6, 10))) for a, k in kinds], returns="(output, final_hidden)",
            mistakes={"the output is read at the first step: use rnn_output[:, -1, :]": _first_step}), 1),
        "generate_copy_memory_data": (check_copy_data, 0),
        "generate_sequential_xor_data": (check_xor_data, 0),
        "SequentialXORModel.forward": (forward_check(
            "SequentialXORModel", [((8,), {"rnn_type": t}, inputs((3, 7, 1))) for t in TYPES],
            returns="(batch, seq_length, 1) probabilities", mistakes={
                "the sigmoid is missing: the output must be a probability, self.sigmoid(self.fc(...))":
                    lambda r, x: r.fc(r.rnn(x)[0])}), 1),
        "generate_adding_problem_data": (check_adding_data, 0),
        "AddingModel.forward": (forward_check(
            "AddingModel", [((8,), {"rnn_type": t}, inputs((3, 9, 2))) for t in TYPES],
            returns="(batch, 1): the sum read at the last step", mistakes={
                "the prediction is read at the first step: use rnn_output[:, -1, :]":
                    lambda r, x: r.fc(r.rnn(x)[0][:, 0])}), 1),
    }
    return [Check(item, points, *run[item]) for item, points in items]
