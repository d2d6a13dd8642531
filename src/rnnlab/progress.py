"""Progress that reads well where it is shown.

- in a Jupyter notebook: a widget bar (``tqdm.auto``, that is ``tqdm.notebook`` there) that is closed when it
  is done, and messages on standard output, so nothing but a warning is shown in red (a notebook shows
  standard error in red); without ipywidgets, no bar, only the messages;
- on a terminal: a tqdm bar on standard error, cleared when it is done (``leave=False``);
- in a log or a pipe: no bar at all (no carriage-return fragments), only plain lines.

Nothing here is imported at ``import rnnlab`` time, and nothing changes how IPython or tqdm behave.
"""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from typing import Any


def in_notebook() -> bool:
    """True inside a Jupyter kernel (an IPython shell with a kernel), False in a terminal's IPython or a script."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _has_widgets() -> bool:
    return importlib.util.find_spec("ipywidgets") is not None


def bar_shown(stream: Any = None) -> bool:
    """Whether a bar can be shown: a notebook with ipywidgets, or ``stream`` (standard error) is a terminal."""
    if in_notebook():
        return _has_widgets()
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


def bar(iterable: Iterable | None = None, enabled: bool = True, stream: Any = None, **options: Any) -> Any:
    """A tqdm bar that is cleared when done, where it can be shown (see the module's note), else one that shows
    nothing (``disable=True``: ``update``, ``set_postfix`` and ``close`` do nothing).  ``options`` are tqdm's."""
    options.setdefault("leave", False)
    if enabled and in_notebook() and _has_widgets():
        from tqdm.notebook import tqdm as notebook_tqdm
        return notebook_tqdm(iterable, **options)
    from tqdm import tqdm
    stream = stream or sys.stderr
    return tqdm(iterable, file=stream, disable=not (enabled and bar_shown(stream)), **options)


def say(message: str) -> None:
    """A message about progress (fetching data, for instance): on standard output in a notebook, where standard
    error is shown in red as if it were an error; on standard error elsewhere, so that a command's standard
    output keeps only its results."""
    print(message, file=sys.stdout if in_notebook() else sys.stderr, flush=True)
