"""The main job for now: a NumPy LSTM learns the adding problem, and its loss goes down."""
from __future__ import annotations

import time
from collections.abc import Callable

from .data.synthetic import ADDING_BASELINE_MSE, adding_problem
from .numpy import Adam, SequenceModel


def run_demo(cell: str = "lstm", length: int = 30, hidden: int = 32, steps: int = 800,
             batch: int = 64, lr: float = 1e-2, seed: int = 0, print_every: int = 50,
             echo: Callable[[str], object] = print) -> dict:
    """Train ``cell`` on the adding problem with Adam; returns the first and final test MSE."""
    model = SequenceModel(cell, 2, hidden, 1, seed=seed)
    opt = Adam(model.params, lr=lr)
    x_test, y_test = adding_problem(1000, length, seed=seed + 1)

    def test_mse() -> float:
        return model.loss(model.forward(x_test), y_test, "mse")[0]

    first = test_mse()
    echo(f"NumPy {cell.upper()} on the adding problem (length {length}, hidden {hidden}); "
         f"chance baseline MSE {ADDING_BASELINE_MSE:.3f}")
    echo(f"step {0:5d}  test MSE {first:.4f}")
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = adding_problem(batch, length, seed=seed * 1_000_003 + step + 10)
        train = model.train_step(x, y, opt, loss="mse", clip_norm=1.0)
        if step % print_every == 0 or step == steps:
            echo(f"step {step:5d}  train MSE {train:.4f}  test MSE {test_mse():.4f}  "
                 f"({time.perf_counter() - start:.1f} s)")
    final = test_mse()
    echo(f"test MSE {first:.4f} -> {final:.4f} (baseline {ADDING_BASELINE_MSE:.3f})")
    return {"first": first, "final": final}
