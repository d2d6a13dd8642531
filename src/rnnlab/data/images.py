"""Your own handwritten digits, made to look like MNIST (Programming Assignment 4's custom images).

MNIST's digits were size-normalised to fit a 20 x 20 box keeping their aspect ratio, then centred
by their centre of mass in a 28 x 28 field, white ink on black.  :func:`prepare_digit` does the
same to any picture of one digit:

1. grayscale (transparent pixels count as white paper);
2. inverted when the background is light (the median of the border pixels is above mid-grey);
3. background level subtracted and the ink stretched to 0..255;
4. cropped to the ink (pixels above 10 % of the strongest);
5. resized so that the longer side is 20 pixels, keeping the aspect ratio;
6. pasted into 28 x 28 so that its centre of mass falls on (14, 14), where MNIST's sit;
7. scaled to [0, 1] as float32.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
INK_THRESHOLD = 0.1   # a pixel is ink above this fraction of the strongest pixel
MIN_CONTRAST = 16     # grey levels between paper and the strongest ink, below which there is no digit


class ImageError(ValueError):
    """An image that cannot be read or holds no digit; the message names the file."""


def _grayscale(image: Image.Image) -> np.ndarray:
    """Gray levels 0..255 as float64; transparency is composited onto white paper."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("L"), dtype=np.float64)


def _centre_by_mass(digit: np.ndarray, size: int = 28) -> np.ndarray:
    """Place ``digit`` in a size x size field so that its centre of mass lands on the centre."""
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    centre = size / 2.0   # MNIST's centres of mass sit at (14.0, 14.0) on average
    top = int(round(centre - (rows * digit).sum() / mass))
    left = int(round(centre - (cols * digit).sum() / mass))
    field = np.zeros((size, size))
    # Paste with clipping: a lopsided digit may be shifted partly out of the field.
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    height = min(digit.shape[0] - src_top, size - dst_top)
    width = min(digit.shape[1] - src_left, size - dst_left)
    field[dst_top:dst_top + height, dst_left:dst_left + width] = \
        digit[src_top:src_top + height, src_left:src_left + width]
    return field


def prepare_digit(image: Image.Image, name: str = "<image>") -> np.ndarray:
    """One picture of a digit -> float32 (28, 28) in [0, 1], white ink on black, as MNIST."""
    gray = _grayscale(image)
    if gray.size == 0:
        raise ImageError(f"{name}: the image has no pixels")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127.5:
        gray = 255.0 - gray
        border = 255.0 - border
    ink = np.clip(gray - np.median(border), 0.0, None)
    if ink.max() < MIN_CONTRAST:
        raise ImageError(f"{name}: no digit found (the ink differs from the paper by less than {MIN_CONTRAST} "
                         f"grey levels); use a picture of one dark digit on light paper or the reverse")
    ink *= 255.0 / ink.max()
    rows = np.flatnonzero((ink > INK_THRESHOLD * 255.0).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD * 255.0).any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    height, width = ink.shape
    scale = 20.0 / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(ink.astype(np.float32)).resize(new_size, Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(resized, dtype=np.float64), 0.0, 255.0)
    return (_centre_by_mass(digit) / 255.0).astype(np.float32)


def image_files(path: str | os.PathLike) -> list[Path]:
    """``path`` itself, or the image files in the folder ``path`` sorted by name."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise ImageError(f"{path}: no image files in this folder (looked for {', '.join(IMAGE_SUFFIXES)})")
        return files
    if not path.exists():
        raise ImageError(f"{path}: no such file or folder")
    return [path]


def load_digit(path: str | os.PathLike) -> np.ndarray:
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            return prepare_digit(image, str(path))
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ImageError(f"{path}: cannot be decoded as an image ({err}); expected a PNG, JPEG or BMP file") \
            from err


def load_digit_images(*paths: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Files or folders of digit pictures -> (images (N, 28, 28) float32 in [0, 1], file names)."""
    files = [file for path in paths for file in image_files(path)]
    if not files:
        raise ImageError("no image given; pass image files or a folder of them")
    return np.stack([load_digit(file) for file in files]), [file.name for file in files]
