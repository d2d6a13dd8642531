"""The text page's answers: type text, watch the units of a trained character-level model.

    GET  /api/text-runs  {"runs": [{"id", "task", "model", "engine", "characters"}]}: the finished runs under the
                         runs folder that keep a vocabulary of characters (text runs: their task.json's
                         "vocabulary", or a vocabulary.json), newest first; word-level runs
                         (human-numbers-words) are not listed, since the page reads text one character at a time
    POST /api/units      body {"run": <a listed id>, "text": "...", "of": "hidden" | a gate's name (optional)}
                         (at most MAX_TYPED characters, all in the run's vocabulary) ->
                         {"run", "text", "of", "sources", "units", "signed", "values": (steps, units) rounded,
                          "best": {signal: [[unit, r], ...]}, "meanings": {signal: words}, "ranked": [unit, ...],
                          "connectivity": {"norms": (steps,), "predicted", "probability"} or null}

The values are rnnlab.text_cells.read_text's (the NumPy engine's steps on the run's weights, float64): the page
colours the text by one unit without asking again, and asks again when the text changes.  ``ranked`` lists
every unit once, the best per signal first; ``connectivity`` is the gradient norm of the prediction after the
last character with respect to each character (null for a model the NumPy engine cannot differentiate).
Anything wrong is a :class:`~rnnlab.explore.draw.BadRequest` with one line (HTTP 400).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..text_cells import SIGNAL_MEANING, connectivity, find_units, read_text, vocabulary_chars
from .draw import BadRequest, Reader, _json_file, _model_files, _one_line

MAX_TYPED = 1000          # characters of one request's text
VOCABULARY_FILE = "vocabulary.json"


def text_runs(root: str | Path) -> dict[str, tuple[Path, dict, str]]:
    """id -> (run folder, config.json, the vocabulary's characters) of every finished run under ``root`` that keeps
    a vocabulary of characters; word-level runs, and folders whose files are missing, odd or damaged, are left
    out."""
    root = Path(root)
    runs = {}
    for model_file in _model_files(root):
        folder = model_file.parent
        try:
            config = _json_file(folder / "config.json")
            kept = folder / VOCABULARY_FILE
            doc, key = (_json_file(kept), "characters") if kept.exists() else (_json_file(folder / "task.json"),
                                                                                 "vocabulary")
            chars = vocabulary_chars(doc.get(key))
        except (OSError, ValueError, TypeError, AttributeError, RecursionError):
            continue
        if isinstance(config, dict):
            runs[folder.relative_to(root).as_posix()] = (folder, config, chars)
    return runs


def text_run_rows(root: str | Path) -> list[dict]:
    """The text runs the page may choose from, newest first."""
    rows = []
    for run_id, (folder, config, chars) in text_runs(root).items():
        try:
            modified = folder.stat().st_mtime
        except OSError:
            modified = 0.0
        rows.append({"id": run_id, "task": str(config.get("task", "?")), "model": str(config.get("label", "?")),
                     "engine": str(config.get("engine", "?")), "characters": chars, "modified": modified})
    return sorted(rows, key=lambda row: -row["modified"])


def _request(body: bytes) -> tuple[str, str, str]:
    """run, text and of from a request body; BadRequest for anything else."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest('expected a JSON body {"run": "<id>", "text": "..."}') from None
    if not isinstance(doc, dict) or not {"run", "text"} <= set(doc) <= {"run", "text", "of"}:
        keys = sorted(doc)[:8] if isinstance(doc, dict) else type(doc).__name__
        raise BadRequest(_one_line(f"expected the keys run, text (and of), got {keys}"))
    run_id, text, of = doc["run"], doc["text"], doc.get("of", "hidden")
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_TYPED:
        shown = f"{len(text)} characters" if isinstance(text, str) else type(text).__name__
        raise BadRequest(f"text: expected 1 to {MAX_TYPED} characters, got {shown}")
    if not isinstance(of, str):
        raise BadRequest(f"of: expected 'hidden' or a gate's name, got {type(of).__name__}")
    return run_id, text, of


class TextReader(Reader):
    """Reads typed text with the text runs under ``root``; models are loaded on first use and kept (as Reader)."""

    def read(self, body: bytes) -> dict:
        """A request body -> the units' values as JSON-ready lists; BadRequest for anything wrong."""
        run_id, text, of = _request(body)
        runs = text_runs(self.root)
        if not isinstance(run_id, str) or run_id not in runs:
            raise BadRequest(f"run: {str(run_id)[:80]!r} is not one of the runs listed by /api/text-runs")
        folder, _, chars = runs[run_id]
        unknown = sorted({c for c in text if c not in chars})
        if unknown:
            raise BadRequest(_one_line(f"text: {''.join(unknown[:10])!r} not in the run's vocabulary; it knows "
                                       f"only {len(chars)} characters"))
        model, lock = self._model(run_id, folder)
        with lock:
            weights = model.weights()
        try:
            trace = read_text(model.spec, weights, chars, text)
        except ValueError as err:
            raise BadRequest(f"run: {run_id[:80]!r} cannot be read: {_one_line(err)}") from None
        if of not in trace.sources:
            raise BadRequest(_one_line(f"of: {of[:40]!r} is not one of {', '.join(trace.sources)}"))
        search = find_units(trace, of)
        try:
            found = connectivity(model.spec, weights, chars, text)
            gradient = {"norms": found.norms.tolist(), "predicted": found.predicted, "probability": found.probability}
        except ValueError:
            gradient = None
        return {"run": run_id, "text": text, "of": of, "sources": list(trace.sources),
                "units": int(search.correlations.shape[1]), "signed": trace.signed(of),
                "values": np.round(trace.values(of), 4).tolist(),
                "best": {name: [[unit, round(r, 4)] for unit, r in pairs] for name, pairs in search.best.items()},
                "meanings": SIGNAL_MEANING, "ranked": search.ranked_units(), "connectivity": gradient}
