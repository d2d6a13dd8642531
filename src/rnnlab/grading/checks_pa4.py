"""Programming Assignment 4's checks: the three MNIST models it asks for (``myRNN``, ``LSTM``, ``Bi_RNN``), the
custom-digit pre-processing (``load_custom_images``), the binary strings (``bin_generator``) and the LSTM that
adds them (``LSTM_Binary``).  The document gives no points; two per item, as Assignment 2 gives per TODO.

``load_custom_images`` reads a folder the grader fills with ten pictures ``my0.png`` .. ``my9.png`` (dark digits
on light paper, 64 x 64, ``lend_models.digit_pictures``); each result must be the MNIST form of its picture:
28 x 28, values in [0, 1], white digit on black (correlation 0.9 or more with the grader's own grey, resize,
invert).  ``bin_generator(L)``: the two numbers and their sum, least significant bit first, L + 1 steps (the
sum can have one more bit than the numbers; the numbers are padded with a 0).
"""
from __future__ import annotations

import numpy as np
import torch

from .checks import Check, Fail, call, need
from .checks_models import forward_check, init_check, inputs
from .lend_models import digit_pictures

BITS = 5


def _mnist_form(picture) -> np.ndarray:
    from PIL import Image
    grey = np.asarray(picture.convert("L").resize((28, 28), Image.Resampling.BILINEAR), np.float64) / 255.0
    return 1.0 - grey


def check_custom_images(namespace) -> str:
    fn = need(namespace, "load_custom_images", "function")
    folder = call("preparing the pictures", namespace.session.request("lent", "models.custom_folder"))
    images = call("load_custom_images(folder)", fn, folder)
    if images is None:
        raise Fail("load_custom_images returned None: is the TODO written yet?")
    array = images.detach().double().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    if array.shape not in ((10, 1, 28, 28), (10, 28, 28)):
        raise Fail(f"load_custom_images returned shape {array.shape}; expected (10, 1, 28, 28) or (10, 28, 28): "
                   f"my0.png .. my9.png, each resized to MNIST's 28 x 28")
    array = array.reshape(10, 28, 28)
    if not (array.min() >= -1e-6 and array.max() <= 1 + 1e-6):
        raise Fail(f"the values run from {array.min():.3g} to {array.max():.3g}; MNIST's are in [0, 1] (divide by 255)")
    wrong = []
    for digit, picture in enumerate(digit_pictures()):
        want = _mnist_form(picture)
        r = float(np.corrcoef(array[digit].ravel(), want.ravel())[0, 1])
        if r < -0.8:
            raise Fail("the pictures are not inverted: MNIST digits are white (1) on black (0); the photographed "
                       "ones are dark on light paper, so take 1 - x")
        if not r >= 0.9:
            wrong.append(f"my{digit}.png (correlation {r:.2f})")
    if wrong:
        raise Fail("these do not match their picture in MNIST's form (grey, 28 x 28, inverted, in order 0..9): "
                   + ", ".join(wrong))
    return "ten pictures my0..my9 -> 28 x 28, values in [0, 1], white digits on black, in order"


def _bits(column) -> int:
    return int(sum(int(round(float(b))) << i for i, b in enumerate(column)))


def _adds_up(X, y) -> bool:
    """Whether the steps, least significant bit first, hold two BITS-bit numbers and their sum."""
    a, b = _bits(X[:, 0]), _bits(X[:, 1])
    return _bits(y) == a + b and max(a, b) < 2 ** BITS


