"""Argument checks for the Python API (``rnnlab.lab``, ``rnnlab.plots``, ``rnnlab.widgets``, ``rnnlab.reading``), and
the state-dictionary check both engines share (:func:`check_state_names`).

A public function checks its arguments first, before any work starts, so that a wrong one is a
``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong value) naming the argument, what
was given and what is expected — never an AttributeError or a StopIteration from deep inside:

    >>> lab.train(data="mnist-rows")
    TypeError: data: expected the TaskData of lab.load_data(...) or None, got str 'mnist-rows'; load it with
    lab.load_data("mnist-rows"), or leave data out to load the task's data

Values are quoted by a short prefix (:func:`given`), so a huge argument never makes a huge message.
"""
from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence

SHOWN = 60


def shown(value: object) -> str:
    """A value for a message: its repr() on one line, cut to a short prefix (a huge value never makes a huge
    message)."""
    try:
        text = repr(value)
    except Exception:   # a repr() that fails says nothing more than the type
        text = "?"
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def given(value: object) -> str:
    """What was given, for a message: its type and a short prefix of its repr()."""
    return f"{type(value).__name__} {shown(value)}"


def fail_type(name: str, value: object, expected: str, advice: str = "") -> TypeError:
    """The TypeError of an argument of the wrong kind."""
    return TypeError(f"{name}: expected {expected}, got {given(value)}{'; ' + advice if advice else ''}")


def fail_value(name: str, value: object, expected: str, advice: str = "") -> ValueError:
    """The ValueError of an argument of the right kind and a wrong value."""
    return ValueError(f"{name}: expected {expected}, got {given(value)}{'; ' + advice if advice else ''}")


def check_int(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """``value`` if it is a whole number (not a bool) in [low, high]."""
    bounds = (f" >= {low}" if high is None else f" in [{low}, {high}]") if low is not None else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail_type(name, value, f"a whole number{bounds}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise fail_value(name, value, f"a whole number{bounds}")
    return value


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise fail_type(name, value, "True or False")
    return value


def check_text(name: str, value: object, expected: str = "text", optional: bool = False) -> str | None:
    """``value`` if it is text (or None when ``optional``); the empty text is refused too."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise fail_type(name, value, expected + (" or None" if optional else ""))
    if not value.strip():
        raise fail_value(name, value, expected)
    return value


def check_path(name: str, value: object, optional: bool = False) -> str | os.PathLike | None:
    """``value`` if it is a path (text or os.PathLike; None when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, (str, os.PathLike)) and str(value).strip() and "\0" not in str(value):
        return value
    expected = "a path (text or pathlib.Path)" + (" or None" if optional else "")
    if isinstance(value, (str, os.PathLike)):
        raise fail_value(name, value, expected)
    raise fail_type(name, value, expected)


def check_names(name: str, value: object, what: str = "model names such as ['rnn', 'lstm']") -> list[str]:
    """A non-empty list (or tuple) of texts, no name twice."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise fail_type(name, value, f"a list of {what}")
    if not value:
        raise fail_value(name, value, f"a non-empty list of {what}")
    for item in value:
        if not isinstance(item, str):
            raise fail_type(f"{name}[{list(value).index(item)}]", item, f"text ({what})")
    if len(set(value)) != len(value):
        twice = next(item for item in value if list(value).count(item) > 1)
        raise fail_value(name, value, f"each name once ({twice!r} is given twice)")
    return list(value)


def check_mapping(name: str, value: object, expected: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise fail_type(name, value, expected)
    return value


def check_state_names(what: str, expected: Collection[str], given: Collection[str], model: str = "the model") -> None:
    """Refuse a state dictionary whose names are not exactly ``expected``, listing both differences."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    if missing or unexpected:
        raise ValueError(f"{what}: names do not match {model}; missing {missing}, unexpected {unexpected}; "
                         f"expected exactly {list(expected)}")
