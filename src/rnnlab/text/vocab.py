"""The vocabulary of a language model: which symbols it knows (characters, or words), and their numbers.

    symbols     s_0 < s_1 < ... < s_{V-1}     the distinct symbols of the corpus, sorted (characters by code
                                              point; words as Python sorts strings)
    split       text -> symbols               characters: list(text);  words: text.split() (runs of white space
                                              separate words)
    encode      text -> [i(s) for s in split(text)]      (int64)
    one_hot     ids (...,) -> x (..., V),  x[..., k] = 1 if id == k else 0     (the network's input at each step)
    decode      ids -> join(s_i for i in ids)  characters joined by "", words by " "

Two kinds with one interface: :class:`Vocabulary` (characters: a character-level model) and
:class:`WordVocabulary` (whitespace-separated words: a word-level model, fastbook's HUMAN_NUMBERS as it
scores it).  The vocabulary is made from the whole corpus (train, validation and test parts), so every
symbol of the corpus has a number; a symbol it does not know (in a prime given to ``rnnlab generate``, or
in another file) is refused with a message naming it and its position, unless the caller chooses a
``replace`` symbol (one the vocabulary knows) to stand for every unknown one.  A run keeps its vocabulary
as ``vocabulary.json`` (``to_json``; :func:`vocabulary_from_json` reads either kind)::

    {"kind": "characters", "characters": "\\n !\\"'(),-.:;?ABC...xyz", "size": 85}
    {"kind": "words", "words": [".", "eight", "eighteen", ...], "size": 31}

A task's data records it in ``info["vocabulary"]`` as :attr:`recorded` (the characters as one string, or
the list of words); :func:`vocabulary_of` reads that back.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_CHARACTERS = 1000        # a one-hot input of more characters than this is not a character model's
MAX_WORDS = 20_000           # nor one of more words than this a word model's that reads them one-hot


def describe(char: str) -> str:
    """A character as a message shows it: ``'é' (U+00E9)``, ``'\\n' (U+000A)``."""
    return f"{char!r} (U+{ord(char):04X})"


class _Numbered:
    """What both kinds share, over ``symbols`` (sorted, distinct) and the ``_index`` symbol -> number."""
    symbols: Sequence[str]
    separator: str
    unit: str                 # "character" or "word": what one step of the model reads
    bits: str                 # how the cross-entropy in bits per step prints: "bpc", "bits per word"
    sample_length: int        # symbols written after each epoch of a run (about 160 characters)

    @property
    def size(self) -> int:
        """V, the number of symbols (the model's input and output size)."""
        return len(self.symbols)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._index

    def _describe(self, symbol: str) -> str:
        return repr(symbol)

    def index(self, symbol: str) -> int:
        if symbol not in self._index:
            raise ValueError(f"{self.unit} {self._describe(symbol)} is not in the vocabulary of {self.size} "
                             f"{self.unit}s")
        return self._index[symbol]

    def split(self, text: str) -> list[str]:
        """The symbols of ``text`` in order."""
        return list(text)

    def count(self, text: str) -> int:
        """How many symbols (steps) ``text`` holds."""
        return len(self.split(text))

    def encode(self, text: str, replace: str | None = None, what: str = "text") -> np.ndarray:
        """The numbers of ``text``'s symbols, (steps,) int64.

        A symbol outside the vocabulary is refused (ValueError naming it, its position and what to do),
        or, with ``replace`` (a symbol the vocabulary knows), taken as that symbol."""
        if not isinstance(text, str):
            raise TypeError(f"{what}: expected a text (str), got {type(text).__name__}")
        if replace is not None and (not isinstance(replace, str) or replace not in self):
            raise ValueError(f"replace: expected one {self.unit} of the vocabulary to stand for unknown ones, got "
                             f"{replace!r}; the vocabulary has {self.shown()}")
        index, fallback = self._index, None if replace is None else self._index[replace]
        symbols = self.split(text)
        ids = np.empty(len(symbols), dtype=np.int64)
        for position, symbol in enumerate(symbols):
            found = index.get(symbol, fallback)
            if found is None:
                raise ValueError(f"{what}: the {self.unit} {self._describe(symbol)} at position {position} is not "
                                 f"in the vocabulary of {self.size} {self.unit}s; remove it, or give a replacement "
                                 f"{self.unit} the vocabulary has ({self._replace_example()})")
            ids[position] = found
        return ids

    def _replace_example(self) -> str:
        return "--replace ' ' on the command line, replace=' ' in Python"

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """The text of a sequence of numbers: its symbols joined by :attr:`separator`."""
        symbols = self.symbols
        return self.separator.join(symbols[int(i)] for i in np.asarray(ids, dtype=np.int64).ravel())

    def one_hot(self, ids: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """ids (...,) -> (..., V): a one at each id's place, zeros elsewhere."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"one_hot: ids must be in [0, {self.size}), got {ids.min()}..{ids.max()}")
        return np.eye(self.size, dtype=dtype)[ids]


@dataclass(frozen=True)
class Vocabulary(_Numbered):
    """The characters a model reads and writes, each numbered by its place in ``characters`` (sorted)."""
    characters: str
    separator = ""
    unit = "character"
    bits = "bpc"
    sample_length = 160

    def __post_init__(self) -> None:
        if not isinstance(self.characters, str) or not self.characters:
            raise ValueError(f"vocabulary: expected a text of at least one character, got {self.characters!r}")
        if "".join(sorted(set(self.characters))) != self.characters:
            raise ValueError("vocabulary: its characters must be distinct and sorted by code point; make it with "
                             "Vocabulary.of(text)")
        if len(self.characters) > MAX_CHARACTERS:
            raise ValueError(f"vocabulary: {len(self.characters)} distinct characters, more than the "
                             f"{MAX_CHARACTERS} a character-level model takes; use a text in fewer characters")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.characters)})

    @classmethod
    def of(cls, text: str | Iterable[str]) -> Vocabulary:
        """The vocabulary of ``text`` (or of several texts): its distinct characters, sorted."""
        chars = set(text) if isinstance(text, str) else set().union(*(set(t) for t in text))
        if not chars:
            raise ValueError("vocabulary: the text is empty; give a text of at least one character")
        return cls("".join(sorted(chars)))

    @property
    def symbols(self) -> str:
        return self.characters

    @property
    def recorded(self) -> str:
        """How a task's data records it (``info["vocabulary"]``): the characters as one string."""
        return self.characters

    def _describe(self, symbol: str) -> str:
        return describe(symbol)

    def shown(self, limit: int = 60) -> str:
        """The characters for a message, cut to ``limit``."""
        text = repr(self.characters)
        return text if len(text) <= limit else text[:limit] + "...'"

    def to_json(self) -> dict:
        return {"kind": "characters", "characters": self.characters, "size": self.size}

    @classmethod
    def from_json(cls, doc: object, where: str = "vocabulary.json") -> Vocabulary:
        """The vocabulary of :meth:`to_json`'s document; a ValueError naming ``where`` when it is not one."""
        chars = doc.get("characters") if isinstance(doc, dict) else None
        if not isinstance(chars, str):
            raise ValueError(f"{where}: expected {{\"characters\": \"...\"}}, the vocabulary of a text run; train "
                             f"the run again")
        return _checked(cls, chars, doc, where)


@dataclass(frozen=True)
class WordVocabulary(_Numbered):
    """The words a word-level model reads and writes (each a run of non-space characters), numbered by their
    place in ``words`` (sorted).  A text is split at white space; written text joins the words by one space."""
    words: tuple[str, ...]
    separator = " "
    unit = "word"
    bits = "bits per word"
    sample_length = 32

    def __post_init__(self) -> None:
        words = self.words
        if not isinstance(words, tuple) or not words or not all(isinstance(w, str) for w in words):
            raise ValueError(f"vocabulary: expected a tuple of at least one word, got {str(words)[:60]}")
        if any(not w or w.split() != [w] for w in words):
            bad = next(w for w in words if not w or w.split() != [w])
            raise ValueError(f"vocabulary: {bad!r} is not a word (empty, or holds white space); make it with "
                             f"WordVocabulary.of(text)")
        if sorted(set(words)) != list(words):
            raise ValueError("vocabulary: its words must be distinct and sorted; make it with WordVocabulary.of(text)")
        if len(words) > MAX_WORDS:
            raise ValueError(f"vocabulary: {len(words)} distinct words, more than the {MAX_WORDS} a word-level model "
                             f"reading one-hot inputs takes; use a text of fewer distinct words")
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(words)})

    @classmethod
    def of(cls, text: str | Iterable[str]) -> WordVocabulary:
        """The vocabulary of ``text`` (or of several texts): its distinct whitespace-separated words, sorted."""
        words = set(text.split()) if isinstance(text, str) else set().union(*(set(t.split()) for t in text))
        if not words:
            raise ValueError("vocabulary: the text holds no word; give a text of at least one word")
        return cls(tuple(sorted(words)))

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.words

    @property
    def recorded(self) -> list[str]:
        """How a task's data records it (``info["vocabulary"]``): the list of words."""
        return list(self.words)

    def split(self, text: str) -> list[str]:
        return text.split()

    def _replace_example(self) -> str:
        word = next((w for w in self.words if w.isalpha()), self.words[0])
        return f"--replace {word} on the command line, replace={word!r} in Python"

    def shown(self, limit: int = 60) -> str:
        """The words for a message, cut to ``limit``."""
        text = " ".join(self.words)
        return repr(text if len(text) <= limit else text[:limit] + "...")

    def to_json(self) -> dict:
        return {"kind": "words", "words": list(self.words), "size": self.size}

    @classmethod
    def from_json(cls, doc: object, where: str = "vocabulary.json") -> WordVocabulary:
        """The vocabulary of :meth:`to_json`'s document; a ValueError naming ``where`` when it is not one."""
        words = doc.get("words") if isinstance(doc, dict) else None
        if not isinstance(words, list):
            raise ValueError(f"{where}: expected {{\"words\": [...]}}, the vocabulary of a word-level run; train "
                             f"the run again")
        return _checked(cls, tuple(words), doc, where)


