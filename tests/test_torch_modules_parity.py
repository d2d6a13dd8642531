"""rnnlab.torch stacks against torch.nn.RNN/LSTM/GRU, in float64: outputs, states, all gradients."""
import itertools

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.numpy import RecurrentNet
from rnnlab.torch import (
    GRU,
    LSTM,
    RNN,
    SequenceClassifier,
    from_torch,
    load_torch_state_dict,
    to_torch,
    to_torch_state_dict,
)

OURS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
GRID = [(c, L, bi, rag, bf) for c, L, bi, rag, bf in itertools.product(
    ("rnn", "lstm", "gru"), (1, 2, 3), (False, True), ("equal", "padded", "packed"), (True, False))]
PROJ = list(itertools.product((1, 2), (False, True), ("equal", "packed")))


def _grads_by_torch_name(module):
    """Our parameter gradients under torch.nn's names (merged biases appear as both b_ih and b_hh)."""
    out = {}
    for k, d, layer in module.all_layers():
        sfx = f"_l{k}" + ("_reverse" if d else "")
        out["weight_ih" + sfx] = layer.ih.weight.grad
        out["weight_hh" + sfx] = layer.hh.weight.grad
        if module.bias:
            out["bias_ih" + sfx] = layer.ih.bias.grad
            out["bias_hh" + sfx] = layer.hh.bias.grad if module.cell == "gru" else layer.ih.bias.grad
        if getattr(layer, "proj", None) is not None:
            out["weight_hr" + sfx] = layer.proj.weight.grad
    return out


def _compare(cell, layers, bidirectional, lengths_mode, batch_first, proj_size=0, with_states=True,
             bias=True, nonlinearity="tanh"):
    torch.manual_seed(0)
    kwargs = {"proj_size": proj_size} if cell == "lstm" else {}
    if cell == "rnn":
        kwargs["nonlinearity"] = nonlinearity
    ours = OURS[cell](5, 6, layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional,
                      **kwargs).double()
    twin = to_torch(ours)
    B, T = 4, 7
    x = torch.randn((B, T, 5) if batch_first else (T, B, 5), dtype=torch.float64)
    lengths = torch.tensor([7, 3, 5, 1]) if lengths_mode != "equal" else None
    S = layers * (2 if bidirectional else 1)
    out_size = proj_size or 6
    h0 = torch.randn(S, B, out_size, dtype=torch.float64) if with_states else None
    c0 = torch.randn(S, B, 6, dtype=torch.float64) if with_states and cell == "lstm" else None
    hx = None if not with_states else ((h0, c0) if cell == "lstm" else h0)

    results = []
    for module in (ours, twin):
        xi = x.clone().requires_grad_(True)
        hxi = None if hx is None else (tuple(s.clone().requires_grad_(True) for s in hx) if cell == "lstm"
                                       else hx.clone().requires_grad_(True))
        if lengths_mode == "packed" or (module is twin and lengths_mode == "padded"):
            inp = pack_padded_sequence(xi, lengths, batch_first=batch_first, enforce_sorted=False)
            out, state = module(inp, hxi)
            out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
        elif lengths_mode == "padded":
            out, state = module(xi, hxi, lengths=lengths)
        else:
            out, state = module(xi, hxi)
        states = state if isinstance(state, tuple) else (state,)
        g = torch.Generator().manual_seed(1)
        loss = (out * torch.randn(out.shape, generator=g, dtype=torch.float64)).sum()
        for s in states:
            loss = loss + (s * torch.randn(s.shape, generator=g, dtype=torch.float64)).sum()
        loss.backward()
        init_grads = [] if hxi is None else [s.grad for s in (hxi if isinstance(hxi, tuple) else (hxi,))]
        results.append((out, states, xi.grad, init_grads))
    (o1, s1, gx1, gi1), (o2, s2, gx2, gi2) = results
    torch.testing.assert_close(o1, o2, atol=1e-6, rtol=0)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    torch.testing.assert_close(gx1, gx2, atol=1e-6, rtol=0)
    for a, b in zip(gi1, gi2):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    ours_grads = _grads_by_torch_name(ours)
    for name, p in twin.named_parameters():
        torch.testing.assert_close(ours_grads[name], p.grad, atol=1e-6, rtol=0, msg=name)


@pytest.mark.parametrize("cell,layers,bidirectional,lengths,batch_first", GRID,
                         ids=["-".join(map(str, g)) for g in GRID])
def test_equal_to_torch_nn(cell, layers, bidirectional, lengths, batch_first):
    _compare(cell, layers, bidirectional, lengths, batch_first, with_states=(layers != 2))


