"""What the course notebooks need to do as the course documents do: Programming Assignment 4's heads without a
ReLU and its bidirectional read of the last step's output, the binary adder's squared error of a sigmoid, a
trained model reading a digit row by row, and the course's diagrams."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import rnnlab.tasks
from rnnlab import diagrams, lab
from rnnlab.data.mnist import ImageDataset
from rnnlab.engines.torch_engine import torch_loss
from rnnlab.gradcheck import eval_numerical_gradient_array, rel_error
from rnnlab.numpy.losses import mse_sigmoid
from rnnlab.runs import load_run_model
from rnnlab.spec import ModelSpec, parse_model_name
from rnnlab.torch.models import TaskModel

TINY = {"hidden_size": 6, "epochs": 1, "batch_size": 8, "engine": "torch", "echo": False}


def _net(bidirectional: bool) -> torch.nn.LSTM:
    torch.manual_seed(0)
    return torch.nn.LSTM(3, 4, batch_first=True, bidirectional=bidirectional)


def test_the_linear_heads_stack_two_linear_layers_without_a_relu():
    x = torch.randn(5, 7, 3)
    for head, norm in (("batchnorm-linear", torch.nn.BatchNorm1d), ("layernorm-linear", torch.nn.LayerNorm)):
        model = TaskModel(_net(False), 2, head=head, dense_size=6).eval()
        assert isinstance(model.norm, norm) and not model.dense_relu
        with torch.no_grad():
            model.dense.bias.fill_(-5.0)              # every unit negative: a ReLU would zero them all
            out, (h_n, _) = model.recurrent(x)
            by_hand = model.head(model.dense(model.norm(h_n[-1])))
            assert torch.allclose(model(x), by_hand)
            assert not torch.allclose(model(x), model.head(torch.relu(model.dense(model.norm(h_n[-1])))))
    relu = TaskModel(_net(False), 2, head="layernorm-dense", dense_size=6)
    assert relu.dense_relu
    assert sum(p.numel() for p in relu.parameters()) == sum(p.numel() for p in model.parameters())


def test_a_bidirectional_net_reads_the_last_output_or_the_final_states():
    x = torch.randn(5, 7, 3)
    last = TaskModel(_net(True), 2, bidirectional_read="last-output").eval()
    final = TaskModel(_net(True), 2).eval()
    with torch.no_grad():
        out, (h_n, _) = last.recurrent(x)
        assert torch.allclose(last(x), last.head(out[:, -1]))              # the course's lstm_out[-1]
        assert torch.allclose(final(x), final.head(torch.cat([h_n[-2], h_n[-1]], 1)))
        assert torch.allclose(out[:, -1, :4], h_n[-2])                     # the forward halves agree
        assert not torch.allclose(out[:, -1, 4:], h_n[-1])                 # the backward ones do not
    with pytest.raises(ValueError, match="bidirectional_read: unknown value 'middle'"):
        TaskModel(_net(True), 2, bidirectional_read="middle")


def test_short_names_settings_and_refusals():
    assert parse_model_name("bilstm-ln-linear")["head"] == "layernorm-linear"
    assert parse_model_name("rnn-bn-linear")["head"] == "batchnorm-linear"
    spec = ModelSpec.build("lstm", 28, 10, bidirectional=True, head="layernorm-linear",
                           bidirectional_read="last-output")
    assert spec.label == "bilstm-ln-linear" and ModelSpec.from_dict(spec.to_dict()) == spec
    assert ModelSpec.from_dict({k: v for k, v in spec.to_dict().items() if k != "bidirectional_read"}
                               ).bidirectional_read == "final-states"      # model files written before it
    with pytest.raises(ValueError, match="readout 'every'"):
        ModelSpec.build("lstm", 2, 1, readout="every", bidirectional_read="last-output")
    with pytest.raises(ValueError, match="the NumPy engine"):
        lab.configure("bilstm", engine="numpy", bidirectional_read="last-output")
    with pytest.raises(ValueError, match="the NumPy engine"):
        lab.configure("lstm-bn-linear", engine="numpy")
    with pytest.raises(ValueError, match="loss: 'mse_sigmoid' needs"):
        lab.configure("lstm", task="mnist-rows", loss="mse_sigmoid") and lab.train("lstm", task="mnist-rows",
                                                                                   loss="mse_sigmoid")


def test_mse_sigmoid_value_and_gradient_on_both_engines():
    rng = np.random.default_rng(0)
    z, t = rng.normal(0, 2, (3, 4, 1)), (rng.random((3, 4, 1)) > 0.5).astype(float)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=float)
    loss, grad = mse_sigmoid(z, t, mask)
    s = 1 / (1 + np.exp(-z))
    assert np.isclose(loss, ((s - t) ** 2 * mask[..., None]).sum() / mask.sum())
    numeric = eval_numerical_gradient_array(lambda v: mse_sigmoid(v, t, mask)[0], z.copy(), h=1e-5)
    assert rel_error(grad, numeric) < 1e-7
    ours = torch_loss("mse_sigmoid", torch.tensor(z), torch.tensor(t), torch.tensor(mask))
    assert np.isclose(float(ours), loss)


def test_the_binary_adder_trains_on_the_squared_error_of_its_sigmoid_and_the_read_survives_a_run_dir(tmp_path):
    options = {"bits": 3, "n_train": 32, "n_val": 16, "n_test": 16, "max_test_bits": 4, "long_test_bits": []}
    adder = lab.train("lstm", task="binary-add", task_options=options, loss="mse_sigmoid", **TINY)
    assert adder.loss == "mse_sigmoid" and np.isfinite(adder.history.iteration_loss).all()
    assert 0 <= adder.history.epochs[-1].val_loss <= 1            # a squared error of probabilities
    run = tmp_path / "bilstm"
    r = lab.train("bilstm-ln-linear", task="adding", task_options={"length": 6, "n_train": 32, "n_val": 8, "n_test": 8},
                  bidirectional_read="last-output", run_dir=run, **TINY)
    model, _ = load_run_model(run)
    assert model.spec.bidirectional_read == "last-output" and model.spec.head == "layernorm-linear"
    assert np.allclose(model.predict(r.data.test.x), r.test_outputs, atol=1e-6)


@pytest.fixture
def digits(monkeypatch):
    """Synthetic 28 x 28 digits in MNIST's format in place of MNIST (no download)."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 300)
    images = (rng.random((300, 28, 28)) * 60 + labels[:, None, None] * 19).astype(np.uint8)
    fake = ImageDataset("mnist", images[:200], labels[:200].astype(np.uint8), images[200:],
                        labels[200:].astype(np.uint8), tuple("0123456789"), "synthetic digits (tests)")
    monkeypatch.setattr(rnnlab.tasks, "load_dataset", lambda *args, **kwargs: fake)


