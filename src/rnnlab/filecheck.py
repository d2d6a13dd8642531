"""Reading files that may be hostile or odd: regular files only, bounded sizes, archives checked from their headers.

Every reader of a run directory's files (the pages of ``rnnlab explore``, ``rnnlab evaluate``, ``predict``,
the notebook API) goes through these, so that

- a named pipe, a device or a socket where a file should be never blocks a reader: :func:`read_regular` and
  :func:`open_regular` look at ``os.stat`` first (``stat.S_ISREG``) and open with ``O_NONBLOCK``, then check
  the opened descriptor again (the path may have been swapped in between);
- a file larger than its kind ever is (a ``task.json`` of a gigabyte) is refused from its size, unread;
- a ``.npz`` archive (model, checkpoint, predictions) is judged from its zip directory and from each member's
  ``.npy`` header (shape, dtype, declared size) before anything is decompressed or allocated: a 2 MiB file
  holding a 3 GiB array is refused from its header (:func:`npz_headers`, :func:`check_zip_sizes`).

Each refusal is a ``ValueError`` of one line naming the file, what is wrong and what to do.
"""
from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAX_JSON_FILE = 16 * 2 ** 20        # a run's JSON files (config, task, summary): 16 MiB
MAX_ARCHIVE_MEMBERS = 10_000
MAX_NPY_HEADER = 10_000             # bytes of one .npy header (numpy's own default bound)
KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def _kind(mode: int) -> str:
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


def open_regular(path: str | Path, limit: int, what: str = "file") -> BinaryIO:
    """``path`` opened for reading in binary, if it is a regular file of at most ``limit`` bytes.

    Never blocks: a FIFO, a device or a socket is refused from ``os.stat`` before it is opened, and the
    file is opened with ``O_NONBLOCK`` and checked again on its descriptor.  FileNotFoundError passes
    through (callers say what the missing file means); everything else odd is a ValueError."""
    path = Path(path)
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path}: is {_kind(mode)}, not a {what}; remove it or train the run again with --force")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path}: is {_kind(info.st_mode)}, not a {what}; remove it")
        if info.st_size > limit:
            raise ValueError(f"{path}: {info.st_size} bytes, more than the {limit} a {what} can hold; "
                             f"it is not one rnnlab wrote (train the run again with --force)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit: int = MAX_JSON_FILE, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`)."""
    with open_regular(path, limit, what) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:   # it grew while being read
        raise ValueError(f"{path}: more than {limit} bytes; it is not a {what} rnnlab wrote")
    return data


@dataclass(frozen=True)
class ArrayHeader:
    """What one ``.npy`` member of an archive says it holds, read from its header only."""
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


def check_zip_sizes(archive: zipfile.ZipFile, path: Path, limit: int, what: str) -> None:
    """Refuse an archive whose members would decompress to more than ``limit`` bytes in all (their declared
    sizes, which zipfile never exceeds when it decompresses), or that has too many members."""
    members = archive.infolist()
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise ValueError(f"{path}: {len(members)} members, more than a {what} has; it is not one rnnlab wrote")
    total = sum(member.file_size for member in members)
    if total > limit:
        raise ValueError(f"{path}: would decompress to {total} bytes, more than the {limit} a {what} can hold "
                         f"(a damaged or hostile file?); train the run again with --force")


def _npy_header(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path) -> ArrayHeader:
    """One member's .npy header, read from the first bytes of its decompressed stream."""
    name = member.filename[:-4] if member.filename.endswith(".npy") else member.filename
    with archive.open(member) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            reader = {(1, 0): np.lib.format.read_array_header_1_0,
                      (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"format version {version}")
            shape, _, dtype = reader(stream, max_header_size=MAX_NPY_HEADER)
            header_bytes = stream.tell()
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: member {name[:80]!r} is not a NumPy array "
                             f"({' '.join(str(err).split())[:80]}); train the run again with --force") from None
    found = ArrayHeader(name, tuple(int(n) for n in shape), np.dtype(dtype))
    if found.dtype.hasobject or found.dtype.kind not in "biufcU":
        raise ValueError(f"{path}: array {name[:80]!r} holds {found.dtype}, not numbers; it is not a file "
                         f"rnnlab wrote")
    if found.nbytes + header_bytes != member.file_size:
        raise ValueError(f"{path}: array {name[:80]!r} says it is {found.shape} of {found.dtype} "
                         f"({found.nbytes} bytes) but its member holds {member.file_size - header_bytes}; "
                         f"the file is damaged or hostile: train the run again with --force")
    return found


def npz_headers(handle: BinaryIO, path: Path, limit: int, what: str) -> dict[str, ArrayHeader]:
    """name -> :class:`ArrayHeader` of every array of an ``.npz`` archive, checked before any is read:
    at most ``limit`` bytes in all, each member's header consistent with its declared size."""
    try:
        with zipfile.ZipFile(handle) as archive:
            check_zip_sizes(archive, path, limit, what)
            headers = [_npy_header(archive, member, path) for member in archive.infolist()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as err:
        raise ValueError(f"{path}: damaged, not a {what} of rnnlab ({' '.join(str(err).split())[:80]}); "
                         f"train the run again with --force") from None
    return {header.name: header for header in headers}
