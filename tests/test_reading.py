"""Reading a digit row by row (rnnlab.reading), `rnnlab predict --labels`, the normalisations, the foreign set."""
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from rnnlab import tasks
from rnnlab.cli import main
from rnnlab.config import TrainConfig
from rnnlab.data.foreign import foreign_pictures, load_foreign, read_foreign, write_foreign_folder
from rnnlab.data.labels import label_from_name, read_labels
from rnnlab.data.mnist import ImageDataset
from rnnlab.data.normalise import MNIST_STROKE_WIDTH, normalise_digit, slant, stroke_width
from rnnlab.reading import load_model, read_image, read_picture
from rnnlab.runs import predict_images, score_labels
from rnnlab.train import train_run


def _draw(k, rng, size=28, width=3):
    image = Image.new("L", (size, size), 0)
    angle = np.pi * k / 10
    scale = size / 28
    cx, cy = (14 + rng.normal(0, 0.5)) * scale, (14 + rng.normal(0, 0.5)) * scale
    dx, dy = 9 * scale * np.cos(angle), 9 * scale * np.sin(angle)
    ImageDraw.Draw(image).line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255, width=round(width * scale))
    return image


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A small LSTM trained on an 'MNIST' of strokes (class k: a line at angle k)."""
    rng = np.random.default_rng(0)
    labels = np.arange(300) % 10
    images = np.stack([np.asarray(_draw(k, rng)) for k in labels]).astype(np.uint8)
    dataset = ImageDataset("strokes", images[:240], labels[:240].astype(np.uint8), images[240:],
                           labels[240:].astype(np.uint8), tuple("0123456789"), "memory")
    patch = pytest.MonkeyPatch()
    patch.setattr(tasks, "load_dataset", lambda *a, **k: dataset)
    path = tmp_path_factory.mktemp("reading") / "lstm"
    cfg = TrainConfig.from_flat({"task": "mnist-rows", "task_options": {"split": "official", "scaling": "symmetric"},
                                 "hidden_size": 24, "epochs": 2, "batch_size": 60, "lr": 0.02,
                                 "engine": "numpy"})
    train_run(cfg, path, progress=False, echo=lambda line: None)
    patch.undo()
    return path


def test_the_reading_matches_the_model_row_by_row(run_dir):
    image = np.asarray(_draw(3, np.random.default_rng(5)), np.float32) / 255.0
    model = load_model(run_dir)
    reading = read_image(run_dir, image)
    x = (image - 0.5) / 0.5                                                  # the run's symmetric scaling
    for rows in (1, 14, 28):
        logits = model.predict(x[None, :rows])[0]
        expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        assert reading.row_probabilities[rows - 1] == pytest.approx(expected, abs=1e-6)
    assert reading.prediction == int(reading.probabilities.argmax()) and reading.row_probabilities.shape == (28, 10)
    weights = model.weights()          # the hidden state computed from the weights ends where the network does
    logits = weights["head.weight"] @ reading.hidden[-1] + weights["head.bias"]
    assert logits == pytest.approx(model.predict(x[None])[0], abs=1e-4)
    assert set(reading.gates) == {"input", "forget", "cell", "output"}
    assert all(g.shape == (28, 24) for g in reading.gates.values())
    assert reading.gates["forget"].min() >= 0 and reading.gates["forget"].max() <= 1
    assert reading.to_json()["row_probabilities"][-1] == pytest.approx(list(reading.probabilities), abs=1e-6)


def test_labels_from_names_and_from_a_csv_file(tmp_path):
    assert [label_from_name(n) for n in ("x_7.png", "scan_003_4.jpg", "7.png", "seven.png", "x_17.png")] == \
        [7, 4, 7, None, None]
    with pytest.raises(ValueError, match="'seven.png' does not end in _<digit>"):
        read_labels(["a_1.png", "seven.png"], None)
    table = tmp_path / "labels.csv"
    table.write_text("file,label,writer\nfolder/a.png,3,me\nb.png,9,you\n")
    assert read_labels(["a.png", "b.png"], str(table)) == [3, 9]
    with pytest.raises(ValueError, match="no label for 'c.png'; add a line c.png,<digit>"):
        read_labels(["a.png", "c.png"], str(table))
    table.write_text("file,label\na.png,x\n")
    with pytest.raises(ValueError, match="line 2: label 'x' of 'a.png' is not a digit"):
        read_labels(["a.png"], str(table))
    table.write_text("name,digit\n")
    with pytest.raises(ValueError, match="no header row with the columns file and label"):
        read_labels(["a.png"], str(table))


def test_predict_labels_scores_and_draws_the_mistakes(run_dir, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(9)
    for i, k in enumerate([0, 2, 5, 7, 9, 3]):   # dark on light, larger than 28 x 28, as a phone photo
        Image.fromarray(255 - np.asarray(_draw(k, rng, size=112))).save(folder / f"photo{i}_{k}.png")
    picture = tmp_path / "scored.png"
    assert main(["predict", str(run_dir), str(folder), "--labels", "--picture", str(picture)]) == 0
    out = capsys.readouterr().out
    results = predict_images(run_dir, [str(folder)], labels="names")
    score = score_labels(results)
    truth = np.array([r["label"] for r in results])
    predicted = np.array([r["predicted"] for r in results])
    assert score["accuracy"] == pytest.approx((truth == predicted).mean())
    assert score["confusion"].sum() == 6 and np.trace(score["confusion"]) == (truth == predicted).sum()
    assert f"accuracy: {100 * score['accuracy']:.1f} % of 6 pictures" in out
    assert re.search(r"per class: 0: (\d+ %|-)", out) and "confusion matrix (rows: true digit" in out
    for index in score["mistakes"]:
        assert f"{results[index]['file']} read {results[index]['predicted']}, is {results[index]['label']}" in out
    assert picture.is_file() and (tmp_path / "scored-reading.png").is_file()
    assert main(["predict", str(run_dir), str(folder), "--labels", str(tmp_path / "none.csv")]) == 2
    assert "none.csv cannot be read as a CSV file" in capsys.readouterr().err
    assert main(["predict", str(run_dir), str(folder), "--normalise", "tilt"]) == 2
    assert "normalise: 'tilt' is not one of deskew, stroke" in capsys.readouterr().err


def test_read_picture_prepares_as_predict_does(run_dir, tmp_path):
    picture = Image.fromarray(255 - np.asarray(_draw(6, np.random.default_rng(2), size=200, width=4)))
    picture.save(tmp_path / "d_6.png")
    reading = read_picture(run_dir, picture)
    result = predict_images(run_dir, [str(tmp_path / "d_6.png")])[0]
    assert reading.prediction == result["predicted"]
    assert reading.probabilities == pytest.approx(result["probabilities"], abs=1e-6)


def test_deskew_straightens_and_stroke_normalises_the_pen():
    image = np.zeros((28, 28), np.float32)
    for r in range(6, 22):                        # a bar slanting 0.4 columns per row
        c = int(round(14 + 0.4 * (r - 14)))
        image[r, c - 1:c + 2] = 1.0
    assert slant(image) == pytest.approx(0.4, abs=0.05)
    assert abs(slant(normalise_digit(image, ("deskew",)))) < 0.05
    thick = np.zeros((28, 28), np.float32)
    thick[4:24, 10:18] = 1.0                      # a pen 8 pixels wide
    width = stroke_width(thick)
    thinner = stroke_width(normalise_digit(thick, ("stroke",)))
    assert width > MNIST_STROKE_WIDTH + 1 and thinner < width - 1
    with pytest.raises(ValueError, match="'tilt' is not one of deskew, stroke"):
        normalise_digit(thick, ("tilt",))


def test_the_stored_foreign_set_is_other_writers_digits_prepared_as_pictures(tmp_path):
    pixels, labels = read_foreign()
    assert pixels.shape == (1797, 8, 8) and pixels.max() == 16 and sorted(set(labels.tolist())) == list(range(10))
    pictures = foreign_pictures(pixels[:2])
    assert pictures[0].size == (32, 32) and pictures[0].mode == "L"
    images, few = load_foreign(limit=12)
    assert images.shape == (12, 28, 28) and np.array_equal(few, labels[:12])
    assert images.max() == pytest.approx(1.0, abs=0.01) and images.min() >= 0.0
    assert write_foreign_folder(tmp_path, count=3) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"uci_{i:04d}_{labels[i]}.png" for i in range(3)]


@pytest.mark.parametrize("cell", ["gru", "rnn", "indrnn"])
def test_hidden_states_and_gates_come_from_the_numpy_engines_steps(cell):
    """Two bidirectional layers: the last layer's forward states are those of the NumPy engine on the same
    weights (and, where torch.nn has the cell, of torch.nn); gates are named from the registry."""
    import torch

    from rnnlab.numpy import RecurrentNet
    from rnnlab.reading import hidden_and_gates
    from rnnlab.spec import ModelSpec
    spec = ModelSpec.build(cell, 3, 10, hidden_size=5, num_layers=2, bidirectional=True)
    net = RecurrentNet(cell, 3, 5, 2, True, spec.recurrent.nonlinearity, dtype=np.float64, seed=4)
    x = np.random.default_rng(1).standard_normal((7, 3))
    hidden, gates, note = hidden_and_gates(spec, {**net.state_dict(), "head.weight": np.zeros((10, 10))}, x)
    expected = net.forward(x[None])[0][0, :, :5]
    np.testing.assert_allclose(hidden, expected, atol=1e-12)
    assert note == "the forward direction of a bidirectional layer"
    if cell == "gru":
        twin = torch.nn.GRU(3, 5, 2, batch_first=True, bidirectional=True).double()
        twin.load_state_dict({k: torch.tensor(v) for k, v in net.state_dict().items()})
        np.testing.assert_allclose(hidden, twin(torch.tensor(x[None]))[0][0, :, :5].detach().numpy(), atol=1e-12)
        assert set(gates) == {"reset", "update", "new"} and all(g.shape == (7, 5) for g in gates.values())
        assert gates["update"].min() >= 0 and gates["new"].min() < 0 < gates["new"].max()
    else:
        assert gates == {}
