"""Bad input and damaged files: every picture and dataset file either works sensibly or fails calmly,
with one error of the library's own whose one-line message names the file and says what to do."""
import gzip
import hashlib
import io
import os
import resource
import struct
import time
import zlib
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from rnnlab.cli import main
from rnnlab.data import idx, mnist
from rnnlab.data.idx import IdxError, idx_bytes, read_idx
from rnnlab.data.images import MAX_PIXELS, ImageError, load_digit_images, prepare_digit
from rnnlab.data.mnist import DataError, DatasetSpec, IdxFile

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0   # root reads files whatever their permissions


_PICTURE = Image.new("L", (90, 140), 235)
ImageDraw.Draw(_PICTURE).line([(15, 20), (75, 20), (35, 120)], fill=20, width=9)
SEVEN = np.asarray(_PICTURE)                    # an 8-bit '7': dark strokes (20) on light paper (235), off centre
INK = SEVEN < 128                               # where the strokes are
REFERENCE = prepare_digit(Image.fromarray(SEVEN))   # what every other mode and format must give


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _one_line_naming(err: pytest.ExceptionInfo, name: str) -> str:
    message = str(err.value)
    assert "\n" not in message and name in message, message
    return message


# ---------------------------------------------------------------------------------------------
# PNG files written byte by byte: 16-bit modes Pillow does not write, and headers claiming any size


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, depth: int, colour: int, rows: bytes = b"\0", extra: bytes = b"") -> bytes:
    """A PNG file; with the default ``rows`` its IDAT is a token one, never decoded past the header."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


def _png16(channels: np.ndarray, colour: int, extra: bytes = b"") -> bytes:
    """A 16-bit PNG of ``channels`` (height, width, samples) uint16; colour type 0 grey, 2 RGB, 4 grey + alpha."""
    height, width = channels.shape[:2]
    rows = b"".join(b"\0" + channels[r].astype(">u2").tobytes() for r in range(height))
    return _png(width, height, 16, colour, rows, extra)


WIDE = SEVEN.astype(np.uint16) * 257            # the same picture on the 16-bit scale


def _palette_picture(path, fmt):   # ink is index 0 (dark grey), paper index 1 (black, but transparent)
    image = Image.fromarray((~INK).astype(np.uint8), "P")
    image.putpalette([20, 20, 20, 0, 0, 0])
    image.save(path, fmt, transparency=1)


def _alpha_picture(mode):   # black ink on a transparent sheet: the ink is the alpha channel
    alpha = Image.fromarray(255 - SEVEN)
    return Image.merge(mode, (Image.new("L", alpha.size, 0),) * (len(mode) - 1) + (alpha,))


# name -> (file name, writer of the picture to the path): each is the 8-bit '7' in another pixel mode
MODES = {
    "png-16bit-grey-pillow": ("a.png", lambda p: Image.fromarray(WIDE).save(p)),
    "png-16bit-grey": ("a.png", lambda p: p.write_bytes(_png16(WIDE[..., None], 0))),
    "png-16bit-grey-transparent-paper": (   # paper 0 (black) made transparent by tRNS: white once composited
        "a.png", lambda p: p.write_bytes(_png16(np.where(INK, WIDE, 0)[..., None], 0, _chunk(b"tRNS", b"\0\0")))),
    "png-16bit-rgb": ("a.png", lambda p: p.write_bytes(_png16(np.stack([WIDE] * 3, -1), 2))),
    "png-16bit-grey-alpha": ("a.png", lambda p: p.write_bytes(_png16(np.stack([0 * WIDE, 65535 - WIDE], -1), 4))),
    "png-1bit": ("a.png", lambda p: Image.fromarray(~INK).save(p)),
    "png-LA": ("a.png", lambda p: _alpha_picture("LA").save(p)),
    "png-RGBA": ("a.png", lambda p: _alpha_picture("RGBA").save(p)),
    "png-palette-transparent": ("a.png", lambda p: _palette_picture(p, "PNG")),
    "gif-palette-transparent": ("a.gif", lambda p: _palette_picture(p, "GIF")),
    "tiff-16bit-big-endian": ("a.tif", lambda p: Image.fromarray(WIDE.astype(">u2")).save(p)),
    "tiff-32bit-int-16bit-range": ("a.tif", lambda p: Image.fromarray(WIDE.astype(np.int32)).save(p)),
    "tiff-32bit-int-8bit-range": ("a.tif", lambda p: Image.fromarray(SEVEN.astype(np.int32)).save(p)),
    "tiff-float-0-1": ("a.tif", lambda p: Image.fromarray(SEVEN.astype(np.float32) / 255).save(p)),
    "tiff-float-0-255": ("a.tif", lambda p: Image.fromarray(SEVEN.astype(np.float32)).save(p)),
    "tiff-float-negative": ("a.tif", lambda p: Image.fromarray(SEVEN.astype(np.float32) - 1000).save(p)),
    "tiff-CMYK": ("a.tif", lambda p: Image.fromarray(SEVEN).convert("RGB").convert("CMYK").save(p)),
    "jpeg-CMYK": ("a.jpg", lambda p: Image.fromarray(SEVEN).convert("RGB").convert("CMYK").save(p, quality=95)),
    "tiff-LAB": ("a.tif", lambda p: Image.fromarray(SEVEN).convert("RGB").convert("LAB").save(p)),
    "webp-lossless": ("a.webp", lambda p: Image.fromarray(SEVEN).save(p, lossless=True)),
}


# ---------------------------------------------------------------------------------------------
# Pictures that are odd but fine: the first frame of an animation, a photo turned by its EXIF
# orientation, 20 megapixels, a folder with a Mac's hidden companion files and an upper-case suffix


def _gif_animation(path):   # the '7', then a bar: the first frame is read
    bar = Image.fromarray(np.where(np.arange(140)[:, None] // 10 == 6, 20, 235).astype(np.uint8).repeat(90, 1))
    Image.fromarray(SEVEN).save(path, save_all=True, append_images=[bar], duration=100, loop=0)


def _exif_rotated(path, orientation):   # stored turned, with the EXIF orientation that turns it back
    stored = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(SEVEN).transpose(stored[orientation]).save(path, quality=95, exif=exif)


def _huge(path, fmt):   # 3600 x 5600 pixels: shrunk (a JPEG decoded smaller) before it is prepared
    Image.fromarray(SEVEN).resize((3600, 5600), Image.Resampling.NEAREST).save(path, fmt, compress_level=1)


def _folder_with_junk(folder):
    folder.mkdir()
    Image.fromarray(SEVEN).save(folder / "seven.PNG")
    (folder / "._seven.png").write_bytes(b"\0\5\26\7 macOS resource fork")   # copied from a Mac
    (folder / "notes.txt").write_text("not a picture")
    (folder / "sub").mkdir()


ODD = {
    "gif-animated-first-frame": ("a.gif", _gif_animation),
    "jpeg-exif-rotated-180": ("a.jpg", lambda p: _exif_rotated(p, 3)),
    "jpeg-exif-rotated-90": ("a.jpg", lambda p: _exif_rotated(p, 6)),
    "jpeg-exif-rotated-270": ("a.jpg", lambda p: _exif_rotated(p, 8)),
    "png-20-megapixels": ("a.png", lambda p: _huge(p, "PNG")),
    "jpeg-20-megapixels": ("a.jpg", lambda p: _huge(p, "JPEG")),
    "folder-with-hidden-junk-and-uppercase-suffix": ("pics", _folder_with_junk),
}


@pytest.mark.parametrize("case", list(MODES) + list(ODD))
def test_pictures_that_give_the_8bit_digit(tmp_path, case):
    """16-bit pictures were clipped to white ('no digit found'); every mode now reads as the 8-bit one."""
    name, write = {**MODES, **ODD}[case]
    write(tmp_path / name)
    images, names = load_digit_images(tmp_path / name)
    assert names == (["seven.PNG"] if name == "pics" else [name]) and images.shape == (1, 28, 28)
    assert _corr(images[0], REFERENCE) > 0.99 and images.dtype == np.float32
    assert images.max() == pytest.approx(1.0, abs=0.02)
    if "exif" in case:   # the turn matters: read without it, the digit is another picture
        with Image.open(tmp_path / name) as raw:
            assert _corr(prepare_digit(raw), REFERENCE) < 0.8


# ---------------------------------------------------------------------------------------------
# Pictures that cannot be read, or hold no digit: an ImageError naming the file, on one line


def _png_bytes(array=SEVEN, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    data = bytearray(_png_bytes(fmt="JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes(b ^ 0xFF for b in data[at:at + 8]) + data[at + 8:]


def _subfolders(folder):
    for name in ("fives", "sevens"):
        (folder / name).mkdir(parents=True)
        Image.fromarray(SEVEN).save(folder / name / "a.png")


def _uniform(value, size=(40, 40), mode="L"):
    return lambda p: Image.new(mode, size, value).save(p)


def _bytes(data: bytes):
    return lambda p: p.write_bytes(data)


# name -> (file name, writer (None: nothing is written), what the message says)
BAD = {
    "empty-file": ("a.png", _bytes(b""), r"the file is empty \(0 bytes\)"),
    "text-named-png": ("a.png", lambda p: p.write_text("a shopping list\n"), r"cannot be decoded as an image"),
    "png-cut-in-its-header": ("a.png", _bytes(_png_bytes()[:40]), r"cannot be decoded as an image"),
    "png-truncated": ("a.png", _bytes(_png_bytes()[:-60]), r"truncated"),
    "png-damaged-data": ("a.png", _bytes(_flip(_png_bytes(), 60)), r"cannot be decoded as an image"),
    "jpeg-truncated": ("a.jpg", _bytes(_png_bytes(fmt="JPEG")[:-300]), r"truncated"),
    "jpeg-cut-in-its-header": ("a.jpg", _bytes(_png_bytes(fmt="JPEG")[:200]), r"cannot be decoded as an image"),
    "missing-file": ("a.png", None, r"no such file or folder"),
    "folder-without-pictures": ("pics", lambda p: (p.mkdir(), (p / "notes.txt").write_text("hi")),
                                r"no image files in this folder"),
    "folder-of-subfolders": ("pics", _subfolders, r"no image files in this folder .*fives, sevens: pass those"),
    "folder-of-hidden-junk": ("pics", lambda p: (p.mkdir(), (p / "._a.png").write_bytes(b"\0\5")),
                              r"no image files in this folder"),
    "all-white": ("a.png", _uniform(255), r"no digit found"),
    "all-black": ("a.png", _uniform(0), r"no digit found"),
    "single-pixel": ("a.png", _uniform(0, (1, 1)), r"no digit found"),
    "16bit-one-level": ("a.png", _uniform(30000, mode="I;16"), r"no digit found"),
    "float-with-nan": ("a.tif", lambda p: Image.fromarray(np.where(INK, np.nan, 0.9).astype(np.float32)).save(p),
                       r"NaN or infinite pixel values"),
    "png-header-20000x20000": ("a.png", _bytes(_png(20000, 20000, 8, 0)),
                               r"too large to decode safely .*scale the picture down"),
    "png-header-9500x9500": ("a.png", _bytes(_png(9500, 9500, 8, 0)),
                             r"9500 x 9500 pixels \(90 megapixels\) is more than the 40 .*scale the picture down"),
    "png-header-7000x7000-rgba": ("a.png", _bytes(_png(7000, 7000, 8, 6)), r"7000 x 7000 pixels \(49 megapixels\)"),
    "png-header-20000x20000-rgba": ("a.png", _bytes(_png(20000, 20000, 8, 6)), r"too large to decode safely"),
    "png-header-65535x65535-16bit": ("a.png", _bytes(_png(65535, 65535, 16, 6)), r"too large to decode safely"),
    "jpeg-header-30000x20000": ("a.jpg", _bytes(_jpeg_claiming(30000, 20000)), r"too large to decode safely"),
    "jpeg-header-8000x6000": ("a.jpg", _bytes(_jpeg_claiming(8000, 6000)), r"8000 x 6000 pixels \(48 megapixels\)"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_pictures_are_one_line_naming_the_file(tmp_path, case):
    """Each refusal is immediate and allocates nothing big: a header claiming 65535 x 65535 RGBA
    pixels (17 GB decoded) is refused from its few bytes."""
    name, write, says = BAD[case]
    path = tmp_path / name
    if write is not None:
        write(path)
    peak, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    with pytest.raises(ImageError, match=says) as err:
        load_digit_images(path)
    assert time.perf_counter() - start < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 100_000   # kilobytes
    _one_line_naming(err, str(path))
    if "header" in case:
        assert path.stat().st_size < 2000 and MAX_PIXELS < 7000 * 7000


# ---------------------------------------------------------------------------------------------
# Damaged dataset files: a DataError naming the file and saying what to do


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(11)
    return [rng.integers(0, 256, (7, 28, 28), dtype=np.uint8), rng.integers(0, 10, 7, dtype=np.uint8),
            rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), rng.integers(0, 10, 4, dtype=np.uint8)]


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@pytest.fixture
def spec(arrays, tmp_path):
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    files = tuple(IdxFile(name, hashlib.md5(_gz(idx_bytes(a))).hexdigest(), idx.sha256(idx_bytes(a)), a.shape)
                  for name, a in zip(names, arrays))
    return DatasetSpec("tiny", "Tiny", files, mirrors=(), torchvision_folder="TINY", classes=tuple("0123456789"),
                       keras_npz="mnist.npz", system_dirs=(str(tmp_path / "usr-share" / "tiny"),))


# damage name -> (is the file gzipped, damaged content from the good uncompressed IDX bytes, what the message says)
GZ, PIN = r"the gzip stream is damaged", r"SHA-256 .* does not match"
GZ_DAMAGE = {
    "gzip-corrupt-deflate": (True, lambda raw: _flip(_gz(raw), 20), GZ),
    "gzip-truncated": (True, lambda raw: _gz(raw)[:len(_gz(raw)) // 2], GZ),
    "gzip-header-only": (True, lambda raw: _gz(raw)[:10], GZ),
    "gzip-wrong-length-field": (True, lambda raw: _gz(raw)[:-4] + struct.pack("<I", len(raw) + 1), GZ),
    "gzip-wrong-crc": (True, lambda raw: _gz(raw)[:-8] + b"\0\0\0\0" + _gz(raw)[-4:], GZ),
}
DAMAGE = {
    **GZ_DAMAGE,
    "gzip-of-too-much": (True, lambda raw: _gz(raw + bytes(5_000_000)), r"more than the \d+ bytes expected once"),
    "gzip-of-too-little": (True, lambda raw: _gz(raw[:-10]), PIN),
    "plain-truncated": (False, lambda raw: raw[:-5], PIN),
    "plain-foreign": (False, lambda raw: b"<html>404 not found</html>", PIN),
}
LAYOUTS = {"cache": "tiny", "torchvision": "TINY/raw", "flat": ".", "system": "usr-share/tiny"}


def _write_folder(folder, spec, arrays, damage=None):
    """The four files in ``folder``, gzipped; with ``damage``, the test images' file is damaged that way."""
    folder.mkdir(parents=True, exist_ok=True)
    gz, make, _ = DAMAGE.get(damage, (True, _gz, None))
    for file, array in zip(spec.files, arrays):
        bad = file is spec.files[2]
        (folder / (file.name + (".gz" if gz or not bad else ""))).write_bytes((make if bad else _gz)(idx_bytes(array)))
    return folder / (spec.files[2].name + (".gz" if gz else ""))


