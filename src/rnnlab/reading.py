"""Watch a trained network read one digit row by row: the prediction forming, the hidden state, the gates.

For a run of an image task and one prepared 28 x 28 image, :func:`read_image` gives a :class:`Reading`:

- ``row_probabilities`` (rows, classes): the class probabilities after the first r rows were read,
  r = 1 .. 28 — the model's own ``predict`` on the first r rows (pixel views: the first 28 r pixels),
  so the last row is exactly the final prediction;
- ``hidden`` (steps, units): h_t of the last layer (forward direction), and ``gates``: for a cell with
  gates, each gate's activation per step and unit of the last layer, named by the first word of its
  meaning in the cell registry (the LSTM's ``input``, ``forget``, ``cell`` and ``output``, i, f, g, o;
  the GRU's ``reset``, ``update`` and ``new``, r, z, n).  They are computed from the run's portable
  weights (torch.nn's names and gate order) by the NumPy engine's own steps (``rnnlab.numpy``), in
  float64, whatever engine trained the run, so no cell's equations are written here.

  (an LSTM projection, or a cell the NumPy engine lacks, gives ``hidden`` and ``gates`` None and a ``note``
  saying why).

:func:`read_picture` does the same for a picture (prepared as ``rnnlab predict`` prepares it), and
:func:`reading_figure` draws it: the image, the probabilities over the rows, the hidden state and gates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .argcheck import check_path, check_text, fail_type, fail_value
from .cells import get_cell

if TYPE_CHECKING:
    from PIL import Image

    from .engines.protocol import Trainable
    from .figure import Figure
    from .spec import ModelSpec

@dataclass
class Reading:
    """What the network made of one image, row by row."""
    image: np.ndarray                       # (28, 28) in [0, 1], as the network receives it (before scaling)
    prediction: int
    probabilities: np.ndarray               # (classes,) after the whole image
    row_probabilities: np.ndarray           # (rows, classes) after each row
    cell: str
    hidden: np.ndarray | None = None        # (steps, units) of the last layer
    gates: dict[str, np.ndarray] = field(default_factory=dict)   # name -> (steps, units)
    note: str = ""

    def to_json(self) -> dict:
        """Plain lists for a web page."""
        def rounded(a: np.ndarray | None) -> list | None:
            return None if a is None else np.round(a.astype(np.float64), 6).tolist()
        return {"image": rounded(self.image), "prediction": self.prediction,
                "probabilities": rounded(self.probabilities), "row_probabilities": rounded(self.row_probabilities),
                "cell": self.cell, "hidden": rounded(self.hidden),
                "gates": {name: rounded(value) for name, value in self.gates.items()}, "note": self.note}


def gate_names(cell: str) -> tuple[str, ...]:
    """The names of a cell's gates in a Reading: the first word of each gate's meaning ("forget gate" ->
    "forget"); none for a cell whose one block is h itself (the RNN, the IndRNN)."""
    gates = get_cell(cell).gates
    return tuple(g.meaning.split()[0] for g in gates) if len(gates) > 1 else ()


def hidden_and_gates(spec: ModelSpec, weights: dict, x: np.ndarray) -> tuple[np.ndarray | None, dict, str]:
    """The last layer's hidden states and gates for one sequence x (steps, inputs), forward direction, from
    the NumPy engine's steps on the run's portable weights."""
    from .numpy import RecurrentNet
    rec, cell = spec.recurrent, get_cell(spec.cell)
    if rec.proj_size or not cell.implemented_by("numpy"):
        return None, {}, "the NumPy engine, which reads the hidden state and gates, has no such layer (an LSTM " \
                         "projection)" if rec.proj_size else f"the NumPy engine has no {cell.full_name}"
    net = RecurrentNet(spec.cell, x.shape[1], rec.hidden_size, rec.num_layers, rec.bidirectional, rec.nonlinearity,
                       bias=rec.bias, dtype=np.float64, layer_norm=rec.layer_norm)
    net.load_state_dict({name: weights[name] for name in net.params})
    net.forward(x[None].astype(np.float64))
    hs, acts = net.step_values()
    H = rec.hidden_size
    gates = {name: acts[:, k * H:(k + 1) * H, 0] for k, name in enumerate(gate_names(spec.cell))}
    note = "the forward direction of a bidirectional layer" if rec.bidirectional else ""
    return hs[:, :, 0], gates, note


def _probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """Outputs (N, classes) -> probabilities: softmax, or the clipped and normalised outputs of an MSE model."""
    if loss == "mse_onehot":
        positive = np.clip(outputs, 0, None)
        return positive / positive.sum(-1, keepdims=True).clip(1e-12)
    shifted = np.exp(outputs - outputs.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def image_sequence(image: np.ndarray, info: dict) -> np.ndarray:
    """A [0, 1] image (28, 28) -> the sequence (steps, inputs) the run's task gives its network."""
    from .data.views import Scaling, to_sequences
    scaled = Scaling(info["scaling"], info["shift"], info["scale"])(image[None] * 255.0)
    permutation = np.asarray(info["permutation"]) if "permutation" in info else None
    return to_sequences(scaled.astype(np.float32), info["view"], permutation)[0]


def load_model(run_dir: str | Path) -> Trainable:
    """The trained model of a run on the engine it was trained on."""
    check_path("run_dir", run_dir)
    from .engines import build_trainable
    from .rundir import RunDir
    spec, trained_on, weights = RunDir(run_dir).load_model()
    model = build_trainable(spec, trained_on)
    model.load_weights(weights)
    return model


