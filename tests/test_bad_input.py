"""Bad input gets a ValueError that names the argument, the shape it got and the one expected."""
import numpy as np
import pytest

from rnnlab.numpy import RecurrentNet, SequenceModel


@pytest.fixture
def lstm():
    return RecurrentNet("lstm", 3, 4, num_layers=2, bidirectional=True)


def test_wrong_rank(lstm):
    with pytest.raises(ValueError, match=r"x: expected a 3-D array .*\(batch, time, features\).*got shape \(5, 3\)"):
        lstm.forward(np.zeros((5, 3)))


def test_wrong_feature_size(lstm):
    with pytest.raises(ValueError, match=r"x: expected 3 features .*got shape \(2, 5, 7\)"):
        lstm.forward(np.zeros((2, 5, 7)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(lstm, bad):
    x = np.zeros((2, 5, 3))
    x[1, 2, 0] = bad
    with pytest.raises(ValueError, match=r"x: contains NaN or infinite values \(first at index \(1, 2, 0\)\)"):
        lstm.forward(x)


def test_state_of_the_wrong_shape(lstm):
    with pytest.raises(ValueError, match=r"h0: expected shape \(4, 2, 4\) .*got shape \(2, 2, 4\)"):
        lstm.forward(np.zeros((2, 5, 3)), h0=np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match=r"c0: expected shape \(4, 2, 4\)"):
        lstm.forward(np.zeros((2, 5, 3)), c0=np.zeros((4, 3, 4)))
    with pytest.raises(ValueError, match="c0: only the LSTM"):
        RecurrentNet("gru", 3, 4).forward(np.zeros((2, 5, 3)), c0=np.zeros((1, 2, 4)))


@pytest.mark.parametrize("lengths,message", [
    ([5, 6], r"lengths: every length must lie in 1\.\.5.*max 6"),
    ([0, 3], r"lengths: every length must lie in 1\.\.5.*min 0"),
    ([5], r"lengths: expected shape \(2,\)"),
    ([2.5, 3], "lengths: expected integers"),
])
def test_lengths_out_of_range(lstm, lengths, message):
    with pytest.raises(ValueError, match=message):
        lstm.forward(np.zeros((2, 5, 3)), lengths=lengths)


def test_state_dict_problems_change_nothing(lstm):
    good = lstm.state_dict()
    bad = dict(good)
    del bad["weight_hh_l1_reverse"]
    with pytest.raises(ValueError, match=r"missing \['weight_hh_l1_reverse'\]"):
        lstm.load_state_dict(bad)
    bad = dict(good, weight_ih_l0=np.zeros((16, 5)))
    bad["bias_ih_l0"] = np.ones(16)
    message = r"state_dict\['weight_ih_l0'\]: expected shape \(16, 3\), got shape \(16, 5\)"
    with pytest.raises(ValueError, match=message):
        lstm.load_state_dict(bad)
    for name, value in good.items():               # the valid entries were not half-loaded
        np.testing.assert_array_equal(lstm.params[name], value)
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        lstm.load_state_dict(dict(good, extra=np.zeros(1)))


def test_backward_gradient_shapes_are_checked(lstm):
    lstm.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"d_output: expected shape \(2, 5, 8\)"):
        lstm.backward(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"d_h_n: expected shape \(4, 2, 4\)"):
        lstm.backward(d_h_n=np.zeros((4, 1, 4)))
    gru = RecurrentNet("gru", 3, 4)
    gru.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="d_c_n: only the LSTM has a cell state; got d_c_n for cell 'gru'"):
        gru.backward(d_c_n=np.zeros((1, 2, 4)))


@pytest.mark.parametrize("kwargs,message", [
    ({"cell": "transformer"}, r"cell: unknown value 'transformer'; expected one of 'rnn', 'lstm', 'gru'"),
    ({"nonlinearity": "sigmoid"}, r"nonlinearity: unknown value 'sigmoid'"),
    ({"cell": "lstm", "nonlinearity": "relu"}, "applies to the vanilla RNN, the IndRNN and the orthogonal RNN only"),
    ({"hidden_size": 0}, r"hidden_size: expected a positive integer, got 0"),
    ({"dropout": 1.5}, r"dropout: expected a probability in \[0, 1\)"),
    ({"dtype": np.int32}, "dtype: expected float32 or float64"),
])
def test_bad_construction(kwargs, message):
    args = {"cell": "rnn", "input_size": 3, "hidden_size": 4} | kwargs
    with pytest.raises(ValueError, match=message):
        RecurrentNet(**args)


def test_bad_labels_and_readout():
    model = SequenceModel("rnn", 2, 3, 4)
    logits = model.forward(np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match=r"labels: expected integers in 0\.\.3"):
        model.loss(logits, np.array([0, 4]))
    with pytest.raises(ValueError, match=r"labels: expected shape \(2,\)"):
        model.loss(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="readout: unknown value 'first'"):
        SequenceModel("rnn", 2, 3, 4, readout="first")
