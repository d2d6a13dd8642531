"""The NumPy engine against torch.nn.RNN/LSTM/GRU with the same weights, in float64."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.numpy import RecurrentNet, SequenceModel  # noqa: E402

TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
CASES = list(itertools.product(("rnn", "lstm", "gru"), (1, 2, 3), (False, True), (False, True)))


def _torch_twin(net: RecurrentNet, batch_first=True, nonlinearity="tanh", bias=True):
    kwargs = {"nonlinearity": nonlinearity} if net.cell == "rnn" else {}
    twin = TORCH[net.cell](net.input_size, net.hidden_size, net.num_layers, bias=bias,
                           batch_first=batch_first, bidirectional=net.bidirectional, **kwargs).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    return twin


def _compare(cell, layers, bidirectional, ragged, batch_first=True, nonlinearity="tanh",
             bias=True, with_states=True):
    rng = np.random.default_rng(11)
    N, T, D, H = 4, 6, 5, 7
    net = RecurrentNet(cell, D, H, layers, bidirectional, nonlinearity=nonlinearity, bias=bias,
                       batch_first=batch_first, dtype=np.float64, seed=5)
    twin = _torch_twin(net, batch_first, nonlinearity, bias)
    x = rng.standard_normal((N, T, D) if batch_first else (T, N, D))
    lengths = np.array([6, 2, 5, 1]) if ragged else None
    S = layers * net.num_directions
    h0 = rng.standard_normal((S, N, H)) if with_states else None
    c0 = rng.standard_normal((S, N, H)) if with_states and cell == "lstm" else None

    res = net.forward(x, h0=h0, c0=c0, lengths=lengths)
    out, (h_n, c_n) = (res[0], res[1]) if cell == "lstm" else (res[0], (res[1], None))

    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0 if h0 is not None else np.zeros((S, N, H)), requires_grad=True)
    c0t = torch.tensor(c0 if c0 is not None else np.zeros((S, N, H)), requires_grad=True)
    inp = xt
    if ragged:
        inp = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first,
                                                      enforce_sorted=False)
    o, state = twin(inp, (h0t, c0t) if cell == "lstm" else h0t)
    if ragged:
        o, _ = torch.nn.utils.rnn.pad_packed_sequence(o, batch_first=batch_first, total_length=T)
    h_nt, c_nt = state if cell == "lstm" else (state, None)

    np.testing.assert_allclose(out, o.detach().numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(h_n, h_nt.detach().numpy(), atol=1e-6, rtol=0)
    g_out, g_h = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape)
    loss = (o * torch.tensor(g_out)).sum() + (h_nt * torch.tensor(g_h)).sum()
    if cell == "lstm":
        np.testing.assert_allclose(c_n, c_nt.detach().numpy(), atol=1e-6, rtol=0)
        g_c = rng.standard_normal(c_n.shape)
        loss = loss + (c_nt * torch.tensor(g_c)).sum()
        dx, dh0, dc0 = net.backward(g_out, g_h, g_c)
    else:
        dx, dh0 = net.backward(g_out, g_h)
    loss.backward()
    if cell == "lstm":
        np.testing.assert_allclose(dc0, c0t.grad.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(dh0, h0t.grad.numpy(), atol=1e-6, rtol=0)
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(net.grads[name], p.grad.numpy(), atol=1e-6, rtol=0, err_msg=name)
    return net


@pytest.mark.parametrize("cell,layers,bidirectional,ragged", CASES,
                         ids=["-".join(map(str, c)) for c in CASES])
def test_outputs_states_and_gradients_equal_torch(cell, layers, bidirectional, ragged):
    _compare(cell, layers, bidirectional, ragged)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_time_major_zero_states_and_no_bias(cell):
    _compare(cell, 2, True, True, batch_first=False, bias=False, with_states=False)


def test_relu_rnn():
    _compare("rnn", 2, True, True, nonlinearity="relu")


def test_parameter_names_and_shapes_are_torch_s():
    for cell, G in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        net = RecurrentNet(cell, 10, 20, 2, bidirectional=True)
        twin = TORCH[cell](10, 20, 2, bidirectional=True)
        assert {k: v.shape for k, v in net.params.items()} == \
               {k: tuple(v.shape) for k, v in twin.state_dict().items()}
        assert net.params["weight_ih_l0"].shape == (G * 20, 10)


def test_state_dict_from_torch_loads_and_gives_the_same_logits():
    rng = np.random.default_rng(0)
    lstm = torch.nn.LSTM(3, 8, batch_first=True).double()
    head = torch.nn.Linear(8, 4).double()
    model = SequenceModel("lstm", 3, 8, 4, dtype=np.float64, seed=9)
    state = dict(lstm.state_dict())
    state.update({"head.weight": head.weight, "head.bias": head.bias})
    model.load_state_dict(state)
    x = rng.standard_normal((5, 7, 3))
    with torch.no_grad():
        _, (h, _) = lstm(torch.tensor(x))
        expected = head(h[-1]).numpy()
    np.testing.assert_allclose(model.forward(x), expected, atol=1e-12)
