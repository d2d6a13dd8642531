"""model.npz and checkpoints read defensively: every array judged from its header before it is read.

A model file is a zip of ``.npy`` arrays, so a small file can hold a huge array (a zip bomb), an array of the
wrong shape or dtype, or a spec describing a model far larger than its arrays.  :func:`read_model_file`
refuses each of these before anything large is decompressed or allocated:

1. the file is a regular file, its members' declared sizes sum to at most the limit, and every member's
   ``.npy`` header agrees with its declared size (:mod:`rnnlab.filecheck`);
2. ``__spec__`` is a short text array; the model it describes has about as many parameters as the arrays hold
   (so building it to learn its shapes is bounded by the file's size);
3. the arrays' names, shapes and dtypes are those of that model's weights — a mismatch is a one-line
   ``ValueError`` naming the file and the parameter, never a RuntimeError from an engine.

Checkpoints (:func:`check_archive`) get the same header checks against the model they are loaded into.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .filecheck import ArrayHeader, check_zip_sizes, npz_headers, open_regular
from .rules import ENGINES
from .spec import ModelSpec

if TYPE_CHECKING:
    from .engines.protocol import Trainable

MAX_SPEC_BYTES = 2 ** 20
AGAIN = "train the run again with --force"


def spec_parameters(spec: ModelSpec) -> int:
    """About how many numbers the model of ``spec`` holds (an estimate that errs high; exact Python ints)."""
    from .cells import get_cell
    r = spec.recurrent
    gates, dirs = get_cell(r.cell).num_gates, r.num_directions
    total = 0
    for layer in range(r.num_layers):
        inputs = (r.input_size or 1) if layer == 0 else dirs * r.output_size
        total += dirs * gates * r.hidden_size * (inputs + r.output_size + 4) + dirs * r.hidden_size * r.output_size
    features = dirs * r.output_size
    return total + (features + 2) * (spec.dense_size + (spec.output_size or 1)) + spec.dense_size * (
        spec.output_size or 1) + 4 * features


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def expected_arrays(model: Trainable) -> dict[str, tuple[tuple, str]]:
    """name -> (shape, kind) of a model's portable weights; kind "f" for floating point, "i" for counters
    (a batch norm's num_batches_tracked)."""
    out = {}
    for name, value in model.weights().items():
        array = np.asarray(value)
        out[name] = (tuple(array.shape), "f" if array.dtype.kind == "f" else "i")
    return out


def check_weights(path: Path, expected: dict[str, tuple[tuple, str]], headers: dict[str, ArrayHeader],
                  prefix: str = "") -> None:
    """The arrays ``headers`` names (under ``prefix``) are exactly the weights ``expected`` (name -> (shape,
    kind)), of that kind; ValueError naming the file and the first parameter that differs."""
    found = {name[len(prefix):]: h for name, h in headers.items() if name.startswith(prefix)}
    for name, (shape, kind) in expected.items():
        header = found.get(name)
        if header is None:
            raise ValueError(f"{path}: parameter {name!r} is missing (the model {_shape(shape)} expects it); {AGAIN}")
        if header.shape != tuple(shape):
            raise ValueError(f"{path}: parameter {name!r} has shape {_shape(header.shape)}, the model's is "
                             f"{_shape(shape)} (a file of another model?); {AGAIN}")
        if header.dtype.kind != kind and not (kind == "i" and header.dtype.kind in "iu"):
            wanted = "floating point" if kind == "f" else "whole numbers"
            raise ValueError(f"{path}: parameter {name!r} holds {header.dtype}, expected {wanted}; {AGAIN}")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise ValueError(f"{path}: parameter {extra[0][:80]!r} is not one of this model's "
                         f"({len(extra)} unknown); {AGAIN}")


def _read_spec(handle, path: Path, headers: dict[str, ArrayHeader]) -> tuple[ModelSpec, str]:
    """The spec and engine that ``__spec__`` records (a short text array, checked from its header first)."""
    header = headers.pop("__spec__", None)
    if header is None or header.dtype.kind != "U" or header.shape != () or header.nbytes > MAX_SPEC_BYTES:
        raise ValueError(f"{path}: damaged, not a model file of rnnlab (no readable __spec__); {AGAIN}")
    try:
        handle.seek(0)
        with np.load(handle, allow_pickle=False) as data:
            meta = json.loads(str(data["__spec__"]))
        spec, engine = ModelSpec.from_dict(meta["spec"]), meta["engine"]
    except Exception as exc:   # the spec's own errors are long; the file is what is wrong
        raise ValueError(f"{path}: damaged, not a model file of rnnlab ({type(exc).__name__} in __spec__); "
                         f"{AGAIN}") from None
    if engine not in ENGINES:
        raise ValueError(f"{path}: records the engine {str(engine)[:40]!r}, expected one of {', '.join(ENGINES)}; "
                         f"{AGAIN}")
    return spec, engine


def read_model_file(path: Path, limit: int) -> tuple[ModelSpec, str, dict[str, np.ndarray]]:
    """The spec, engine and weights of a model.npz, checked as the module docstring says."""
    from .engines import build_trainable
    with open_regular(path, limit, "model file") as handle:
        headers = npz_headers(handle, path, limit, "model file")
        spec, engine = _read_spec(handle, path, headers)
        held = sum(h.nbytes for h in headers.values())
        if spec.input_size is None or spec.output_size is None:
            raise ValueError(f"{path}: damaged, its spec has no input or output size; {AGAIN}")
        if 4 * spec_parameters(spec) > 2 * held + 2 ** 20:
            raise ValueError(f"{path}: its spec describes a model of about {spec_parameters(spec)} parameters but "
                             f"its arrays hold {held} bytes; {AGAIN}")
        try:
            expected = expected_arrays(build_trainable(spec, engine))
        except ValueError as exc:
            raise ValueError(f"{path}: its spec cannot be built ({str(exc)[:120]}); {AGAIN}") from None
        check_weights(path, expected, headers)
        try:
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as data:
                weights = {k: data[k] for k in data.files if k != "__spec__"}
        except Exception as exc:
            raise ValueError(f"{path}: damaged, not a model file of rnnlab ({type(exc).__name__}); {AGAIN}") \
                from None
    return spec, engine, weights


def checkpoint_limit(model: Trainable) -> int:
    """The most bytes a checkpoint of ``model`` decompresses to: its weights eight times over in float64
    (weights, optimizer moments, slack) and 64 MiB for the rest (random state, position, carried state)."""
    numbers = sum(int(np.asarray(v).size) for v in model.weights().values())
    return 64 * numbers + 64 * 2 ** 20


def check_archive(data: bytes, path: Path, limit: int, model: Trainable) -> None:
    """A checkpoint's bytes judged from its zip directory (and, for an .npz, its weights' headers) before the
    engine reads them.  rnnlab writes both formats as zip archives; anything else (a bare .npy, torch's legacy
    format) is refused unread, since its headers could ask for any amount of memory."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError(f"{path}: cannot be read as a {model.engine} checkpoint of this model (not a zip archive, "
                         f"as rnnlab writes them); {AGAIN}")
    if model.checkpoint_name.endswith(".npz"):
        headers = npz_headers(io.BytesIO(data), path, limit, f"{model.engine} checkpoint of this model")
        expected = expected_arrays(model)
        check_weights(path, expected, {k: h for k, h in headers.items() if k.startswith("weights/")}, "weights/")
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip_sizes(archive, path, limit, f"{model.engine} checkpoint of this model")
    except zipfile.BadZipFile:
        return
