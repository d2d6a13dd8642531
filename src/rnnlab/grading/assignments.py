"""The assignments the grader knows, each defined here once: its name, title, the names that recognise a
submission of it, its items and points (known without importing the checks, which need torch), where its checks
are, what the sandbox shows its code, and the exercise notebook that hands it out.

A new assignment is one entry here, a module of checks (a function returning ``Check``s in this entry's item
order) and, if it is handed out, a notebook in ``rnnlab/exercises/notebooks``.

Two kinds of item: what a student *writes* (``items``: checked in the sandbox, with points) and what a student
*runs* (``runs``: a number the exercise notebook's run printed, read back from the notebook and held against a
bar; no points, since no course document gives points for a run).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """A run's item: ``id`` (``RNN.run``), what is measured (``test accuracy``), the bar, whether the value
    must be at least (``above``) or at most the bar, and whether it is shown as a percentage."""
    id: str
    what: str
    bar: float
    above: bool = True
    percent: bool = True

    def show(self, value: float) -> str:
        return f"{100 * value:.2f} %" if self.percent else f"{value:.4g}"

    def met(self, value: float) -> bool:
        return value >= self.bar if self.above else value <= self.bar

    def sentence(self) -> str:
        return f"{self.what} {'at least' if self.above else 'at most'} {self.show(self.bar)}"


@dataclass(frozen=True)
class Assignment:
    """``names``: defined by a submission of it (any one recognises it; earlier entries win); ``items``: (id,
    points) in report order; ``checks``: a function that imports and returns the checks of the items it is given;
    ``modules``: the packages the sandbox shows its code besides the standard library; ``notebook``: its exercise
    notebook's file stem; ``runs``: the bars of what the notebook runs (no points)."""
    name: str
    title: str
    names: tuple[str, ...]
    items: tuple[tuple[str, float], ...]
    checks: Callable[[tuple[tuple[str, float], ...]], list]
    modules: tuple[str, ...]
    notebook: str
    runs: tuple[Bar, ...] = ()

    @property
    def all_items(self) -> tuple[tuple[str, float], ...]:
        """The written items, then the runs (0 points): the report's and the gradebook's order."""
        return self.items + tuple((bar.id, 0) for bar in self.runs)

    def load_checks(self) -> list:
        """The assignment's checks (imports NumPy, and torch where it needs it)."""
        return self.checks(self.items)

    def selected(self, only: tuple[str, ...] = ()) -> list[tuple[str, float]]:
        """The items ``only`` names (item ids or class names; all when empty)."""
        return [(i, p) for i, p in self.items if not only or i in only or i.split(".")[0] in only]


_A2_ITEMS = tuple((f"{model}.{part}", 0 if part == "training" else 2)
                  for model, activations in (("RNN", ("tanh",)), ("LSTM", ("sigmoid", "tanh")))
                  for part in ("__init__", *activations, "forward", "backward", "training")) + (("hyperparameters", 2),)
_FLOW_ITEMS = tuple((name, 2) for name in (
    "RNNLayer.__init__", "RNNLayer.forward", "RecurrentRegressionModel.__init__", "RecurrentRegressionModel.forward",
    "loss_fn", "GradientVisualizer.scale_weights", "GradientVisualizer.recurrent_matrix", "RNN.__init__",
    "RNN.forward")) + (("RNN.training", 0),)
_LAB_ITEMS = tuple((f"{model}.{part}", 2) for model in ("RNN_Model", "LSTM_Model") for part in ("__init__", "forward"))
_WARMUP_ITEMS = tuple((name, 2) for name in (
    "RecurrentModel.__init__", "RecurrentModel.forward", "generate_copy_memory_data", "generate_sequential_xor_data",
    "SequentialXORModel.forward", "generate_adding_problem_data", "AddingModel.forward"))
