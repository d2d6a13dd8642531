"""Normalisations of a prepared 28 x 28 digit that make other pens look more like MNIST's.

- ``deskew``: straighten a slanted digit by its second moments.  With the ink's centre of mass
  (r0, c0), the slant is ``alpha = mu_rc / mu_rr`` (mu_rc = sum x (r - r0)(c - c0) / sum x,
  mu_rr = sum x (r - r0)^2 / sum x): column c moves by ``-alpha (r - r0)``, so that the shear left
  has ``mu_rc = 0``.  The result is fitted into 20 x 20 and centred by mass again.
- ``stroke``: bring the pen's width towards MNIST's.  The width of a stroke is estimated as
  ``w = 2 A / P``, A the number of ink pixels (above half the strongest), P the number of ink pixels
  on the edge of the ink (with a 4-neighbour outside it); a long stroke of width w has A = w L and
  P = 2 L.  A pen wider than MNIST's (:data:`MNIST_STROKE_WIDTH`) is thinned by grey erosion, a
  narrower one thickened by grey dilation, by the fraction of a pixel it is off (at most one pixel).
"""
from __future__ import annotations

import numpy as np

from .pixels import fit_digit, stroke, warp

NORMALISATIONS = ("deskew", "stroke")
MNIST_STROKE_WIDTH = 2.8   # the median of 2 A / P over 2,000 of MNIST's training digits (stroke_width)


def check_normalise(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The names, checked: each one of :data:`NORMALISATIONS`."""
    for name in names:
        if name not in NORMALISATIONS:
            raise ValueError(f"normalise: {name!r} is not one of {', '.join(NORMALISATIONS)}; "
                             f"e.g. --normalise deskew,stroke")
    return tuple(names)


def slant(image: np.ndarray) -> float:
    """alpha = mu_rc / mu_rr of the ink: the columns' shift per row (0 for an upright digit)."""
    rows, cols = np.indices(image.shape, dtype=np.float64)
    mass = image.sum()
    if mass <= 0:
        return 0.0
    r0, c0 = (rows * image).sum() / mass, (cols * image).sum() / mass
    mu_rr = ((rows - r0) ** 2 * image).sum() / mass
    mu_rc = ((rows - r0) * (cols - c0) * image).sum() / mass
    return float(mu_rc / mu_rr) if mu_rr > 1e-9 else 0.0


def deskew(image: np.ndarray) -> np.ndarray:
    """The digit sheared upright (see the module's text), fitted and centred again."""
    alpha = slant(image)
    if abs(alpha) < 1e-6:
        return image.astype(np.float32)
    # warp's shear moves column c by + shear (r - centre); its pivot is the image's centre, and
    # fit_digit re-centres by mass afterwards, so the pivot does not matter
    padded = np.pad(image.astype(np.float64), 14)   # room for the sheared ink
    straight = warp(padded[None], np.zeros(1), np.ones(1), np.array([-alpha]), np.zeros((1, 2)))[0]
    if straight.max() <= 0:
        return image.astype(np.float32)
    return fit_digit(straight * (255.0 / straight.max()))


def stroke_width(image: np.ndarray) -> float:
    """w = 2 A / P (see the module's text) of the ink above half the strongest pixel."""
    ink = image > 0.5 * image.max() if image.max() > 0 else np.zeros(image.shape, bool)
    area = int(ink.sum())
    if area == 0:
        return 0.0
    padded = np.pad(ink, 1)
    inside = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    perimeter = int((ink & ~inside).sum())
    return 2.0 * area / max(perimeter, 1)


def normalise_stroke(image: np.ndarray, target: float = MNIST_STROKE_WIDTH) -> np.ndarray:
    """Thinned or thickened by up to one pixel towards the stroke width ``target``."""
    width = stroke_width(image)
    if width == 0.0:
        return image.astype(np.float32)
    amount = float(np.clip(target - width, -1.0, 1.0))
    out = stroke(image[None].astype(np.float32), np.array([amount]))[0]
    return (out / max(float(out.max()), 1e-6)).astype(np.float32)


def normalise_digit(image: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Apply the normalisations ``names`` in the order of :data:`NORMALISATIONS`."""
    names = check_normalise(names)
    out = image.astype(np.float32)
    if "deskew" in names:
        out = deskew(out)
    if "stroke" in names:
        out = normalise_stroke(out)
    return out
