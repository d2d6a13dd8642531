"""The count-based baseline of a character language model: an interpolated Kneser-Ney n-gram.

Chen & Goodman (1999), interpolated Kneser-Ney with one absolute discount per order.  For the
character c after the history h (its last n - 1 characters; h' is h without its first character)::

    highest order:  P(c | h) = (max(N(h c) - D_n, 0) + D_n T(h) P_lower(c | h')) / N(h)
    lower orders:   the same with continuation counts: N'(g) = how many distinct characters precede g
    lowest:         P_1(c) = (max(N'(c) - D_1, 0) + D_1 T / V) / N'       (T: distinct characters seen)

N(h) = sum_c N(h c), T(h) = the number of distinct characters seen after h, D_k = n1 / (n1 + 2 n2) with
n1, n2 the numbers of k-grams counted once and twice.  An unseen history (N(h) = 0) backs off to the
lower order entirely, so every character of the vocabulary keeps a probability above zero.

The counts are made from the training text only; :func:`fit_baseline` chooses the order (1 to 8) by
the validation text's cross-entropy, then reports the test text's.  Every position but each text's first
is scored, the characters a character model predicts (its targets are text[1:]); a position with fewer
than n - 1 characters before it in its text uses the orders its history allows.  The counts are
vectorised: a k-gram is the integer sum_j id_j V^(k-1-j) (orders above what fits 62 bits are skipped).

The same counts serve a word-level task: its symbols are words (:class:`~rnnlab.text.vocab.WordVocabulary`),
"character" above reads "word", and the bits per character are bits per word.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .vocab import Vocabulary, WordVocabulary

MAX_ORDER = 8
LN2 = math.log(2.0)


def _keys(ids: np.ndarray, k: int, V: int) -> np.ndarray:
    """keys[t] = the k-gram ids[t:t+k] as one integer (base V), for t = 0 .. len - k."""
    n = len(ids) - k + 1
    keys = np.zeros(max(n, 0), dtype=np.int64)
    for j in range(k):
        keys = keys * V + ids[j:j + n]
    return keys


def _discount(counts: np.ndarray) -> float:
    n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
    return float(n1 / (n1 + 2 * n2)) if n1 + n2 else 0.5


@dataclass(frozen=True)
class _Level:
    """The (continuation) counts of one order: sorted gram keys and counts, their contexts' totals and types."""
    grams: np.ndarray
    counts: np.ndarray
    contexts: np.ndarray
    totals: np.ndarray
    types: np.ndarray
    discount: float

    @classmethod
    def of(cls, grams: np.ndarray, counts: np.ndarray, V: int) -> _Level:
        contexts, where = np.unique(grams // V, return_inverse=True)
        totals = np.bincount(where, weights=counts).astype(np.float64)
        types = np.bincount(where).astype(np.float64)
        return cls(grams, counts.astype(np.float64), contexts, totals, types, _discount(counts))

    @staticmethod
    def _look(keys: np.ndarray, table: np.ndarray, values: np.ndarray) -> np.ndarray:
        if len(table) == 0:
            return np.zeros(len(keys))
        at = np.minimum(np.searchsorted(table, keys), len(table) - 1)
        return np.where(table[at] == keys, values[at], 0.0)

    def probability(self, keys: np.ndarray, lower: np.ndarray, V: int) -> np.ndarray:
        """P(c | h) of the grams ``keys`` (h c), from the lower order's ``lower`` P(c | h')."""
        count = self._look(keys, self.grams, self.counts)
        total = self._look(keys // V, self.contexts, self.totals)
        types = self._look(keys // V, self.contexts, self.types)
        D = self.discount
        safe = np.maximum(total, 1.0)
        return np.where(total > 0, (np.maximum(count - D, 0.0) + D * types * lower) / safe, lower)


class KneserNey:
    """An interpolated Kneser-Ney character model of order ``order`` fitted on ``ids`` (a text's character
    numbers) over a vocabulary of ``V`` characters."""

    def __init__(self, ids: np.ndarray, V: int, order: int) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        self.V, self.order = V, order
        levels = []
        for k in range(1, order + 1):
            if k == order:
                grams, counts = np.unique(_keys(ids, k, V), return_counts=True)
            else:   # continuation counts: distinct (k+1)-grams, their first character dropped
                distinct = np.unique(_keys(ids, k + 1, V))
                grams, counts = np.unique(distinct % V ** k, return_counts=True)
            levels.append(_Level.of(grams, counts, V))
        self.levels = levels

    def log_probs(self, ids: np.ndarray) -> np.ndarray:
        """ln P(text[t] | text[:t]) for t = 1 .. len - 1 (float64)."""
        ids = np.asarray(ids, dtype=np.int64)
        V, n = self.V, len(ids)
        unigram = self.levels[0]
        seen = np.sum(unigram.counts > 0)
        p = (np.maximum(unigram._look(ids[1:], unigram.grams, unigram.counts) - unigram.discount, 0.0)
             + unigram.discount * seen / V) / unigram.counts.sum()
        for k in range(2, self.order + 1):
            keys = _keys(ids, k, V)                   # grams ending at positions k-1 .. n-1
            higher = self.levels[k - 1].probability(keys, p[k - 2:], V)
            p = np.concatenate([p[:k - 2], higher])   # positions with a shorter history keep the lower order
        assert len(p) == n - 1
        return np.log(p)

    def bits_per_char(self, ids: np.ndarray) -> float:
        return float(-self.log_probs(ids).mean() / LN2)


def largest_order(V: int) -> int:
    """The highest order whose grams fit 62 bits as base-V integers (at most :data:`MAX_ORDER`)."""
    return max(1, min(MAX_ORDER, int(62 * LN2 / math.log(max(V, 2)))))


def fit_baseline(train: np.ndarray, val: np.ndarray, test: np.ndarray, V: int) -> dict:
    """The n-gram baseline: the order (1 ..) with the lowest validation cross-entropy, fitted on ``train``;
    its bits per character on validation and test, per order on validation too."""
    by_order = {}
    for order in range(1, largest_order(V) + 1):
        by_order[order] = KneserNey(train, V, order).bits_per_char(val)
        if order > 2 and by_order[order] > by_order[order - 1] > by_order[order - 2]:
            break   # it got worse twice: higher orders only overfit more
    best = min(by_order, key=by_order.get)
    model = KneserNey(train, V, best)
    return {"model": "interpolated Kneser-Ney", "order": best, "val_bpc": by_order[best],
            "test_bpc": model.bits_per_char(test), "val_bpc_by_order": by_order}


@functools.lru_cache(maxsize=8)
def cached_baseline(key: tuple, train: str, val: str, test: str, vocabulary: Vocabulary | WordVocabulary) -> dict:
    """:func:`fit_baseline` of three texts over ``vocabulary``'s symbols (characters, or words for a word-level
    task: then every "bpc" of the result is bits per word), kept by ``key`` (the corpus's identity)."""
    return fit_baseline(vocabulary.encode(train), vocabulary.encode(val), vocabulary.encode(test), vocabulary.size)
