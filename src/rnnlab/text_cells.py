"""What the cells of a character-level language model learned (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and
Understanding Recurrent Networks").

A trained text model reads a text one character at a time, each character a one-hot vector x_t of the vocabulary's
size.  From the run's portable weights (torch.nn's names, any engine) and a text:

- :func:`read_text` -> :class:`CellTrace`: h_t of the last layer and each gate's activation per step and unit,
  computed by the NumPy engine's own steps in float64 (:func:`rnnlab.reading.hidden_and_gates`; no cell's
  equations are written here);
- :func:`text_signals`: what a person can see in the text, per character t (the state after reading it):
  ``quote`` (1 inside "..." or “...”, the opening mark included, the closing one not), ``bracket`` (the depth of
  open ( [ { ), ``line`` (characters since the last newline, 0 at the newline itself) and ``word`` (1 where the
  character is not a letter, digit or underscore: the reader stands between words);
- :func:`find_units`: the Pearson correlation of every unit with every signal,

      r(u, s) = sum_t (a_tu - mean_u)(s_t - mean_s) / sqrt(sum_t (a_tu - mean_u)^2 sum_t (s_t - mean_s)^2),

  and the units with the largest |r| per signal (a signal that never changes in the text has no correlation: nan);
- :func:`gate_saturation`: per sigmoid gate and unit, the fraction of steps it is left-saturated (< 0.1: closed)
  and right-saturated (> 0.9: open) — Karpathy et al.'s figure 3;
- :func:`connectivity`: the gradient of the prediction at step t, log p_t(c_hat) with c_hat = argmax p_t, with
  respect to each earlier character's input, by the NumPy engine's hand-written BPTT (readout every step, float64):

      g_s = || d log p_t(c_hat) / d x_s ||_2,   s = 0 .. t      (0 for s > t in a one-directional network)

  using d log p_t(k) / d z_t = onehot(k) - softmax(z_t) for the logits z_t at step t;
- :func:`coloured_html`: the text as HTML, each character's background the colour of a value.

The figures are in :mod:`rnnlab.text_figures` (re-exported by :mod:`rnnlab.plots`).
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .argcheck import check_int, check_text, fail_type, fail_value
from .cells import get_cell
from .reading import gate_names, hidden_and_gates

if TYPE_CHECKING:
    from .spec import ModelSpec

SIGNALS = ("quote", "bracket", "line", "word")
SIGNAL_MEANING = {"quote": "inside a quotation", "bracket": "bracket depth", "line": "position in the line",
                  "word": "between words"}
OPENING, CLOSING = "([{", ")]}"
MAX_TEXT = 20_000     # characters read at once


@dataclass
class CellTrace:
    """What the last layer did while reading ``text``: ``hidden`` (steps, units) and each gate (steps, units)."""
    text: str
    cell: str
    hidden: np.ndarray
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    note: str = ""

    def values(self, of: str = "hidden") -> np.ndarray:
        """The activations (steps, units) of ``of``: "hidden" (h_t) or a gate's name (see :attr:`sources`)."""
        if of == "hidden":
            return self.hidden
        if of not in self.gates:
            raise fail_value("of", of, f"one of {', '.join(self.sources)}")
        return self.gates[of]

    @property
    def sources(self) -> tuple[str, ...]:
        return ("hidden", *self.gates)

    def signed(self, of: str = "hidden") -> bool:
        """Whether ``of`` takes values in (-1, 1) (h_t, a tanh gate) rather than (0, 1) (a sigmoid gate)."""
        if of == "hidden":
            return True
        self.values(of)
        gates = dict(zip(gate_names(self.cell), get_cell(self.cell).gates))
        return gates[of].activation != "sigmoid"


@dataclass
class UnitSearch:
    """The correlation of every unit with every signal: ``correlations`` (signals, units), nan where the signal
    never changes; ``best``: signal -> [(unit, r)], the largest |r| first."""
    text: str
    of: str
    signals: dict[str, np.ndarray]
    correlations: np.ndarray
    best: dict[str, list[tuple[int, float]]]
    trace: CellTrace = field(repr=False)

    def ranked_units(self) -> list[int]:
        """Every unit once: the best per signal first (in the order of the signals), then the rest by number."""
        first = [unit for pairs in self.best.values() for unit, _ in pairs]
        units = list(dict.fromkeys(first))
        return units + [u for u in range(self.correlations.shape[1]) if u not in units]


@dataclass
class Connectivity:
    """The gradient norm g_s of the prediction at ``step`` with respect to each character's input."""
    text: str
    step: int
    predicted: str
    probability: float
    norms: np.ndarray


WORD_RUN = ("the views of what the cells learned read text one character at a time; choose a run of a "
            "character task (--task text or human-numbers)")


