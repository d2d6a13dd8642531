"""Images as sequences, pixel scaling, and the train/validation/test splits of the notebooks.

Views of a 28 x 28 image (N images -> an array (N, T, D)):

- ``rows``: T = 28 steps of D = 28 pixels, row r at step r (seeds 000, 001, 004);
- ``pixels``: T = 784 steps of D = 1 pixel, in reading order;
- ``permuted``: 784 steps of 1 pixel in one fixed random order drawn from ``permutation_seed``
  (the same permutation for every image; it is returned so that a run can record it).

Scaling: ``unit`` x / 255 in [0, 1] (Assignment 2); ``symmetric`` (x / 255 - 0.5) / 0.5 in [-1, 1]
(Lab sheet 9's ``Normalize((0.5,), (0.5,))``); ``standard`` (x / 255 - mean) / std with the mean and
standard deviation of the training images.

Splits: ``official`` 60,000 / 10,000; ``validation`` 50,000 / 10,000 / 10,000, the validation
images drawn at random (seeded) from the official training set as Programming Assignment 4's ``random_split``.
``n_train`` / ``n_test`` keep the first N of each part (Assignment 2: 5,000 and 1,000).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .mnist import ImageDataset

VIEWS = ("rows", "pixels", "permuted")
SCALINGS = ("unit", "symmetric", "standard")
SPLITS = ("official", "validation")


def pixel_permutation(seed: int, size: int = 784) -> np.ndarray:
    """The fixed pixel order of the ``permuted`` view: a permutation of range(size) drawn from ``seed``."""
    return np.random.default_rng(seed).permutation(size)


def to_sequences(images: np.ndarray, view: str = "rows", permutation: np.ndarray | None = None) -> np.ndarray:
    """uint8 or float images (N, H, W) -> (N, T, D) in the same dtype, without scaling."""
    if images.ndim != 3:
        raise ValueError(f"images: expected an array (N, height, width), got shape {images.shape}")
    n, height, width = images.shape
    if view == "rows":
        return images
    flat = images.reshape(n, height * width, 1)
    if view == "pixels":
        return flat
    if view == "permuted":
        if permutation is None or sorted(permutation.tolist()) != list(range(height * width)):
            raise ValueError(f"view 'permuted' needs a permutation of range({height * width}); "
                             f"make one with pixel_permutation(seed)")
        return flat[:, permutation]
    raise ValueError(f"view: {view!r} is not one of {', '.join(VIEWS)}")


@dataclass(frozen=True)
class Scaling:
    """x -> (x / 255 - shift) / scale, applied the same way to every split."""

    name: str
    shift: float
    scale: float

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = images.astype(np.float32) / np.float32(255.0)
        if self.shift or self.scale != 1.0:
            out -= np.float32(self.shift)
            out /= np.float32(self.scale)
        return out


def make_scaling(name: str, train_images: np.ndarray) -> Scaling:
    if name == "unit":
        return Scaling("unit", 0.0, 1.0)
    if name == "symmetric":
        return Scaling("symmetric", 0.5, 0.5)
    if name == "standard":
        unit = train_images.astype(np.float64) / 255.0
        return Scaling("standard", float(unit.mean()), float(unit.std()))
    raise ValueError(f"scaling: {name!r} is not one of {', '.join(SCALINGS)}")


@dataclass
class SequenceSplits:
    """Float32 sequences (N, T, D) and int64 labels (N,) per part; ``val_x`` is None without validation."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray | None
    val_y: np.ndarray | None
    test_x: np.ndarray
    test_y: np.ndarray
    info: dict = field(default_factory=dict)


def _first(n: int | None, what: str, available: int) -> int:
    if n is None:
        return available
    if not 1 <= n <= available:
        raise ValueError(f"{what}: {n} images asked for, the split has {available}; use 1..{available}")
    return n


def make_splits(dataset: ImageDataset, view: str = "rows", scaling: str = "unit", split: str = "official",
                seed: int = 0, n_train: int | None = None, n_test: int | None = None,
                n_val: int = 10000, permutation_seed: int = 0) -> SequenceSplits:
    """The dataset as sequences, split and scaled; ``info`` records every choice (and the permutation)."""
    if split not in SPLITS:
        raise ValueError(f"split: {split!r} is not one of {', '.join(SPLITS)}")
    train_images, train_labels = dataset.train_images, dataset.train_labels
    val_images = val_labels = None
    if split == "validation":
        if not 1 <= n_val < len(train_images):
            raise ValueError(f"n_val: {n_val}, expected 1..{len(train_images) - 1}")
        order = np.random.default_rng(seed).permutation(len(train_images))
        val_index, train_index = order[:n_val], order[n_val:]
        val_images, val_labels = train_images[val_index], train_labels[val_index]
        train_images, train_labels = train_images[train_index], train_labels[train_index]
    keep_train = _first(n_train, "n_train", len(train_images))
    keep_test = _first(n_test, "n_test", len(dataset.test_images))
    train_images, train_labels = train_images[:keep_train], train_labels[:keep_train]
    test_images, test_labels = dataset.test_images[:keep_test], dataset.test_labels[:keep_test]

    height, width = train_images.shape[1:]
    permutation = pixel_permutation(permutation_seed, height * width) if view == "permuted" else None
    scale = make_scaling(scaling, train_images)

    def prepare(images: np.ndarray | None) -> np.ndarray | None:
        return None if images is None else to_sequences(scale(images), view, permutation)

    def labels(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values.astype(np.int64)

    info = {"dataset": dataset.name, "source": dataset.source, "view": view, "scaling": scale.name,
            "shift": scale.shift, "scale": scale.scale, "split": split, "seed": seed,
            "n_train": int(keep_train), "n_val": 0 if val_images is None else int(len(val_images)),
            "n_test": int(keep_test)}
    if permutation is not None:
        info.update(permutation_seed=permutation_seed, permutation=permutation.tolist())
    return SequenceSplits(prepare(train_images), labels(train_labels), prepare(val_images), labels(val_labels),
                          prepare(test_images), labels(test_labels), info)
