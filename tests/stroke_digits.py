"""A stand-in for MNIST in tests: class k is a stroke drawn at angle k * 18 degrees, jittered a little."""
import numpy as np
from PIL import Image, ImageDraw

from rnnlab.data.mnist import ImageDataset


def stroke_drawer(seed: int = 0):
    """draw(k) -> a 28x28 uint8 image of class k (a line at angle pi k / 10, centre jittered)."""
    rng = np.random.default_rng(seed)

    def draw(k):
        image = Image.new("L", (28, 28), 0)
        angle = np.pi * k / 10
        cx, cy = 14 + rng.normal(0, 0.5), 14 + rng.normal(0, 0.5)
        dx, dy = 9 * np.cos(angle), 9 * np.sin(angle)
        ImageDraw.Draw(image).line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255, width=3)
        return np.asarray(image)
    return draw


def stroke_dataset(name: str, count: int, train: int, draw) -> ImageDataset:
    """``count`` stroke images (classes 0..9 in turn), the first ``train`` for training, the rest for testing."""
    labels = np.arange(count) % 10
    images = np.stack([draw(k) for k in labels]).astype(np.uint8)
    return ImageDataset(name, images[:train], labels[:train].astype(np.uint8), images[train:],
                        labels[train:].astype(np.uint8), tuple("0123456789"), "memory")
