"""The corpora of the text tasks: the embedded default, a text file of your own, and HUMAN_NUMBERS.

- ``devils-dictionary`` (the default): Ambrose Bierce, *The Devil's Dictionary* (1911), public domain —
  383,157 characters in 85 distinct ones, shipped inside the package (``texts/devils-dictionary.txt``; its
  source and licence in ``texts/README.md``).  ``devils-dictionary-small``: its first 40,000 characters
  (for tests and quick tries).  Split in order: the first 90 % trains, the next 5 % validates, the last
  5 % tests (the entries are alphabetical, so the test part is the end of the alphabet).
- a UTF-8 text file of yours (``--opt path=FILE``): read, checked (not empty, UTF-8, not binary, at most
  :data:`MAX_FILE_BYTES`), its line ends made ``\\n``, a leading byte-order mark dropped; split 90/5/5 as above.
- ``human-numbers``: fastbook's HUMAN_NUMBERS (*Deep Learning for Coders*, chapter 12), made here in code —
  the numbers 1 to 9,999 in English words without "and" or hyphens, joined by " . "::

      one . two . three . ... . twenty one . ... . nine thousand nine hundred ninety nine

  fastbook prints 9,998 lines and 63,095 tokens for its files: one number of two words is not in them.  We
  leave out 8,000 (where its train.txt would end and valid.txt begin: our guess, which gives the same counts).

  split as fastbook splits it: the token stream cut into sequences of 16 tokens, the first 80 % of the
  sequences train and the rest validate (``cut = int(len(seqs) * 0.8)``): the training text is the first
  16 * cut tokens, the validation text the tokens after them.  fastbook has no test set; here the test
  split is the validation text again, so the test numbers *are* validation numbers.  fastbook reads the
  validation text in 64 rows (its batch size), each row from a zero state, the state carried along it; the
  word-level task evaluates so too (:data:`FASTBOOK_ROWS`), whatever the training batch size.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..filecheck import read_regular
from .vocab import Vocabulary, WordVocabulary, describe

DEFAULT_CORPUS = "devils-dictionary"
EMBEDDED = {"devils-dictionary": ("devils-dictionary.txt", None),
            "devils-dictionary-small": ("devils-dictionary.txt", 40_000)}
SOURCES = {"devils-dictionary": "Ambrose Bierce, The Devil's Dictionary (1911), public domain; from Debian's "
                                "dict-devil package (the Internet Wiretap edition of 1993)"}
MAX_FILE_BYTES = 64 * 2 ** 20          # a text file of yours: 64 MiB (one-hot training reads every character)
SPLIT = (0.9, 0.05, 0.05)              # train, validation, test: in order, not shuffled
HUMAN_NUMBERS_LAST = 9999
HUMAN_NUMBERS_MISSING = 8000           # see the module docstring
FASTBOOK_SEQUENCE = 16                 # fastbook's sl: the token sequences its 80 % cut counts
FASTBOOK_ROWS = 64                     # fastbook's bs: it validates reading the text in 64 rows, state carried


@dataclass(frozen=True)
class Corpus:
    """A text cut into its training, validation and test parts, and where it came from."""
    name: str
    train: str
    val: str
    test: str
    source: str
    left_out: str = ""     # the training text that ``n_train`` left out: still in the vocabulary, never read

    @property
    def vocabulary(self) -> Vocabulary:
        """The characters of the whole corpus, all three parts (so that every character of it has a number)."""
        return Vocabulary.of((self.train, self.val, self.test, self.left_out))

    @property
    def word_vocabulary(self) -> WordVocabulary:
        """The whitespace-separated words of the whole corpus (a word-level model's vocabulary)."""
        return WordVocabulary.of((self.train, self.val, self.test, self.left_out))

    def __len__(self) -> int:
        return len(self.train) + len(self.val) + len(self.test)


def first_training_characters(corpus: Corpus, n_train: int | None) -> Corpus:
    """``corpus`` training on the first ``n_train`` characters of its training part only (``--opt n_train=N``:
    a learning curve over the amount of text); validation, test and the vocabulary stay the whole corpus's."""
    if n_train is None:
        return corpus
    if not 1 <= n_train <= len(corpus.train):
        raise ValueError(f"n_train: {n_train} characters of training text asked for, {corpus.name}'s training part "
                         f"has {len(corpus.train)}; use 1..{len(corpus.train)}")
    return dataclasses.replace(corpus, train=corpus.train[:n_train], left_out=corpus.train[n_train:])


def split_text(text: str, fractions: tuple[float, float, float] = SPLIT) -> tuple[str, str, str]:
    """``text`` cut in order into three parts of the given shares (train, validation, test)."""
    n = len(text)
    first = int(round(n * fractions[0]))
    second = first + int(round(n * fractions[1]))
    return text[:first], text[first:second], text[second:]


# ------------------------------------------------------------------------------------------------ the default
def embedded_text(name: str = DEFAULT_CORPUS) -> str:
    """The text of an embedded corpus (the package's own file; no network)."""
    if name not in EMBEDDED:
        raise ValueError(f"corpus: unknown value {name!r}; the embedded corpora are {', '.join(EMBEDDED)} "
                         f"(or give a file of yours: --opt path=FILE)")
    file, limit = EMBEDDED[name]
    text = resources.files("rnnlab.text").joinpath("texts", file).read_text(encoding="utf-8")
    return text if limit is None else text[:limit]


# ------------------------------------------------------------------------------------------------ your file
def _refuse(path: Path, why: str) -> ValueError:
    return ValueError(f"path: {path}: {why}")


def read_text_file(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a UTF-8 file of yours, checked: a regular file, not empty, at most ``limit`` bytes,
    UTF-8, not binary.  Line ends become ``\\n`` and a leading byte-order mark is dropped.  Each refusal
    is a ValueError of one line naming the file, what is wrong and what to do."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _refuse(path, "no such file; give the path of a UTF-8 text file") from None
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror}); give the path of a UTF-8 text file") from None
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "is not a regular file (a folder, a pipe or a device); give a UTF-8 text file")
    if info.st_size == 0:
        raise _refuse(path, "is empty; give a text file with something in it")
    if info.st_size > limit:
        raise _refuse(path, f"{info.st_size:,} bytes, more than the {limit:,} a corpus may have; use a part of "
                            f"it (head -c {limit} FILE > part.txt)")
    data = read_regular(path, limit, "text file")
    nul = data.find(bytes(1))
    if nul >= 0:
        raise _refuse(path, f"looks binary (a NUL byte at offset {nul}); give a UTF-8 text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(path, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); convert it "
                            f"(iconv -f LATIN1 -t UTF-8 FILE > utf8.txt) or give another file") from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    control = [c for c in set(text) if ord(c) < 32 and c not in "\n\t\f"]
    if control:
        raise _refuse(path, f"looks binary (it holds the control character {describe(min(control))}); give a "
                            f"UTF-8 text file")
    if not text.strip():
        raise _refuse(path, "holds only white space; give a text file with something in it")
    return text