def check_bin_generator(namespace) -> str:
    fn = need(namespace, "bin_generator", "function")
    overflow = 0
    seen = set()
    for _ in range(40):
        out = call(f"bin_generator({BITS})", fn, BITS)
        if isinstance(out, tuple) and all(v is None for v in out):
            raise Fail("bin_generator returned (None, None): is the TODO written yet?")
        if not (isinstance(out, tuple) and len(out) == 2):
            raise Fail("bin_generator must return the pair (inputs, sum)")
        X, y = (np.asarray(v.detach().numpy() if isinstance(v, torch.Tensor) else v, float) for v in out)
        if X.ndim != 2 or X.shape[1] != 2 or y.shape != (X.shape[0],):
            raise Fail(f"bin_generator({BITS}) returned shapes {X.shape} and {y.shape}; expected (steps, 2) and "
                       f"(steps,)")
        if not (np.isin(X, (0, 1)).all() and np.isin(y, (0, 1)).all()):
            raise Fail("every entry must be a bit, 0 or 1")
        a, b, total = _bits(X[:, 0]), _bits(X[:, 1]), _bits(y)
        if not _adds_up(X, y) and _adds_up(X[::-1], y[::-1]):      # the steps read backwards are a right sum
            raise Fail("the bits run from the most significant: the network adds from the least significant "
                       "bit (the first step), as one adds by hand from the right; flip them")
        if total != a + b:
            if X.shape[0] < BITS + 1:
                raise Fail(f"{X.shape[0]} steps for {BITS}-bit numbers: the sum can have {BITS + 1} bits; pad the "
                           f"inputs with a 0 so that the carry has a step")
            raise Fail(f"the sum's bits say {total}, but the inputs are {a} and {b}")
        if max(a, b) >= 2 ** BITS:
            raise Fail(f"bin_generator({BITS}) made the number {max(a, b)}, which needs more than {BITS} bits")
        overflow += total >= 2 ** BITS
        seen.add((a, b))
    if len(seen) < 10:
        raise Fail("bin_generator returns (nearly) the same numbers every time: draw them at random")
    if not overflow:
        raise Fail(f"no sum in 40 needed its {BITS + 1}th bit: draw the numbers from all of 0 .. 2**{BITS} - 1")
    return f"random {BITS}-bit numbers and their sums, least significant bit first, with the carry's extra step"


def pa4_checks(items: tuple[tuple[str, float], ...]) -> list[Check]:
    mnist = inputs((4, 28, 28))
    scores = "(batch, 10) class scores"
    run = {
        "myRNN.__init__": (init_check("myRNN", [((), {"hidden_size": 32})]), 0),
        "myRNN.forward": (forward_check("myRNN", ((), {"hidden_size": 32}, mnist), returns=scores, mistakes={
            "forward reads the first row's state: the class comes from the final hidden state":
                lambda r, x: r.layer2(r.rnn(x.permute(1, 0, 2))[0][0])}), 1),
        "LSTM.__init__": (init_check("LSTM", [((), {"hidden_size": 32})]), 0),
        "LSTM.forward": (forward_check("LSTM", ((), {"hidden_size": 32}, mnist), returns=scores, mistakes={
            "forward reads out[0], the first row's output: the document reads the last, out[27]":
                lambda r, x: r.layer2(r.lstm(x.permute(1, 0, 2))[0][0])}), 1),
        "Bi_RNN.__init__": (init_check("Bi_RNN", [((), {"hidden_size": 32})]), 0),
        "Bi_RNN.forward": (forward_check("Bi_RNN", ((), {"hidden_size": 32}, mnist), returns=scores, mistakes={
            "forward reads the last step's output, where the backward direction has read one row only; the "
            "document joins the two directions' final states, h_n[0] and h_n[1]":
                lambda r, x: r.layer2(r.rnn(x.permute(1, 0, 2))[0][-1])}), 1),
        "load_custom_images": (check_custom_images, 2),
        "bin_generator": (check_bin_generator, 0),
        "LSTM_Binary.__init__": (init_check("LSTM_Binary", [((5,), {})]), 0),
        "LSTM_Binary.forward": (forward_check("LSTM_Binary", ((5,), {}, inputs((1, 6, 2))),
                                              returns="(steps,) probabilities, one per bit", mistakes={
            "the sigmoid is missing: each bit's output must be a probability in (0, 1)":
                lambda r, x: r.layer2[0](r.lstm(x.permute(1, 0, 2))[0]).reshape(-1)}), 1),
    }
    return [Check(item, points, *run[item]) for item, points in items]
