"""Your own handwritten digits, made to look like MNIST (Programming Assignment 4's custom images).

MNIST's digits were size-normalised to fit a 20 x 20 box keeping their aspect ratio, then centred
by their centre of mass in a 28 x 28 field, white ink on black.  :func:`prepare_digit` does the
same to any picture of one digit:

1. grayscale on the 0..255 scale of 8-bit grey, whatever the pixel mode (16-bit and 32-bit
   integers, floating point, 1-bit, palette, CMYK); transparent pixels count as white paper;
   pictures wider or taller than ``WORKING_SIDE`` are first shrunk by averaging boxes of pixels;
2. inverted when the background is light (the median of the border pixels is above mid-grey);
3. background level subtracted and the ink stretched to 0..255;
4. cropped to the ink (pixels above 10 % of the strongest);
5. resized so that the longer side is 20 pixels, keeping the aspect ratio;
6. pasted into 28 x 28 so that its centre of mass falls on (14, 14), where MNIST's sit;
7. scaled to [0, 1] as float32.

:func:`load_digit` reads a file: its size is checked from the header before anything is decoded
(``MAX_PIXELS``), the EXIF orientation of a photo is applied, and of an animated picture the first
frame is taken.  Anything wrong is an :class:`ImageError` whose one-line message names the file.
"""
from __future__ import annotations

import math
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .normalise import normalise_digit
from .pixels import INK_THRESHOLD as INK_THRESHOLD  # re-exported: step 4's threshold, defined with fit_digit
from .pixels import fit_digit

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MIN_CONTRAST = 16     # grey levels between paper and the strongest ink, below which there is no digit
MAX_PIXELS = 40_000_000   # refused before decoding: far more than any photo of a digit needs
WORKING_SIDE = 2048   # larger pictures are shrunk to about this many pixels a side before step 2

_FORMATS = "PNG, JPEG, BMP, GIF, TIFF or WebP"
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")   # more than 8 bits a pixel, one channel
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
# What Pillow's format plugins raise on damaged or foreign files (they are not uniform about it).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, TypeError,
                  KeyError)


class ImageError(ValueError):
    """An image that cannot be read or holds no digit; the message names the file."""


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _wide_gray(image: Image.Image, name: str) -> Image.Image:
    """16-bit, 32-bit integer and floating-point pixels -> mode F on the 0..255 scale of 8-bit grey.

    16-bit pixels are scaled by 255 / 65535; mode I and F by the first usual full scale that holds
    all the values (1.0 for floats, then 255, then 65535); values outside all of them are stretched."""
    raw = np.asarray(image)
    values = raw.astype(np.float32)
    if values.size == 0:
        return Image.new("F", image.size)
    if not np.isfinite(values).all():
        raise ImageError(f"{name}: holds NaN or infinite pixel values; save it with finite values, "
                         f"e.g. as an 8- or 16-bit PNG")
    low, high = float(values.min()), float(values.max())
    fulls = (65535.0,) if image.mode.startswith("I;16") else ((1.0,) if image.mode == "F" else ()) + (255.0, 65535.0)
    full = next((top for top in fulls if low >= 0.0 and high <= top), None)
    if full is None:   # outside every usual range: stretch what is there
        values = (values - low) * np.float32(255.0 / ((high - low) or 1.0))
    else:
        values *= np.float32(255.0 / full)
    transparent = image.info.get("transparency")
    if isinstance(transparent, int):   # a 16-bit greyscale PNG's tRNS: that value is transparent paper
        values[raw == transparent] = 255.0
    return Image.fromarray(values, "F")


def _gray_image(image: Image.Image, name: str) -> Image.Image:
    """One grey channel (mode L or F) on the 0..255 scale; transparency is composited onto white paper."""
    if image.mode in _WIDE_MODES:
        return _wide_gray(image, name)
    try:
        if image.mode in _ALPHA_MODES or "transparency" in image.info:
            rgba = image.convert("RGBA")
            return Image.composite(rgba.convert("L"), Image.new("L", rgba.size, 255), rgba.getchannel("A"))
        return image.getchannel("L") if image.mode == "LAB" else image.convert("L")   # LAB: its lightness
    except ValueError as err:
        raise ImageError(f"{name}: pixels of mode {image.mode} cannot be turned into grey ({_one_line(err)}); "
                         f"save the picture as an RGB or greyscale PNG or JPEG") from err


