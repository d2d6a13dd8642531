"""Character-level runs as a person makes them: `rnnlab train` on a text file, `rnnlab generate`, lab.generate;
the same text on every engine, a run cut off and resumed gives the same numbers, a crash keeps the last good
checkpoint, and bad values are refused in one line."""
import json

import numpy as np
import pytest

from rnnlab import lab
from rnnlab.cli import main
from rnnlab.rundir import RunDir
from rnnlab.text.sampling import probabilities
from rnnlab.train import train_run
from rnnlab.trainer import Trainer

ENGINES = ("numpy", "scratch", "torch")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A small text with some structure: short sentences made of a few words."""
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "(far)", "away"]
    text = "".join(" ".join(rng.choice(words, rng.integers(3, 8))).capitalize() + ".\n" for _ in range(80))
    path = tmp_path_factory.mktemp("text") / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _args(corpus, runs, name, *extra):
    return ["train", "--task", "text", "--opt", f"path={corpus}", "--cell", "gru", "--hidden-size", "12", "--epochs",
            "2", "--batch-size", "8", "--bptt", "8", "--engine", "numpy", "--runs-dir", str(runs), "--name", name,
            "--quiet", "--keep-denormals", *extra]   # (flushing costs seconds per epoch on a crowded machine)


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(_args(corpus, runs, "gru")) == 0
    return runs / "gru"


def test_train_on_your_file_keeps_vocabulary_samples_baseline_and_best_model(run, corpus):
    files = RunDir(run)
    vocabulary = files.read_vocabulary()
    assert set(vocabulary.characters) == set(corpus.read_text())
    log = files.file("train.log").read_text().splitlines()
    assert log[0].startswith("baseline: interpolated Kneser-Ney ") and " bpc, test " in log[0]
    assert log.pop(1).startswith("threads: ")                # the thread policy's choice, then the epochs
    assert [line.split(":")[0] for line in log[1:]] == ["gru epoch 1/2", "gru sample after epoch 1 (temperature 0.8)",
                                                         "gru epoch 2/2", "gru sample after epoch 2 (temperature 0.8)"]
    assert " bpc, perplexity " in log[1]
    samples = files.read_samples()
    assert [s["epoch"] for s in samples] == [1, 2] and all(len(s["text"]) == 160 for s in samples)
    summary = json.loads(files.file("summary.json").read_text())
    assert summary["metric"] == "bits_per_char" and summary["baseline"] == summary["text"]["ngram"]["test_bpc"]
    assert summary["text"]["test_bpc"] == pytest.approx(summary["final_test_metric"], rel=1e-6)
    best = json.loads(files.file("best.json").read_text())
    assert best["epoch"] in (1, 2) and files.file("best-model.npz").exists()
    assert "Text written by the model" in files.file("report.html").read_text()


def test_generate_writes_the_same_text_on_every_engine(run, capsys):
    texts = []
    for engine in ENGINES:
        assert main(["generate", str(run), "--prime", "The cat", "--length", "40", "--temperature", "0.9", "--seed",
                     "5", "--engine", engine]) == 0
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1] == texts[2] and texts[0].startswith("The cat") and len(texts[0]) == 48
    assert main(["generate", str(run), "--length", "40", "--seed", "6"]) == 0
    assert capsys.readouterr().out != texts[0]
    assert main(["generate", str(run), "--best", "--length", "5"]) == 0 and len(capsys.readouterr().out) == 6
    greedy = lab.generate(run, prime="The", length=30, top_k=1, seed=1)
    assert greedy == lab.generate(run, prime="The", length=30, top_k=1, seed=2)        # the arg-max: no draw matters
    assert lab.generate(run, prime="Thé", replace="e", length=3, seed=0).startswith("The")


@pytest.mark.parametrize("args,message", [
    (["--temperature", "0"], "temperature: expected a number > 0 such as 0.8, got float 0.0"),
    (["--temperature", "-1"], "temperature: expected a number > 0 such as 0.8, got float -1.0"),
    (["--length", "0"], "length: expected a whole number in [1, 1000000], got int 0"),
    (["--prime", "Zebra"], "prime: the character 'Z' (U+005A) at position 0 is not in the vocabulary"),
    (["--prime", "cat", "--replace", "Q"], "replace: expected one character of the vocabulary"),
])
def test_bad_generation_values_are_refused_in_one_line(run, capsys, args, message):
    assert main(["generate", str(run), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rnnlab generate: {message}") and err.count("\n") == 1


def test_generate_refuses_a_run_that_is_not_a_text_run(tmp_path, capsys):
    assert main(["train", "--task", "xor", "--opt", "n_train=8", "--opt", "n_val=4", "--opt", "n_test=4", "--epochs",
                 "1", "--hidden-size", "2", "--engine", "numpy", "--runs-dir", str(tmp_path), "--name", "xor",
                 "--quiet", "--keep-denormals"]) == 0
    capsys.readouterr()
    assert main(["generate", str(tmp_path / "xor")]) == 2
    assert "not a text run (no vocabulary.json; trained on task xor); give a run of --task text" in \
        capsys.readouterr().err


def test_lab_generate_from_a_result_agrees_across_engines(corpus):
    result = lab.train("lstm", task="text", task_options={"path": str(corpus), "bptt": 8}, hidden_size=10,
                       epochs=1, batch_size=4, engine="numpy", echo=False, flush_denormals=False)
    texts = {engine: lab.generate(result, prime="A", length=40, temperature=1.2, seed=3, engine=engine)
             for engine in ENGINES}
    assert len(set(texts.values())) == 1 and len(texts["numpy"]) == 41
    with pytest.raises(ValueError, match=r"^temperature: expected a number > 0"):
        lab.generate(result, temperature=0.0)
    with pytest.raises(ValueError, match=r"^top_k: expected a whole number in \[1, "):
        lab.generate(result, top_k=0)
    with pytest.raises(ValueError, match=r"^best: a result in memory keeps its final model only"):
        lab.generate(result, best=True)


def test_probabilities_follow_temperature_and_top_k():
    z = np.array([2.0, 1.0, 0.0, -1.0], dtype=np.float32)
    p = probabilities(z)
    assert p.dtype == np.float64 and p.sum() == pytest.approx(1.0) and p[0] / p[1] == pytest.approx(np.e)
    assert probabilities(z, 0.5)[0] / probabilities(z, 0.5)[1] == pytest.approx(np.e ** 2)
    assert np.array_equal(probabilities(z, top_k=2)[2:], [0.0, 0.0])


def _numbers(run_dir):
    rows = [line.split(",")[:7] for line in (run_dir / "metrics.csv").read_text().splitlines()]
    return rows, (run_dir / "iterations.csv").read_text(), RunDir(run_dir).read_samples()


def test_a_text_run_cut_off_and_resumed_gives_the_same_numbers(corpus, tmp_path, monkeypatch):
    """On the NumPy engine (tests/test_streams.py resumes every engine with a carried state)."""
    assert main(_args(corpus, tmp_path, "whole")) == 0
    real, calls = Trainer._train_batch, {"n": 0}

    def stop_in_the_second_epoch(self, batch, state):
        calls["n"] += 1
        if calls["n"] == self.batches_per_epoch + 3:
            self.stop.requested = True
        return real(self, batch, state)
    monkeypatch.setattr(Trainer, "_train_batch", stop_in_the_second_epoch)
    assert main(_args(corpus, tmp_path, "cut")) == 130
    monkeypatch.setattr(Trainer, "_train_batch", real)
    assert main(["train", "--resume", str(tmp_path / "cut"), "--quiet"]) == 0
    assert _numbers(tmp_path / "cut") == _numbers(tmp_path / "whole")


def test_a_crash_keeps_the_last_good_checkpoint_and_the_best_model(corpus, tmp_path, monkeypatch):
    from rnnlab.config import TrainConfig
    cfg = TrainConfig.from_flat({"task": "text", "task_options": {"path": str(corpus), "bptt": 8}, "cell": "rnn",
                                 "hidden_size": 8, "epochs": 3, "batch_size": 4, "engine": "numpy",
                                 "flush_denormals": False})
    real, calls = Trainer._train_batch, {"n": 0}

    def crash_in_the_second_epoch(self, batch, state):
        calls["n"] += 1
        if calls["n"] == self.batches_per_epoch + 2:
            raise MemoryError("the machine ran out of memory")
        return real(self, batch, state)
    monkeypatch.setattr(Trainer, "_train_batch", crash_in_the_second_epoch)
    quiet = {"progress": False, "echo": lambda line: None}
    with pytest.raises(MemoryError):
        train_run(cfg, tmp_path / "crash", **quiet)
    files = RunDir(tmp_path / "crash")
    assert json.loads(files.file("best.json").read_text())["epoch"] == 1 and files.file("best-model.npz").exists()
    monkeypatch.setattr(Trainer, "_train_batch", real)
    resumed = train_run(None, tmp_path / "crash", resume=True, **quiet)          # from the end of epoch 1
    assert [r.epoch for r in resumed.epochs] == [1, 2, 3] and files.file("model.npz").exists()
