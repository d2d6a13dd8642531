"""data/ sits at the bottom: it loads no configuration, task or model, and its modules do not import each other in a
circle (pixels <- normalise <- images; pixels <- augment)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from rnnlab.data import augment, images, normalise, pixels
from rnnlab.data.augment import check_augment


def test_importing_data_loads_nothing_above_it():
    code = ("import json, sys\n"
            "import rnnlab.data.augment, rnnlab.data.images, rnnlab.data.normalise, rnnlab.data.views\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('rnnlab'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    utilities = ("rnnlab", "rnnlab.files", "rnnlab.progress", "rnnlab.version")   # utilities, below data
    outside = [m for m in loaded if m not in utilities and not m.startswith("rnnlab.data")]
    assert outside == []
    assert "rnnlab.data.pixels" in loaded


def test_check_augment_refuses_a_task_without_images_by_its_name():
    with pytest.raises(ValueError, match="the task adding is not an image task.*drop --augment"):
        check_augment("rotate", "adding", images=False)
    assert check_augment("", "adding", images=False) == ()
    assert check_augment(None, "adding", images=False) == ()
    assert check_augment("stroke,rotate", "mnist-rows", images=True) == ("rotate", "stroke")
    with pytest.raises(ValueError, match="'tilt' is not one of"):
        check_augment("tilt", "mnist-rows", images=True)


def test_the_shared_geometry_is_one_set_of_functions():
    assert augment.warp is pixels.warp and augment.stroke is pixels.stroke
    assert images.fit_digit is pixels.fit_digit and normalise.fit_digit is pixels.fit_digit
    assert images.INK_THRESHOLD == pixels.INK_THRESHOLD


def test_fit_digit_fits_the_ink_into_20_pixels_centred_by_mass():
    ink = np.zeros((60, 30))
    ink[5:55, 10:14] = 255.0   # a tall bar, off centre
    field = pixels.fit_digit(ink)
    assert field.shape == (28, 28) and field.dtype == np.float32
    rows = np.flatnonzero(field.max(axis=1) > 0.1)
    assert rows[-1] - rows[0] + 1 == 20
    centre = [(np.indices(field.shape)[axis] * field).sum() / field.sum() for axis in (0, 1)]
    assert np.allclose(centre, 14.0, atol=0.6)
