"""The IDX file format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/).

An IDX file is a 4-byte magic number ``0x00 0x00 <type code> <number of dimensions>``, then one
big-endian uint32 per dimension, then the values in C order (big-endian when wider than a byte).
MNIST uses type 0x08 (uint8): images are (N, 28, 28), labels (N,).  Files may be gzipped.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

from ..files import write_atomic as write_atomic  # re-exported: the one atomic writer, kept importable here

# IDX type code -> NumPy dtype (big-endian where it matters).
_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder(">"): code for code, dtype in _TYPES.items()}


class IdxError(ValueError):
    """A file that is not a valid IDX file; the message names the file and what is wrong."""


def read_bytes(path: str | os.PathLike) -> bytes:
    """The content of ``path``, decompressed when it is gzipped (by its magic bytes, not its name)."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise IdxError(f"{path}: the gzip stream is damaged ({err}); delete the file and fetch it again") from err
    return raw


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode IDX ``data`` into an array in native byte order; ``name`` is used in error messages."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise IdxError(f"{name}: not an IDX file (its magic number is {data[:4].hex() or 'missing'}, "
                       f"expected 0000 then a type code and a rank)")
    code, ndim = data[2], data[3]
    if code not in _TYPES:
        raise IdxError(f"{name}: unknown IDX type code 0x{code:02x}; expected one of "
                       f"{', '.join(f'0x{c:02x}' for c in _TYPES)}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{name}: truncated header ({len(data)} bytes, the header needs {header})")
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IdxError(f"{name}: holds {len(data)} bytes but its header {shape} promises {expected}; "
                       f"the file is truncated or damaged — delete it and fetch it again")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzipped or not."""
    return parse_idx(read_bytes(path), str(path))


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as IDX bytes (the inverse of :func:`parse_idx`)."""
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big not in _CODES:
        raise IdxError(f"IDX cannot store dtype {array.dtype}; use uint8, int8, int16, int32, float32 or float64")
    header = bytes([0, 0, _CODES[big], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=big).tobytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
