"""Foreign handwriting: digits written by other people than MNIST's writers, to test how well a model reads them.

The stored set (``foreign/uci_digits.npz``, 1,797 digits, 120 kB) is the test part of the UCI "Optical
Recognition of Handwritten Digits" data set (E. Alpaydin and C. Kaynak, 1998; licence CC BY 4.0;
https://archive.ics.uci.edu/dataset/80), as scikit-learn ships it (``sklearn.datasets.load_digits``):
43 writers who are not MNIST's, forms scanned by NIST, each digit size-normalised into a 32 x 32
bitmap and counted in 4 x 4 blocks, so 8 x 8 pixels of 17 grey levels (0..16).  That is a lower
resolution, a thicker and blurred pen, and a digit stretched to fill its box (ones as wide as eights).

:func:`foreign_pictures` turns each into the picture a user might give: upsampled 4 x (bicubic) to
32 x 32, white ink on black, 8-bit grey.  :func:`load_foreign` prepares them exactly as
``rnnlab predict`` prepares pictures (:func:`rnnlab.data.images.prepare_digit`).

``python -m rnnlab.data.foreign`` writes the stored file again from scikit-learn (needed only for that).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from .images import prepare_digit

FOREIGN_FILE = Path(__file__).with_name("foreign") / "uci_digits.npz"
SOURCE = ("UCI Optical Recognition of Handwritten Digits, test part (43 writers, NIST forms, 8 x 8 at 17 grey "
          "levels), CC BY 4.0, via scikit-learn's load_digits")
UPSAMPLE = 4


def build_foreign_file(path: str | Path = FOREIGN_FILE) -> Path:
    """Write the stored set from scikit-learn's copy: pixels (N, 8, 8) uint8 0..16, labels (N,) uint8."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, pixels=digits.images.astype(np.uint8), labels=digits.target.astype(np.uint8),
                        source=np.array(SOURCE))
    return path


def read_foreign(path: str | Path = FOREIGN_FILE) -> tuple[np.ndarray, np.ndarray]:
    """The stored pixels (N, 8, 8) uint8 in 0..16 and labels (N,) int64."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: the foreign handwriting set is missing; write it with "
                                f"`python -m rnnlab.data.foreign` (needs scikit-learn)")
    with np.load(path) as stored:
        return stored["pixels"], stored["labels"].astype(np.int64)


def foreign_pictures(pixels: np.ndarray) -> list[Image.Image]:
    """8 x 8 pixels of 0..16 -> 32 x 32 8-bit grey pictures (white ink on black), upsampled bicubically."""
    size = pixels.shape[-1] * UPSAMPLE
    return [Image.fromarray((p * (255.0 / 16.0)).round().astype(np.uint8), "L").resize((size, size),
                                                                                     Image.Resampling.BICUBIC)
            for p in pixels]


def load_foreign(normalise: tuple[str, ...] = (), path: str | Path = FOREIGN_FILE,
                 limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The foreign digits as ``rnnlab predict`` sees them: images (N, 28, 28) float32 in [0, 1], labels (N,)."""
    pixels, labels = read_foreign(path)
    if limit is not None:
        pixels, labels = pixels[:limit], labels[:limit]
    images = [prepare_digit(picture, f"foreign digit {i}", normalise)
              for i, picture in enumerate(foreign_pictures(pixels))]
    return np.stack(images), labels


def write_foreign_folder(folder: str | Path, count: int | None = None, path: str | Path = FOREIGN_FILE) -> int:
    """The foreign digits as PNG files named ``uci_<index>_<label>.png`` (for ``rnnlab predict --labels``)."""
    pixels, labels = read_foreign(path)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pictures = foreign_pictures(pixels[:count])
    for i, (picture, label) in enumerate(zip(pictures, labels)):
        picture.save(folder / f"uci_{i:04d}_{label}.png")
    return len(pictures)


if __name__ == "__main__":
    if len(sys.argv) > 1:   # a folder: the set as PNG files for rnnlab predict --labels
        print(f"{write_foreign_folder(sys.argv[1])} pictures written into {sys.argv[1]}")
    else:
        print(f"written {build_foreign_file()}")