def read_image(run_dir: str | Path, image: np.ndarray, model: Trainable | None = None) -> Reading:
    """The :class:`Reading` of a prepared image (28, 28) in [0, 1] by the run's model."""
    _check_run_and_model(run_dir, model)
    image = _check_image(image)
    from .rundir import RunDir
    run = RunDir(run_dir)
    doc = run.read_config()
    model = model if model is not None else load_model(run_dir)
    info = run.read_json("task.json", "it is written when a run starts; train the run again")
    if "view" not in info:
        raise ValueError(f"{run_dir}: trained on {doc['task']}, not on images; choose an image task's run")
    return read_with(model, image, info, doc["loss"])


def read_with(model: Trainable, image: np.ndarray, info: dict, loss: str) -> Reading:
    """The :class:`Reading` of a prepared image (28, 28) in [0, 1] by ``model``, whose task recorded ``info``
    (its view and scaling: a run's task.json, or ``TaskData.info``) and which trained with ``loss``."""
    image = _check_image(image)
    x = image_sequence(np.asarray(image, dtype=np.float32), info)
    rows = image.shape[0]
    per_row = len(x) // rows   # steps per row: 1 for the rows view, 28 for pixel views
    prefixes = [x[None, :per_row * (r + 1)] for r in range(rows)]
    row_probs = np.concatenate([_probabilities(model.predict(p), loss) for p in prefixes])
    hidden, gates, note = hidden_and_gates(model.spec, model.weights(), x)
    final = row_probs[-1]
    return Reading(np.asarray(image, dtype=np.float32), int(final.argmax()), final, row_probs, model.spec.cell,
                   hidden, gates, note)


def read_picture(run_dir: str | Path, picture: Image.Image, normalise: tuple[str, ...] = (),
                 model: Trainable | None = None) -> Reading:
    """A PIL picture of one digit, prepared as ``rnnlab predict`` prepares it, then :func:`read_image`."""
    from PIL import Image as PILImage
    _check_run_and_model(run_dir, model)
    if not isinstance(picture, PILImage.Image):
        raise fail_type("picture", picture, "a PIL.Image.Image (PIL.Image.open('digit.png'))")
    if isinstance(normalise, str) or not isinstance(normalise, (tuple, list)):
        raise fail_type("normalise", normalise, "a tuple of parts such as ('deskew', 'stroke'), or ()")
    from .data.images import prepare_digit
    return read_image(run_dir, prepare_digit(picture, "<drawing>", normalise), model)


def reading_figure(reading: Reading, title: str = "") -> Figure:
    """The image the network receives, the class probabilities after each row, the hidden state and the
    gates over the rows (heat maps: steps down, units across)."""
    if not isinstance(reading, Reading):
        raise fail_type("reading", reading, "the Reading of read_image(...) or read_picture(...)")
    if title:
        check_text("title", title, "text")
    from .figure import Figure
    gates = get_cell(reading.cell).gates          # tanh gates (the LSTM's g, the GRU's n) are signed
    signed = {name: g.activation != "sigmoid" for name, g in zip(gate_names(reading.cell), gates)}
    maps = ([("hidden state h_t", reading.hidden, "RdBu_r", (-1, 1))] if reading.hidden is not None else []) + \
        [(f"{name} gate", value, "RdBu_r" if signed[name] else "viridis", (-1, 1) if signed[name] else (0, 1))
         for name, value in reading.gates.items()]
    fig = Figure(figsize=(3.2 * (2 + len(maps)), 3.8))
    axes = fig.subplots(1, 2 + len(maps), squeeze=False)[0]
    axes[0].imshow(reading.image, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title(f"{title[:24]}\nread as {reading.prediction} ({100 * reading.probabilities.max():.0f} %)",
                      fontsize=9)
    axes[0].axis("off")
    im = axes[1].imshow(reading.row_probabilities, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    axes[1].set(title="probabilities after each row", xlabel="class", ylabel="rows read",
                xticks=range(reading.row_probabilities.shape[1]))
    fig.colorbar(im, ax=axes[1], fraction=0.05)
    for ax, (name, value, cmap, limits) in zip(axes[2:], maps):
        im = ax.imshow(value, cmap=cmap, vmin=limits[0], vmax=limits[1], aspect="auto", interpolation="nearest")
        ax.set(title=name, xlabel="unit", ylabel="step")
        fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    return fig


def _check_run_and_model(run_dir: object, model: object) -> None:
    """The arguments every reading takes: a run folder, and a model of that run or None."""
    check_path("run_dir", run_dir)
    if model is not None and not (hasattr(model, "predict") and hasattr(model, "spec")):
        raise fail_type("model", model, "a model of load_model(run_dir), or None (loaded from the run)")


def _check_image(image: object) -> np.ndarray:
    """A prepared image: 28 x 28 numbers in [0, 1]."""
    try:
        array = np.asarray(image, dtype=np.float32)
    except (TypeError, ValueError):
        raise fail_type("image", image, "a 28 x 28 array of numbers in [0, 1]") from None
    if array.shape != (28, 28):
        raise fail_value("image", image, f"a 28 x 28 array (prepare a picture with read_picture), not {array.shape}")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise fail_value("image", image, "numbers in [0, 1] (a picture's pixels divided by 255)")
    return array
