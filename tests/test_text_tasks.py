"""The text tasks: sizes from the vocabulary, arrays of next characters, the contiguous stream, --bptt, bad files
refused before anything is written, and the metrics of text (bits per character, perplexity, word accuracy)."""
import json

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.metrics import metric_sums, metric_value
from rnnlab.plan import resolve
from rnnlab.streams import Contiguous
from rnnlab.tasks import get_task
from rnnlab.text.corpora import next_character_arrays
from rnnlab.text.vocab import Vocabulary

SMALL = {"corpus": "devils-dictionary-small"}


def test_a_text_task_is_sized_by_its_vocabulary_and_reads_next_characters():
    task = get_task("text")
    assert (task.input_size, task.output_size) == (0, 0)                      # open until the options are known
    sized = task.sized(SMALL)
    assert (sized.input_size, sized.output_size, sized.readout, sized.loss) == (81, 81, "every", "cross_entropy")
    data = task.load(seed=0, bptt=16, **SMALL)
    vocab = Vocabulary(data.info["vocabulary"])
    assert isinstance(data.stream, Contiguous) and data.stream.window == 16
    x, y, mask = data.train.x, data.train.y, data.train.mask
    assert x.shape == (360, 100, 81) and y.shape == (360, 100) and mask is not None and mask.sum() == 35_999
    text = vocab.decode(x.argmax(-1)[mask])
    assert text[1:] == vocab.decode(y[mask])[:-1] and text.startswith("            The Internet Wiretap")
    assert data.info["ngram"]["order"] >= 3 and data.info["characters"] == {"train": 36_000, "val": 2_000,
                                                                            "test": 2_000}
    assert task.baseline(**SMALL) == pytest.approx(data.info["ngram"]["test_bpc"])


