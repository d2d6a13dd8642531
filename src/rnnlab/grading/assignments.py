"""The assignments the grader knows, each defined here once: its name, title, the names that recognise a
submission of it, its items and points (known without importing the checks, which need torch), where its checks
are, what the sandbox shows its code, and the exercise notebook that hands it out.

A new assignment is one entry here, a module of checks (a function returning ``Check``s in this entry's item
order) and, if it is handed out, a notebook in ``rnnlab/exercises/notebooks``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Assignment:
    """``names``: defined by a submission of it (any one recognises it; earlier entries win); ``items``: (id,
    points) in report order; ``checks``: a function that imports and returns the checks of the items it is given;
    ``modules``: the packages the sandbox shows its code besides the standard library; ``notebook``: its exercise
    notebook's file stem."""
    name: str
    title: str
    names: tuple[str, ...]
    items: tuple[tuple[str, float], ...]
    checks: Callable[[tuple[tuple[str, float], ...]], list]
    modules: tuple[str, ...]
    notebook: str

    def load_checks(self) -> list:
        """The assignment's checks (imports NumPy, and torch where it needs it)."""
        return self.checks(self.items)

    def selected(self, only: tuple[str, ...] = ()) -> list[tuple[str, float]]:
        """The items ``only`` names (item ids or class names; all when empty)."""
        return [(i, p) for i, p in self.items if not only or i in only or i.split(".")[0] in only]


_A2_ITEMS = tuple((f"{model}.{part}", 0 if part == "training" else 2)
                  for model, activations in (("RNN", ("tanh",)), ("LSTM", ("sigmoid", "tanh")))
                  for part in ("__init__", *activations, "forward", "backward", "training"))
_FLOW_ITEMS = tuple((name, 2) for name in (
    "RNNLayer.__init__", "RNNLayer.forward", "RecurrentRegressionModel.__init__", "RecurrentRegressionModel.forward",
    "loss_fn", "GradientVisualizer.scale_weights", "GradientVisualizer.recurrent_matrix", "RNN.__init__",
    "RNN.forward")) + (("RNN.training", 0),)



def _flow_checks(items: tuple[tuple[str, float], ...]) -> list:
    from .checks_flow import flow_checks  # imports torch: only when this assignment is graded
    return flow_checks(items)


def _assignment_2_checks(items: tuple[tuple[str, float], ...]) -> list:
    from .checks_backprop import assignment_checks
    return assignment_checks(items)


ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (
    Assignment("gradient-flow", "the gradient-flow notebook (PyTorch RNNLayer, RNN, regression model)",
               ("RNNLayer", "RecurrentRegressionModel", "loss_fn", "GradientVisualizer"), _FLOW_ITEMS,
               _flow_checks, ("numpy", "torch", "matplotlib"), "gradient-flow-in-rnns-and-lstms"),
    Assignment("assignment-2", "Assignment 2: RNN and LSTM on MNIST (NumPy)", ("RNN", "LSTM"), _A2_ITEMS,
               _assignment_2_checks, ("numpy", "matplotlib"), "assignment-2-rnn-and-lstm-on-mnist"),
)}