@pytest.mark.parametrize("layers,bidirectional,lengths", PROJ, ids=["-".join(map(str, p)) for p in PROJ])
def test_projected_lstm_equal_to_torch_nn(layers, bidirectional, lengths):
    _compare("lstm", layers, bidirectional, lengths, True, proj_size=3)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_no_bias_and_relu(cell):
    _compare(cell, 2, True, "padded", True, bias=False, nonlinearity="relu")


def test_packed_in_packed_out():
    lstm = LSTM(3, 4)
    x = torch.randn(3, 5, 3)
    packed = pack_padded_sequence(x, torch.tensor([5, 2, 4]), batch_first=True, enforce_sorted=False)
    out, (h_n, c_n) = lstm(packed)
    assert isinstance(out, torch.nn.utils.rnn.PackedSequence)
    padded, lens = pad_packed_sequence(out, batch_first=True)
    assert lens.tolist() == [5, 2, 4]
    assert torch.all(padded[1, 2:] == 0)
    torch.testing.assert_close(h_n[0, 1], padded[1, 1])      # final state = last valid step


def test_round_trips_between_engines():
    torch.manual_seed(0)
    twin = torch.nn.GRU(3, 5, num_layers=2, bidirectional=True, batch_first=True).double()
    ours = from_torch(twin)
    back = to_torch(ours)
    for name, value in twin.state_dict().items():
        torch.testing.assert_close(back.state_dict()[name], value)
    # the NumPy engine reads the same names
    net = RecurrentNet("gru", 3, 5, num_layers=2, bidirectional=True, dtype=np.float64)
    net.load_state_dict(to_torch_state_dict(ours))
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    out_np, _ = net.forward(x)
    out_t, _ = ours(torch.tensor(x))
    np.testing.assert_allclose(out_np, out_t.detach().numpy(), atol=1e-12)
    # and back: NumPy state_dict into our module
    lstm = LSTM(3, 4).double()
    np_lstm = RecurrentNet("lstm", 3, 4, dtype=np.float64, seed=3)
    load_torch_state_dict(lstm, np_lstm.state_dict())
    out_np, _ = np_lstm.forward(x)
    np.testing.assert_allclose(out_np, lstm(torch.tensor(x))[0].detach().numpy(), atol=1e-12)


def test_classifier_reads_both_directions_and_optional_heads():
    torch.manual_seed(0)
    net = LSTM(4, 6, num_layers=2, bidirectional=True)
    clf = SequenceClassifier(net, 10, norm="layernorm", hidden_dense=16)
    x = torch.randn(3, 5, 4)
    _, (h_n, _) = net(x)
    torch.testing.assert_close(clf.read_out(x), torch.cat([h_n[-2], h_n[-1]], dim=1))
    assert clf(x).shape == (3, 10)
    bn = SequenceClassifier(GRU(4, 6), 10, norm="batchnorm")
    assert bn(x).shape == (3, 10)
    plain = SequenceClassifier(torch.nn.LSTM(4, 6, batch_first=True), 2)
    assert plain(x).shape == (3, 2)
    with pytest.raises(ValueError, match="norm: unknown value 'groupnorm'"):
        SequenceClassifier(net, 10, norm="groupnorm")


@pytest.mark.parametrize("call,error,message", [
    (lambda m: m(torch.zeros(2, 5)), ValueError,
     r"x: expected a 3-D tensor \(batch, seq_len, input_size\), got \(2, 5\)"),
    # torch.nn raises RuntimeError for a wrong feature size and for states of the wrong shape
    (lambda m: m(torch.zeros(2, 5, 4)), RuntimeError, r"x: expected 3 input features .*got shape \(2, 5, 4\)"),
    (lambda m: m(torch.zeros(2, 5, 3), lengths=[6, 2]), ValueError, r"lengths: every length must lie in 1\.\.5"),
    (lambda m: m(torch.zeros(2, 5, 3), lengths=[0, 2]), ValueError,
     r"lengths: every length must lie in 1\.\.5.*min 0"),
    (lambda m: m(torch.zeros(2, 5, 3), (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4))), RuntimeError,
     r"c0: expected shape \(1, 2, 4\)"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call(LSTM(3, 4))


def test_bad_options():
    with pytest.raises(ValueError, match="nonlinearity: unknown value 'sigmoid'; expected one of 'tanh', 'relu'"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"proj_size: expected an integer in 0\.\.3"):
        LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="hidden_size: expected a positive integer, got 0"):
        GRU(3, 0)
    from rnnlab.torch import RNNLayer
    with pytest.raises(ValueError, match="nonlinearity: unknown name 'swish'"):
        RNNLayer(2, 3, nonlinearity="swish")


def _leaves(seed, *shapes):
    """float64 tensors of standard normal draws, one per shape, that require gradients (for gradcheck)."""
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True) for shape in shapes)