def vocabulary_chars(vocabulary: object) -> str:
    """The vocabulary's characters in the order of the one-hot inputs: a :class:`rnnlab.text.vocab.Vocabulary`
    (its ``characters``), a string or a sequence of characters.  A word-level vocabulary (a
    :class:`~rnnlab.text.vocab.WordVocabulary`, or a list of words) is refused: these views read characters."""
    words = getattr(vocabulary, "words", vocabulary)
    if isinstance(words, (list, tuple)) and any(isinstance(w, str) and len(w) > 1 for w in words):
        raise ValueError(f"vocabulary: a word-level vocabulary ({len(words)} words); {WORD_RUN}")
    chars = getattr(vocabulary, "characters", vocabulary)
    if isinstance(chars, str):
        chars = list(chars)
    if not isinstance(chars, Sequence) or not chars or not all(isinstance(c, str) and len(c) == 1 for c in chars):
        raise fail_type("vocabulary", vocabulary, "the run's vocabulary: a string of its characters in order, or a "
                        "Vocabulary")
    if len(set(chars)) != len(chars):
        raise fail_value("vocabulary", vocabulary, "each character once")
    return "".join(chars)


def run_characters(run_dir: str | Path) -> str:
    """The characters of a text run's vocabulary, in order: its ``vocabulary.json``, else the ``vocabulary`` its
    ``task.json`` records; ValueError when the run keeps none (not a text run)."""
    from .rundir import RunDir
    run = RunDir(run_dir)
    if run.file("vocabulary.json").exists():
        vocabulary = run.read_vocabulary()
        if vocabulary.unit != "character":
            raise ValueError(f"{run_dir}: a word-level run ({vocabulary.size} words); {WORD_RUN}")
        return vocabulary_chars(vocabulary)
    info = run.read_json("task.json", "it is written when a run starts; train the run again")
    if not isinstance(info.get("vocabulary"), str):
        raise ValueError(f"{run_dir}: trained on {info.get('task', '?')}, which keeps no vocabulary; choose a run "
                         f"of a text task (--task text or human-numbers)")
    return vocabulary_chars(info["vocabulary"])


def one_hot(vocabulary: object, text: str) -> np.ndarray:
    """The text as the network reads it: x (steps, vocabulary size), x_t = onehot(index of text[t])."""
    chars = vocabulary_chars(vocabulary)
    check_text("text", text, "text of the run's characters")
    if not 1 <= len(text) <= MAX_TEXT:
        raise fail_value("text", text, f"1 to {MAX_TEXT} characters, not {len(text)}")
    index = {c: k for k, c in enumerate(chars)}
    unknown = sorted({c for c in text if c not in index})
    if unknown:
        shown = "".join(unknown[:10])
        raise ValueError(f"text: {len(unknown)} character(s) the run never saw ({shown!r}); use only the "
                         f"{len(chars)} characters of its vocabulary")
    x = np.zeros((len(text), len(chars)), np.float64)
    x[np.arange(len(text)), [index[c] for c in text]] = 1.0
    return x


def _check_model(spec: object, weights: object, vocabulary: object) -> str:
    """The vocabulary's characters, once the spec and weights fit a model reading them one-hot."""
    if not hasattr(spec, "recurrent") or not hasattr(spec, "output_size"):
        raise fail_type("spec", spec, "the ModelSpec of a text run (model.spec)")
    if not isinstance(weights, Mapping):
        raise fail_type("weights", weights, "the run's portable weights (model.weights())")
    chars = vocabulary_chars(vocabulary)
    if spec.recurrent.input_size != len(chars):
        raise ValueError(f"vocabulary: {len(chars)} characters, but the model reads {spec.recurrent.input_size} "
                         f"inputs per step; pass the vocabulary the run was trained with")
    return chars


def read_text(spec: ModelSpec, weights: Mapping, vocabulary: object, text: str) -> CellTrace:
    """The :class:`CellTrace` of the model reading ``text`` from a zero state."""
    x = one_hot(_check_model(spec, weights, vocabulary), text)
    hidden, gates, note = hidden_and_gates(spec, dict(weights), x)
    if hidden is None:
        raise ValueError(f"the cells cannot be read: {note}")
    return CellTrace(text, spec.cell, hidden, gates, note)


def text_signals(text: str) -> dict[str, np.ndarray]:
    """The four signals of the text (see the module's docstring), each (steps,) float64."""
    check_text("text", text, "text")
    quote, depth, line = np.zeros(len(text)), np.zeros(len(text)), np.zeros(len(text))
    inside, level, column = False, 0, 0
    for t, c in enumerate(text):
        if c == '"':
            inside = not inside
        elif c in "“”":
            inside = c == "“"
        level = level + 1 if c in OPENING else max(level - 1, 0) if c in CLOSING else level
        column = 0 if c == "\n" else column + 1
        quote[t] = inside
        depth[t], line[t] = level, column
    word = np.array([not (c.isalnum() or c == "_") for c in text], np.float64)
    return {"quote": quote, "bracket": depth, "line": line, "word": word}


