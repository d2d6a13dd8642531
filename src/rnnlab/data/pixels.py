"""Pixel geometry of digit images, shared by their preparation, normalisation and augmentation.

- :func:`bilinear`: images read at float coordinates (bilinear interpolation, zero outside).
- :func:`warp`: one affine map per image (rotation, scale, shear, shift) plus an optional displacement field, read by
  inverse mapping: an output pixel p takes the input at ``c + A (p - c) - t``, ``A = R(-angle) S(shear)^-1 / scale``,
  ``c`` the centre.
- :func:`stroke`: thicker or thinner pens: ``x + a (dilate(x) - x)`` for a > 0, ``x + a (x - erode(x))`` for a < 0,
  with 3 x 3 grey dilation / erosion (maximum / minimum of the neighbours).
- :func:`fit_digit`: ink cropped, fitted into MNIST's 20 x 20 box keeping its aspect ratio and centred by its centre
  of mass in a 28 x 28 field.

Images are float arrays, white ink on black.  This module knows no file format, no task and no configuration:
:mod:`rnnlab.data.images` (pictures of digits), :mod:`rnnlab.data.normalise` (deskew, stroke width) and
:mod:`rnnlab.data.augment` (seeded distortions) build on it.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

INK_THRESHOLD = 0.1   # a pixel is ink above this fraction of the strongest pixel


def bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """images (N, H, W) read at float coordinates (N, H, W); outside the image is 0.  The images are padded
    with a border of zeros and the four neighbours gathered by flat index (one gather each)."""
    n, height, width = images.shape
    line = width + 2
    padded = np.zeros((n, height + 2, line), dtype=images.dtype)
    padded[:, 1:-1, 1:-1] = images
    rows = np.clip(rows.astype(images.dtype) + 1, 0, height + 1 - 1e-4)   # the far neighbour stays inside
    cols = np.clip(cols.astype(images.dtype) + 1, 0, width + 1 - 1e-4)
    r0, c0 = rows.astype(np.intp), cols.astype(np.intp)                     # floor: both are >= 0
    fr, fc = rows - r0, cols - c0
    corner = np.arange(n).reshape(n, 1, 1) * ((height + 2) * line) + r0 * line + c0
    flat = padded.ravel()
    top = flat[corner] * (1 - fc) + flat[corner + 1] * fc
    bottom = flat[corner + line] * (1 - fc) + flat[corner + line + 1] * fc
    return top * (1 - fr) + bottom * fr


def warp(images: np.ndarray, angle: np.ndarray, scale: np.ndarray, shear: np.ndarray, shift: np.ndarray,
         displacement: np.ndarray | None = None) -> np.ndarray:
    """Rotate by ``angle`` degrees (counter-clockwise as displayed), scale, shear (x += shear (y - c)),
    shift by ``shift`` (N, 2) pixels (down, right); ``displacement`` (N, 2, H, W) adds to the source
    coordinates (elastic)."""
    n, height, width = images.shape
    centre_r, centre_c = (height - 1) / 2.0, (width - 1) / 2.0
    dtype = images.dtype if images.dtype.kind == "f" else np.float32
    grid_r, grid_c = np.meshgrid(np.arange(height, dtype=dtype) - centre_r, np.arange(width, dtype=dtype) - centre_c,
                                 indexing="ij")
    theta = np.deg2rad(angle).astype(dtype)[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    pr = grid_r[None] - shift[:, 0, None, None].astype(dtype)
    pc = grid_c[None] - shift[:, 1, None, None].astype(dtype)
    # inverse rotation (image rows point down, so counter-clockwise on screen), then inverse shear and scale
    rr = cos * pr + sin * pc
    cc = -sin * pr + cos * pc
    cc = cc - shear[:, None, None].astype(dtype) * rr
    inv = (1.0 / scale[:, None, None]).astype(dtype)
    src_r, src_c = rr * inv + centre_r, cc * inv + centre_c
    if displacement is not None:
        src_r, src_c = src_r + displacement[:, 0].astype(dtype), src_c + displacement[:, 1].astype(dtype)
    return bilinear(images, src_r, src_c)


def _neighbours(images: np.ndarray, reduce) -> np.ndarray:
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    height, width = images.shape[1:]
    out = images.copy()
    for dr in range(3):
        for dc in range(3):
            out = reduce(out, padded[:, dr:dr + height, dc:dc + width])
    return out


def stroke(images: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """amount > 0 thickens towards the 3 x 3 dilation, < 0 thins towards the 3 x 3 erosion (1 or -1: all the way)."""
    a = amount[:, None, None].astype(images.dtype)
    thick = images + np.clip(a, 0, None) * (_neighbours(images, np.maximum) - images)
    return thick + np.clip(a, None, 0) * (images - _neighbours(images, np.minimum))


def fit_digit(ink: np.ndarray) -> np.ndarray:
    """Ink (white on black, 0..255) -> steps 4 to 7: cropped, fitted into 20 x 20, centred by mass in 28 x 28."""
    rows = np.flatnonzero((ink > INK_THRESHOLD * ink.max()).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD * ink.max()).any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    height, width = ink.shape
    scale = 20.0 / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(ink.astype(np.float32)).resize(new_size, Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(resized, dtype=np.float64), 0.0, 255.0)
    return (_centre_by_mass(digit) / 255.0).astype(np.float32)


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
