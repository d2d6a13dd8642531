"""Text as data: the vocabulary, the embedded corpus, your own file (and bad ones), HUMAN_NUMBERS."""
import numpy as np
import pytest

from rnnlab.text.corpora import (
    DEFAULT_CORPUS,
    embedded_text,
    human_numbers,
    load_corpus,
    number_words,
    read_text_file,
    split_text,
)
from rnnlab.text.vocab import Vocabulary


def test_the_vocabulary_numbers_sorted_characters_and_round_trips():
    vocab = Vocabulary.of("hello, world\n")
    assert vocab.characters == "\n ,dehlorw" and vocab.size == len(vocab) == 10
    ids = vocab.encode("world")
    assert ids.dtype == np.int64 and vocab.decode(ids) == "world"
    x = vocab.one_hot(ids)
    assert x.shape == (5, 10) and x.dtype == np.float32 and np.array_equal(x.argmax(-1), ids) and x.sum() == 5
    assert Vocabulary.from_json(vocab.to_json()) == vocab


def test_characters_outside_the_vocabulary_are_refused_or_replaced_as_asked():
    vocab = Vocabulary.of("abc ")
    with pytest.raises(ValueError, match=r"^prime: the character 'é' \(U\+00E9\) at position 2 is not in the "
                                         r"vocabulary of 4 characters; remove it, or give a replacement"):
        vocab.encode("abé", what="prime")
    assert vocab.decode(vocab.encode("abé!", replace=" ")) == "ab  "
    with pytest.raises(ValueError, match=r"^replace: expected one character of the vocabulary.*got 'z'"):
        vocab.encode("a", replace="z")
    with pytest.raises(ValueError, match=r"distinct and sorted"):
        Vocabulary("ba")
    with pytest.raises(ValueError, match=r"^vocabulary.json: expected \{\"characters\""):
        Vocabulary.from_json({"chars": "ab"})
    with pytest.raises(ValueError, match=r"says 3 characters but holds 2"):
        Vocabulary.from_json({"characters": "ab", "size": 3})


def test_the_embedded_corpus_needs_no_network_and_splits_in_order():
    text = embedded_text()
    assert len(text) == 383_157 and text.startswith("            The Internet Wiretap") and "\r" not in text
    corpus = load_corpus(DEFAULT_CORPUS)
    assert corpus.train + corpus.val + corpus.test == text
    assert (len(corpus.train), len(corpus.val)) == (344_841, 19_158) and corpus.vocabulary.size == 84
    small = load_corpus("devils-dictionary-small")
    assert len(small) == 40_000 and small.train == text[:36_000]
    assert "public domain" in corpus.source
    with pytest.raises(ValueError, match=r"^corpus: unknown value 'shakespeare'; the embedded corpora are "):
        load_corpus("shakespeare")
    assert split_text("abcdefghij", (0.5, 0.3, 0.2)) == ("abcde", "fgh", "ij")


def test_human_numbers_are_fastbooks_stream_and_split():
    assert [number_words(n) for n in (1, 19, 20, 42, 100, 101, 1101, 8000, 9999)] == [
        "one", "nineteen", "twenty", "forty two", "one hundred", "one hundred one",
        "one thousand one hundred one", "eight thousand", "nine thousand nine hundred ninety nine"]
    corpus = human_numbers()
    tokens = (corpus.train + corpus.val).split(" ")
    assert len(tokens) == 63_095 and tokens[:5] == ["one", ".", "two", ".", "three"]    # fastbook's count
    assert len(set(tokens)) == 30                                                    # fastbook's vocabulary
    assert len(corpus.train.split(" ")) - 1 == 16 * int(len(range(0, 63_095 - 17, 16)) * 0.8)
    assert corpus.test == corpus.val and corpus.vocabulary.characters[0] == " "
    with pytest.raises(ValueError, match=r"from 1 to 9999, got 0"):
        number_words(0)


def test_your_own_file_is_read_and_bad_ones_are_refused_in_one_line(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes("\ufeffOne line\r\nand another\n".encode())
    assert read_text_file(good) == "One line\nand another\n"
    corpus = load_corpus(path=good)
    assert corpus.train + corpus.val + corpus.test == "One line\nand another\n" and corpus.name == str(good)
    cases = {"empty.txt": (b"", r"is empty"), "latin.txt": ("café".encode("latin-1"), r"is not UTF-8 text "
                                                           r"\(byte 0xe9 at offset 3\); convert it"),
             "bin.dat": (b"PK\x03\x04\x00\x00", r"looks binary \(a NUL byte at offset 4\)"),
             "bell.txt": (b"ding\x07", r"looks binary \(it holds the control character '\\x07'"),
             "blank.txt": (b"  \n\n", r"holds only white space")}
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=rf"^path: {tmp_path / name}: {message}") as caught:
            read_text_file(tmp_path / name)
        assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match=r"more than the 10 a corpus may have; use a part of it"):
        read_text_file(good, limit=10)
    with pytest.raises(ValueError, match=r"no such file; give the path of a UTF-8 text file"):
        load_corpus(path=tmp_path / "missing.txt")
    with pytest.raises(ValueError, match=r"is not a regular file"):
        read_text_file(tmp_path)
