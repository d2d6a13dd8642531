"""The vocabulary of a character-level language model: which characters it knows, and their numbers.

    characters  c_0 < c_1 < ... < c_{V-1}      the distinct characters of the training text, sorted by code point
    encode      "abc" -> [i(a), i(b), i(c)]    (int64)
    one_hot     ids (...,) -> x (..., V),  x[..., k] = 1 if id == k else 0     (the network's input at each step)
    decode      [i(a), i(b)] -> "ab"

The vocabulary is made from the whole corpus (train, validation and test parts), so every character of
the corpus has a number; a character it does not know (in a prime given to ``rnnlab generate``, or in
another file) is refused with a message naming it and its position, unless the caller chooses a
``replace`` character (one the vocabulary knows) to stand for every unknown one.  A run keeps its
vocabulary as ``vocabulary.json`` (:meth:`Vocabulary.to_json`)::

    {"characters": "\\n !\\"'(),-.:;?ABC...xyz", "size": 85}
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

MAX_CHARACTERS = 1000        # a one-hot input of more characters than this is not a character model's


def describe(char: str) -> str:
    """A character as a message shows it: ``'é' (U+00E9)``, ``'\\n' (U+000A)``."""
    return f"{char!r} (U+{ord(char):04X})"


@dataclass(frozen=True)
class Vocabulary:
    """The characters a model reads and writes, each numbered by its place in ``characters`` (sorted)."""
    characters: str

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
    def size(self) -> int:
        """V, the number of characters (the model's input and output size)."""
        return len(self.characters)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, char: object) -> bool:
        return char in self._index

    def index(self, char: str) -> int:
        if char not in self._index:
            raise ValueError(f"character {describe(char)} is not in the vocabulary of {self.size} characters")
        return self._index[char]

    def encode(self, text: str, replace: str | None = None, what: str = "text") -> np.ndarray:
        """The numbers of ``text``'s characters, (len,) int64.

        A character outside the vocabulary is refused (ValueError naming it, its position and what to do),
        or, with ``replace`` (a character the vocabulary knows), taken as that character."""
        if not isinstance(text, str):
            raise TypeError(f"{what}: expected a text (str), got {type(text).__name__}")
        if replace is not None and (not isinstance(replace, str) or len(replace) != 1 or replace not in self):
            raise ValueError(f"replace: expected one character of the vocabulary to stand for unknown ones, got "
                             f"{replace!r}; the vocabulary has {self.shown()}")
        index, fallback = self._index, None if replace is None else self._index[replace]
        ids = np.empty(len(text), dtype=np.int64)
        for position, char in enumerate(text):
            found = index.get(char, fallback)
            if found is None:
                raise ValueError(f"{what}: the character {describe(char)} at position {position} is not in the "
                                 f"vocabulary of {self.size} characters; remove it, or give a replacement character "
                                 f"the vocabulary has (--replace ' ' on the command line, replace=' ' in Python)")
            ids[position] = found
        return ids

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """The text of a sequence of numbers."""
        chars = self.characters
        return "".join(chars[int(i)] for i in np.asarray(ids, dtype=np.int64).ravel())

    def one_hot(self, ids: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """ids (...,) -> (..., V): a one at each id's place, zeros elsewhere."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"one_hot: ids must be in [0, {self.size}), got {ids.min()}..{ids.max()}")
        return np.eye(self.size, dtype=dtype)[ids]

    def shown(self, limit: int = 60) -> str:
        """The characters for a message, cut to ``limit``."""
        text = repr(self.characters)
        return text if len(text) <= limit else text[:limit] + "...'"

    def to_json(self) -> dict:
        return {"characters": self.characters, "size": self.size}

    @classmethod
    def from_json(cls, doc: object, where: str = "vocabulary.json") -> Vocabulary:
        """The vocabulary of :meth:`to_json`'s document; a ValueError naming ``where`` when it is not one."""
        chars = doc.get("characters") if isinstance(doc, dict) else None
        if not isinstance(chars, str):
            raise ValueError(f"{where}: expected {{\"characters\": \"...\"}}, the vocabulary of a text run; train "
                             f"the run again")
        try:
            vocabulary = cls(chars)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if doc.get("size", vocabulary.size) != vocabulary.size:
            raise ValueError(f"{where}: says {doc.get('size')!r} characters but holds {vocabulary.size}; "
                             f"the file was changed: train the run again")
        return vocabulary