def test_padding_is_masked_and_short_texts_refused():
    vocab = Vocabulary.of("abc")
    x, y, mask = next_character_arrays("abcab", vocab, row=3)
    assert x.shape == (2, 3, 3) and y.tolist() == [[1, 2, 0], [1, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert next_character_arrays("abca", vocab, row=3)[2] is None
    with pytest.raises(ValueError, match=r"needs at least two"):
        next_character_arrays("a", vocab)


def test_text_metrics_bits_perplexity_and_words():
    uniform = np.zeros((2, 3, 4))
    y = np.array([[0, 1, 2], [3, 0, 1]])
    assert metric_value("bits_per_char", uniform, y) == pytest.approx(2.0)
    assert metric_value("perplexity", uniform, y) == pytest.approx(4.0)
    # ids: 0 space, 1 '.', 2 'a', 3 'b'; targets "ab . ba " after an unknown start: "ab" is not counted
    y = np.array([[2, 3, 0, 1, 0, 3, 2, 0]])
    right = np.eye(4)[y]
    assert metric_sums("word_accuracy", right, y) == (2.0, 2.0)
    wrong = right.copy()
    wrong[0, 6] = np.eye(4)[3]                                   # "ba" written "bb"
    assert metric_value("word_accuracy", wrong, y) == 0.5
    assert metric_value("word_accuracy", wrong, y, np.array([[1, 1, 1, 1, 1, 0, 0, 0]])) == 1.0


def test_human_numbers_is_scored_by_word_against_the_most_common_word():
    task = get_task("human-numbers")
    assert task.sized().input_size == 20 and task.metric == "word_accuracy"
    assert task.baseline() == pytest.approx(0.152, abs=0.001)                  # always "thousand"


def test_bptt_sets_the_window_and_bad_files_are_refused_before_anything_is_written(tmp_path, capsys):
    runs = tmp_path / "runs"
    args = ["train", "--task", "text", "--runs-dir", str(runs), "--quiet", "--epochs", "1"]
    bad = tmp_path / "latin.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    assert main([*args, "--opt", f"path={bad}", "--name", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"rnnlab train: path: {bad}: is not UTF-8 text (byte 0xe9 at offset 3); convert it (iconv -f "
                   f"LATIN1 -t UTF-8 FILE > utf8.txt) or give another file") and not runs.exists()
    assert main([*args, "--bptt", "8", "--opt", "bptt=9", "--name", "y"]) == 2
    assert "--bptt 8 and --opt bptt=9 contradict each other" in capsys.readouterr().err
    assert main([*args, "--task", "xor", "--bptt", "8"]) == 2
    assert "task xor: unknown option(s) bptt" in capsys.readouterr().err
    plan = resolve({"task": "text", "task_options": {**SMALL, "bptt": 12}, "cell": "gru"})
    assert plan.task.stream_of(plan.options).window == 12 and plan.spec.input_size == 81


def test_the_bench_entry_text_and_its_quick_version():
    from rnnlab import bench
    from rnnlab.suite import SUITE_BY_NAME
    entry = SUITE_BY_NAME["text"]
    assert [c.task for c in entry.cases] == ["human-numbers", "human-numbers-words", "text", "text"]
    assert "lstm" in entry.models
    sizes = {"human-numbers": (19, 64), "human-numbers-words": (29, 16), "text": (81, 64)}   # 1 to 400: no "a"
    for case in entry.cases:
        cfg = bench.settings_for(entry, "rnnlab", case, "lstm", 0)
        quick = bench._quick(cfg)
        assert quick.data.options["bptt"] == 16 and resolve(quick).task.input_size == sizes[case.task][0]
        assert resolve(cfg).task.stream_of(cfg.data.options).window == sizes[case.task][1]
    words = next(case for case in entry.cases if case.task == "human-numbers-words")
    command = bench.command_for(bench.settings_for(entry, "rnnlab", words, "lnlstm", 0))
    assert command.startswith("rnnlab train --task human-numbers-words --opt bptt=16 ") and " --layers 2 " in command
    assert " --layer-norm " in command and " --dropout " not in command      # the regularised LSTM's recipe:
    assert all(part in command for part in (" --output-dropout 0.5 ", " --ar 2 ", " --tar 1 ", " --weight-decay 0.1 "))
    assert ">= 87.00 %" in entry.goals[(words.label, "lstm")]
    planned = [(case.task, model, len(runs)) for _, case, model, runs in bench._planned(entry, "out", ("rnnlab",), 1,
                                                                                        True)]
    assert [p[1:] for p in planned if p[0] == "human-numbers-words"] == [(m, 3) for m in words.models]   # its own
    assert [p[1] for p in planned if p[0] == "text"] == [*entry.models, "lstm"]      # the long case: its LSTM
    long = next(case for case in entry.cases if case.label == "devils-dictionary-long")
    command = bench.command_for(bench.settings_for(entry, "rnnlab", long, "lstm", 0))
    assert all(part in command for part in (" --hidden-size 384 ", " --layers 2 ", " --ar 2 ", " --epochs 25",
                                            " --weight-drop 0.25 "))
    assert "--engine" not in command and bench._quick(bench.settings_for(entry, "rnnlab", long, "lstm", 0)
                                                      ).optim.epochs < 25     # torch.nn, the default; quick stays quick


def test_the_memory_estimate_counts_a_texts_one_hot_characters():
    from rnnlab.config import TrainConfig
    from rnnlab.memory import check_fits, estimate
    cfg = TrainConfig.from_flat({"task": "text", "hidden_size": 8, "batch_size": 1})
    task = get_task("text").sized({})
    assert estimate(cfg, task)["data"] == 4 * 383_157 * (84 + 2)
    with pytest.raises(ValueError, match=r"^memory: .* Use a shorter text, or one in fewer distinct characters$"):
        check_fits(cfg, task, limit=10 ** 6)
    with pytest.raises(ValueError, match=r"Use a smaller --batch-size, --hidden-size or window \(--bptt N\)$"):
        check_fits(cfg.with_settings(batch_size=4096, hidden_size=512), task, limit=10 ** 6)


def test_n_train_keeps_the_first_characters_of_the_training_text_and_the_rest_of_the_corpus(tmp_path, capsys):
    task = get_task("text")
    whole, short = task.load(seed=0, **SMALL), task.load(seed=0, n_train=5_000, **SMALL)
    assert short.info["characters"] == {"train": 5_000, "val": 2_000, "test": 2_000}
    assert short.info["vocabulary"] == whole.info["vocabulary"]          # the whole corpus's characters still
    assert np.array_equal(short.test.y, whole.test.y) and np.array_equal(short.val.y, whole.val.y)
    vocab = Vocabulary(short.info["vocabulary"])
    read = vocab.decode(short.train.x.argmax(-1)[short.train.mask])
    assert read == vocab.decode(whole.train.x.argmax(-1)[whole.train.mask])[:4_999]
    # the n-gram baseline learns from the same 5,000 characters: worse than from the whole training text
    assert short.info["ngram"]["test_bpc"] > whole.info["ngram"]["test_bpc"] + 0.3
    runs = tmp_path / "runs"
    args = ["train", "--task", "text", "--opt", "corpus=devils-dictionary-small", "--runs-dir", str(runs), "--quiet"]
    assert main([*args, "--opt", "n_train=36001", "--name", "x"]) == 2
    assert capsys.readouterr().err.strip() == (
        "rnnlab train: n_train: 36001 characters of training text asked for, devils-dictionary-small's training part "
        "has 36000; use 1..36000") and not runs.exists()
    small = ["--epochs", "1", "--hidden-size", "8", "--batch-size", "4"]
    assert main([*args, "--opt", "n_train=2000", *small, "--name", "y"]) == 0
    recorded = json.loads((runs / "y" / "task.json").read_text())
    assert recorded["n_train"] == 2000 and recorded["characters"]["train"] == 2000
    assert recorded["corpus"] == "devils-dictionary-small"