def correlations(activations: np.ndarray, signals: Mapping[str, np.ndarray]) -> np.ndarray:
    """Pearson's r of each unit (columns of ``activations``, (steps, units)) with each signal: (signals, units);
    nan for a signal that never changes, 0 for a unit that never changes."""
    a = activations - activations.mean(0)
    a_norm = np.sqrt((a * a).sum(0))
    rows = []
    for s in signals.values():
        d = np.asarray(s, np.float64) - np.mean(s)
        s_norm = np.sqrt(d @ d)
        if s_norm < 1e-12:
            rows.append(np.full(a.shape[1], np.nan))
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (d @ a) / (s_norm * a_norm)
        rows.append(np.where(a_norm < 1e-12, 0.0, r))
    return np.array(rows).reshape(len(rows), a.shape[1])


def find_units(trace: CellTrace, of: str = "hidden", top: int = 3) -> UnitSearch:
    """The units of ``of`` (h_t or a gate) that track the text's signals best: the ``top`` largest |r| each."""
    _check_trace(trace)
    check_int("top", top, 1)
    values = trace.values(of)
    signals = text_signals(trace.text)
    r = correlations(values, signals)
    best = {}
    for name, row in zip(signals, r):
        if np.isnan(row).all():
            best[name] = []
            continue
        order = np.argsort(-np.abs(row), kind="stable")[:top]
        best[name] = [(int(u), float(row[u])) for u in order]
    return UnitSearch(trace.text, of, signals, r, best, trace)


def gate_saturation(trace: CellTrace, low: float = 0.1, high: float = 0.9) -> dict[str, tuple[np.ndarray, ...]]:
    """gate -> (left, right): per unit, the fraction of steps the sigmoid gate is below ``low`` and above
    ``high``; the tanh gates (the LSTM's g, the GRU's n) are left out.  Empty for a cell without gates."""
    _check_trace(trace)
    if not 0 < low < high < 1:
        raise fail_value("low, high", (low, high), "0 < low < high < 1 (Karpathy et al.: 0.1 and 0.9)")
    return {name: ((value < low).mean(0), (value > high).mean(0))
            for name, value in trace.gates.items() if not trace.signed(name)}


def connectivity(spec: ModelSpec, weights: Mapping, vocabulary: object, text: str,
                 step: int | None = None) -> Connectivity:
    """g_s = ||d log p_step(c_hat) / d x_s|| for every s (see the module's docstring); ``step``: the position of the
    prediction in the text (the last character when None)."""
    from .numpy import SequenceModel
    chars = _check_model(spec, weights, vocabulary)
    x = one_hot(chars, text)
    step = len(text) - 1 if step is None else check_int("step", step, 0, len(text) - 1)
    r = spec.recurrent
    if r.proj_size or spec.head != "plain" or not get_cell(spec.cell).implemented_by("numpy"):
        raise ValueError(f"connectivity: the NumPy engine, which computes it, has no {spec.label} "
                         f"(a plain head, no projection, a cell it implements)")
    model = SequenceModel(r.cell, r.input_size, r.hidden_size, spec.output_size, r.num_layers, r.bidirectional,
                          r.nonlinearity, "every", bias=r.bias, dtype=np.float64, layer_norm=r.layer_norm)
    model.load_state_dict({name: np.asarray(weights[name], np.float64) for name in model.params})
    logits = model.forward(x[None])[0, step]                      # z_t: (vocabulary,)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    k = int(p.argmax())
    dy = np.zeros((1, len(text), spec.output_size))
    dy[0, step] = -p                                              # d log p(k) / d z = onehot(k) - softmax(z)
    dy[0, step, k] += 1.0
    dx = model.backward(dy)[0]                                    # (steps, vocabulary)
    return Connectivity(text, step, chars[k] if k < len(chars) else "?", float(p[k]), np.sqrt((dx * dx).sum(1)))


def colour_of(value: float, signed: bool = True) -> str:
    """The background of a character: RdBu (blue -1, white 0, red +1) for signed values, Greens on [0, 1]."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex
    value = 0.0 if not np.isfinite(value) else float(value)
    if signed:
        return to_hex(colormaps["RdBu_r"](0.5 + 0.5 * np.clip(value, -1, 1)))
    return to_hex(colormaps["Greens"](np.clip(value, 0, 1)))


def coloured_html(text: str, values: Sequence[float], signed: bool = True, title: str = "") -> str:
    """An HTML fragment: ``text`` with each character's background the colour of its value (its title attribute
    holds the value); newlines kept."""
    check_text("text", text, "text")
    values = np.asarray(values, np.float64)
    if values.shape != (len(text),):
        raise fail_value("values", values, f"one number per character ({len(text)}), not shape {values.shape}")
    spans = "".join(f'<span style="background:{colour_of(v, signed)}" title="{v:.3f}">'
                    f'{html.escape(c) if c != chr(10) else "↵"}</span>{chr(10) if c == chr(10) else ""}'
                    for c, v in zip(text, values))
    head = f"<div><b>{html.escape(title)}</b></div>" if title else ""
    return (f'{head}<div style="font-family:monospace;white-space:pre-wrap;line-height:1.5;'
            f'word-break:break-all">{spans}</div>')


def _check_trace(trace: object) -> None:
    if not isinstance(trace, CellTrace):
        raise fail_type("trace", trace, "the CellTrace of read_text(...) or lab.units(...)")
