"""An MNIST-like dataset on disk: reading it (checked against the pins) and writing the cache.

The places tried, in order (:func:`candidate_folders`): inside the data folder the cache layout
``<name>/``, torchvision's ``MNIST/raw/`` or ``FashionMNIST/raw/``, the folder itself; then the
system folders of the spec; then Keras' ``mnist.npz`` in the data folder.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..files import write_atomic
from .idx import IdxError, idx_bytes, read_bytes
from .mnist_specs import DataError, DatasetSpec, ImageDataset, checked_idx

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


def read_folder(spec: DatasetSpec, folder: Path) -> ImageDataset | None:
    """The dataset from the four IDX files in ``folder``, or None when they are not all there."""
    paths = _idx_paths(folder, spec)
    if paths is None:
        return None
    try:
        arrays = [checked_idx(spec, file, read_bytes(path), str(path)) for file, path in zip(spec.files, paths)]
    except IdxError as err:
        raise DataError(f"{err}") from err
    return _dataset(spec, arrays, str(folder))


def read_keras_npz(spec: DatasetSpec, path: Path) -> ImageDataset:
    """Keras' ``mnist.npz`` (``x_train, y_train, x_test, y_test``), checked against the same pins."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = [npz[key] for key in _KERAS_KEYS]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a readable Keras mnist.npz ({err}); expected the arrays "
                        f"x_train, y_train, x_test, y_test") from err
    checked = [checked_idx(spec, file, idx_bytes(np.asarray(array, dtype=np.uint8)), f"{path}[{key}]")
               for file, array, key in zip(spec.files, arrays, _KERAS_KEYS)]
    return _dataset(spec, checked, str(path))


def find_on_disk(spec: DatasetSpec, root: Path) -> ImageDataset | None:
    """The dataset from the first place on disk that holds it, or None.  A file that is present but
    fails its check raises :class:`DataError` rather than being skipped or overwritten."""
    for folder in candidate_folders(spec, root):
        found = read_folder(spec, folder)
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
