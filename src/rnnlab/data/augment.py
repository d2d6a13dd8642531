"""Augmentation of digit images: random, seeded distortions that make a network read other pens than MNIST's.

Named parts that combine (``--augment rotate,scale,stroke``; ``--augment`` alone is :data:`RECOMMENDED`):

- ``rotate``: by an angle in +-ROTATE_DEGREES; ``scale``: by a factor in 1 +- SCALE_RANGE; ``shear``:
  horizontal slant of up to +-SHEAR; ``shift``: up to +-SHIFT_PIXELS each way.  The four are one affine
  map per image, read by inverse mapping and bilinear interpolation: an output pixel p takes the input
  at ``c + A (p - c) - t``, ``A = R(-angle) S(shear)^-1 / scale``, ``c`` the centre (13.5, 13.5).
- ``elastic``: a smooth random displacement field (uniform values on a 5 x 5 grid, upsampled
  bilinearly to 28 x 28, times ELASTIC_PIXELS) added to the sampling coordinates (Simard et al. 2003).
- ``stroke``: thicker or thinner pens: ``x + a (dilate(x) - x)`` for a > 0, ``x + a (x - erode(x))``
  for a < 0, with 3 x 3 grey dilation / erosion (maximum / minimum of the neighbours).
- ``resolution``: scanned at a lower resolution: averaged over k x k blocks (k = 1, 2 or 3) and upsampled
  back bilinearly.
- ``blur``: a Gaussian blur of sigma in [0, BLUR_SIGMA] pixels (separable, kernel radius 3).
  After these two the ink is stretched so that the strongest pixel is 1, as :func:`prepare_digit` does.
- ``noise``: Gaussian noise of standard deviation in [0, NOISE_STD], clipped back to [0, 1].

The warp, the stroke and the bilinear reading come from :mod:`rnnlab.data.pixels` (shared with the normalisations).
Images are float (N, 28, 28) in [0, 1], white ink on black.  Every part's parameters are drawn for
every image of a batch in one fixed order whatever parts are on, from the generator seeded with
``(seed, step)``: the same seed and step give the same images, so a resumed run sees exactly the
batches of an uninterrupted one.  Everything is vectorised over the batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pixels import bilinear, stroke, warp

PARTS = ("rotate", "scale", "shear", "shift", "elastic", "stroke", "resolution", "blur", "noise")
RECOMMENDED = ("rotate", "scale", "shear", "shift", "elastic", "stroke", "resolution", "blur")
ROTATE_DEGREES = 12.0
SCALE_RANGE = 0.15
SHEAR = 0.3
SHIFT_PIXELS = 2.0
ELASTIC_PIXELS = 1.5
STROKE_RANGE = (-0.7, 1.0)   # more thickening than thinning: foreign pens are mostly thicker than MNIST's
BLUR_SIGMA = 1.0
NOISE_STD = 0.08
_STREAM = 20   # keeps the augmentation's random numbers apart from other uses of the seed


def parse_augment(text: str | None) -> tuple[str, ...]:
    """``""``/None -> no parts; ``"recommended"`` -> :data:`RECOMMENDED`; ``"rotate,stroke"`` -> those parts."""
    if text is None or text == "":
        return ()
    if not isinstance(text, str):
        raise ValueError(f"augment: expected part names separated by commas, got {text!r}")
    parts: list[str] = []
    for name in (word.strip() for word in text.split(",")):
        chosen = RECOMMENDED if name == "recommended" else (name,)
        for part in chosen:
            if part not in PARTS:
                raise ValueError(f"augment: {name!r} is not one of recommended, {', '.join(PARTS)}; "
                                 f"e.g. --augment rotate,stroke (or --augment alone for the recommended set)")
            if part not in parts:
                parts.append(part)
    return tuple(part for part in PARTS if part in parts)


def _upsample_matrix(coarse: int, fine: int) -> np.ndarray:
    """(fine, coarse) linear interpolation weights from a coarse grid spanning the same extent."""
    positions = np.linspace(0.0, coarse - 1.0, fine)
    low = np.minimum(np.floor(positions).astype(int), coarse - 2)
    frac = positions - low
    matrix = np.zeros((fine, coarse))
    matrix[np.arange(fine), low] = 1.0 - frac
    matrix[np.arange(fine), low + 1] = frac
    return matrix


def elastic_field(coarse: np.ndarray, size: int = 28) -> np.ndarray:
    """Values (N, 2, g, g) on a coarse grid -> a smooth field (N, 2, size, size) by bilinear upsampling."""
    up = _upsample_matrix(coarse.shape[-1], size)
    return np.einsum("ij,nkjl,ml->nkim", up, coarse, up)


def lower_resolution(images: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Average over ``block`` x ``block`` pixels (per image: 1 = unchanged, 2, 3, ...) and upsample back bilinearly."""
    out = images.copy()
    size = images.shape[1]
    for k in np.unique(block):
        if k <= 1:
            continue
        chosen = block == k
        cells = -(-size // k)
        padded = np.zeros((int(chosen.sum()), cells * k, cells * k), dtype=images.dtype)
        padded[:, :size, :size] = images[chosen]
        small = padded.reshape(-1, cells, k, cells, k).mean(axis=(2, 4))
        # pixel i's centre sits at (i + 0.5) / k - 0.5 in block coordinates
        positions = np.clip((np.arange(size) + 0.5) / k - 0.5, 0.0, cells - 1.0)
        grid_r, grid_c = np.meshgrid(positions, positions, indexing="ij")
        shape = (len(small), size, size)
        out[chosen] = bilinear(small, np.broadcast_to(grid_r, shape), np.broadcast_to(grid_c, shape))
    return out


def blur(images: np.ndarray, sigma: np.ndarray, radius: int = 3) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` (per image; 0 = unchanged), separable, zero outside."""
    offsets = np.arange(-radius, radius + 1)
    safe = np.maximum(sigma, 1e-6)[:, None]
    weights = np.exp(-0.5 * (offsets[None] / safe) ** 2)
    weights = (weights / weights.sum(axis=1, keepdims=True)).astype(images.dtype)
    height, width = images.shape[1:]
    padded = np.pad(images, ((0, 0), (radius, radius), (0, 0)))
    down = sum(weights[:, i, None, None] * padded[:, i:i + height] for i in range(len(offsets)))
    padded = np.pad(down, ((0, 0), (0, 0), (radius, radius)))
    return sum(weights[:, i, None, None] * padded[:, :, i:i + width] for i in range(len(offsets)))


@dataclass(frozen=True)
class Draws:
    """Each part's parameters for a batch of ``n`` images, drawn in one fixed order."""
    angle: np.ndarray
    scale: np.ndarray
    shear: np.ndarray
    shift: np.ndarray
    elastic: np.ndarray
    stroke: np.ndarray
    block: np.ndarray
    sigma: np.ndarray
    noise_std: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> Draws:
        return cls(angle=rng.uniform(-ROTATE_DEGREES, ROTATE_DEGREES, n),
                   scale=1.0 + rng.uniform(-SCALE_RANGE, SCALE_RANGE, n),
                   shear=rng.uniform(-SHEAR, SHEAR, n),
                   shift=rng.uniform(-SHIFT_PIXELS, SHIFT_PIXELS, (n, 2)),
                   elastic=rng.uniform(-1.0, 1.0, (n, 2, 5, 5)) * ELASTIC_PIXELS,
                   stroke=rng.uniform(*STROKE_RANGE, n),
                   block=rng.choice(np.array([1, 1, 1, 2, 2, 3]), n),
                   sigma=rng.uniform(0.0, BLUR_SIGMA, n),
                   noise_std=rng.uniform(0.0, NOISE_STD, n))

    def take(self, rows: np.ndarray) -> Draws:
        return Draws(**{name: value[rows] for name, value in vars(self).items()})


def augment_images(images: np.ndarray, parts: tuple[str, ...], draws: Draws,
                   noise_rng: np.random.Generator | None = None) -> np.ndarray:
    """Apply ``parts`` (in the order of :data:`PARTS`) to images (N, 28, 28) in [0, 1] with ``draws``."""
    n = len(images)
    out = images.astype(np.float32)
    on = set(parts)
    if on & {"rotate", "scale", "shear", "shift", "elastic"}:
        out = warp(out, draws.angle if "rotate" in on else np.zeros(n),
                   draws.scale if "scale" in on else np.ones(n),
                   draws.shear if "shear" in on else np.zeros(n),
                   draws.shift if "shift" in on else np.zeros((n, 2)),
                   elastic_field(draws.elastic, out.shape[1]) if "elastic" in on else None)
    if "stroke" in on:
        out = stroke(out, draws.stroke)
    if "resolution" in on:
        out = lower_resolution(out, draws.block)
    if "blur" in on:
        out = blur(out, draws.sigma)
    if on & {"resolution", "blur"}:   # as prepare_digit stretches a picture's ink: the strongest pixel is 1
        out = out / np.maximum(out.max(axis=(1, 2), keepdims=True), np.float32(1e-6))
    if "noise" in on:
        rng = noise_rng or np.random.default_rng(0)
        out = out + rng.standard_normal(out.shape).astype(np.float32) * draws.noise_std[:, None, None]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


class Augmenter:
    """The training batches' augmentation for an image task: sequences in, sequences out.

    ``info`` is the task's record (view, scaling shift and scale, permutation): the sequences are
    turned back into [0, 1] images, augmented, and turned into sequences again the same way."""

    def __init__(self, parts: tuple[str, ...], info: dict, seed: int) -> None:
        if "view" not in info:
            raise ValueError(f"augment: the task {info.get('task', '?')} is not an image task; augmentation "
                             f"needs images (mnist-rows, fashion-rows, ...): drop --augment")
        self.parts, self.seed = parts, seed
        self.view, self.shift, self.scale = info["view"], float(info["shift"]), float(info["scale"])
        self.permutation = np.asarray(info["permutation"]) if "permutation" in info else None

    def __call__(self, x: np.ndarray, step: int, positions: np.ndarray, batch_size: int) -> np.ndarray:
        """Sequences ``x`` of the images at ``positions`` of a batch of ``batch_size``, the batch of optimizer
        step ``step``; parameters are drawn for the whole batch so that every worker's share agrees."""
        rng = np.random.default_rng([self.seed, _STREAM, step])
        draws = Draws.draw(rng, batch_size).take(positions)
        n = len(x)
        images = x.reshape(n, -1) * np.float32(self.scale) + np.float32(self.shift)
        if self.permutation is not None:
            unpermuted = np.empty_like(images)
            unpermuted[:, self.permutation] = images
            images = unpermuted
        side = int(round(np.sqrt(images.shape[1])))
        out = augment_images(images.reshape(n, side, side), self.parts, draws, rng).reshape(n, -1)
        out = (out - np.float32(self.shift)) / np.float32(self.scale)
        if self.permutation is not None:
            out = out[:, self.permutation]
        return out.reshape(x.shape).astype(x.dtype)


def check_augment(text: str | None, task: str, images: bool) -> tuple[str, ...]:
    """The parts ``--augment text`` names, refused on the task ``task`` unless it is made of ``images``; called
    before anything is written.  The caller says what the task is: this module knows no task and no configuration."""
    parts = parse_augment(text)
    if parts and not images:
        raise ValueError(f"augment: the task {task} is not an image task; augmentation needs images "
                         f"(mnist-rows, fashion-rows, ...): drop --augment")
    return parts


def make_augmenter(text: str | None, info: dict, seed: int) -> Augmenter | None:
    """The augmenter ``--augment text`` asks for on a task recorded as ``info``; None when there is none."""
    parts = parse_augment(text)
    return Augmenter(parts, info, seed) if parts else None
