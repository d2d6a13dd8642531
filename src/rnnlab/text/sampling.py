"""Writing text with a trained language model: a prime, then one symbol at a time (a character, or a word for
a word-level model: the prime is split into words, and the words written are joined by spaces).

    state = the model's state after reading the prime (from zeros)
    for each new symbol:
        z = the model's outputs (logits) for the last symbol read, in float64
        z_k = -inf for every symbol outside the top k (``top_k``)
        p = softmax(z / T)                                     (T: ``temperature``; T -> 0 is the arg-max)
        u = one draw of a NumPy Generator seeded by ``seed``;  next = the first k with cumsum(p)_k > u
        read ``next`` (one-hot), carrying the state

Lower temperatures write likelier, more repetitive text; 1 samples the model as it is; higher ones
write more surprising text.  Every engine gives the same text for the same weights and seed: the
probabilities are computed here in float64 from the engine's outputs and one Generator draws every
symbol by the inverse of the cumulative distribution, so the engines' float32 outputs would have
to differ across a boundary of that distribution (about 1e-7 wide) to pick another symbol.

Without a prime the model starts after the vocabulary's first symbol (a line end or a space in the
corpora of rnnlab, "." in HUMAN_NUMBERS' words; it is not part of the text returned).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..argcheck import check_int, fail_type, fail_value
from .vocab import Vocabulary, WordVocabulary

if TYPE_CHECKING:
    from ..engines.protocol import Trainable

MAX_LENGTH = 1_000_000


def probabilities(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """p = softmax(z / T) over the ``top_k`` largest logits z (all when None), in float64."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    if top_k is not None and top_k < len(z):
        keep = np.argsort(-z, kind="stable")[:top_k]
        masked = np.full_like(z, -np.inf)
        masked[keep] = z[keep]
        z = masked
    e = np.exp(z - z.max())
    return e / e.sum()


def check_sampling(temperature: object, length: object, top_k: object, seed: object, size: int) -> None:
    """The sampling settings, each refused with what was expected (``size``: the vocabulary's)."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise fail_type("temperature", temperature, "a number > 0 such as 0.8")
    if not (math.isfinite(temperature) and temperature > 0):
        raise fail_value("temperature", temperature, "a number > 0 such as 0.8",
                         "lower temperatures write likelier text, 1 samples the model as it is")
    check_int("length", length, 1, MAX_LENGTH)
    if top_k is not None:
        check_int("top_k", top_k, 1, size)
    check_int("seed", seed, 0)


def generate(model: Trainable, vocabulary: Vocabulary | WordVocabulary, prime: str = "", length: int = 200,
             temperature: float = 1.0, top_k: int | None = None, seed: int = 0, replace: str | None = None) -> str:
    """``prime`` followed by ``length`` symbols (characters or words) the model writes (see the module docstring).

    A symbol of the prime outside the vocabulary is refused, or taken as ``replace`` when given (the text
    returned starts with the prime as the model read it: for words, the prime's words joined by spaces)."""
    check_sampling(temperature, length, top_k, seed, vocabulary.size)
    if not isinstance(prime, str):
        raise fail_type("prime", prime, "a text (str)")
    start = vocabulary.encode(prime, replace, what="prime")
    primed = len(start) > 0             # (a prime of white space holds no word)
    start = start if primed else np.zeros(1, np.int64)
    rng = np.random.default_rng(seed)
    outputs, state = model.predict(vocabulary.one_hot(start)[None], state={})
    written = []
    while True:
        p = probabilities(outputs[0, -1], temperature, top_k)
        k = min(int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right")), len(p) - 1)
        while p[k] == 0.0:              # a draw at the very top lands on the last symbol that can be drawn
            k -= 1
        written.append(k)
        if len(written) == length:
            return vocabulary.decode(np.concatenate([start, written]) if primed else written)
        outputs, state = model.predict(vocabulary.one_hot(np.array([k]))[None], state=state)
