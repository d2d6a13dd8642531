"""Assignment 2's per-sample classes: its test cells, exact gradients, and its training loop."""
import numpy as np
import pytest

from rnnlab.classic import GRU, LSTM, RNN
from rnnlab.gradcheck import eval_numerical_gradient_array, rel_error

PARAMS = {
    RNN: ["Wx", "Wh", "bh", "Wy", "by"],
    LSTM: ["Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wo", "Uo", "bo", "Wc", "Uc", "bc", "Wy", "by"],
    GRU: ["Wr", "Ur", "br", "Wz", "Uz", "bz", "Wn", "Un", "bn", "Wy", "by"],
}


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_seed_shape_cells(cls):
    # Assignment 2's test_rnn_shapes_and_grad / test_lstm_shapes_and_grad
    np.random.seed(27)
    time_steps, input_dim, hidden_dim, output_dim = 3, 4, 5, 2
    model = cls(input_dim, hidden_dim, output_dim)
    X = np.random.randn(time_steps, input_dim)
    y, h_final = model.forward(X)
    assert y.shape == (output_dim, 1)
    assert h_final.shape == (hidden_dim, 1)
    assert len(model.cache) == time_steps


def test_parameter_shapes_and_initialisation():
    np.random.seed(0)
    rnn = RNN(28, 128, 10)
    assert rnn.Wx.shape == (128, 28) and rnn.Wh.shape == (128, 128) and rnn.Wy.shape == (10, 128)
    assert rnn.bh.shape == (128, 1) and rnn.by.shape == (10, 1)
    assert np.all(rnn.bh == 0) and np.all(rnn.by == 0)
    assert 0.08 < rnn.Wh.std() < 0.12          # randn * 0.1
    lstm = LSTM(28, 128, 10)
    for name in ("Wi", "Wf", "Wo", "Wc"):
        assert getattr(lstm, name).shape == (128, 28)
    for name in ("Ui", "Uf", "Uo", "Uc"):
        assert getattr(lstm, name).shape == (128, 128)
    for name in ("bi", "bf", "bo", "bc"):
        assert getattr(lstm, name).shape == (128, 1)


def test_course_names_are_live_views():
    np.random.seed(0)
    lstm = LSTM(3, 4, 2)
    lstm.Wf -= 1.0                       # the notebook's in-place update
    lstm.Uc = np.ones((4, 4))            # assignment copies into the fused weights
    assert np.all(lstm.Uc == 1.0)
    np.testing.assert_array_equal(lstm._W_hh[8:12], np.ones((4, 4)))
    with pytest.raises(ValueError, match="Uc: expected shape"):
        lstm.Uc = np.ones((3, 3))


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_backward_gradients_are_exact(cls):
    """backward() with lr=1 and no clipping moves each parameter by exactly -dL/dparam."""
    np.random.seed(27)
    model = cls(4, 5, 2)
    X = np.random.randn(6, 4)
    target = np.random.randn(2, 1)

    def loss(_):
        y, _h = model.forward(X)
        return np.sum((y - target) ** 2)

    numeric = {k: eval_numerical_gradient_array(loss, getattr(model, k), h=1e-2, order=6)
               for k in PARAMS[cls]}
    before = {k: getattr(model, k).copy() for k in PARAMS[cls]}
    y, _ = model.forward(X)
    model.backward(2 * (y - target), learning_rate=1.0, clip_value=1e9)
    for k in PARAMS[cls]:
        assert rel_error(before[k] - getattr(model, k), numeric[k]) < 1e-6, k


def test_backward_clips_every_gradient():
    np.random.seed(1)
    model = RNN(3, 4, 2)
    before = model.Wy.copy()
    y, _ = model.forward(np.random.randn(5, 3) * 10)
    model.backward(np.array([[1e6], [-1e6]]), learning_rate=1.0, clip_value=5.0)
    assert np.max(np.abs(before - model.Wy)) == pytest.approx(5.0)


def test_bad_input_is_named():
    model = LSTM(4, 5, 2)
    with pytest.raises(ValueError, match=r"X: expected shape \(sequence_length, 4\)"):
        model.forward(np.zeros((3, 5)))
    with pytest.raises(RuntimeError, match="before forward"):
        LSTM(4, 5, 2).backward(np.zeros((2, 1)))


def _bars(n, rng):
    """A tiny image task read row by row: class k has a bright horizontal bar at rows 2k..2k+1."""
    labels = rng.integers(0, 3, n)
    x = rng.random((n, 8, 6)) * 0.3
    for i, k in enumerate(labels):
        x[i, 2 * k + 1: 2 * k + 3] += 0.7
    return x, labels


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_seed_training_loop_learns(cls):
    """Assignment 2's main loop (per-sample SGD on MSE of one-hot targets, lr 0.005), on small data."""
    rng = np.random.default_rng(0)
    np.random.seed(0)
    x_train, y_train = _bars(600, rng)
    x_test, y_test = _bars(100, rng)
    model, output_dim = cls(6, 16, 3), 3

    def evaluate():
        loss, correct = 0.0, 0
        for xi, yi in zip(x_test, y_test):
            out, _ = model.forward(xi)
            target = np.zeros((output_dim, 1))
            target[yi] = 1
            loss += np.mean((out - target) ** 2)
            correct += int(np.argmax(out) == yi)
        return loss / len(x_test), correct / len(x_test)

    first_loss, _ = evaluate()
    for _epoch in range(10):
        for i in np.random.permutation(len(x_train)):
            out, _ = model.forward(x_train[i])
            target = np.zeros((output_dim, 1))
            target[y_train[i]] = 1
            model.backward(2 * (out - target), 0.005)
    final_loss, accuracy = evaluate()
    assert final_loss < 0.5 * first_loss
    assert accuracy > 0.9
