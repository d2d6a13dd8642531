"""Custom digit images, sequence views and splits, and the task registry."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from rnnlab import tasks
from rnnlab.cli import main
from rnnlab.data.images import ImageError, load_digit_images, prepare_digit
from rnnlab.data.mnist import ImageDataset
from rnnlab.data.views import make_splits, pixel_permutation, to_sequences


def _digit_picture(size=(90, 140), ink=20, paper=235, mode="L"):
    """A hand-drawn-looking '7': dark strokes on light paper, off centre."""
    image = Image.new(mode, size, paper if mode == "L" else (paper, paper, paper))
    draw = ImageDraw.Draw(image)
    colour = ink if mode == "L" else (ink, ink, ink)
    draw.line([(15, 20), (75, 20)], fill=colour, width=9)
    draw.line([(75, 20), (35, 120)], fill=colour, width=9)
    return image


def _box_and_centre(digit):
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    r, c = np.indices(digit.shape)
    mass = digit.sum()
    return (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1), ((r * digit).sum() / mass, (c * digit).sum() / mass)


def test_prepared_digit_looks_like_mnist():
    digit = prepare_digit(_digit_picture())
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() == 0.0 and digit.max() == pytest.approx(1.0, abs=0.02)
    (height, width), (cy, cx) = _box_and_centre(digit > 0.02)
    assert max(height, width) in (20, 21)                    # fits the 20 x 20 box (plus resampling fringe)
    assert height > width                                     # the aspect ratio is kept
    assert abs(cy - 14) < 1.0 and abs(cx - 14) < 1.0          # centred by centre of mass
    assert np.median(digit) == 0 and digit[:2].max() == 0     # black background


def test_light_and_dark_backgrounds_give_the_same_digit():
    dark_on_light = prepare_digit(_digit_picture(ink=20, paper=235))
    light_on_dark = prepare_digit(_digit_picture(ink=235, paper=20))
    assert np.abs(dark_on_light - light_on_dark).max() < 1e-5


def test_colour_and_transparent_pictures(tmp_path):
    reference = prepare_digit(_digit_picture())
    colour = prepare_digit(_digit_picture(mode="RGB"))
    assert np.abs(colour - reference).max() < 0.02
    alpha = _digit_picture(ink=255, paper=0)                   # black ink on a transparent sheet
    rgba = Image.merge("RGBA", (Image.new("L", alpha.size, 0),) * 3 + (alpha,))
    transparent = prepare_digit(rgba)
    assert np.corrcoef(transparent.ravel(), reference.ravel())[0, 1] > 0.95


def test_an_mnist_digit_survives_the_round_trip():
    """A digit already prepared, inverted and enlarged, comes back almost unchanged."""
    digit = prepare_digit(_digit_picture())
    enlarged = Image.fromarray((255 - digit * 255).astype(np.uint8)).resize((112, 112), Image.Resampling.BICUBIC)
    again = prepare_digit(enlarged)
    assert np.corrcoef(again.ravel(), digit.ravel())[0, 1] > 0.95


def test_folder_of_files_in_every_format(tmp_path):
    for name, fmt in (("b.png", "PNG"), ("a.jpg", "JPEG"), ("c.bmp", "BMP")):
        _digit_picture().convert("RGB").save(tmp_path / name, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    (tmp_path / "notes.txt").write_text("not an image")
    images, names = load_digit_images(tmp_path)
    assert names == ["a.jpg", "b.png", "c.bmp"] and images.shape == (3, 28, 28)
    assert np.corrcoef(images[0].ravel(), images[1].ravel())[0, 1] > 0.99   # JPEG artefacts only
    single, single_names = load_digit_images(tmp_path / "b.png")
    assert single_names == ["b.png"] and np.array_equal(single[0], images[1])


def test_bad_images_are_named(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(ImageError, match=r"broken.png: cannot be decoded as an image"):
        load_digit_images(tmp_path / "broken.png")
    Image.new("L", (40, 40), 200).save(tmp_path / "blank.png")
    with pytest.raises(ImageError, match=r"blank.png: no digit found"):
        load_digit_images(tmp_path / "blank.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match=r"empty: no image files in this folder"):
        load_digit_images(tmp_path / "empty")
    with pytest.raises(ImageError, match=r"missing.png: no such file"):
        load_digit_images(tmp_path / "missing.png")


# ---------------------------------------------------------------------------------------------
# Views and splits


@pytest.fixture
def tiny_dataset():
    rng = np.random.default_rng(0)
    return ImageDataset("tiny", rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
                        (np.arange(60) % 10).astype(np.uint8), rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
                        (np.arange(20) % 10).astype(np.uint8), tuple("0123456789"), "memory")


def test_views(tiny_dataset):
    images = tiny_dataset.train_images[:3]
    rows = to_sequences(images, "rows")
    pixels = to_sequences(images, "pixels")
    assert rows.shape == (3, 28, 28) and np.array_equal(rows[1, 5], images[1, 5])
    assert pixels.shape == (3, 784, 1) and pixels[2, 28 * 4 + 7, 0] == images[2, 4, 7]
    perm = pixel_permutation(3)
    permuted = to_sequences(images, "permuted", perm)
    assert permuted.shape == (3, 784, 1)
    assert np.array_equal(permuted[:, :, 0], images.reshape(3, 784)[:, perm])
    assert np.array_equal(perm, pixel_permutation(3)) and not np.array_equal(perm, pixel_permutation(4))
    with pytest.raises(ValueError, match="needs a permutation"):
        to_sequences(images, "permuted")
    with pytest.raises(ValueError, match="view: 'columns' is not one of rows, pixels, permuted"):
        to_sequences(images, "columns")


def test_scalings(tiny_dataset):
    unit = make_splits(tiny_dataset, scaling="unit")
    assert np.allclose(unit.train_x, tiny_dataset.train_images / 255.0)
    symmetric = make_splits(tiny_dataset, scaling="symmetric")
    assert np.allclose(symmetric.test_x, tiny_dataset.test_images / 127.5 - 1.0, atol=1e-6)
    standard = make_splits(tiny_dataset, scaling="standard")
    assert abs(standard.train_x.mean()) < 1e-5 and standard.train_x.std() == pytest.approx(1.0, abs=1e-4)
    assert standard.info["shift"] == pytest.approx((tiny_dataset.train_images / 255.0).mean())


def test_splits(tiny_dataset):
    official = make_splits(tiny_dataset, split="official", n_train=25, n_test=7)
    assert official.val_x is None and len(official.train_x) == 25 and len(official.test_x) == 7
    assert np.array_equal(official.train_y, tiny_dataset.train_labels[:25])   # the first N, in order
    val = make_splits(tiny_dataset, split="validation", n_val=10, seed=5)
    assert len(val.train_x) == 50 and len(val.val_x) == 10 and len(val.test_x) == 20
    together = np.concatenate([val.train_x, val.val_x]).reshape(60, -1)
    original = (tiny_dataset.train_images / 255.0).reshape(60, -1)
    def rows(images):
        return sorted(map(bytes, np.round(images * 255).astype(np.uint8)))
    assert rows(together) == rows(original)
    again = make_splits(tiny_dataset, split="validation", n_val=10, seed=5)
    other = make_splits(tiny_dataset, split="validation", n_val=10, seed=6)
    assert np.array_equal(val.val_y, again.val_y) and not np.array_equal(val.val_x, other.val_x)
    with pytest.raises(ValueError, match="n_train: 100 images asked for, the split has 60"):
        make_splits(tiny_dataset, split="official", n_train=100)


# ---------------------------------------------------------------------------------------------
# Tasks


def test_every_task_loads_with_consistent_sizes(tiny_dataset, monkeypatch):
    monkeypatch.setattr(tasks, "load_dataset", lambda name, data_dir=None, download=True: tiny_dataset)
    small = {"n_train": 12, "n_test": 8}
    for task in tasks.TASKS.values():
        if task.sizes_of is not None:      # the text tasks: sizes from their corpus (tests/test_text_tasks.py)
            continue
        extra = {"n_val": 10} if task.dataset else {"n_val": 6}
        data = task.load(seed=1, **small, **extra)
        assert data.info["task"] == task.name and data.info["seed"] == 1
        for split in (data.train, data.val, data.test, *data.extra_tests.values()):
            assert split.x.ndim == 3 and split.x.shape[2] == task.input_size and split.x.dtype == np.float32
            if task.loss == "cross_entropy":
                assert split.y.dtype == np.int64 and split.y.max() < task.output_size
                assert split.y.ndim == (1 if task.readout == "last" else 2)
            else:
                assert split.y.shape[-1] == task.output_size
                assert split.y.ndim == (2 if task.readout == "last" else 3)
            if split.mask is not None:
                assert split.mask.shape == split.x.shape[:2]
        assert len(data.train) == 12 and len(data.test) == 8
        assert task.baseline() > 0 and task.baseline_note


def test_task_options_and_errors():
    task = tasks.get_task("copy")
    assert task.baseline(delay=100) == pytest.approx(10 * np.log(8) / 120)
    assert task.load(seed=2, delay=5, n_train=3, n_val=2, n_test=2).train.x.shape == (3, 25, 10)
    with pytest.raises(ValueError, match=r"task copy: unknown option\(s\) length; it takes delay, n_train"):
        task.options(length=5)
    with pytest.raises(ValueError, match="unknown task 'mnist'; choose one of mnist-rows"):
        tasks.get_task("mnist")


def test_binary_add_has_a_test_set_per_length():
    data = tasks.get_task("binary-add").load(seed=0, n_train=10, n_val=5, n_test=4)
    assert list(data.extra_tests) == [f"bits={k}" for k in [*range(1, 21), 50, 100]]
    assert data.extra_tests["bits=100"].x.shape == (4, 101, 2)
    assert data.extra_tests["bits=20"].x.shape == (4, 21, 2)
    assert np.array_equal(data.test.x, data.extra_tests["bits=5"].x)


def test_permuted_task_records_its_permutation(tiny_dataset, monkeypatch):
    monkeypatch.setattr(tasks, "load_dataset", lambda name, data_dir=None, download=True: tiny_dataset)
    data = tasks.get_task("mnist-permuted").load(seed=0, permutation_seed=11, split="official")
    assert data.info["permutation"] == pixel_permutation(11).tolist()
    assert data.val is None and data.train.x.shape == (60, 784, 1)


def test_cli_data_list(tmp_path, capsys):
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in tasks.TASKS:
        assert f"\n{name} " in out
    assert "missing: run `rnnlab data fetch mnist`" in out
    assert "copy                 10  9    cross_entropy  accuracy       cross_entropy 0.297" in out
