"""rnnlab.torch.nn beyond the ported tests: no torch recurrent kernel is called, torch.func and batched
gradients on every module (the whole-sequence fast path included), layer_norm=True, torch.nn's handling
of flags, and the fast path equal to the step-by-step graph."""
from __future__ import annotations

import pytest
import torch
from torch.func import functional_call, grad, jacrev, vmap
from torch.nn.utils.rnn import pack_sequence

from rnnlab.torch import LSTM as CourseLSTM
from rnnlab.torch import load_torch_state_dict
from rnnlab.torch import nn as ours
from rnnlab.torch.nn import walk
from test_torch_nn_support import one_thread  # noqa: F401

FORBIDDEN = ["lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
             "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell", "mkldnn_rnn_layer"]

pytestmark = pytest.mark.usefixtures("one_thread")


def _module_and_input(name: str, **options):
    torch.manual_seed(0)
    cell = name.endswith("Cell")
    module = getattr(ours, name)(3, 4, dtype=torch.float64, **options)
    x = torch.randn((2, 3) if cell else (5, 2, 3), dtype=torch.float64, requires_grad=True)
    return module, x


def _first(out) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out


def test_no_torch_recurrent_kernel_is_called(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a torch recurrent kernel was called")
    for name in FORBIDDEN:
        for owner in (torch._VF, torch, torch.ops.aten):
            if hasattr(owner, name):
                monkeypatch.setattr(owner, name, refuse, raising=False)
    for cls in (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU, torch.nn.RNNCell, torch.nn.LSTMCell, torch.nn.GRUCell):
        monkeypatch.setattr(cls, "forward", refuse)
    for name, options in [("RNN", {"num_layers": 2, "bidirectional": True}), ("LSTM", {"proj_size": 2}),
                          ("LSTM", {"bidirectional": True}), ("GRU", {"num_layers": 2}), ("RNNCell", {}),
                          ("LSTMCell", {}), ("GRUCell", {})]:
        module, x = _module_and_input(name, **options)
        g, = torch.autograd.grad(_first(module(x)).pow(2).sum(), x, create_graph=True)
        g.sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
    lstm = ours.LSTM(3, 4)
    packed = pack_sequence([torch.randn(4, 3), torch.randn(2, 3), torch.randn(3, 3)], enforce_sorted=False)
    lstm(packed)[0].data.sum().backward()


CASES = [("RNN", {}), ("RNN", {"nonlinearity": "relu", "bidirectional": True}), ("LSTM", {"num_layers": 2}),
         ("LSTM", {"proj_size": 2}), ("GRU", {"bidirectional": True}), ("RNNCell", {}), ("LSTMCell", {}),
         ("GRUCell", {})]


@pytest.mark.parametrize("name,options", CASES)
def test_torch_func_grad_jacrev_vmap_and_batched_grads(name, options):
    module, x = _module_and_input(name, **options)
    params = {k: v.detach() for k, v in module.named_parameters()}

    def loss(p, x):
        return _first(functional_call(module, p, (x,))).pow(2).sum()

    expected = torch.autograd.grad(loss(dict(module.named_parameters()), x), list(module.parameters()))
    got = grad(loss)(params, x.detach())
    for a, b in zip(expected, got.values()):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)
    jac = jacrev(lambda x: _first(module(x)))(x.detach())
    out = _first(module(x))
    rows = torch.eye(out.numel(), dtype=out.dtype).view(-1, *out.shape)
    batched, = torch.autograd.grad(out, x, rows, is_grads_batched=True)
    assert torch.allclose(jac.reshape(-1, *x.shape), batched, atol=1e-12, rtol=0)
    xs = torch.randn(4, *x.shape, dtype=x.dtype)
    per_sample = torch.stack([_first(module(xi)) for xi in xs])
    assert torch.allclose(vmap(lambda xi: _first(module(xi)))(xs), per_sample, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_fast_path_equals_the_step_by_step_graph(name, monkeypatch):
    module, x = _module_and_input(name, num_layers=2, bidirectional=True)
    results = []
    for fused in (True, False):
        monkeypatch.setattr(walk, "FUSED", fused)
        out = _first(module(x))
        g = torch.autograd.grad(out.pow(3).sum(), [x] + list(module.parameters()), create_graph=True)
        gg = torch.autograd.grad(g[0].pow(2).sum(), [x] + list(module.parameters()))
        results.append([out, *g, *gg])
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layer_norm_equals_the_course_stack_and_has_named_parameters(name):
    torch.manual_seed(0)
    module = getattr(ours, name)(3, 4, num_layers=2, layer_norm=True, batch_first=True, dtype=torch.float64)
    names = [n for n, _ in module.named_parameters()]
    assert "ln_weight_l0" in names and "ln_bias_l1" in names and "layer_norm=True" in repr(module)
    with torch.no_grad():
        for n, p in module.named_parameters():
            if n.startswith("ln_"):
                p.add_(torch.randn_like(p) * 0.3)
    course = {"RNN": __import__("rnnlab.torch", fromlist=["RNN"]).RNN, "LSTM": CourseLSTM,
              "GRU": __import__("rnnlab.torch", fromlist=["GRU"]).GRU}[name](3, 4, num_layers=2, layer_norm=True)
    course = course.double()
    load_torch_state_dict(course, module.state_dict())
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(module(x)[0], course(x)[0], atol=1e-12, rtol=0)
    small = getattr(ours, name)(3, 4, layer_norm=True, batch_first=True, dtype=torch.float64)
    x = x[:, :3].detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: small(x)[0], (x,), fast_mode=True)
    assert torch.autograd.gradgradcheck(lambda x: small(x)[0], (x,), fast_mode=True)


