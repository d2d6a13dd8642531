"""The model description, written once: :class:`ModelSpec` holds its recurrent part :class:`RecurrentSpec`.

A training configuration holds a ModelSpec whose sizes are still open (``input_size``,
``output_size`` and ``readout`` come from the task); :meth:`ModelSpec.for_task` fills them in.
Every engine builds from the same description, and the short names that ``compare`` takes
(``bilstm2-ln``, ``lnrnn-relu``) are parsed and printed here.

Which option fits which cell or engine is not decided here but in the one table of
:mod:`rnnlab.rules`; the checks below are only those of each value on its own.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING

from .cells import CELLS, cells_having, get_cell
from .rules import check_options

if TYPE_CHECKING:
    from .tasks import Task

READOUTS = ("last", "every")
# "...-dense": a ReLU layer of dense_size units before the output layer (rnnlab's); "...-linear": the same layer
# without the ReLU, as Programming Assignment 4's "boosted" heads stack two linear layers
HEAD_SUFFIXES = {"plain": "", "layernorm": "-ln", "batchnorm": "-bn", "dense": "-dense",
                 "layernorm-dense": "-ln-dense", "batchnorm-dense": "-bn-dense",
                 "layernorm-linear": "-ln-linear", "batchnorm-linear": "-bn-linear"}
# what a classifier reads at the last step of a bidirectional net: each direction's final state (the forward
# one after the last step, the backward one after the first), or the output at the last step, out[:, -1]
# (the backward direction there has read one step: Programming Assignment 4's lstm_out[-1])
BIDIRECTIONAL_READS = ("final-states", "last-output")
HEADS = tuple(HEAD_SUFFIXES)
# the model settings that act only while training: dropout on what the head reads, AR and TAR, weight drop
REGULARISATION = ("output_dropout", "activation_reg", "temporal_reg", "weight_drop")
NONLINEARITIES = tuple(dict.fromkeys(n for cell in CELLS.values() for n in cell.nonlinearities))   # tanh, relu


def check_positive_int(name: str, value: object, allow_zero: bool = False) -> None:
    """``value`` is an int (not a bool) above zero (or at least zero); the error names the setting."""
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} integer, "
                         f"got {value!r}")


def check_probability(name: str, value: object) -> None:
    """``value`` is a dropout probability: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value!r}")


