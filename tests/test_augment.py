"""Augmentation of image batches: determinism per seed, each part's effect on a known image, exact resume."""
import json

import numpy as np
import pytest

from rnnlab import tasks
from rnnlab.config import TrainConfig
from rnnlab.data.augment import (
    PARTS,
    RECOMMENDED,
    Augmenter,
    Draws,
    augment_images,
    blur,
    elastic_field,
    lower_resolution,
    parse_augment,
    stroke,
    warp,
)
from rnnlab.data.normalise import slant
from rnnlab.train import train_run
from rnnlab.trainer import Trainer, TrainingInterrupted
from stroke_digits import stroke_dataset, stroke_drawer

ZERO = np.zeros(1)
ONE = np.ones(1)


def _bar(vertical=False, width=3, length=14):
    """A white bar (28 x 28, float in [0, 1]) through the centre: horizontal unless ``vertical``."""
    image = np.zeros((28, 28), np.float32)
    lo, hi = 14 - length // 2, 14 + length // 2
    band = slice(14 - width // 2, 14 - width // 2 + width)
    if vertical:
        image[lo:hi, band] = 1.0
    else:
        image[band, lo:hi] = 1.0
    return image


def _centre(image):
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


def _spread(image):
    """Standard deviation of the ink along rows and along columns."""
    rows, cols = np.indices(image.shape)
    r0, c0 = _centre(image)
    mass = image.sum()
    return np.sqrt(((rows - r0) ** 2 * image).sum() / mass), np.sqrt(((cols - c0) ** 2 * image).sum() / mass)


def test_parse_augment_names_parts_and_refuses_unknown_ones():
    assert parse_augment("") == () and parse_augment(None) == ()
    assert parse_augment("recommended") == RECOMMENDED
    assert parse_augment("stroke, rotate,rotate") == ("rotate", "stroke")     # the order of PARTS, once each
    assert parse_augment("recommended,noise") == (*RECOMMENDED[:], "noise")
    with pytest.raises(ValueError, match="'twist' is not one of recommended, rotate"):
        parse_augment("rotate,twist")
    with pytest.raises(ValueError, match="augment: expected part names"):
        TrainConfig.from_flat({"augment": 3})


def test_shift_moves_the_centre_of_mass_by_the_shift():
    image = _bar()
    moved = warp(image[None], ZERO, ONE, ZERO, np.array([[2.0, -3.0]]))[0]
    assert _centre(moved) - _centre(image) == pytest.approx([2.0, -3.0], abs=1e-6)
    assert moved.sum() == pytest.approx(image.sum(), rel=1e-6)


def test_rotation_by_90_degrees_turns_a_horizontal_bar_upright():
    image = _bar()
    turned = warp(image[None], np.array([90.0]), ONE, ZERO, np.zeros((1, 2)))[0]
    assert np.allclose(turned, np.rot90(image), atol=1e-5)     # counter-clockwise, about the image's centre
    assert _spread(turned) == pytest.approx(_spread(image)[::-1])
    small = warp(image[None], np.array([10.0]), ONE, ZERO, np.zeros((1, 2)))[0]
    assert slant(small.T) == pytest.approx(-np.tan(np.deg2rad(10.0)), abs=0.03)   # counter-clockwise on screen


def test_scale_stretches_the_ink_and_shear_slants_it():
    image = _bar(vertical=True, width=1, length=12)
    bigger = warp(image[None], ZERO, np.array([1.5]), ZERO, np.zeros((1, 2)))[0]
    assert _spread(bigger)[0] / _spread(image)[0] == pytest.approx(1.5, rel=0.05)
    slanted = warp(image[None], ZERO, ONE, np.array([0.3]), np.zeros((1, 2)))[0]
    assert slant(slanted) == pytest.approx(0.3, abs=0.02)      # column moves 0.3 pixels per row
    assert slant(image) == pytest.approx(0.0, abs=1e-9)


def test_elastic_field_is_smooth_and_zero_displacement_changes_nothing():
    image = _bar()
    still = warp(image[None], ZERO, ONE, ZERO, np.zeros((1, 2)), elastic_field(np.zeros((1, 2, 5, 5))))[0]
    assert np.allclose(still, image, atol=1e-6)
    coarse = np.random.default_rng(0).uniform(-1.5, 1.5, (1, 2, 5, 5))
    field = elastic_field(coarse)
    assert field.shape == (1, 2, 28, 28)
    assert np.abs(field).max() <= 1.5 + 1e-9                    # bilinear: no overshoot of the grid values
    assert np.abs(np.diff(field, axis=-1)).max() < 0.6          # smooth: neighbours move together
    assert field[0, :, 0, 0] == pytest.approx(coarse[0, :, 0, 0]) and field[0, :, -1, -1] == pytest.approx(
        coarse[0, :, -1, -1])


def test_stroke_thickens_towards_the_dilation_and_thins_towards_the_erosion():
    image = _bar(width=3)
    thick = stroke(image[None], np.array([1.0]))[0]
    assert np.array_equal(thick, _bar(width=5, length=16))      # one pixel more on every side
    thin = stroke(image[None], np.array([-1.0]))[0]
    assert np.array_equal(thin, _bar(width=1, length=12))
    half = stroke(image[None], np.array([0.5]))[0]
    assert np.allclose(half, (image + thick) / 2)


def test_lower_resolution_and_blur_spread_the_ink_and_keep_its_place():
    image = _bar(width=1)
    coarse = lower_resolution(image[None], np.array([2]))[0]
    assert coarse.max() < 1.0 and (coarse > 0).sum() > (image > 0).sum()
    assert _centre(coarse) == pytest.approx(_centre(image), abs=0.6)
    assert np.array_equal(lower_resolution(image[None], np.array([1]))[0], image)
    blurred = blur(image[None], np.array([1.0]))[0]
    assert blurred.sum() == pytest.approx(image.sum(), rel=1e-5) and blurred.max() < 0.5
    assert _centre(blurred) == pytest.approx(_centre(image), abs=1e-5)
    assert np.allclose(blur(image[None], np.array([0.0]))[0], image)


def test_noise_has_the_drawn_standard_deviation():
    draws = Draws.draw(np.random.default_rng(0), 1)
    grey = np.full((1, 28, 28), 0.5, np.float32)
    noisy = augment_images(grey, ("noise",), draws, np.random.default_rng(1))[0]
    assert (noisy - 0.5).std() == pytest.approx(draws.noise_std[0], rel=0.15)


def _info(view="rows", scaling=(0.5, 0.5)):
    return {"task": "mnist-rows", "view": view, "shift": scaling[0], "scale": scaling[1]}


def test_the_same_seed_and_step_give_the_same_batch_and_workers_share_one_draw():
    images = np.stack([_bar(), _bar(vertical=True)] * 4)
    x = (images - 0.5) / 0.5
    augment = Augmenter(parse_augment("recommended,noise"), _info(), seed=3)
    first, again = augment(x, 7, np.arange(8), 8), augment(x, 7, np.arange(8), 8)
    assert np.array_equal(first, again)
    assert not np.allclose(first, augment(x, 8, np.arange(8), 8))                       # another step
    assert not np.allclose(first, Augmenter(augment.parts, _info(), 4)(x, 7, np.arange(8), 8))   # another seed
    share = augment(x[1::2], 7, np.arange(8)[1::2], 8)     # worker 1 of 2 (noise: drawn for its share)
    geometric = Augmenter(parse_augment("recommended"), _info(), seed=3)
    assert np.allclose(geometric(x[1::2], 7, np.arange(8)[1::2], 8), geometric(x, 7, np.arange(8), 8)[1::2])
    assert share.shape == x[1::2].shape and first.min() >= -1.0 and first.max() <= 1.0


def test_pixel_views_are_augmented_as_images():
    images = np.stack([_bar(), _bar(vertical=True)])
    permutation = np.random.default_rng(0).permutation(784)
    rows = Augmenter(("rotate", "stroke"), _info(), 1)(images, 5, np.arange(2), 2)
    permuted = Augmenter(("rotate", "stroke"), {**_info("permuted"), "permutation": permutation.tolist()}, 1)(
        images.reshape(2, 784, 1)[:, permutation], 5, np.arange(2), 2)
    assert np.allclose(permuted[:, :, 0], rows.reshape(2, 784)[:, permutation], atol=1e-6)
    with pytest.raises(ValueError, match="not an image task"):
        Augmenter(("rotate",), {"task": "adding"}, 0)


@pytest.fixture
def strokes(monkeypatch):
    """An 'MNIST' of drawn strokes (class k: a line at angle k), loaded instead of the real files."""
    draw = stroke_drawer(0)
    dataset = stroke_dataset("strokes", 200, 160, draw)
    monkeypatch.setattr(tasks, "load_dataset", lambda *a, **k: dataset)


def test_an_augmented_run_resumes_exactly(tmp_path, strokes, monkeypatch):
    cfg = TrainConfig.from_flat({"task": "mnist-rows", "task_options": {"split": "official", "scaling": "symmetric"},
                                 "hidden_size": 8, "epochs": 2, "batch_size": 32, "lr": 0.01, "augment": "recommended",
                                 "engine": "numpy"})
    seen, real_augment = [], Augmenter.__call__

    def recorded(self, x, *args):
        seen.append(real_augment(self, x, *args))
        return seen[-1]
    monkeypatch.setattr(Augmenter, "__call__", recorded)
    whole = train_run(cfg, tmp_path / "whole", progress=False, echo=lambda line: None)
    assert len(seen) == 10 and not np.allclose(seen[0], seen[1][:len(seen[0])])   # every batch, each its own draw

    real, calls = Trainer._train_batch, {"n": 0}

    def stop_after_7(self, index, state):
        calls["n"] += 1
        if calls["n"] == 7:             # the second epoch's second batch (5 batches an epoch)
            self.stop.requested = True
        return real(self, index, state)
    monkeypatch.setattr(Trainer, "_train_batch", stop_after_7)
    with pytest.raises(TrainingInterrupted):
        train_run(cfg, tmp_path / "cut", progress=False, echo=lambda line: None)
    monkeypatch.setattr(Trainer, "_train_batch", real)
    monkeypatch.setattr(Augmenter, "__call__", real_augment)
    resumed = train_run(None, tmp_path / "cut", resume=True, progress=False, echo=lambda line: None)
    assert resumed.iteration_loss == whole.iteration_loss
    assert (tmp_path / "cut" / "metrics.csv").read_text().splitlines()[1:] != []
    cut = [line.split(",")[:7] for line in (tmp_path / "cut" / "metrics.csv").read_text().splitlines()]
    full = [line.split(",")[:7] for line in (tmp_path / "whole" / "metrics.csv").read_text().splitlines()]
    assert cut == full
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["config"]["data"]["augment"] == "recommended"


def test_every_part_runs_on_a_batch():
    images = np.stack([_bar(), _bar(vertical=True)])
    rng = np.random.default_rng(0)
    draws = Draws.draw(rng, 2)
    for part in PARTS:
        out = augment_images(images, (part,), draws, rng)
        assert out.shape == images.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0 and not np.array_equal(out, images), part