def test_flags_are_handled_as_torch_nn_does():
    for flag in ("bias", "batch_first"):
        for value in ("False", 0, 1, None):
            with pytest.raises(TypeError, match=f"{flag} should be of type bool"):
                ours.GRU(3, 5, **{flag: value})
            with pytest.raises(TypeError):
                torch.nn.GRU(3, 5, **{flag: value})
    assert ours.LSTM(3, 5, bidirectional=1).bidirectional == 1      # torch.nn takes a truthy value here too
    assert ours.LSTM(3, 5, num_layers=2, dropout=1).dropout == 1.0
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        ours.RNN(3, 5, dropout=1.5)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        ours.RNN(3, 5, dropout=0.5)
    with pytest.raises(TypeError, match="layer_norm should be of type bool"):
        ours.RNN(3, 5, layer_norm="yes")
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        ours.RNN(3, 5, nonlinearity="sigmoid")


def test_packed_output_keeps_torch_nn_sorted_indices_conventions():
    torch.manual_seed(0)
    seqs = [torch.randn(4, 3), torch.randn(3, 3), torch.randn(2, 3)]
    for enforce_sorted in (True, False):
        packed = pack_sequence(seqs if enforce_sorted else seqs[::-1], enforce_sorted=enforce_sorted)
        theirs = torch.nn.GRU(3, 4)
        mine = ours.GRU(3, 4)
        mine.load_state_dict(theirs.state_dict())
        a, b = theirs(packed)[0], mine(packed)[0]
        assert torch.equal(a.batch_sizes, b.batch_sizes)
        for field in ("sorted_indices", "unsorted_indices"):
            x, y = getattr(a, field), getattr(b, field)
            assert (x is None and y is None) if enforce_sorted else torch.equal(x, y)
        assert torch.allclose(a.data, b.data, atol=1e-6, rtol=0)


def test_flat_weights_follow_assignment_and_to():
    lstm = ours.LSTM(3, 4, num_layers=2)
    new = torch.nn.Parameter(torch.zeros_like(lstm.weight_hh_l1))
    lstm.weight_hh_l1 = new
    assert lstm._flat_weights[lstm._flat_weights_names.index("weight_hh_l1")] is new
    lstm = lstm.double()
    assert all(w.dtype == torch.float64 for w in lstm._flat_weights)
    lstm.flatten_parameters()