def check_regularisation(output_dropout: object, activation_reg: object, temporal_reg: object,
                         weight_drop: object = 0.0) -> None:
    """The training regularisers' settings (:data:`REGULARISATION`): two dropout probabilities in [0, 1) and
    two weights, each a finite number >= 0 (0: none)."""
    check_probability("output_dropout", output_dropout)
    check_probability("weight_drop", weight_drop)
    for name, value in (("activation_reg", activation_reg), ("temporal_reg", temporal_reg)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < float("inf"):
            raise ValueError(f"{name}: expected a finite number >= 0 (0: none), got {value!r}")


def check_weight_drop(cell: str, weight_drop: float) -> None:
    """Weight drop needs a full recurrent matrix W_hh: the diagonal u of the IndRNN, the orthogonal RNN's
    Cayley-transformed W and the linear recurrences (no W_hh) are refused."""
    cell_def = get_cell(cell)
    if weight_drop and cell_def.recurrent_weight != "full":
        full = cells_having(lambda c: c.recurrent_weight == "full")
        raise ValueError(f"weight_drop: it drops connections of the recurrent matrix W_hh, and the "
                         f"{cell_def.full_name} has no full W_hh; use it with {full}, or leave it at 0")


def check_choice(name: str, value: object, options: tuple) -> None:
    if value not in options:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of {', '.join(map(repr, options))}")


@dataclass(frozen=True)
class RecurrentSpec:
    """The recurrent part of a model: the single source of truth every engine builds from.

    ``input_size`` is None while the task is not known yet (inside a training configuration);
    ``nonlinearity`` None is the cell's own default (tanh; relu for the IndRNN)."""
    cell: str
    input_size: int | None
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str | None = None
    dropout: float = 0.0
    proj_size: int = 0
    bias: bool = True
    batch_first: bool = True
    layer_norm: bool = False      # layer norm of each gate's pre-activation inside the cell

    def __post_init__(self) -> None:
        if self.nonlinearity is None:
            object.__setattr__(self, "nonlinearity", get_cell(self.cell).default_nonlinearity)
        if self.input_size is not None:
            check_positive_int("input_size", self.input_size)
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)
        check_positive_int("proj_size", self.proj_size, allow_zero=True)
        check_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        for name in ("bidirectional", "bias", "batch_first", "layer_norm"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"proj_size: expected an integer in 0..{self.hidden_size - 1} (smaller than "
                             f"hidden_size), got {self.proj_size!r}")
        check_probability("dropout", self.dropout)
        check_options(self.cell, None, self.options())

    def options(self) -> dict:
        """The options the rules of :mod:`rnnlab.rules` look at."""
        return {"nonlinearity": self.nonlinearity, "proj_size": self.proj_size, "layer_norm": self.layer_norm}

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Per-direction size of h: proj_size when projected, else hidden_size."""
        return self.proj_size or self.hidden_size

    def to_dict(self) -> dict:
        return asdict(self)


# the RecurrentSpec fields a training configuration sets (the others are fixed by the trainer)
RECURRENT_SETTINGS = ("cell", "hidden_size", "num_layers", "bidirectional", "nonlinearity", "dropout",
                      "proj_size", "layer_norm")


@dataclass(frozen=True)
class ModelSpec:
    """A whole model: the recurrent net, the readout (last step or every step) and the head.

    head: ``plain`` (one linear layer), ``layernorm`` / ``batchnorm`` (a normalisation first),
    ``dense`` (a ReLU layer of ``dense_size`` units first), or a normalisation and a dense layer, with the
    ReLU (``...-dense``) or without it (``...-linear``: two linear layers in a row).
    bidirectional_read: ``final-states`` (each direction's final state) or ``last-output`` (the output at the
    last step, where the backward direction has read one step); only with readout ``last``.

    Regularisation while training (Merity et al. 2017, AWD-LSTM; fastbook chapter 12), with o_t the top
    layer's outputs at every step (both directions side by side), (N, T, F):

        output_dropout p:   the head reads r m / (1 - p), m ~ Bernoulli(1 - p) per number (r as above)
        activation_reg a:   loss += a mean_{n,t,f} o_t^2                      (AR)
        temporal_reg b:     loss += b mean_{n,t>1,f} (o_t - o_{t-1})^2        (TAR)
        weight_drop p:      every layer and direction steps with W_hh m / (1 - p), m ~ Bernoulli(1 - p) per
                            weight, one m per batch for all its steps (DropConnect on the recurrent weights;
                            the gradient reaching W_hh is m / (1 - p) times that of the dropped matrix)

    AR and TAR act on the outputs before dropout (fastbook's AR reads them after dropout, which is the same
    as a / (1 - p) here, on average).  The loss a run reports is the task's alone, without them.
    """
    recurrent: RecurrentSpec = field(default_factory=lambda: RecurrentSpec("lstm", None))
    output_size: int | None = None
    readout: str = "last"
    head: str = "plain"
    dense_size: int = 64
    bidirectional_read: str = "final-states"
    output_dropout: float = 0.0
    activation_reg: float = 0.0
    temporal_reg: float = 0.0
    weight_drop: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.recurrent, RecurrentSpec):
            raise ValueError(f"recurrent: expected a RecurrentSpec, got {self.recurrent!r}")
        check_choice("readout", self.readout, READOUTS)
        check_choice("head", self.head, HEADS)
        check_choice("bidirectional_read", self.bidirectional_read, BIDIRECTIONAL_READS)
        if self.bidirectional_read != "final-states" and self.readout != "last":
            raise ValueError(f"bidirectional_read: {self.bidirectional_read!r} reads the last step, but the task "
                             f"reads every step (readout {self.readout!r}); leave bidirectional_read out")
        if self.output_size is not None:
            check_positive_int("output_size", self.output_size)
        check_positive_int("dense_size", self.dense_size)
        check_regularisation(**self.regularisation())
        check_weight_drop(self.recurrent.cell, self.weight_drop)

    @classmethod
    def build(cls, cell: str, input_size: int | None = None, output_size: int | None = None,
              **settings) -> ModelSpec:
        """A ModelSpec from flat settings: ``ModelSpec.build("lstm", 28, 10, hidden_size=64, head="dense")``."""
        own = {f.name for f in fields(cls)} - {"recurrent"}
        unknown = set(settings) - own - set(RECURRENT_SETTINGS) - {"bias", "batch_first"}
        if unknown:
            raise ValueError(f"model: unknown setting(s) {', '.join(sorted(unknown))}")
        recurrent = RecurrentSpec(cell, input_size, **{k: v for k, v in settings.items() if k not in own})
        return cls(recurrent, output_size, **{k: v for k, v in settings.items() if k in own})

    @property
    def cell(self) -> str:
        return self.recurrent.cell

    @property
    def input_size(self) -> int | None:
        return self.recurrent.input_size

    def for_task(self, task: Task) -> ModelSpec:
        """This model with the task's input and output sizes and readout."""
        return replace(self, recurrent=replace(self.recurrent, input_size=task.input_size),
                       output_size=task.output_size, readout=task.readout)

    def with_settings(self, **settings) -> ModelSpec:
        """A copy with some flat settings changed (recurrent ones or head ones)."""
        current = {**{k: getattr(self.recurrent, k) for k in RECURRENT_SETTINGS if k != "cell"},
                   "head": self.head, "dense_size": self.dense_size, "readout": self.readout,
                   "bidirectional_read": self.bidirectional_read, **self.regularisation()}
        merged = {**current, **settings}
        cell = merged.pop("cell", self.cell)
        if "nonlinearity" not in settings and merged["nonlinearity"] == get_cell(self.cell).default_nonlinearity:
            merged["nonlinearity"] = None          # a new cell brings its own default
        return ModelSpec.build(cell, self.input_size, self.output_size, **merged)

    @property
    def label(self) -> str:
        """A short name: ``bilstm2-ln`` is a bidirectional two-layer LSTM with a LayerNorm head,
        ``lnlstm`` an LSTM with layer norm inside the cell."""
        r = self.recurrent
        other = "" if r.nonlinearity == get_cell(r.cell).default_nonlinearity else f"-{r.nonlinearity}"
        return (f"{'bi' if r.bidirectional else ''}{'ln' if r.layer_norm else ''}{r.cell}"
                f"{r.num_layers if r.num_layers > 1 else ''}{other}{HEAD_SUFFIXES[self.head]}")

    def regularisation(self) -> dict:
        """The training regularisers' settings (their defaults, 0, mean none)."""
        return {name: getattr(self, name) for name in REGULARISATION}

    def to_dict(self) -> dict:
        return {"recurrent": self.recurrent.to_dict(), "output_size": self.output_size, "readout": self.readout,
                "head": self.head, "dense_size": self.dense_size, "bidirectional_read": self.bidirectional_read,
                **self.regularisation()}

    @classmethod
    def from_dict(cls, doc: dict) -> ModelSpec:
        """The inverse of :meth:`to_dict`; also reads the flat form that model files before 0.2 hold."""
        doc = dict(doc)
        if isinstance(doc.get("recurrent"), dict):
            return cls(RecurrentSpec(**doc.pop("recurrent")), **doc)
        return cls.build(doc.pop("cell"), doc.pop("input_size", None), doc.pop("output_size", None), **doc)