@pytest.mark.parametrize("damage", list(GZ_DAMAGE))
def test_read_idx_of_a_damaged_gzip(tmp_path, damage):
    _, make, says = GZ_DAMAGE[damage]
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(make(idx_bytes(np.ones((3, 28, 28), np.uint8))))
    with pytest.raises(IdxError, match=says + r".*delete the file and fetch it again") as err:
        read_idx(path)
    _one_line_naming(err, str(path))


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_damaged_dataset_file_in_each_place(tmp_path, spec, arrays, layout, damage):
    bad = _write_folder(tmp_path / LAYOUTS[layout], spec, arrays, damage)
    before, start = bad.read_bytes(), time.perf_counter()
    with pytest.raises(DataError, match=DAMAGE[damage][2]) as err:
        mnist.load_dataset(spec, tmp_path / "data" if layout == "system" else tmp_path, download=False)
    assert time.perf_counter() - start < 2.0
    message = _one_line_naming(err, str(bad))
    assert (f"dpkg -S {tmp_path / 'usr-share' / 'tiny'}" if layout == "system" else "rnnlab data fetch tiny") in message
    assert bad.read_bytes() == before   # nothing on disk is touched


def test_a_damaged_system_copy_is_left_alone_and_ours_fetched(tmp_path, spec, arrays, monkeypatch, capsys):
    bad = _write_folder(tmp_path / "usr-share" / "tiny", spec, arrays, "gzip-corrupt-deflate")
    before = bad.read_bytes()
    good = [_gz(idx_bytes(a)) for a in arrays]
    monkeypatch.setattr(mnist, "from_mirror", lambda spec, mirror, progress: (good, None))
    dataset = mnist.fetch(replace(spec, mirrors=("local mirror",)), tmp_path / "data")
    assert dataset.source == str(tmp_path / "data" / "tiny") and np.array_equal(dataset.test_images, arrays[2])
    assert f"skipped: {bad}: the gzip stream is damaged" in capsys.readouterr().err
    assert bad.read_bytes() == before
    assert mnist.load_dataset(spec, tmp_path / "data", download=False).source == dataset.source   # ours is read first