# ------------------------------------------------------------------------------------------------ HUMAN_NUMBERS
_ONES = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(n: int) -> str:
    """``n`` (1 to 9,999) in English words as HUMAN_NUMBERS writes it: 1101 -> 'one thousand one hundred one'."""
    if not 1 <= n <= 9999:
        raise ValueError(f"number_words: expected a whole number from 1 to 9999, got {n!r}")
    words = []
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    if thousands:
        words += [_ONES[thousands], "thousand"]
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        words += [_TENS[rest // 10]] + ([_ONES[rest % 10]] if rest % 10 else [])
    elif rest:
        words.append(_ONES[rest])
    return " ".join(words)


@functools.lru_cache(maxsize=4)
def human_numbers(last: int = HUMAN_NUMBERS_LAST) -> Corpus:
    """fastbook's HUMAN_NUMBERS (1 to ``last`` in words, joined by " . ") with fastbook's split (see the module
    docstring); the test part is the validation part.  ``last`` below 9,999 (``--opt numbers=N``) makes a
    smaller version for quick tries."""
    if isinstance(last, bool) or not isinstance(last, int) or not 20 <= last <= HUMAN_NUMBERS_LAST:
        raise ValueError(f"numbers: expected a whole number from 20 to {HUMAN_NUMBERS_LAST}, got {last!r}")
    numbers = (n for n in range(1, last + 1) if n != HUMAN_NUMBERS_MISSING)
    tokens = " . ".join(number_words(n) for n in numbers).split(" ")
    sequences = len(range(0, len(tokens) - FASTBOOK_SEQUENCE - 1, FASTBOOK_SEQUENCE))
    cut = int(sequences * 0.8) * FASTBOOK_SEQUENCE
    train, val = " ".join(tokens[:cut]) + " ", " ".join(tokens[cut:])
    return Corpus("human-numbers", train, val, val,
                  f"fastbook's HUMAN_NUMBERS, made in code: 1 to {last} in words; the first {cut:,} of "
                  f"{len(tokens):,} tokens train (fastbook's 80 % of 16-token sequences), the rest validate and test")


# ------------------------------------------------------------------------------------------------ one entry point
@functools.lru_cache(maxsize=8)
def _cached(corpus: str, path: str | None, stamp: tuple[int, int] | None) -> Corpus:
    if path is not None:
        return Corpus(path, *split_text(read_text_file(path)), f"the file {path}")
    if corpus == "human-numbers":
        return human_numbers()
    return Corpus(corpus, *split_text(embedded_text(corpus)), SOURCES[DEFAULT_CORPUS])


def load_corpus(corpus: str = DEFAULT_CORPUS, path: str | os.PathLike | None = None,
                n_train: int | None = None) -> Corpus:
    """A corpus by name (an embedded one, or ``human-numbers``), or the text file at ``path`` (then the name is
    not used), training on its first ``n_train`` characters where given (:func:`first_training_characters`).
    Read once and kept (a file is read again when its size or time of change differ)."""
    if path is None:
        if corpus != "human-numbers" and corpus not in EMBEDDED:
            embedded_text(corpus)   # the refusal that names the choices
        return first_training_characters(_cached(corpus, None, None), n_train)
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ValueError(f"path: expected the path of a UTF-8 text file, got {path!r}")
    try:
        info = os.stat(path)
        stamp = (info.st_size, info.st_mtime_ns)
    except OSError:
        stamp = None   # read_text_file says what is wrong
    return first_training_characters(_cached(corpus, str(Path(path)), stamp), n_train)


# ------------------------------------------------------------------------------------------------ as arrays
ROW = 100                              # steps per row of a split's arrays (the stream reads them as one)


def next_character_arrays(text: str, vocabulary: Vocabulary | WordVocabulary, row: int = ROW
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A text as a model reads it, one symbol (a character, or a word with a :class:`WordVocabulary`) per step:
    with s = vocabulary.encode(text), x = one-hot of s[:-1], y = s[1:] (the next symbol at every step), laid out
    as (S, row) steps that a contiguous stream reads as one sequence of len(s) - 1 steps; the last row is padded,
    and ``mask`` (S, row) marks the real steps (None when nothing is padded)::

        x: (S, row, V) float32      y: (S, row) int64      mask: (S, row) bool
    """
    ids = vocabulary.encode(text)
    if len(ids) < 2:
        raise ValueError(f"text: {len(ids)} {vocabulary.unit}(s); a language model needs at least two (one to read, "
                         f"one to predict)")
    n = len(ids) - 1
    rows = -(-n // row)
    pad = rows * row - n
    inputs = np.concatenate([ids[:-1], np.zeros(pad, np.int64)])
    targets = np.concatenate([ids[1:], np.zeros(pad, np.int64)])
    mask = None if not pad else (np.arange(rows * row) < n).reshape(rows, row)
    return vocabulary.one_hot(inputs).reshape(rows, row, vocabulary.size), targets.reshape(rows, row), mask