_SUFFIX_PATTERN = "|".join(sorted((s[1:] for s in HEAD_SUFFIXES.values() if s), key=len, reverse=True))
_CELL_PATTERN = "|".join(sorted(CELLS, key=len, reverse=True))
_SHORT = re.compile(rf"^(?P<bi>bi)?(?P<ln>ln)?(?P<cell>{_CELL_PATTERN})(?P<layers>[1-9])?"
                    rf"(?:-(?P<nonlinearity>{'|'.join(NONLINEARITIES)}))?"
                    rf"(?:-(?P<head>{_SUFFIX_PATTERN}))?$")


def parse_model_name(name: str) -> dict:
    """``rnn``, ``lstm2``, ``bigru``, ``bilstm2-ln``, ``rnn-relu``, ``lstm-bn-dense``, ``lstm-bn-linear``,
    ``indrnn`` -> flat settings.

    An ``ln`` before the cell (``lnlstm``, ``bilnrnn-relu``) is layer normalisation inside the cell;
    ``-ln`` after it is a LayerNorm head; ``-relu`` / ``-tanh`` a nonlinearity other than the cell's default."""
    match = _SHORT.match(name) if isinstance(name, str) else None
    if not match:
        raise ValueError(f"model {name!r}: expected [bi][ln]CELL[LAYERS][-relu|-tanh][-ln|-bn][-dense|-linear] with "
                         f"CELL one of {', '.join(CELLS)}, e.g. rnn, lstm2, bigru, bilstm-ln, rnn-relu, lnlstm, indrnn")
    heads = {suffix: head for head, suffix in HEAD_SUFFIXES.items()}
    settings = {"cell": match["cell"], "bidirectional": bool(match["bi"]),
                "head": heads[f"-{match['head']}" if match["head"] else ""], "layer_norm": bool(match["ln"])}
    if match["layers"]:
        settings["num_layers"] = int(match["layers"])
    if match["nonlinearity"]:
        settings["nonlinearity"] = match["nonlinearity"]
    return settings
