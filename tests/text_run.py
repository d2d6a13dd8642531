"""A small trained text run for the tests of the cell views (the report, the explore text page): an LSTM of 16 units
trained by `rnnlab train --task text --opt path=FILE` (train_run) on a made-up text of quotes, brackets and lines,
in an ordinary run folder."""
from pathlib import Path

import numpy as np

from rnnlab.config import TrainConfig
from rnnlab.train import train_run

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


def make_text_run(folder, hidden_size=16, epochs=3, engine="numpy"):
    """Train the LSTM on a corpus file written beside the run folder; returns the run folder."""
    folder = Path(folder)
    corpus = folder.parent / f"{folder.name}-corpus.txt"
    folder.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text(made_up_text(6000))
    cfg = TrainConfig.from_flat({"task": "text", "cell": "lstm", "hidden_size": hidden_size, "epochs": epochs,
                                 "batch_size": 8, "lr": 0.01, "engine": engine,
                                 "task_options": {"path": str(corpus), "bptt": 32}})
    train_run(cfg, folder, progress=False, echo=lambda line: None)
    return folder
