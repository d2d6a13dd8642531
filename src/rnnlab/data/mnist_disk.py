"""An MNIST-like dataset on disk: reading it (checked against the pins) and writing the cache.

The places tried, in order (:func:`candidate_folders`): inside the data folder the cache layout
``<name>/``, torchvision's ``MNIST/raw/`` or ``FashionMNIST/raw/``, the folder itself; then the
system folders of the spec; then Keras' ``mnist.npz`` in the data folder.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..files import write_atomic
from .idx import IdxError, idx_bytes, read_bytes
from .mnist_specs import DataError, DatasetSpec, IdxFile, ImageDataset, checked_idx

_KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")


def candidate_folders(spec: DatasetSpec, root: Path) -> list[Path]:
    """The folders that may hold the four IDX files, in the order they are tried."""
    return [root / spec.name, root / spec.torchvision_folder / "raw", root] + [Path(d) for d in spec.system_dirs]


def _idx_paths(folder: Path, spec: DatasetSpec) -> list[Path] | None:
    """The four files in ``folder`` (plain or .gz), or None when any is missing."""
    paths = []
    for file in spec.files:
        for candidate in (folder / file.name, folder / f"{file.name}.gz"):
            if candidate.is_file():
                paths.append(candidate)
                break
        else:
            return None
    return paths


def _dataset(spec: DatasetSpec, arrays: list[np.ndarray], source: str) -> ImageDataset:
    return ImageDataset(spec.name, *arrays, classes=spec.classes, source=source)


def _idx_size(file: IdxFile) -> int:
    """The length of ``file``'s uncompressed IDX bytes: uint8 values after a 4-byte magic and one uint32 a dimension."""
    return 4 + 4 * len(file.shape) + int(np.prod(file.shape, dtype=np.int64))


def _damaged(spec: DatasetSpec, folder: Path, err: IdxError | DataError) -> DataError:
    """``err`` as a DataError whose advice fits where the file is: a system folder belongs to a package."""
    if folder in [Path(d) for d in spec.system_dirs]:
        return DataError(f"{err}; {folder} is a system folder: reinstall the package that put it there (`dpkg -S "
                         f"{folder}` names it), or run `rnnlab data fetch {spec.name}` for a copy of your own")
    if isinstance(err, DataError):   # a pin mismatch: its message says what to do
        return err
    return DataError(f"{err} (`rnnlab data fetch {spec.name}`)")


def read_folder(spec: DatasetSpec, folder: Path) -> ImageDataset | None:
    """The dataset from the four IDX files in ``folder``, or None when they are not all there.  A file
    that is unreadable, damaged (a broken gzip stream too) or fails its pin raises :class:`DataError`."""
    paths = _idx_paths(folder, spec)
    if paths is None:
        return None
    arrays = []
    for file, path in zip(spec.files, paths):
        try:
            arrays.append(checked_idx(spec, file, read_bytes(path, _idx_size(file)), str(path)))
        except (IdxError, DataError) as err:
            damaged = _damaged(spec, folder, err)
            if damaged is err:
                raise
            raise damaged from err
    return _dataset(spec, arrays, str(folder))


def _npz_problem(err: Exception) -> str:
    if isinstance(err, ValueError) and "pickle" in str(err):
        return "it holds pickled Python objects, which are never loaded, not plain arrays"
    return " ".join(str(err).split()) or type(err).__name__


def read_keras_npz(spec: DatasetSpec, path: Path) -> ImageDataset:
    """Keras' ``mnist.npz`` (``x_train, y_train, x_test, y_test``), checked against the same pins."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            raws = [idx_bytes(np.asarray(npz[key], dtype=np.uint8)) for key in _KERAS_KEYS]
    except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise DataError(f"{path}: not a readable Keras mnist.npz ({_npz_problem(err)}); expected the arrays "
                        f"x_train, y_train, x_test, y_test: delete it and run `rnnlab data fetch {spec.name}`") from err
    checked = [checked_idx(spec, file, raw, f"{path}[{key}]") for file, raw, key in zip(spec.files, raws, _KERAS_KEYS)]
    return _dataset(spec, checked, str(path))


def find_on_disk(spec: DatasetSpec, root: Path,
                 damaged: list[tuple[Path, str]] | None = None) -> ImageDataset | None:
    """The dataset from the first place on disk that holds it, or None.  A file that is present but
    fails its check raises :class:`DataError` rather than being skipped or overwritten, except in a
    system folder when ``damaged`` is a list: (folder, message) is appended to it and the search
    goes on (the caller then fetches a copy of its own, read before the system folder)."""
    for folder in candidate_folders(spec, root):
        try:
            found = read_folder(spec, folder)
        except DataError as err:
            if damaged is None or folder not in [Path(d) for d in spec.system_dirs]:
                raise
            damaged.append((folder, str(err)))
            continue
        if found is not None:
            return found
    if spec.keras_npz and (root / spec.keras_npz).is_file():
        return read_keras_npz(spec, root / spec.keras_npz)
    return None


def where_on_disk(spec: DatasetSpec, root: Path) -> str | None:
    """Where the dataset's files are on disk (without reading them), or None."""
    for folder in candidate_folders(spec, root):
        if _idx_paths(folder, spec) is not None:
            return str(folder)
    if spec.keras_npz and (root / spec.keras_npz).is_file():
        return str(root / spec.keras_npz)
    return None


def write_cache(spec: DatasetSpec, folder: Path, gz_files: list[bytes]) -> None:
    """Write the four ``.gz`` files into ``folder`` under their official names, each atomically."""
    for file, data in zip(spec.files, gz_files):
        write_atomic(folder / f"{file.name}.gz", data)