def _checked(kind: type, symbols: object, doc: dict, where: str) -> Vocabulary | WordVocabulary:
    try:
        vocabulary = kind(symbols)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if doc.get("size", vocabulary.size) != vocabulary.size:
        raise ValueError(f"{where}: says {doc.get('size')!r} {vocabulary.unit}s but holds {vocabulary.size}; "
                         f"the file was changed: train the run again")
    return vocabulary


KINDS = {"characters": Vocabulary, "words": WordVocabulary}


def vocabulary_from_json(doc: object, where: str = "vocabulary.json") -> Vocabulary | WordVocabulary:
    """Either kind from its ``to_json`` document (``"kind"``; a document without one is a character vocabulary,
    as runs made before word-level tasks keep it)."""
    kind = doc.get("kind", "characters") if isinstance(doc, dict) else "characters"
    if kind not in KINDS:
        raise ValueError(f"{where}: unknown kind {kind!r} of vocabulary; expected one of {', '.join(KINDS)}; "
                         f"train the run again")
    return KINDS[kind].from_json(doc, where)


def vocabulary_of(recorded: object) -> Vocabulary | WordVocabulary:
    """The vocabulary a task's data records (``info["vocabulary"]``, :attr:`Vocabulary.recorded`): a string of
    characters, or a list of words."""
    if isinstance(recorded, str):
        return Vocabulary(recorded)
    if isinstance(recorded, (list, tuple)):
        return WordVocabulary(tuple(recorded))
    raise TypeError(f"vocabulary: expected a string of characters or a list of words, got {type(recorded).__name__}")