def test_a_trained_model_reads_a_digit_row_by_row(digits):
    data = lab.load_data("mnist-rows", split="official", n_train=200, n_test=100)
    result = lab.train("lstm", data=data, **TINY)
    seen = lab.read_digit(result, data.test.x[0])
    assert seen.row_probabilities.shape == (28, 10) and seen.hidden.shape == (28, 6)
    assert set(seen.gates) == {"input", "forget", "cell", "output"}
    logits = result.predict(data.test.x[:1])[0]
    assert np.allclose(seen.row_probabilities[-1], np.exp(logits) / np.exp(logits).sum(), atol=1e-5)
    assert seen.prediction == int(logits.argmax())
    adding = lab.train("lstm", task="adding", task_options={"length": 4, "n_train": 16, "n_val": 8, "n_test": 8},
                       **TINY)
    with pytest.raises(ValueError, match="not on images"):
        lab.read_digit(adding, data.test.x[0])
    with pytest.raises(ValueError, match="28 x 28"):
        lab.read_digit(result, np.zeros((27, 28)))


def test_the_course_diagrams():
    unrolled = diagrams.unrolled_rnn(steps=3, weights=True)
    texts = [t.get_text() for t in unrolled.axes[0].texts]
    assert isinstance(unrolled, Figure) and texts.count("A") == 4 and {"U", "W", "V"} <= set(texts)
    assert "$x_{T}$" in texts and "$o_{T}$" in texts
    assert "W" not in [t.get_text() for t in diagrams.unrolled_rnn().axes[0].texts]
    kinds = [t.get_text() for t in diagrams.prediction_types().axes[0].texts]
    assert {"one to one", "one to many", "many to one"} <= set(kinds)
    stacked = [t.get_text() for t in diagrams.stacked_rnn(layers=2, steps=3).axes[0].texts]
    assert "$h^{(2)}_{3}$" in stacked and "$h^{(3)}_{1}$" not in stacked
    with pytest.raises(ValueError, match="steps"):
        diagrams.unrolled_rnn(steps=9)
    with pytest.raises(TypeError, match="weights"):
        diagrams.unrolled_rnn(weights="yes")
    with pytest.raises(ValueError, match="at most 6 layers"):
        diagrams.stacked_rnn(layers=7)
