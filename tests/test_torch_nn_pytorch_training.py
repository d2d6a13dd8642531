"""PyTorch's recurrent-module tests from test/test_nn.py on rnnlab.torch.nn: dropout, empty inputs, repeated and
higher-order backward, variable-length (packed) sequences.  The list of what was ported and what was left
out (and why) is at the top of test_torch_nn_pytorch.py; this file holds the second half of the port.
"""
from __future__ import annotations

import copy
import io
from itertools import product

import pytest
import torch
from torch.nn.utils import rnn as rnn_utils

from rnnlab.torch import nn
from test_torch_nn_support import assert_equal, assert_not_equal, gradcheck, gradgradcheck, one_thread  # noqa: F401  (one_thread: the fixture of pytestmark)

PREC_FLOAT = 1e-5        # dtype2prec_DONTUSE[torch.float]

pytestmark = pytest.mark.usefixtures("one_thread")


def test_RNN_dropout():
    """The CPU half: dropout sits between the layers, and dropout=1 zeroes the second layer's input."""
    torch.set_default_dtype(torch.double)
    try:
        for p, train in product((0, 0.276, 0.731, 1), (True, False)):
            rnn = nn.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity="relu")
            rnn.train(train)
            for w in (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.weight_ih_l1, rnn.weight_hh_l1):
                w.data.fill_(1)
            output, hy = rnn(torch.ones(1, 1, 10), torch.zeros(2, 1, 1000))
            assert_equal(output.data.min(), output.data.max())
            output_val = output.data[0][0][0]
            if p == 0 or not train:
                assert_equal(output_val, torch.tensor(10000.0))
            elif p == 1:
                assert_equal(output_val, torch.tensor(0.0))
            else:
                assert 8000 < output_val < 12000
                denorm_mod = (output_val * (1 - p)) % 10
                assert min(denorm_mod, 10 - denorm_mod) < 1e-2
            assert_equal(hy[0].data.min(), hy[0].data.max())
            assert_equal(hy[1].data.min(), hy[1].data.max())
            assert_equal(hy.data[0][0][0], torch.tensor(10.0))
            assert_equal(hy.data[1][0][0], output_val)
    finally:
        torch.set_default_dtype(torch.float)


def test_error_RNN_seq_len_zero():
    for module, bidirectional in product((nn.RNN, nn.LSTM, nn.GRU), (True, False)):
        rnn = module(5, 6, bidirectional=bidirectional)
        with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0 in RNN"):
            rnn(torch.ones(0, 10, 5))


def test_RNN_input_size_zero():
    for module in (nn.RNN, nn.LSTM, nn.GRU):
        rnn = module(input_size=3, hidden_size=4)
        outs = rnn(torch.zeros((5, 0, 3)))
        assert outs[0].shape == torch.Size([5, 0, 4])
        outs[0].sum().backward()


def test_RNN_dropout_state():
    for p, train in product((0, 0.1234), (True, False)):
        rnn = nn.RNN(100, 100, 2, bias=False, dropout=p, nonlinearity="relu")
        rnn.train(train)
        input, hx = torch.rand(1, 1, 100), torch.rand(2, 1, 100)
        output1, hy1 = rnn(input, hx)
        output2, hy2 = rnn(input, hx)
        buf = io.BytesIO()
        torch.save(rnn, buf)
        buf.seek(0)
        rnn2 = torch.load(buf, weights_only=False)
        rnn2.flatten_parameters()
        output3, hy3 = rnn2(input, hx)
        if p == 0 or not train:
            assert_equal(output1, output2)
            assert_equal(output1, output3)
            assert_equal(hy1, hy2)
            assert_equal(hy1, hy3)
        else:
            assert_not_equal(output1, output2)
            assert_not_equal(output1, output3)
            assert_not_equal(hy1, hy2)
            assert_not_equal(hy1, hy3)


def test_RNN_change_dropout():
    torch.set_default_dtype(torch.double)
    try:
        for train in (True, False):
            rnn = nn.RNN(100, 100, 2, dropout=0, nonlinearity="relu")
            input = torch.rand(3, 2, 100)
            rnn.train(train)
            prev_output = None
            for p in (0, 0.5, 0, 0.7, 0.2, 1, 0.2, 0):
                rnn.dropout = p
                output1, hy1 = rnn(input)
                output2, hy2 = rnn(input)
                if p == 0 or p == 1 or not train:
                    assert_equal(output1, output2)
                    assert_equal(hy1, hy2)
                else:
                    assert_not_equal(output1, output2)
                    assert_not_equal(hy1, hy2)
                if prev_output is not None:
                    if not train:
                        assert_equal(output1.data, prev_output)
                        assert_equal(output2.data, prev_output)
                    else:
                        assert_not_equal(output1.data, prev_output)
                        assert_not_equal(output2.data, prev_output)
                prev_output = output1.data
    finally:
        torch.set_default_dtype(torch.float)


def test_rnn_retain_variables():
    dtype = torch.double
    for rnn in [nn.LSTM(10, 20, num_layers=2).to(dtype), nn.GRU(10, 20, num_layers=2).to(dtype),
                nn.RNN(10, 20, num_layers=2).to(dtype)]:
        input = torch.randn(5, 6, 10, dtype=dtype, requires_grad=True)
        output = rnn(input)
        output[0].sum().backward(retain_graph=True)
        grads = [input.grad.data.clone()] + [p.grad.data.clone() for p in rnn.parameters()]
        for _ in range(4):
            rnn.zero_grad()
            input.grad.data.zero_()
            output[0].sum().backward(retain_graph=True)
            grads2 = [input.grad.data] + [p.grad.data for p in rnn.parameters()]
            assert_equal(grads, grads2)


