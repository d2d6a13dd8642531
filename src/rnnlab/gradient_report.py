"""`rnnlab gradients`: the pictures of gradient flow through time, written into a folder.

    flow.png          ||dL/dh_t|| against the distance from the loss (log scale) for RNN, LSTM and GRU,
                      at initialisation (dashed) and after training on the task (solid)
    heatmap.png       log10 ||dL/dh_t|| over weight scale x time step, RNN with identity, ReLU, tanh
    eigen_growth.png  the observed growth factor of the gradient per step against |lambda_max(W_hh)| for
                      the linear RNN: the two agree, and |lambda| = 1 separates vanishing from exploding
    long_range.png    ||dL/dh_t|| against the distance at ``long_length`` steps (1,000) at initialisation for the
                      LSTM, the GRU, the orthogonal RNN and the linear recurrences (minGRU, minLSTM, LRU): the
                      LSTM's vanishes, the LRU's (|lambda| near 1 from its ring) does not
    eigenvalues.png   the same models' recurrence eigenvalues on the complex plane, with the unit circle
    summary.txt       per model, ||dL/dh_1|| / ||dL/dh_T|| at initialisation and after training
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from .analysis import flow_model, gradient_flow, scaled_copy
from .plots import eigenvalue_plane
from .tasks import Split, Task, TaskData, get_task

if TYPE_CHECKING:
    import torch

# The figures are drawn on matplotlib.figure.Figure objects and saved directly: no pyplot, so the
# process-wide backend is never switched (inline figures in Jupyter keep working).

FLOW_TASKS = ("cumavg", "cumavg-last", "adding", "copy-seed")


def _targets(task: Task, split: Split, length: int) -> tuple[np.ndarray, bool]:
    """Every-step targets for the flow model; a last-step task puts its target on the last step."""
    if task.readout == "every":
        return split.y, False
    y = np.zeros((len(split.y), length, split.y.shape[-1]), np.float32)
    y[:, -1] = split.y
    return y, True


def train_flow_model(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, last_step_only: bool, epochs: int,
                     lr: float = 1e-2, batch: int = 64, seed: int = 0) -> torch.nn.Module:
    """Adam on the gradient-flow notebook's model, MSE on every step or the last (the notebook's loss_fn)."""
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


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _trained_flow(task: Task, data: TaskData, length: int, hidden_size: int, epochs: int, seed: int, path: Path,
                  echo: Callable[[str], object]) -> dict:
    """RNN, LSTM and GRU at initialisation and after training: the picture, and per model its ratios."""
    y_train, last = _targets(task, data.train, length)
    y_test, _ = _targets(task, data.test, length)
    models = {}
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    distance = np.arange(length)[::-1]           # steps between h_t and the last step
    for cell, colour in zip(("rnn", "lstm", "gru"), ("C0", "C1", "C2")):
        model = flow_model(cell, "tanh", hidden_size, task.input_size, task.output_size, seed=seed)
        before = gradient_flow(model, data.test.x, y_test, last)
        train_flow_model(model, data.train.x, y_train, last, epochs, seed=seed)
        after = gradient_flow(model, data.test.x, y_test, last)
        ax.semilogy(distance, before.grad_norms, "--", color=colour, label=f"{cell} at init")
        ax.semilogy(distance, after.grad_norms, "-", color=colour, label=f"{cell} trained")
        models[cell] = {"ratio_init": before.ratio, "ratio_trained": after.ratio,
                        "test_loss_init": before.loss, "test_loss_trained": after.loss}
        echo(f"{cell}: ||dL/dh_1|| / ||dL/dh_T|| = {before.ratio:.3g} at init, {after.ratio:.3g} trained "
             f"(test MSE {before.loss:.4f} -> {after.loss:.4f})")
    ax.set_xlabel("distance from the last step (T - t)")
    ax.set_ylabel("||dL/dh_t||")
    ax.set_title(f"Gradient flow on {task.name}, T = {length}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    _save(fig, path)
    return models


def _heatmap(rnn: Callable[[str], object], x1: np.ndarray, y1: np.ndarray, length: int, path: Path) -> None:
    """log10 ||dL/dh_t|| over weight scale x step for the RNN's three nonlinearities (last-step loss);
    ``rnn(nonlinearity)`` builds the untrained RNN."""
    scales = np.round(np.linspace(0.25, 2.5, 19), 3)
    fig = Figure(figsize=(14, 4.2))
    axes = fig.subplots(1, 3)
    for ax, nl in zip(axes, ("identity", "relu", "tanh")):
        base = rnn(nl)
        grid = np.array([np.log10(np.maximum(gradient_flow(scaled_copy(base, s, 1.0), x1, y1, True).grad_norms,
                                             1e-300)) for s in scales])
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="coolwarm",
                          extent=(0.5, length + 0.5, scales[0], scales[-1]))
        ax.set_title(f"RNN, {nl}")
        ax.set_xlabel("step t")
        ax.set_ylabel("weight scale")
        fig.colorbar(image, ax=ax, label="log10 ||dL/dh_t||")
    _save(fig, path)


def _eigen_growth(base: object, x1: np.ndarray, y1: np.ndarray, path: Path) -> list[dict]:
    """Eigenvalue against the observed growth per step for the linear RNN ``base``, over weight scales."""
    points = []
    for s in np.linspace(0.2, 2.5, 24):
        flow = gradient_flow(scaled_copy(base, s, 1.0), x1, y1, True)
        points.append((flow.eigenvalue, flow.growth_rate))
    eig, growth = np.array(points).T
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.subplots()
    ax.plot(eig, growth, "o", label="observed")
    ax.plot([0, eig.max()], [0, eig.max()], color="grey", lw=1, label="growth = |lambda|")
    ax.axvline(1.0, color="k", ls=":")
    ax.axhline(1.0, color="k", ls=":")
    ax.set_xlabel("|lambda_max(W_hh)|")
    ax.set_ylabel("gradient growth per step")
    ax.set_title("Linear RNN: vanishing below 1, exploding above")
    ax.legend()
    _save(fig, path)
    return [{"eigenvalue": float(e), "growth_per_step": float(g)} for e, g in points]


LONG_RANGE_CELLS = ("lstm", "gru", "orthogonal", "mingru", "minlstm", "lru")


def _long_range(length: int, hidden_size: int, seed: int, out_dir: Path) -> dict:
    """long_range.png and eigenvalues.png: the models at initialisation on one running-mean sequence of ``length``
    steps, loss on the last step; returns each model's ||dL/dh_1|| / ||dL/dh_T|| and largest |eigenvalue|."""
    from .data.synthetic import cumulative_average
    x, y = cumulative_average(1, length, seed=seed)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    distance = np.arange(length)[::-1]
    found, eigs = {}, {}
    for k, cell in enumerate(LONG_RANGE_CELLS):
        flow = gradient_flow(flow_model(cell, "tanh", hidden_size, seed=seed), x, y, last_step_only=True)
        ax.semilogy(distance, np.maximum(flow.grad_norms, 1e-300), color=f"C{k}", label=cell)
        found[cell] = {"ratio_init": flow.ratio, "eigenvalue": flow.eigenvalue}
        if flow.eigenvalues is not None:
            eigs[cell] = flow.eigenvalues
    ax.set_xlabel("distance from the last step (T - t)")
    ax.set_ylabel("||dL/dh_t|| (at initialisation)")
    ax.set_title(f"Gradient flow over T = {length} steps, loss on the last step")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    _save(fig, out_dir / "long_range.png")
    _save(eigenvalue_plane(eigs, "Recurrence eigenvalues at initialisation"), out_dir / "eigenvalues.png")
    return found


