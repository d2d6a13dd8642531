"""A small trained text run for the tests of the cell views (the report, the explore text page): an LSTM of 16 units
trained a few seconds on a made-up text of quotes, brackets and lines, in an ordinary run folder."""
import json

import numpy as np

from rnnlab.engines import build_trainable
from rnnlab.rundir import RunDir
from rnnlab.spec import ModelSpec

WORDS = ("ab", "cab", "bad", "dab", "ca")


def made_up_text(length=3000, seed=0):
    """Words of a, b, c, d; some in "quotes", some in (brackets); lines of a few words."""
    rng = np.random.default_rng(seed)
    parts = []
    while sum(map(len, parts)) < length:
        words = " ".join(rng.choice(WORDS, rng.integers(1, 4)))
        parts.append(f'"{words}"' if rng.random() < 0.4 else f"({words})" if rng.random() < 0.3 else words)
        parts.append("\n" if rng.random() < 0.15 else " ")
    return "".join(parts)[:length]


def make_text_run(folder, hidden_size=16, epochs=3, window=50):
    """Train the LSTM with truncated windows (no carried state: enough for a model that sees quotes) and write the
    run's files: config.json, model.npz, vocabulary.json, task.json."""
    text = made_up_text()
    chars = "".join(sorted(set(text)))
    ids = np.array([chars.index(c) for c in text])
    x = np.eye(len(chars), dtype=np.float32)[ids]
    spec = ModelSpec.build("lstm", len(chars), len(chars), hidden_size=hidden_size, readout="every")
    model = build_trainable(spec, "numpy", lr=0.01, seed=0)
    for _ in range(epochs):
        for start in range(0, len(text) - window - 1, window):
            model.train_batch(x[None, start:start + window], ids[None, start + 1:start + window + 1], None,
                              "cross_entropy", 0.01)
    run = RunDir(folder)
    run.path.mkdir(parents=True, exist_ok=True)
    run.save_model(model.weights(), spec, "numpy")
    (run.path / "config.json").write_text(json.dumps({"task": "text", "label": "lstm", "engine": "numpy"}))
    (run.path / "vocabulary.json").write_text(json.dumps({"characters": chars, "size": len(chars)}))
    (run.path / "task.json").write_text(json.dumps({"task": "text"}))
    return run.path
