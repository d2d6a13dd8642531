"""Why the IRNN (ReLU, W_hh = I) is unstable across seeds on the adding problem: watch it train.

Trains the results suite's IRNN recipe on the adding problem (the `memory` / `long-memory` entries:
hidden 64, Adam 3e-4 constant, batch 16, clipping by norm at 1) for a few seeds and prints, per epoch:

    test MSE              the adding problem's chance level is 0.167 (always predicting 1)
    max batch loss        the largest training loss of the epoch (the spikes)
    rho(W_hh)             the spectral radius of the recurrent matrix: above 1, h_t can grow as rho^t
    dead                  the fraction of hidden units that are 0 at every step of 256 test sequences
    |h| max               the largest hidden activation over those sequences

    .venv/bin/python benchmarks/irnn_stability.py --length 200 --seeds 0 1 2 --epochs 10
    .venv/bin/python benchmarks/irnn_stability.py --length 200 --seeds 1 --float32-norm   # as before the fix

What it showed (seed 1, clipping with torch's float32 norm): rho(W_hh) drifts above 1 (1.04, 1.11, 1.16,
1.20 after epochs 1-4), the state then grows like rho^t over 200 steps, a loss spike of 1e30 follows, the
gradient's float32 sum of squares overflows to inf, clipping scales every gradient by 1 / inf = 0 and the
model never moves again (test MSE 4.8e28 for the remaining epochs). With the norm summed in float64 (the
engines' clipping now) the same seed survives its spikes and ends at 0.0044.

Everything runs on the CPU; one seed at 200 steps takes about a minute on an idle 2-core machine.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from rnnlab import lab
from rnnlab.engines import build_trainable
from rnnlab.init import apply_init
from rnnlab.machine import machine_description
from rnnlab.tasks import get_task
from rnnlab.trainer import Callback, Trainer

IRNN = {"nonlinearity": "relu", "recurrent_init": "identity", "lr": 3e-4, "schedule": "constant", "batch_size": 16,
        "hidden_size": 64, "engine": "torch", "clip_norm": 1.0, "optimizer": "adam"}


def relu_states(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """h_t = relu(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) for every step: (batch, time, hidden)."""
    w_ih, w_hh = weights["weight_ih_l0"], weights["weight_hh_l0"]
    bias = weights["bias_ih_l0"] + weights["bias_hh_l0"]
    h = np.zeros((x.shape[0], w_hh.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = np.maximum(x[:, t] @ w_ih.T + bias + h @ w_hh.T, 0.0)
        states.append(h)
    return np.stack(states, axis=1)


class Watch(Callback):
    """Per epoch: the numbers of the module docstring."""

    def __init__(self, probe: np.ndarray):
        self.probe, self.batch_max, self.rows = probe, 0.0, []

    def on_epoch_start(self, trainer, state, epoch) -> None:
        self.batch_max = 0.0

    def on_batch(self, trainer, state, loss) -> None:
        self.batch_max = max(self.batch_max, float(loss))

    def on_epoch(self, trainer, state, record) -> None:
        weights = {k: v.astype(np.float64) for k, v in trainer.model.weights().items()}
        w_hh = weights["weight_hh_l0"]
        states = relu_states(weights, self.probe)
        row = (record.epoch, record.test_loss, self.batch_max, float(np.abs(np.linalg.eigvals(w_hh)).max()),
               float((states.max(axis=(0, 1)) == 0).mean()), float(states.max()))
        self.rows.append(row)
        epoch, mse, spike, rho, dead, h_max = row
        print(f"  epoch {epoch:2d}  test MSE {mse:.4f}  max batch loss {spike:10.4g}  rho(W_hh) {rho:.4f}  "
              f"dead {100 * dead:4.0f} %  |h| max {h_max:9.4g}", flush=True)


def watch_seed(length: int, seed: int, epochs: int, **changes) -> list[tuple]:
    cfg = lab.configure("rnn", task="adding", task_options={"length": length}, epochs=epochs, seed=seed,
                        **{**IRNN, **changes})
    task = get_task("adding")
    data = lab.load_data("adding", seed, length=length)
    spec = cfg.model.for_task(task)
    o = cfg.optim
    model = build_trainable(spec, cfg.run.engine, o.optimizer, o.lr, seed, o.momentum, o.clip_value, o.clip_norm)
    apply_init(model, cfg.init, seed)
    watch = Watch(data.test.x[:256].astype(np.float64))
    Trainer(model, data, o, task.loss, task.metric, seed, spec.label, 1000, (watch,)).fit()
    return watch.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=IRNN["lr"])
    parser.add_argument("--clip-norm", type=float, default=IRNN["clip_norm"])
    parser.add_argument("--float32-norm", action="store_true",
                        help="clip as torch.nn.utils.clip_grad_norm_ does, with the norm summed in float32 (what "
                             "rnnlab did before; the engines now sum it in float64)")
    args = parser.parse_args()
    if args.float32_norm:
        from rnnlab.engines import torch_engine
        torch_engine.clip_grad_norm_float64 = torch.nn.utils.clip_grad_norm_
    print(f"IRNN on the adding problem, {args.length} steps; {machine_description()}")
    for seed in args.seeds:
        print(f"seed {seed}:")
        watch_seed(args.length, seed, args.epochs, lr=args.lr, clip_norm=args.clip_norm)


if __name__ == "__main__":
    main()
