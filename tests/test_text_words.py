"""The word-level HUMAN_NUMBERS task (human-numbers-words) as a person uses it: one word per step, fastbook's
next-word accuracy, `rnnlab train` and `rnnlab generate` on the command line, lab.train and lab.generate; its
vocabulary of words kept with the run; an unknown word refused by name; the cell views refuse a word run."""
import json

import numpy as np
import pytest

from rnnlab import lab
from rnnlab.cli import main
from rnnlab.metrics import metric_value
from rnnlab.rundir import RunDir
from rnnlab.tasks import get_task
from rnnlab.text.corpora import human_numbers, next_character_arrays
from rnnlab.text.vocab import Vocabulary, WordVocabulary, vocabulary_from_json, vocabulary_of

SMALL = {"numbers": 200}


def test_the_word_vocabulary_numbers_sorted_words_and_round_trips_through_json():
    vocab = WordVocabulary.of("two . one hundred one .\nninety  nine")
    assert vocab.words == (".", "hundred", "nine", "ninety", "one", "two") and vocab.size == len(vocab) == 6
    ids = vocab.encode("one hundred two .")
    assert ids.tolist() == [4, 1, 5, 0] and vocab.decode(ids) == "one hundred two ."
    assert np.array_equal(vocab.one_hot(ids).argmax(-1), ids) and vocab.one_hot(ids).shape == (4, 6)
    doc = json.loads(json.dumps(vocab.to_json()))
    assert doc["kind"] == "words" and vocabulary_from_json(doc) == vocab and vocabulary_of(vocab.recorded) == vocab
    chars = Vocabulary.of("ab c")
    assert vocabulary_from_json(json.loads(json.dumps(chars.to_json()))) == chars == vocabulary_of(" abc")
    assert vocabulary_from_json({"characters": " abc", "size": 4}) == chars       # a run made before the kinds
    with pytest.raises(ValueError, match=r"^vocabulary.json: says 7 words but holds 6; the file was changed"):
        vocabulary_from_json({**doc, "size": 7})
    with pytest.raises(ValueError, match=r"^vocabulary.json: unknown kind 'bytes' of vocabulary; expected one of "):
        vocabulary_from_json({"kind": "bytes"})
    with pytest.raises(ValueError, match=r"'two words' is not a word"):
        WordVocabulary(("one", "two words"))


def test_an_unknown_word_is_refused_by_name_or_replaced_as_asked():
    vocab = WordVocabulary.of("one two three .")
    with pytest.raises(ValueError, match=r"^prime: the word 'eleventy' at position 1 is not in the vocabulary of 4 "
                                         r"words; remove it, or give a replacement word the vocabulary has "
                                         r"\(--replace one on the command line, replace='one' in Python\)$"):
        vocab.encode("one eleventy two", what="prime")
    assert vocab.decode(vocab.encode("one eleventy two", replace=".")) == "one . two"
    with pytest.raises(ValueError, match=r"^replace: expected one word of the vocabulary .* got 'four'"):
        vocab.encode("one", replace="four")


def test_the_task_reads_a_word_per_step_and_scores_next_word_accuracy():
    task = get_task("human-numbers-words")
    assert task.sized().input_size == 30 and task.metric == "accuracy" and task.defaults["bptt"] == 16
    assert task.baseline() == pytest.approx(get_task("human-numbers").baseline())       # always "thousand"
    data = task.load(seed=0, **SMALL)
    vocab = vocabulary_of(data.info["vocabulary"])
    corpus = human_numbers(200)
    assert vocab == corpus.word_vocabulary and data.info["words"]["train"] == len(corpus.train.split())
    x, y, mask = data.train.x, data.train.y, data.train.mask
    words = vocab.decode(x.argmax(-1)[mask])
    assert words.split()[:4] == ["one", ".", "two", "."] and vocab.decode(y[mask]) == " ".join(
        corpus.train.split()[1:])
    assert data.info["ngram"]["order"] >= 1 and data.info["ngram"]["val_bpc"] > 0     # counted over words
    assert data.stream.window == 16 and data.stream.eval_rows == 64     # validated in fastbook's 64 rows


def test_accuracy_is_next_word_accuracy_on_a_hand_made_case():
    vocab = WordVocabulary.of("one two three .")            # . one three two
    x, y, mask = next_character_arrays("one two three . one two", vocab, row=3)
    assert y.tolist() == [[3, 2, 0], [1, 3, 0]] and mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    guesses = np.array([[3, 2, 1], [1, 0, 3]])              # right, right, wrong; right, wrong, (padding)
    outputs = np.eye(4)[guesses]
    assert metric_value("accuracy", outputs, y, mask) == pytest.approx(3 / 5)


@pytest.fixture(scope="module")
def word_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--task", "human-numbers-words", "--opt", "numbers=200", "--cell", "lstm", "--hidden-size",
                 "8", "--epochs", "2", "--batch-size", "4", "--engine", "numpy", "--runs-dir", str(runs), "--name",
                 "words", "--quiet", "--keep-denormals"]) == 0
    return runs / "words"


def test_rnnlab_train_keeps_the_words_and_writes_words(word_run):
    files = RunDir(word_run)
    vocabulary = files.read_vocabulary()
    assert isinstance(vocabulary, WordVocabulary) and vocabulary == human_numbers(200).word_vocabulary
    log = files.file("train.log").read_text()
    assert " bits per word, test " in log.splitlines()[0] and " bits per word, perplexity " in log
    samples = files.read_samples()
    assert [len(s["text"].split()) for s in samples] == [32, 32]
    assert all(word in vocabulary for s in samples for word in s["text"].split())
    summary = json.loads(files.file("summary.json").read_text())
    assert summary["metric"] == "accuracy" and summary["text"]["per"] == "word"
    assert "a word-level run (" in files.file("report.html").read_text()    # the cells' section says why not


def test_rnnlab_generate_writes_words_and_refuses_an_unknown_one(word_run, capsys):
    assert main(["generate", str(word_run), "--prime", "one hundred", "--length", "6", "--seed", "3"]) == 0
    words = capsys.readouterr().out.split()
    assert words[:2] == ["one", "hundred"] and len(words) == 8 and set(words) <= set(RunDir(word_run)
                                                                                     .read_vocabulary().words)
    assert main(["generate", str(word_run), "--prime", "one zillion"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab generate: prime: the word 'zillion' at position 1 is not in the vocabulary of "
                          "29 words") and err.count("\n") == 1
    replaced = lab.generate(word_run, prime="one zillion", replace="hundred", length=2, seed=0)
    assert replaced.split()[:2] == ["one", "hundred"]


def test_lab_trains_the_task_and_generates_words_and_the_cell_views_refuse_it():
    result = lab.train("gru", task="human-numbers-words", task_options=SMALL, hidden_size=8, epochs=1, batch_size=4,
                       engine="numpy", echo=False, flush_denormals=False)
    assert result.task.metric == "accuracy" and 0 <= result.test_metric <= 1
    text = lab.generate(result, prime="two", length=10, seed=1)
    assert len(text.split()) == 11 and text == lab.generate(result, prime="two", length=10, seed=1, engine="torch")
    with pytest.raises(ValueError, match=r"^vocabulary: a word-level vocabulary \(29 words\); the views of what the "
                                         r"cells learned read text one character at a time"):
        lab.units(result, "one two")