def _write_summary(summary: dict, out_dir: Path) -> None:
    lines = [f"Gradient flow on {summary['task']} (T = {summary['length']}, hidden {summary['hidden_size']}, "
             f"{summary['epochs']} epochs of training)",
             "model  ||dL/dh_1|| / ||dL/dh_T|| at init  after training"]
    lines += [f"{cell:<5}  {m['ratio_init']:>33.4g}  {m['ratio_trained']:>14.4g}"
              for cell, m in summary["models"].items()]
    lines += ["", f"At initialisation over T = {summary['long_length']} steps (long_range.png, eigenvalues.png)",
              "model       ||dL/dh_1|| / ||dL/dh_T||  max |eigenvalue|"]
    lines += [f"{cell:<10}  {m['ratio_init']:>25.4g}  " + ("-" if m["eigenvalue"] is None else f"{m['eigenvalue']:.4f}")
              for cell, m in summary["long_range"].items()]
    (out_dir / "summary.txt").write_text("\n".join(lines) + "\n")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))


def gradient_report(out_dir: str | Path, task_name: str = "cumavg", length: int = 30, hidden_size: int = 16,
                    epochs: int = 20, n_train: int = 2000, seed: int = 0,
                    echo: Callable[[str], object] = print, long_length: int = 1000) -> dict:
    """Write flow.png, heatmap.png, eigen_growth.png, long_range.png, eigenvalues.png, summary.txt and
    summary.json into ``out_dir``; returns the summary."""
    if task_name not in FLOW_TASKS:
        raise ValueError(f"task: {task_name!r} is not a regression task the flow model can learn; "
                         f"choose one of {', '.join(FLOW_TASKS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    task = get_task(task_name)
    data = task.load(seed=seed, length=length, n_train=n_train, n_val=1, n_test=256)
    summary = {"task": task_name, "length": length, "hidden_size": hidden_size, "epochs": epochs, "models": {}}
    summary["models"] = _trained_flow(task, data, length, hidden_size, epochs, seed, out_dir / "flow.png", echo)

    def rnn(nonlinearity: str) -> object:
        return flow_model("rnn", nonlinearity, hidden_size, task.input_size, task.output_size, seed=seed)

    x1, y1 = data.test.x[:1], _targets(task, data.test, length)[0][:1]
    _heatmap(rnn, x1, y1, length, out_dir / "heatmap.png")
    summary["linear_rnn"] = _eigen_growth(rnn("identity"), x1, y1, out_dir / "eigen_growth.png")
    summary["long_length"] = long_length
    summary["long_range"] = _long_range(long_length, hidden_size, seed, out_dir)
    _write_summary(summary, out_dir)
    return summary
