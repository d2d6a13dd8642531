"""The draw page's answers: which runs it may read with, and one drawing read by one of them.

    GET  /api/runs   {"runs": [{"id", "task", "model", "engine", "best"}]}: the finished runs of an image task
                     under the runs folder, newest first; ``id`` is the run's folder relative to that folder
    POST /api/read   body {"run": <an id /api/runs listed>, "png": "data:image/png;base64,..."} (at most
                     MAX_BODY bytes, a PNG of at most MAX_SIDE pixels a side) -> rnnlab.reading.Reading as
                     JSON (the 28 x 28 image the network receives, the prediction, the probabilities after
                     each row, the hidden state and the gates), plus "run"

Anything wrong is a :class:`BadRequest` with a one-line message (HTTP 400): a body that is not JSON
or too large, a run that was not listed, a picture that is not a PNG, too large, or holds no digit.
The models are loaded once per run and kept (a few at most: MAX_MODELS).
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import os
import stat
import threading
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..data.images import ImageError, prepare_digit
from ..filecheck import MAX_JSON_FILE, read_regular
from ..reading import load_model, read_image

MAX_BODY = 2_000_000      # bytes of a request body
MAX_SIDE = 1024           # pixels of a drawing's side
MAX_MODELS = 8
MAX_SCAN_FOLDERS = 20_000  # folders looked at under the runs folder per listing
MAX_SCAN_DEPTH = 6
_PNG_PREFIX = "data:image/png;base64,"


class BadRequest(ValueError):
    """A request the page should not have sent: answered with HTTP 400 and the message."""


def _json_file(path: Path) -> object:
    """A run's small JSON file, read only if it is a regular file of bounded size (never blocks on a FIFO)."""
    return json.loads(read_regular(path, MAX_JSON_FILE, "JSON file of a run").decode("utf-8"))


def _model_files(root: Path) -> list[Path]:
    """The regular model.npz files under ``root`` (symbolic links to folders not followed), at most
    MAX_SCAN_FOLDERS folders looked at and MAX_SCAN_DEPTH levels down, so a huge or looping tree stays cheap."""
    found = []
    for seen, (folder, subfolders, files) in enumerate(os.walk(root, followlinks=False), 1):
        if seen > MAX_SCAN_FOLDERS:
            break
        if len(Path(folder).relative_to(root).parts) >= MAX_SCAN_DEPTH:
            subfolders.clear()
        subfolders.sort()
        if "model.npz" in files:
            path = Path(folder) / "model.npz"
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    found.append(path)
            except OSError:
                pass
    return sorted(found)


def image_runs(root: str | Path) -> dict[str, tuple[Path, dict]]:
    """id -> (run folder, config.json) of every finished run of an image task under ``root`` (id: the folder
    relative to root).  Folders whose files are missing, odd (a FIFO, a device), too large or damaged are
    left out."""
    root = Path(root)
    runs = {}
    for model_file in _model_files(root):
        folder = model_file.parent
        try:
            info = _json_file(folder / "task.json")
            config = _json_file(folder / "config.json")
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(info, dict) and "view" in info and isinstance(config, dict):
            runs[folder.relative_to(root).as_posix()] = (folder, config)
    return runs


def run_rows(root: str | Path) -> list[dict]:
    """The runs the page may choose from, newest first, with what a person needs to choose."""
    rows = []
    for run_id, (folder, config) in image_runs(root).items():
        best = None
        try:
            summary = _json_file(folder / "summary.json")
            best = summary.get("final_test_metric") if isinstance(summary, dict) else None
            modified = folder.stat().st_mtime
        except (OSError, ValueError, RecursionError):
            modified = 0.0
        rows.append({"id": run_id, "task": str(config.get("task", "?")), "model": str(config.get("label", "?")),
                     "engine": str(config.get("engine", "?")),
                     "test_accuracy": best if isinstance(best, (int, float)) else None, "modified": modified})
    return sorted(rows, key=lambda row: -row["modified"])


def decode_png(text: object) -> Image.Image:
    """A ``data:image/png;base64,...`` URL -> the decoded picture (size checked before decoding)."""
    if not isinstance(text, str) or not text.startswith(_PNG_PREFIX):
        raise BadRequest("png: expected a data URL 'data:image/png;base64,...' of the drawing (canvas.toDataURL())")
    try:
        raw = base64.b64decode(text[len(_PNG_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("png: the data URL's base64 text is damaged; send canvas.toDataURL() as it is") from None
    try:
        image = Image.open(io.BytesIO(raw))
        if image.format != "PNG":
            raise BadRequest(f"png: expected a PNG picture, got {image.format}")
        if max(image.size) > MAX_SIDE:
            raise BadRequest(f"png: {image.width} x {image.height} pixels, more than {MAX_SIDE} a side; "
                             f"draw on a smaller canvas")
        image.load()
    except BadRequest:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise BadRequest(f"png: cannot be decoded as a PNG picture ({' '.join(str(err).split())[:80]})") from None
    return image


class Reader:
    """Reads drawings with the runs under ``root``; models are loaded on first use and kept (MAX_MODELS).

    A model is not safe to share between threads (the NumPy engine reuses its work buffers), so each kept
    model has its own lock, held while it reads: every answer equals the same request sent alone."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._models: dict[str, tuple[object, threading.Lock]] = {}
        self._lock = threading.Lock()

    def _model(self, run_id: str, folder: Path) -> tuple[object, threading.Lock]:
        with self._lock:
            if run_id not in self._models:
                if len(self._models) >= MAX_MODELS:
                    self._models.pop(next(iter(self._models)))
                try:
                    self._models[run_id] = (load_model(folder), threading.Lock())
                except ValueError as err:
                    raise BadRequest(f"run: {run_id[:80]!r} cannot be read: {_one_line(err)}") from None
            return self._models[run_id]

    def read(self, body: bytes) -> dict:
        """A request body -> the reading as JSON-ready values; BadRequest for anything wrong."""
        if len(body) > MAX_BODY:
            raise BadRequest(f"the request body is {len(body)} bytes, more than {MAX_BODY}; send a smaller drawing")
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise BadRequest('expected a JSON body {"run": "<id>", "png": "data:image/png;base64,..."}') from None
        if not isinstance(doc, dict) or set(doc) != {"run", "png"}:
            keys = sorted(doc)[:8] if isinstance(doc, dict) else type(doc).__name__
            raise BadRequest(_one_line(f"expected exactly the keys run and png, got {keys}"))
        runs = image_runs(self.root)
        run_id = doc["run"]
        if not isinstance(run_id, str) or run_id not in runs:
            raise BadRequest(f"run: {str(run_id)[:80]!r} is not one of the runs listed by /api/runs")
        picture = decode_png(doc["png"])
        try:
            image = prepare_digit(picture, "the drawing")
        except ImageError as err:
            raise BadRequest(_one_line(err)) from None
        model, lock = self._model(run_id, runs[run_id][0])
        try:
            with lock:
                reading = read_image(runs[run_id][0], image, model)
        except ValueError as err:
            raise BadRequest(f"run: {run_id[:80]!r} cannot be read: {_one_line(err)}") from None
        except (KeyError, TypeError, IndexError, AttributeError) as err:   # a task.json rnnlab did not write
            raise BadRequest(f"run: {run_id[:80]!r} cannot be read: its task.json is damaged ({type(err).__name__}"
                             f" {_one_line(err, 80)}); train the run again") from None
        return {"run": run_id, **reading.to_json()}


def _one_line(message: object, limit: int = 300) -> str:
    """A message as one line of at most ``limit`` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[:limit] + "..."