def _grayscale(image: Image.Image, name: str = "<image>") -> np.ndarray:
    """Grey levels 0..255 as float64, shrunk by box averaging when a side exceeds ``WORKING_SIDE``."""
    gray = _gray_image(image, name)
    longest = max(gray.size)
    if longest > WORKING_SIDE:
        gray = gray.reduce(math.ceil(longest / WORKING_SIDE))
    return np.asarray(gray, dtype=np.float64)


def prepare_digit(image: Image.Image, name: str = "<image>", normalise: tuple[str, ...] = ()) -> np.ndarray:
    """One picture of a digit -> float32 (28, 28) in [0, 1], white ink on black, as MNIST; then the
    normalisations named in ``normalise`` (:mod:`rnnlab.data.normalise`: deskew, stroke)."""
    gray = _grayscale(image, name)
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
    field = fit_digit(ink * (255.0 / ink.max()))   # steps 4 to 7 (rnnlab.data.pixels)
    if normalise:
        field = normalise_digit(field, normalise)
    return field


def image_files(path: str | os.PathLike) -> list[Path]:
    """``path`` itself, or the image files in the folder ``path`` sorted by name (hidden files skipped)."""
    path = Path(path)
    if path.is_dir():
        try:
            entries = sorted(path.iterdir())
        except OSError as err:
            raise ImageError(f"{path}: cannot list this folder ({err.strerror or _one_line(err)}); "
                             f"check its permissions") from err
        visible = [p for p in entries if not p.name.startswith(".")]   # e.g. macOS' "._digit.png" companions
        files = [p for p in visible if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
        if not files:
            folders = [p.name for p in visible if p.is_dir()]
            hint = (f"; it holds the folder{'s' if len(folders) > 1 else ''} {', '.join(folders[:3])}"
                    f"{', ...' if len(folders) > 3 else ''}: pass those instead" if folders else "")
            raise ImageError(f"{path}: no image files in this folder (looked for {', '.join(IMAGE_SUFFIXES)}){hint}")
        return files
    if not path.exists():
        raise ImageError(f"{path}: no such file or folder")
    return [path]


def _check_size(image: Image.Image, path: Path) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(f"{path}: {width} x {height} pixels ({width * height / 1e6:.0f} megapixels) is more than "
                         f"the {MAX_PIXELS // 1_000_000} megapixels read here; scale the picture down (a digit "
                         f"needs no more than a few hundred pixels a side)")


def _read_digit(path: Path, normalise: tuple[str, ...]) -> np.ndarray:
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes); expected a {_FORMATS} picture of one digit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # MAX_PIXELS is the tighter limit
        with Image.open(path) as image:   # reads the header only
            _check_size(image, path)
            longest = max(image.size)
            if longest > WORKING_SIDE:   # a JPEG decodes straight at 1/2, 1/4 or 1/8 scale; others ignore this
                image.draft(None, (math.ceil(image.width * WORKING_SIDE / longest),
                                   math.ceil(image.height * WORKING_SIDE / longest)))
            image.load()   # of an animated GIF, WebP or TIFF: its first frame
            ImageOps.exif_transpose(image, in_place=True)
            return prepare_digit(image, str(path), normalise)


def load_digit(path: str | os.PathLike, normalise: tuple[str, ...] = ()) -> np.ndarray:
    """One picture file -> float32 (28, 28) in [0, 1] (:func:`prepare_digit`); ImageError names the file."""
    path = Path(path)
    try:
        return _read_digit(path, normalise)
    except ImageError:
        raise
    except UnidentifiedImageError as err:
        raise ImageError(f"{path}: cannot be decoded as an image (not a picture in a format Pillow reads, or "
                         f"damaged at its start); expected a {_FORMATS} file") from err
    except PermissionError as err:
        raise ImageError(f"{path}: cannot be read (permission denied); make it readable (chmod u+r) "
                         f"or copy it somewhere you can read") from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{path}: too large to decode safely ({_one_line(err)}); scale the picture down below "
                         f"{MAX_PIXELS // 1_000_000} megapixels") from err
    except _DECODE_ERRORS as err:
        raise ImageError(f"{path}: cannot be decoded as an image ({_one_line(err)}); the file may be truncated "
                         f"or damaged: save or export it again as a {_FORMATS} file") from err


def load_digit_images(*paths: str | os.PathLike, normalise: tuple[str, ...] = ()) -> tuple[np.ndarray, list[str]]:
    """Files or folders of digit pictures -> (images (N, 28, 28) float32 in [0, 1], file names)."""
    files = [file for path in paths for file in image_files(path)]
    if not files:
        raise ImageError("no image given; pass image files or a folder of them")
    return np.stack([load_digit(file, normalise) for file in files]), [file.name for file in files]