_PA4_ITEMS = tuple((name, 2) for name in (
    "myRNN.__init__", "myRNN.forward", "LSTM.__init__", "LSTM.forward", "Bi_RNN.__init__", "Bi_RNN.forward",
    "load_custom_images", "bin_generator", "LSTM_Binary.__init__", "LSTM_Binary.forward"))
_MNIST = "test accuracy"
# the running-mean task's loss over the loss of predicting 0 (every step: mean of 1/t, t = 1..10; last step: 1/10)
_RATIO = "final loss / the loss of predicting zero"


# each assignment's checks, imported only when it is graded (most need torch)
def _flow_checks(items: tuple[tuple[str, float], ...]) -> list:
    from .checks_flow import flow_checks
    return flow_checks(items)


def _assignment_2_checks(items: tuple[tuple[str, float], ...]) -> list:
    from .checks_backprop import assignment_checks
    return assignment_checks(items)


def _lab_checks(items: tuple[tuple[str, float], ...]) -> list:
    from .checks_course import lab_checks
    return lab_checks(items)


def _warmup_checks(items: tuple[tuple[str, float], ...]) -> list:
    from .checks_course import warmup_checks
    return warmup_checks(items)


def _pa4_checks(items: tuple[tuple[str, float], ...]) -> list:
    from .checks_pa4 import pa4_checks
    return pa4_checks(items)


TORCH = ("numpy", "torch", "matplotlib")
ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (
    Assignment("gradient-flow", "the gradient-flow notebook (PyTorch RNNLayer, RNN, regression model)",
               ("RNNLayer", "RecurrentRegressionModel", "loss_fn", "GradientVisualizer"), _FLOW_ITEMS,
               _flow_checks, TORCH, "gradient-flow-in-rnns-and-lstms",
               (Bar("train_all.every_step", _RATIO, 0.2, above=False, percent=False),
                Bar("train_all.last_step", _RATIO, 0.2, above=False, percent=False))),
    Assignment("programming-assignment-4", "Programming Assignment 4: recurrent networks (PyTorch)",
               ("myRNN", "Bi_RNN", "LSTM_Binary", "bin_generator", "load_custom_images"), _PA4_ITEMS,
               _pa4_checks, (*TORCH, "PIL"), "programming-assignment-4-recurrent-networks",
               (Bar("myRNN.run", _MNIST, 0.90), Bar("LSTM.run", _MNIST, 0.95), Bar("Bi_RNN.run", _MNIST, 0.93),
                Bar("LSTM_Binary.run", "bit accuracy on sums of 1 to 20 bits", 0.95))),
    Assignment("lab-sheet-9", "Lab sheet 9: RNN and LSTM in PyTorch on MNIST", ("RNN_Model", "LSTM_Model"),
               _LAB_ITEMS, _lab_checks, TORCH, "lab-sheet-9-rnn-and-lstm-in-pytorch",
               (Bar("RNN_Model.run", _MNIST, 0.90), Bar("LSTM_Model.run", _MNIST, 0.97))),
    # the adding problem has no bar: the warmup's 500 updates leave every layer near chance, right code or not
    Assignment("rnn-warmup", "RNN Warmup: recurrent layers and memory tasks (PyTorch)",
               ("RecurrentModel", "SequentialXORModel", "AddingModel", "generate_copy_memory_data",
                "generate_sequential_xor_data", "generate_adding_problem_data"), _WARMUP_ITEMS,
               _warmup_checks, TORCH, "rnn-warmup",
               (Bar("copy_memory.run", "the best final training loss of the three (no memory: 0.083)", 0.075,
                    above=False, percent=False),
                Bar("xor.run", "the best test accuracy of the three", 0.95))),
    Assignment("assignment-2", "Assignment 2: RNN and LSTM on MNIST (NumPy)", ("RNN", "LSTM"), _A2_ITEMS,
               _assignment_2_checks, ("numpy", "matplotlib"),
               "assignment-2-rnn-and-lstm-on-mnist", (Bar("RNN.run", _MNIST, 0.80), Bar("LSTM.run", _MNIST, 0.90))),
)}