def _npz(arrays, **changes) -> bytes:
    buffer, keys = io.BytesIO(), {**dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)), **changes}
    np.savez(buffer, **{k: v for k, v in keys.items() if v is not None})
    return buffer.getvalue()


# name -> (content from the four arrays, what the message says)
NPZ_DAMAGE = {
    "empty": (lambda a: b"", r"not a readable Keras mnist.npz"),
    "truncated": (lambda a: _npz(a)[:len(_npz(a)) // 2], r"not a readable Keras mnist.npz"),
    "damaged-member": (lambda a: _flip(_npz(a), 200), r"not a readable Keras mnist.npz .*CRC"),
    "text": (lambda a: b"x_train,y_train\n1,2\n", r"not a readable Keras mnist.npz"),
    "pickled-objects": (lambda a: _npz(a, x_train=np.array([{}], dtype=object)), r"pickled Python objects"),
    "missing-array": (lambda a: _npz(a, y_test=None), r"not a readable Keras mnist.npz .*y_test"),
    "structured-array": (lambda a: _npz(a, y_train=np.zeros(3, "i4,f8")), r"not a readable Keras mnist.npz"),
    "other-values": (lambda a: _npz(a, y_test=a[3] ^ 1), r"mnist.npz\[y_test\]: SHA-256 .* does not match"),
}


@pytest.mark.parametrize("damage", list(NPZ_DAMAGE))
def test_damaged_keras_npz(tmp_path, spec, arrays, damage):
    make, says = NPZ_DAMAGE[damage]
    (tmp_path / "mnist.npz").write_bytes(make(arrays))
    with pytest.raises(DataError, match=says) as err:
        mnist.load_dataset(spec, tmp_path, download=False)
    message = _one_line_naming(err, str(tmp_path / "mnist.npz"))
    assert "rnnlab data fetch tiny" in message and "allow_pickle" not in message


@pytest.mark.parametrize("damage", ["gzip-corrupt-deflate", "gzip-truncated", "gzip-of-too-much"])
def test_cli_data_fetch_of_a_damaged_cache_is_one_line(tmp_path, spec, arrays, monkeypatch, capsys, damage):
    monkeypatch.setitem(mnist.DATASETS, "mnist", spec)
    bad = _write_folder(tmp_path / "tiny", spec, arrays, damage)
    assert main(["data", "fetch", "mnist", "--data-dir", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad) in err and "rnnlab data fetch tiny" in err and "Traceback" not in err


def _denied(*args, **kwargs):
    raise PermissionError(13, "Permission denied")


@pytest.mark.parametrize("what", ["picture", "folder", "dataset-file"])
def test_permission_denied(tmp_path, spec, arrays, monkeypatch, what):
    """chmod 000 where that keeps the reader out; as root (CI), who reads anyway, the same error simulated."""
    folder = tmp_path / ("tiny" if what == "dataset-file" else "pics")
    if what == "dataset-file":
        _write_folder(folder, spec, arrays)
        target, says = folder / f"{spec.files[0].name}.gz", r"cannot be read \(Permission denied\).*data fetch tiny"
    else:
        folder.mkdir()
        Image.fromarray(SEVEN).save(folder / "a.png")
        target, says = ((folder, r"pics: cannot list this folder \(Permission denied\); check its permissions")
                        if what == "folder" else (folder / "a.png", r"a.png: cannot be read \(permission denied\)"))
    if ROOT:
        where = {"dataset-file": (type(folder), "read_bytes"), "folder": (type(folder), "iterdir"),
                 "picture": (Image, "open")}[what]
        monkeypatch.setattr(*where, _denied)
    target.chmod(0)
    try:
        with pytest.raises((DataError, ImageError), match=says) as err:
            mnist.load_dataset(spec, tmp_path, download=False) if what == "dataset-file" else load_digit_images(folder)
    finally:
        target.chmod(0o700)
    _one_line_naming(err, str(target))
