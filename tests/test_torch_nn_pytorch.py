"""PyTorch's recurrent-module tests from test/test_nn.py, pointed at rnnlab.torch.nn.

Ported from pytorch/pytorch test/test_nn.py (TestNN and TestNNDeviceType, CPU), with ``nn.RNN`` and kin
replaced by ours and the assertions and tolerances unchanged (``assert_equal`` is TestCase.assertEqual's
default comparison, see test_torch_nn_support.py).  Ported: test_RNN_cell, test_RNN_cell_forward_zero_hidden_size,
test_RNN_cell_no_broadcasting, test_LSTM_cell, test_LSTM_cell_forward_input_size,
test_LSTM_cell_forward_hidden_size, test_cudnn_forward_exception (its checks run on the CPU),
test_rnn_args_check, test_projections_lstm_args_check, test_rnn_initial_hidden_state,
test_projections_lstm_initial_hidden_state, test_projections_errors_on_gru_and_rnn; and in
test_torch_nn_pytorch_training.py test_RNN_input_size_zero, test_rnn_retain_variables,
test_LSTM_grad_and_gradgrad, test_GRU_grad_and_gradgrad, test_variable_sequence and the CPU halves
(cuda=False) of test_RNN_dropout, test_RNN_dropout_state, test_RNN_change_dropout and
test_error_RNN_seq_len_zero (torch marks the whole test "needs cudnn"; its CPU half needs nothing).

Left out, and why:
- test_RNN_cpu_vs_cudnn_no_dropout / _with_dropout, test_rnn_fused, test_cudnn_weight_format,
  test_cudnn_weight_tying, test_RNN_cudnn_weight_norm, test_partial_flat_weights,
  test_cudnn_rnn_dropout_states_device, test_pack_sequence_batch_sizes_throw, test_rnn_check_device,
  test_projections_lstm_check_device, test_lstmcell_backward_only_one_output_grad: CUDA / cuDNN / several GPUs
  (what they compare, CPU against GPU, is covered here by the float64 parity tests against torch.nn);
- test_LSTM_differentiable_backward_using_oneDNN compares torch's oneDNN kernel with its own ATen path; ported as
  the same double-backward comparison of ours against torch.nn's ATen path (oneDNN off; same tolerances).
"""
from __future__ import annotations

import pytest
import torch

from rnnlab.torch import nn
from test_torch_nn_support import assert_equal, one_thread  # noqa: F401

PREC_FLOAT = 1e-5        # dtype2prec_DONTUSE[torch.float]

pytestmark = pytest.mark.usefixtures("one_thread")


def test_RNN_cell():
    for module in (nn.RNNCell, nn.GRUCell):
        for bias in (True, False):
            input = torch.randn(3, 10)
            hx = torch.randn(3, 20)
            cell = module(10, 20, bias=bias)
            for _ in range(6):
                hx = cell(input, hx)
            hx.sum().backward()


def test_RNN_cell_forward_zero_hidden_size():
    input = torch.randn(3, 10)
    hx = torch.randn(3, 0)
    for cell in (nn.RNNCell(10, 0, nonlinearity="relu"), nn.RNNCell(10, 0, nonlinearity="tanh"), nn.GRUCell(10, 0)):
        assert cell(input, hx).shape == torch.Size([3, 0])


def test_RNN_cell_no_broadcasting():
    def test(cell_module, input, hx, input_size, hidden_size):
        cell = cell_module(input_size, hidden_size)
        with pytest.raises(RuntimeError):
            cell(input, hx)

    def test_all(hidden_size, bad_hx, good_hx, input_size, input):
        test(nn.RNNCell, input, bad_hx, input_size, hidden_size)
        test(nn.GRUCell, input, bad_hx, input_size, hidden_size)
        test(nn.LSTMCell, input, (bad_hx, good_hx), input_size, hidden_size)
        test(nn.LSTMCell, input, (good_hx, bad_hx), input_size, hidden_size)

    hidden_size, input_size = 20, 10
    input = torch.randn(3, input_size)
    bad_hx = torch.randn(1, hidden_size)
    good_hx = torch.randn(3, hidden_size)
    test_all(hidden_size, bad_hx, good_hx, input_size, input)
    bad_hx = torch.randn(3, 1)
    test_all(hidden_size, bad_hx, good_hx, input_size, input)
    bad_input = torch.randn(3, 1)
    test_all(hidden_size, good_hx, good_hx, input_size, bad_input)


def test_LSTM_cell():
    for bias in (True, False):
        input = torch.randn(3, 10)
        hx = torch.randn(3, 20)
        cx = torch.randn(3, 20)
        lstm = nn.LSTMCell(10, 20, bias=bias)
        for _ in range(6):
            hx, cx = lstm(input, (hx, cx))
        (hx + cx).sum().backward()


def test_LSTM_cell_forward_input_size_and_hidden_size():
    """test_LSTM_cell_forward_input_size and test_LSTM_cell_forward_hidden_size."""
    lstm = nn.LSTMCell(10, 20)
    with pytest.raises(RuntimeError):   # torch: Exception
        lstm(torch.randn(3, 11), (torch.randn(3, 20), torch.randn(3, 20)))
    input, hx, cx = torch.randn(3, 10), torch.randn(3, 21), torch.randn(3, 20)
    with pytest.raises(RuntimeError):   # torch: Exception
        lstm(input, (hx, cx))
    with pytest.raises(RuntimeError):   # torch: Exception
        lstm(input, (cx, hx))


