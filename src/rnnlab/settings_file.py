"""Settings files read safely: YAML without aliases, bounded in size and depth; messages that quote a bad value
by a short prefix only.

A settings file (``--config``) or a sweep file is a few lines of YAML.  What is refused, and why:

- an alias (``*name``): it repeats a node without repeating its text, so ten lines can stand for billions
  of values ("billion laughs"); settings never need one, so :func:`load_yaml` refuses it while parsing,
  before anything is expanded;
- a file over MAX_YAML_BYTES, or nested too deeply (Python's parser recurses per level);
- a value larger than any setting (a text over MAX_VALUE_TEXT characters, more than MAX_VALUE_ITEMS items):
  :func:`check_value_size`, before any message about it is written.

Every message quotes a value through :func:`shown`: at most SHOWN characters of it, then "..." and its size.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

MAX_YAML_BYTES = 2 ** 20          # a settings or sweep file
MAX_VALUE_TEXT = 1000             # characters of one text value of a setting
MAX_VALUE_ITEMS = 10_000          # numbers, texts, lists and mappings inside one setting's value
SHOWN = 80                        # characters of a bad value quoted in a message


def shown(value: object, limit: int = SHOWN) -> str:
    """repr() of a value for a message: at most ``limit`` characters of it, then "..." and its length
    (a bad value is quoted, never copied whole into the error line)."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    if isinstance(value, (list, tuple, dict, set)) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def check_value_size(name: str, value: object) -> None:
    """Refuse a setting's value that is no size a setting has: a text of more than MAX_VALUE_TEXT characters,
    or more than MAX_VALUE_ITEMS things in all (counted without expanding anything twice)."""
    stack, count = [value], 0
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_VALUE_ITEMS:
            raise ValueError(f"{name}: a value of more than {MAX_VALUE_ITEMS} items; no setting is that large")
        if isinstance(item, str) and len(item) > MAX_VALUE_TEXT:
            raise ValueError(f"{name}: a text of {len(item)} characters ({shown(item)}); no setting is that long")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)


def load_yaml(text: str) -> object:
    """YAML as people write it: ``1e-3`` is a number (PyYAML's YAML 1.1 reads it as text).

    Safe types only, and no aliases (``*name``): an alias repeats a node without copying its text, so a file of
    a few lines can stand for billions of values ("billion laughs"); settings never need one."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, f"an alias (*{str(event.anchor)[:40]}) is not accepted in settings: write the value "
                    f"out", event.start_mark)
            return super().compose_node(parent, index)
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT, list("-+0123456789."))
    return yaml.load(text, Loader=Loader)


_EXPONENT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


def _read_text(path: Path, what: str) -> str:
    """A settings file's text, at most MAX_YAML_BYTES (a FIFO from ``<(...)`` is read; /dev/zero is refused)."""
    if path.is_dir():
        raise IsADirectoryError(path)
    with open(path, "rb") as handle:
        data = handle.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise ValueError(f"{what}: {path} is larger than {MAX_YAML_BYTES} bytes; a settings file is a few lines "
                         f"of YAML such as 'hidden_size: 64'")
    return data.decode("utf-8")


def _parse(text: str, path: Path, what: str) -> object:
    """The YAML text of a settings file; every way it can fail is a ValueError naming the file (PyYAML's own
    errors, nesting deeper than Python recurses, a number of more digits than Python converts)."""
    import yaml
    try:
        return load_yaml(text)
    except RecursionError:
        raise ValueError(f"{what}: {path} is nested too deeply to be settings; fix the file") from None
    except (yaml.YAMLError, ValueError, OverflowError) as err:
        first = " ".join(str(err).split())[:200]
        raise ValueError(f"{what}: {path} is not valid YAML ({first}); fix the file") from None


def read_mapping(path: str | Path, what: str, keys: Iterable[str], expected: str) -> dict:
    """A YAML file holding a mapping whose keys are all in ``keys``; errors name the file and the key and
    quote at most a short prefix of a bad value."""
    path = Path(path)
    try:
        data = _parse(_read_text(path, what), path, what) or {}
    except FileNotFoundError:
        raise ValueError(f"{what}: {path} does not exist") from None
    except IsADirectoryError:
        inside = sorted(str(p) for p in path.glob("*.y*ml"))[:3]
        raise ValueError(f"{what}: {path} is a folder; give the YAML file inside it" + (
            f" ({', '.join(inside)})" if inside else " (this folder holds no .yaml file)")) from None
    except UnicodeDecodeError:
        raise ValueError(f"{what}: {path} is not a text file; give a YAML file such as one holding "
                         f"'hidden_size: 64'") from None
    except OSError as err:
        raise ValueError(f"{what}: {path} cannot be read ({err.strerror}); check its permissions") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: {path} must hold a mapping of {expected}, got {type(data).__name__}")
    unknown = sorted(map(str, set(data) - set(keys)))
    if unknown:
        names = ", ".join(k if k.isprintable() and len(k) <= 40 else shown(k, 40) for k in unknown[:5])
        raise ValueError(f"{what}: {path} has unknown {expected}(s) {names}{', ...' if len(unknown) > 5 else ''}; "
                         f"valid: {', '.join(sorted(keys))}")
    for key, value in data.items():
        check_value_size(f"{what}: {path}: {key}", value)
    return data
