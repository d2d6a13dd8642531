"""`rnnlab gradients`: the pictures of gradient flow through time, written into a folder.

    flow.png          ||dL/dh_t|| against the distance from the loss (log scale) for RNN, LSTM and GRU,
                      at initialisation (dashed) and after training on the task (solid)
    heatmap.png       log10 ||dL/dh_t|| over weight scale x time step, RNN with identity, ReLU, tanh
    eigen_growth.png  the observed growth factor of the gradient per step against |lambda_max(W_hh)| for
                      the linear RNN: the two agree, and |lambda| = 1 separates vanishing from exploding
    summary.txt       per model, ||dL/dh_1|| / ||dL/dh_T|| at initialisation and after training
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .analysis import flow_model, gradient_flow, scaled_copy
from .tasks import get_task

FLOW_TASKS = ("cumavg", "cumavg-last", "adding", "copy-seed")


def _targets(task, split, length):
    """Every-step targets for the flow model; a last-step task puts its target on the last step."""
    if task.readout == "every":
        return split.y, False
    y = np.zeros((len(split.y), length, split.y.shape[-1]), np.float32)
    y[:, -1] = split.y
    return y, True


def train_flow_model(model, x, y, last_step_only: bool, epochs: int, lr: float = 1e-2, batch: int = 64,
                     seed: int = 0):
    """Adam on seed 002's model, MSE on every step or the last (the notebook's loss_fn)."""
    import torch

    from .torch import loss_fn
    torch.manual_seed(seed)
    xt, yt = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = torch.as_tensor(rng.permutation(len(xt)))
        for i in range(0, len(xt), batch):
            idx = order[i:i + batch]
            loss = loss_fn(model(xt[idx])[0], yt[idx], last_step_only)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    return model


def gradient_report(out_dir: str | Path, task_name: str = "cumavg", length: int = 30, hidden_size: int = 16,
                    epochs: int = 20, n_train: int = 2000, seed: int = 0, echo=print) -> dict:
    if task_name not in FLOW_TASKS:
        raise ValueError(f"task: {task_name!r} is not a regression task the flow model can learn; "
                         f"choose one of {', '.join(FLOW_TASKS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    task = get_task(task_name)
    data = task.load(seed=seed, length=length, n_train=n_train, n_val=1, n_test=256)
    y_train, last = _targets(task, data.train, length)
    y_test, _ = _targets(task, data.test, length)
    summary = {"task": task_name, "length": length, "hidden_size": hidden_size, "epochs": epochs, "models": {}}

    # 1. RNN, LSTM, GRU at initialisation and after training
    fig, ax = plt.subplots(figsize=(7, 4.5))
    distance = np.arange(length)[::-1]           # steps between h_t and the last step
    for cell, colour in zip(("rnn", "lstm", "gru"), ("C0", "C1", "C2")):
        model = flow_model(cell, "tanh", hidden_size, task.input_size, task.output_size, seed=seed)
        before = gradient_flow(model, data.test.x, y_test, last)
        train_flow_model(model, data.train.x, y_train, last, epochs, seed=seed)
        after = gradient_flow(model, data.test.x, y_test, last)
        ax.semilogy(distance, before.grad_norms, "--", color=colour, label=f"{cell} at init")
        ax.semilogy(distance, after.grad_norms, "-", color=colour, label=f"{cell} trained")
        summary["models"][cell] = {"ratio_init": before.ratio, "ratio_trained": after.ratio,
                                   "test_loss_init": before.loss, "test_loss_trained": after.loss}
        echo(f"{cell}: ||dL/dh_1|| / ||dL/dh_T|| = {before.ratio:.3g} at init, {after.ratio:.3g} trained "
             f"(test MSE {before.loss:.4f} -> {after.loss:.4f})")
    ax.set_xlabel("distance from the last step (T - t)")
    ax.set_ylabel("||dL/dh_t||")
    ax.set_title(f"Gradient flow on {task_name}, T = {length}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(out_dir / "flow.png", dpi=100)
    plt.close(fig)

    # 2. Heat map over weight scale x step for the RNN's three nonlinearities (last-step loss)
    x1, y1 = data.test.x[:1], y_test[:1]
    scales = np.round(np.linspace(0.25, 2.5, 19), 3)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for ax, nl in zip(axes, ("identity", "relu", "tanh")):
        base = flow_model("rnn", nl, hidden_size, task.input_size, task.output_size, seed=seed)
        grid = np.array([np.log10(np.maximum(gradient_flow(scaled_copy(base, s, 1.0), x1, y1, True).grad_norms,
                                             1e-300)) for s in scales])
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="coolwarm",
                          extent=(0.5, length + 0.5, scales[0], scales[-1]))
        ax.set_title(f"RNN, {nl}")
        ax.set_xlabel("step t")
        ax.set_ylabel("weight scale")
        fig.colorbar(image, ax=ax, label="log10 ||dL/dh_t||")
    fig.tight_layout()
    fig.savefig(out_dir / "heatmap.png", dpi=100)
    plt.close(fig)

    # 3. Eigenvalue against the observed growth per step, linear RNN
    base = flow_model("rnn", "identity", hidden_size, task.input_size, task.output_size, seed=seed)
    points = []
    for s in np.linspace(0.2, 2.5, 24):
        flow = gradient_flow(scaled_copy(base, s, 1.0), x1, y1, True)
        points.append((flow.eigenvalue, flow.growth_rate))
    eig, growth = np.array(points).T
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot(eig, growth, "o", label="observed")
    ax.plot([0, eig.max()], [0, eig.max()], color="grey", lw=1, label="growth = |lambda|")
    ax.axvline(1.0, color="k", ls=":")
    ax.axhline(1.0, color="k", ls=":")
    ax.set_xlabel("|lambda_max(W_hh)|")
    ax.set_ylabel("gradient growth per step")
    ax.set_title("Linear RNN: vanishing below 1, exploding above")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "eigen_growth.png", dpi=100)
    plt.close(fig)
    summary["linear_rnn"] = [{"eigenvalue": float(e), "growth_per_step": float(g)} for e, g in points]

    lines = [f"Gradient flow on {task_name} (T = {length}, hidden {hidden_size}, {epochs} epochs of training)",
             "model  ||dL/dh_1|| / ||dL/dh_T|| at init  after training"]
    lines += [f"{cell:<5}  {m['ratio_init']:>33.4g}  {m['ratio_trained']:>14.4g}"
              for cell, m in summary["models"].items()]
    (out_dir / "summary.txt").write_text("\n".join(lines) + "\n")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
