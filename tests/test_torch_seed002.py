"""The gradient-flow notebook's test cells, as written in the notebook, against rnnlab.torch."""
import pytest
import torch

from rnnlab.torch import RNN, RecurrentRegressionModel, RNNLayer, biggest_eig_magnitude, loss_fn

DATA = [[[0.1, 0.15], [0.2, 0.25], [0.3, 0.35], [0.4, 0.45]],
        [[-0.1, -1.5], [-0.2, -2.5], [-0.3, -3.5], [-0.4, -0.45]]]


def test_single_input_single_timestep():
    rnn = RNNLayer(input_size=1, hidden_size=1)
    rnn.load_state_dict({k: v * 0 + 0.1 for k, v in rnn.state_dict().items()})
    expected_out = torch.FloatTensor([[[0.1973753273487091]]])
    all_h, last_h = rnn(torch.ones((1, 1, 1)))
    assert all_h.shape == expected_out.shape
    assert torch.all(torch.isclose(all_h, last_h))
    assert torch.max(torch.abs(expected_out - last_h)).item() < 1e-6


def test_linear_activation_and_parameter_count():
    rnn = RNNLayer(input_size=2, hidden_size=3, nonlinearity=lambda x: x)
    assert sum(p.numel() for p in rnn.parameters()) == 18
    rnn.load_state_dict({k: v * 0 - 0.1 for k, v in rnn.state_dict().items()})
    expected_all_h = torch.FloatTensor([
        [[-0.1250, -0.1250, -0.1250], [-0.1075, -0.1075, -0.1075],
         [-0.1328, -0.1328, -0.1328], [-0.1452, -0.1452, -0.1452]],
        [[0.0600, 0.0600, 0.0600], [0.1520, 0.1520, 0.1520],
         [0.2344, 0.2344, 0.2344], [-0.0853, -0.0853, -0.0853]]])
    expected_last_h = torch.FloatTensor([[-0.1452, -0.1452, -0.1452], [-0.0853, -0.0853, -0.0853]])
    all_h, last_h = rnn(torch.FloatTensor(DATA))
    assert all_h.shape == expected_all_h.shape and last_h.shape == expected_last_h.shape
    assert torch.max(torch.abs(expected_all_h - all_h)).item() < 1e-4
    assert torch.max(torch.abs(expected_last_h - last_h)).item() < 1e-4


def test_regression_model():
    rnn = RecurrentRegressionModel(RNNLayer(2, 3), 4)
    assert sum(p.numel() for p in rnn.parameters()) == 34
    rnn.load_state_dict({k: v * 0 - 0.1 for k, v in rnn.state_dict().items()})
    expected_preds = torch.FloatTensor([
        [[-0.0627] * 4, [-0.0678] * 4, [-0.0604] * 4, [-0.0567] * 4],
        [[-0.1180] * 4, [-0.1453] * 4, [-0.1692] * 4, [-0.0748] * 4]])
    expected_all_h = torch.FloatTensor([
        [[-0.1244] * 3, [-0.1073] * 3, [-0.1320] * 3, [-0.1444] * 3],
        [[0.0599] * 3, [0.1509] * 3, [0.2305] * 3, [-0.0840] * 3]])
    preds, all_h = rnn(torch.FloatTensor(DATA))
    assert all_h.shape == expected_all_h.shape and preds.shape == expected_preds.shape
    assert torch.max(torch.abs(expected_all_h - all_h)).item() < 1e-4
    assert torch.max(torch.abs(expected_preds - preds)).item() < 1e-4


def test_loss_fn():
    pred = torch.FloatTensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    y = torch.FloatTensor([[-1.1, -1.2, -1.3], [-1.4, -1.5, -1.6]])
    loss_all = loss_fn(pred, y, last_timestep_only=False)
    loss_last = loss_fn(pred, y, last_timestep_only=True)
    assert loss_all.shape == loss_last.shape == torch.Size([])
    assert torch.abs(loss_all - torch.tensor(3.0067)).item() < 1e-4
    assert torch.abs(loss_last - torch.tensor(3.7)).item() < 1e-4


def test_multilayer_rnn():
    data = torch.FloatTensor(DATA)
    rnn = RNN(2, 3, 1)
    rnn.load_state_dict({k: v * 0 - 0.1 for k, v in rnn.state_dict().items()})
    expected_all_h = torch.FloatTensor([
        [[-0.1244] * 3, [-0.1073] * 3, [-0.1320] * 3, [-0.1444] * 3],
        [[0.0599] * 3, [0.1509] * 3, [0.2305] * 3, [-0.0840] * 3]])
    expected_last_h = torch.FloatTensor([[[-0.1444] * 3, [-0.0840] * 3]])
    all_h, last_h = rnn(data)
    assert all_h.shape == expected_all_h.shape and last_h.shape == expected_last_h.shape
    assert torch.max(torch.abs(expected_all_h - all_h)).item() < 1e-4
    assert torch.max(torch.abs(expected_last_h - last_h)).item() < 1e-4

    rnn = RNN(2, 3, 2)
    rnn.load_state_dict({k: v * 0 - 0.1 for k, v in rnn.state_dict().items()})
    expected_all_h = torch.FloatTensor([
        [[-0.0626] * 3, [-0.0490] * 3, [-0.0457] * 3, [-0.0430] * 3],
        [[-0.1174] * 3, [-0.1096] * 3, [-0.1354] * 3, [-0.0342] * 3]])
    expected_last_h = torch.FloatTensor([[[-0.1444] * 3, [-0.0840] * 3], [[-0.0430] * 3, [-0.0342] * 3]])
    all_h, last_h = rnn(data)
    assert all_h.shape == (2, 4, 3) and last_h.shape == (2, 2, 3)
    assert torch.max(torch.abs(expected_all_h - all_h)).item() < 1e-4
    assert torch.max(torch.abs(expected_last_h - last_h)).item() < 1e-4


def test_h_list_gives_dl_dh_t_against_the_closed_form():
    """Linear RNN, loss on the last step: dL/dh_t = (W_hh^T)^(T-t) dL/dh_T."""
    torch.manual_seed(0)
    layer = RNNLayer(1, 4, nonlinearity=lambda x: x).double()
    model = RecurrentRegressionModel(layer).double()
    x, y = torch.randn(1, 6, 1, dtype=torch.float64), torch.randn(1, 6, 1, dtype=torch.float64)
    pred, _ = model(x)
    loss = loss_fn(pred, y, last_timestep_only=True)
    grads = torch.autograd.grad(loss, layer.h_list)
    assert len(grads) == 6
    W = layer.hh.weight
    g = grads[-1][0]
    for t in range(4, -1, -1):
        g = W.T @ g
        assert torch.allclose(grads[t][0], g, atol=1e-12)


def test_biggest_eig_magnitude():
    assert biggest_eig_magnitude(torch.tensor([[0.0, 2.0], [-2.0, 0.0]])) == pytest.approx(2.0)
    assert biggest_eig_magnitude(torch.diag(torch.tensor([0.5, -3.0, 1.0]))) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="square"):
        biggest_eig_magnitude(torch.zeros(2, 3))