def test_cudnn_forward_exception():
    rnns = [
        (nn.LSTM(10, 20, batch_first=True), (torch.zeros(1, 2, 19), torch.zeros(1, 2, 19))),
        (nn.LSTM(10, 20, batch_first=True, proj_size=10), (torch.zeros(1, 2, 19), torch.zeros(1, 2, 19))),
        (nn.GRU(10, 20, batch_first=True), torch.zeros(1, 2, 19)),
        (nn.RNN(10, 20, batch_first=True), torch.zeros(1, 2, 19)),
    ]
    x_wrong = torch.randn(2, 3, 3)
    x_right = torch.randn(2, 3, 10)
    for rnn, hidden in rnns:
        with pytest.raises(RuntimeError, match="Expected hidden.*size.*got"):
            rnn(x_right, hidden)
        with pytest.raises(RuntimeError, match=r"input\.size\(-1\) must be equal to input_size"):
            rnn(x_wrong)


def _update_shape(shape, dim, new_dim_size):
    new_shape = list(shape)
    new_shape[dim] = new_dim_size
    return tuple(new_shape)


def test_rnn_args_check():
    input_size, hidden_size, num_layers, batch_size, seq_len, num_directions, bad_size = 3, 5, 2, 4, 6, 1, 7
    correct_input_shape = (seq_len, batch_size, input_size)
    correct_hidden_shape = (num_layers * num_directions, batch_size, hidden_size)

    def get_inputs(input_shape, hidden_shape, mode):
        input = torch.randn(input_shape)
        hidden = torch.randn(hidden_shape)
        if mode != "LSTM":
            return [(input, hidden)]
        if hidden_shape == correct_hidden_shape:
            return [(input, (hidden, hidden))]
        good_hidden = torch.randn(correct_hidden_shape)
        return [(input, (hidden, good_hidden)), (input, (good_hidden, hidden))]

    def test(input_shape, hidden_shape, mode):
        for input, hidden in get_inputs(input_shape, hidden_shape, mode):
            model = getattr(nn, mode)(input_size, hidden_size, num_layers)
            with pytest.raises(RuntimeError):
                model(input, hidden)

    for mode in ["RNN", "GRU", "LSTM"]:
        test(_update_shape(correct_input_shape, 1, bad_size), correct_hidden_shape, mode)
        test(correct_input_shape, _update_shape(correct_hidden_shape, 1, bad_size), mode)
        test(_update_shape(correct_input_shape, 2, bad_size), correct_hidden_shape, mode)
        test(correct_input_shape, _update_shape(correct_hidden_shape, 2, bad_size), mode)
        test(correct_input_shape, _update_shape(correct_hidden_shape, 0, bad_size), mode)


def test_projections_lstm_args_check():
    input_size, hidden_size, proj_size, num_layers, batch_size, seq_len, bad_size = 3, 5, 2, 2, 4, 6, 7
    correct_input_shape = (seq_len, batch_size, input_size)
    h_shape = (num_layers, batch_size, proj_size)
    c_shape = (num_layers, batch_size, hidden_size)

    def test(input_shape, hidden_h_shape, hidden_c_shape):
        model = nn.LSTM(input_size, hidden_size, num_layers, proj_size=proj_size)
        with pytest.raises(RuntimeError):
            model(torch.randn(input_shape), (torch.randn(hidden_h_shape), torch.randn(hidden_c_shape)))

    test(_update_shape(correct_input_shape, 1, bad_size), h_shape, c_shape)
    test(correct_input_shape, _update_shape(h_shape, 1, bad_size), _update_shape(c_shape, 1, bad_size))
    test(_update_shape(correct_input_shape, 2, bad_size), h_shape, c_shape)
    test(correct_input_shape, _update_shape(h_shape, 2, bad_size), _update_shape(c_shape, 2, bad_size))
    test(correct_input_shape, _update_shape(h_shape, 0, bad_size), _update_shape(c_shape, 0, bad_size))
    test(correct_input_shape, _update_shape(h_shape, 0, hidden_size), c_shape)
    test(correct_input_shape, _update_shape(h_shape, 0, bad_size), c_shape)
    test(correct_input_shape, h_shape, _update_shape(c_shape, 0, bad_size))


def test_rnn_initial_hidden_state():
    for mode in ["RNN", "GRU", "LSTM"]:
        rnn = getattr(nn, mode)(30, 20, 2)
        input = torch.randn(10, 32, 30)
        hidden = torch.zeros(2, 32, 20)
        if mode == "LSTM":
            hidden = (hidden, hidden)
        output1, hidden1 = rnn(input, hidden)
        output2, hidden2 = rnn(input)
        assert_equal(output1, output2)
        assert_equal(hidden1, hidden2)


def test_projections_lstm_initial_hidden_state():
    for bidir in [False, True]:
        rnn = nn.LSTM(30, 20, 2, bidirectional=bidir, proj_size=10)
        num_dirs = 2 if bidir else 1
        input = torch.randn(10, 32, 30)
        hidden = (torch.zeros(2 * num_dirs, 32, 10), torch.zeros(2 * num_dirs, 32, 20))
        output1, hidden1 = rnn(input, hidden)
        output2, hidden2 = rnn(input)
        assert_equal(output1, output2)
        assert_equal(hidden1, hidden2)


def test_projections_errors_on_gru_and_rnn():
    for mode in ["RNN", "GRU"]:
        with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM, not RNN or GRU"):
            getattr(nn, mode)(30, 20, 2, proj_size=10)