@pytest.fixture(params=["compiled", "aten"])
def elementwise(request, monkeypatch):
    """Each step's elementwise part as the compiled kernels (float32 / float64 CPU) or ATen operations (every
    other dtype and device): both paths of the whole-sequence nodes are checked."""
    from rnnlab.torch.fused import compiled_kernels
    if request.param == "aten":
        monkeypatch.setenv("RNNLAB_FUSED", "0")
    assert (compiled_kernels(torch.zeros(1, dtype=torch.float64)) is None) == (request.param == "aten")
    return request.param


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("relu", [False, True])
def test_fused_rnn_sequence_passes_gradcheck(reverse, relu, elementwise):
    from rnnlab.torch.fused_cells import RNNSequence
    B, T, H, I = 3, 4, 2, 3
    inputs = _leaves(1, (T, B, I), (H, I), (H,), (B, H), (H, H))
    x, W_ih, bias, h0, W = inputs
    assert torch.autograd.gradcheck(lambda *a: RNNSequence.apply(*a, relu, reverse), inputs)
    assert torch.autograd.gradgradcheck(lambda *a: RNNSequence.apply(*a, relu, reverse), inputs)
    x_bt = x.detach().transpose(0, 1).contiguous().requires_grad_(True)     # a batch-major input seen time-major
    assert torch.autograd.gradcheck(lambda *a: RNNSequence.apply(a[0].transpose(0, 1), *a[1:], relu, reverse),
                                    (x_bt, *inputs[1:]))
    assert torch.autograd.gradcheck(lambda *a: RNNSequence.apply(a[0], a[1], None, *a[2:], relu, reverse),
                                    (x, W_ih, h0, W))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_lstm_sequence_passes_gradcheck(reverse, masked, elementwise):
    from rnnlab.torch.fused import LSTMSequence
    B, T, H, I = 3, 4, 2, 3
    x, W_ih, bias, h0, c0, W = _leaves(0, (T, B, I), (4 * H, I), (4 * H,), (B, H), (B, H), (4 * H, H))
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool).t() if masked else None
    assert torch.autograd.gradcheck(lambda *a: LSTMSequence.apply(*a, mask, reverse), (x, W_ih, bias, h0, c0, W))
    # a batch-major input seen time-major (a transposed view): its gradient keeps the input's layout
    x_bt = x.detach().transpose(0, 1).contiguous().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda *a: LSTMSequence.apply(a[0].transpose(0, 1), *a[1:], mask, reverse),
                                    (x_bt, W_ih, bias, h0, c0, W))
    assert torch.autograd.gradgradcheck(lambda *a: LSTMSequence.apply(*a, mask, reverse), (x, W_ih, bias, h0, c0, W))


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_compiled_and_aten_steps_agree_in_float32(cell, monkeypatch):
    """At a training size in float32 (the compiled tanh is a rational approximation within 3.3e-7),
    with padding and in reverse: outputs, final states and every gradient."""
    from rnnlab.torch.fused import LSTMSequence, compiled_kernels
    from rnnlab.torch.fused_cells import RNNSequence
    T, B, H, I = 28, 64, 128, 28
    g = torch.Generator().manual_seed(3)
    G = 4 * H if cell == "lstm" else H
    leaves = [torch.randn(*shape, generator=g) * scale for shape, scale in
              (((T, B, I), 1.0), ((G, I), 0.2), ((G,), 0.5), ((B, H), 0.5), ((B, H), 0.5), ((G, H), 0.1))]
    leaves = [t.requires_grad_(True) for t in (leaves if cell == "lstm" else leaves[:4] + leaves[5:])]
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    mask = torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)
    results = []
    for path in ("compiled", "aten"):
        if path == "aten":
            monkeypatch.setenv("RNNLAB_FUSED", "0")
        assert (compiled_kernels(leaves[0]) is None) == (path == "aten")
        for reverse in (False, True):
            outs = LSTMSequence.apply(*leaves, mask, reverse) if cell == "lstm" else \
                RNNSequence.apply(*leaves, False, reverse)
            loss = sum((o * torch.linspace(-1, 1, o.shape[-1])).sum() for o in outs)
            results.append([o.detach() for o in outs] + list(torch.autograd.grad(loss, leaves)))
    for compiled, aten in zip(results[:2], results[2:]):
        for a, b in zip(compiled, aten):       # float32 round-off, summed over 28 steps and 64 sequences
            assert float((a - b).abs().max()) <= 1e-5 * float(b.abs().max())


def test_recorded_and_fused_lstm_paths_agree():
    torch.manual_seed(0)
    lstm = LSTM(3, 5, num_layers=2, bidirectional=True).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    fused_out, (fused_h, _) = lstm(x, lengths=[6, 4])
    lstm.record_states(True)
    out, (h, _) = lstm(x, lengths=[6, 4])
    torch.testing.assert_close(fused_out, out)
    torch.testing.assert_close(fused_h, h)
    assert len(lstm.layers[0].h_list) == 6
