"""The IDX file format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/).

An IDX file is a 4-byte magic number ``0x00 0x00 <type code> <number of dimensions>``, then one
big-endian uint32 per dimension, then the values in C order (big-endian when wider than a byte).
MNIST uses type 0x08 (uint8): images are (N, 28, 28), labels (N,).  Files may be gzipped.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
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


def read_bytes(path: str | os.PathLike, max_size: int | None = None) -> bytes:
    """The content of ``path``, decompressed when it is gzipped (by its magic bytes, not its name).

    Damaged gzip data (corrupt deflate stream, truncation, wrong CRC or length) and an unreadable
    file are an :class:`IdxError` naming the file.  With ``max_size``, content longer than that (on
    disk, or once decompressed) is one too, found without decompressing more than ``max_size + 1``
    bytes: a damaged or foreign file cannot fill the memory."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise IdxError(f"{path}: cannot be read ({err.strerror or err}); check the file and its permissions") from err
    if raw[:2] != b"\x1f\x8b":
        data = raw
    else:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                data = stream.read(-1 if max_size is None else max_size + 1)   # to its end: CRC and length checked
        except (OSError, EOFError, zlib.error) as err:
            raise IdxError(f"{path}: the gzip stream is damaged ({' '.join(str(err).split())}); "
                           f"delete the file and fetch it again") from err
    if max_size is not None and len(data) > max_size:
        where = " once decompressed" if data is not raw else ""
        raise IdxError(f"{path}: holds more than the {max_size} bytes expected{where}; it is not the right file "
                       f"or it is damaged: delete it and fetch it again")
    return data


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
