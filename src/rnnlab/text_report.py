"""The report's section on a text run: what its cells learned, read from the run directory.

For each character run of the report that keeps a vocabulary (its ``task.json``'s, or ``vocabulary.json``) and a
model (``model.npz``), on a passage
of its corpus (the first :data:`PASSAGE` characters of the validation text, from the start of a line):

- the passage coloured by the unit that tracks each signal best (quote, bracket, line, word), as HTML;
- ``cells-<k>-units.png``: the signals against those units (:func:`rnnlab.plots.unit_search`);
- ``cells-<k>-saturation.png``: the gates' saturation (:func:`rnnlab.plots.gate_saturation`), for a cell with gates;
- ``cells-<k>-connectivity.png``: what the prediction after the passage depends on (:func:`rnnlab.plots.connectivity`).

A run whose passage or model cannot be read gets one line saying why instead, and so does a word-level run
(``human-numbers-words``: these views read text one character at a time); nothing here stops the report.
"""
from __future__ import annotations

import html
from pathlib import Path

from .rundir import RunDir
from .text_cells import SIGNAL_MEANING, coloured_html, connectivity, find_units, read_text, run_characters
from .text_cells import gate_saturation as saturation
from .text_figures import connectivity as connectivity_figure
from .text_figures import gate_saturation, unit_search

PASSAGE = 600
MAX_RUNS = 4            # text runs a report reads
CAPTIONS = {"units": "the signals of the passage and the units that track them",
            "connectivity": "what the prediction after the passage depends on (gradient norm per character)",
            "saturation": "gate saturation: the fraction of steps each unit is below 0.1 or above 0.9"}


def passage(info: dict, length: int = PASSAGE) -> str:
    """The first ``length`` characters of the run's validation text, from the start of its first full line;
    ``info``: the run's task.json (its corpus and path)."""
    from .text.corpora import DEFAULT_CORPUS, load_corpus
    corpus = load_corpus(info.get("corpus", DEFAULT_CORPUS), info.get("path"))
    text = corpus.val
    start = text.find("\n") + 1 if "\n" in text[:200] else 0
    return text[start:start + length]


def _run_section(run: dict, k: int, out_dir: Path) -> tuple[str, list[tuple[str, str]]]:
    """The HTML and the pictures ([(file, caption)]) of one text run."""
    files = RunDir(run["dir"])
    chars = run_characters(files.path)
    spec, _, weights = files.load_model()
    text = passage(files.read_json("task.json"))
    trace = read_text(spec, weights, chars, text)
    search = find_units(trace)
    blocks = "".join(coloured_html(text, trace.hidden[:, pairs[0][0]],
                                   title=f"{SIGNAL_MEANING[name]}: hidden unit {pairs[0][0]}, r = {pairs[0][1]:+.2f}")
                     for name, pairs in search.best.items() if pairs)
    figures = {"units": unit_search(search),
               "connectivity": connectivity_figure(connectivity(spec, weights, chars, text))}
    if saturation(trace):
        figures["saturation"] = gate_saturation(trace)
    shown = []
    for key, fig in figures.items():
        fig.savefig(out_dir / f"cells-{k}-{key}.png", dpi=90)     # sized to fit: no tight box (it draws twice)
        shown.append((f"cells-{k}-{key}.png", CAPTIONS[key]))
    return blocks, shown


def _is_text_run(run_dir: Path) -> bool:
    """A run that keeps a vocabulary: of characters, or of words (whose section says in one line why it has no
    cells to show)."""
    try:
        run_characters(run_dir)
    except (OSError, ValueError, TypeError, AttributeError):
        try:
            return RunDir(run_dir).read_vocabulary().unit != "character"
        except (OSError, ValueError, TypeError, AttributeError):
            return False
    return True


def cells_section(runs: list[dict], out_dir: str | Path) -> str:
    """The HTML section "What the cells learned" for the text runs among ``runs`` (report.load_run's), with its
    pictures written into ``out_dir``; "" when no run is a text run."""
    out_dir = Path(out_dir)
    texts = [run for run in runs if _is_text_run(run["dir"])][:MAX_RUNS]
    parts = []
    for k, run in enumerate(texts):
        name = html.escape(run["name"])
        try:
            blocks, pictures = _run_section(run, k, out_dir)
        except (OSError, ValueError, KeyError, TypeError) as err:
            parts.append(f"<p><b>{name}</b>: the cells cannot be read ({html.escape(' '.join(str(err).split()))})</p>")
            continue
        images = "".join(f'<h3>{html.escape(caption)}</h3><img src="{file}" alt="{html.escape(caption)}">'
                         for file, caption in pictures)
        parts.append(f"<h3>{name}: the passage coloured by the unit that tracks each signal best</h3>"
                     f"<p>blue -1, white 0, red +1 (h_t); hover a character for its value.</p>{blocks}{images}")
    if not parts:
        return ""
    return ("<h2>What the cells learned</h2><p>Read on the first characters of the validation text (Karpathy, "
            "Johnson &amp; Fei-Fei 2015): <code>rnnlab explore</code>'s text page shows the same for text you type."
            "</p>" + "".join(parts))