def _test_rnn_mod(mod, inp):
    def flatten_out(mod, inp):
        out = mod(inp)
        return tuple([t if isinstance(t, torch.Tensor) else tt for t in out for tt in t])
    gradcheckfunc = lambda inp: flatten_out(mod, inp)
    assert gradcheck(gradcheckfunc, inp, check_batched_grad=False)
    assert gradgradcheck(gradcheckfunc, inp, check_batched_grad=False)


@pytest.mark.parametrize("module", [nn.LSTM, nn.GRU], ids=["LSTM", "GRU"])
def test_LSTM_and_GRU_grad_and_gradgrad(module):
    """test_LSTM_grad_and_gradgrad and test_GRU_grad_and_gradgrad."""
    hsize = 4
    inp = torch.rand(1, 3, hsize, dtype=torch.double, requires_grad=True)
    for bias in [True, False]:
        _test_rnn_mod(module(hsize, hsize, bias=bias).to(torch.double), inp)


def test_LSTM_differentiable_backward():
    """test_LSTM_differentiable_backward_using_oneDNN's comparison, ours against torch.nn.LSTM's ATen path."""
    batch, seq_len, input = 10, 12, 3
    net = nn.LSTM(input, 3, 20, batch_first=True)
    x = torch.rand(batch, seq_len, input)
    x1 = x.clone().requires_grad_(True)
    out1, _ = net(x1)
    der_out1 = torch.autograd.grad(out1, x1, grad_outputs=torch.ones_like(out1), retain_graph=True,
                                   create_graph=True)[0]
    der_out1.sum().backward(retain_graph=True)
    for onednn in (False,):      # torch compares its oneDNN kernel with this ATen path; ours with the latter
        reference = torch.nn.LSTM(input, 3, 20, batch_first=True)
        reference.load_state_dict(net.state_dict())
        x2 = x.clone().requires_grad_(True)
        with torch.backends.mkldnn.flags(enabled=onednn):
            out2, _ = reference(x2)
            der_out2 = torch.autograd.grad(out2, x2, grad_outputs=torch.ones_like(out2), retain_graph=True,
                                           create_graph=True)[0]
            der_out2.sum().backward(retain_graph=True)
        assert torch.allclose(der_out1, der_out2)
        assert torch.allclose(x1.grad, x2.grad)


def _check_lengths(lengths, enforce_sorted, use_default_hiddens, proj_size, dtype=torch.float):
    def pad(var, length):
        if var.size(0) == length:
            return var
        return torch.cat([var, var.new_zeros(length - var.size(0), *var.size()[1:])])

    def maybe_index_tuple(maybe_tuple_of_tensors, index):
        if maybe_tuple_of_tensors is None:
            return None
        return tuple(maybe_tuple_of_tensors[j][:, index:index + 1, :].contiguous() for j in range(2))

    input_size, hidden_size, num_layers, bidirectional = 3, 4, 2, True
    max_length = max(lengths)
    x_leaf = torch.randn(max_length, len(lengths), input_size, dtype=dtype, requires_grad=True)
    num_directions = 2
    lstm = nn.LSTM(input_size, hidden_size, bidirectional=bidirectional, num_layers=num_layers,
                   proj_size=proj_size).to(dtype)
    lstm2 = copy.deepcopy(lstm).to(dtype)
    x = x_leaf
    hidden0 = None
    if not use_default_hiddens:
        real_hidden_size = hidden_size if proj_size == 0 else proj_size
        hidden0 = (torch.randn(num_directions * num_layers, len(lengths), real_hidden_size, dtype=dtype),
                   torch.randn(num_directions * num_layers, len(lengths), hidden_size, dtype=dtype))
    seq_outs, seq_hiddens = [], []
    for i, l in enumerate(lengths):
        out, hid = lstm2(x[:l, i:i + 1], maybe_index_tuple(hidden0, i))
        seq_outs.append(pad(out, max_length))
        seq_hiddens.append(hid)
    seq_out = torch.cat(seq_outs, 1)
    seq_hidden = tuple(torch.cat(hids, 1) for hids in zip(*seq_hiddens))
    packed = rnn_utils.pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    packed_out, packed_hidden = lstm(packed, hidden0)
    unpacked, unpacked_len = rnn_utils.pad_packed_sequence(packed_out)
    assert_equal(packed_hidden, seq_hidden, atol=PREC_FLOAT, rtol=0)
    assert_equal(unpacked, seq_out, atol=PREC_FLOAT, rtol=0)
    assert_equal(unpacked_len, torch.tensor(lengths), atol=PREC_FLOAT, rtol=0)
    seq_out.sum().backward()
    grad_x = x_leaf.grad.data.clone()
    x_leaf.grad.data.zero_()
    unpacked.sum().backward()
    assert_equal(x_leaf.grad, grad_x, atol=PREC_FLOAT, rtol=0)
    for p1, p2 in zip(lstm.parameters(), lstm2.parameters()):
        assert_equal(p1.grad, p2.grad, atol=2e-4, rtol=0)


def test_variable_sequence():
    tests = [[True, [5]], [False, [5]], [True, [10, 10, 6, 2, 2, 1, 1]], [False, [10, 10, 6, 2, 2, 1, 1]],
             [False, [2, 1, 3, 2, 10, 5, 3]]]
    for enforce_sorted, seq_lens in tests:
        for use_default_hiddens in (True, False):
            for proj_size in [0, 2]:
                _check_lengths(seq_lens, enforce_sorted, use_default_hiddens, proj_size)
