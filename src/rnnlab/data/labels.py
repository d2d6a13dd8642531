"""The true digits of users' pictures, for ``rnnlab predict --labels``: from the file names or from a CSV file.

- File names: the digit is the last ``_<digit>`` before the suffix (``anything_7.png``, ``scan_003_7.jpg``),
  or the whole stem when it is one digit (``7.png``).
- A CSV file: a header row with the columns ``file`` and ``label`` (any others are ignored); ``file`` is
  the picture's file name (without folders), ``label`` a digit 0..9.

Every picture must have a label; anything missing or wrong is a ValueError whose one line names the
file and says what to do.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

_NAME_LABEL = re.compile(r"(?:^|.*_)([0-9])$")


def label_from_name(name: str) -> int | None:
    """The digit at the end of a file name's stem (``x_7.png`` -> 7, ``7.png`` -> 7), or None."""
    match = _NAME_LABEL.fullmatch(Path(name).stem)
    return int(match.group(1)) if match else None


def labels_from_names(names: list[str]) -> list[int]:
    """Each file's digit from its name; ValueError for the first name without one."""
    labels = []
    for name in names:
        label = label_from_name(name)
        if label is None:
            raise ValueError(f"--labels: the file name {name!r} does not end in _<digit> (e.g. anything_7.png); "
                             f"rename the files or give a CSV file of file,label (--labels labels.csv)")
        labels.append(label)
    return labels


def labels_from_csv(path: str | Path, names: list[str]) -> list[int]:
    """Each file's digit from a CSV file with the columns file and label."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"--labels: {path} cannot be read as a CSV file ({err}); give a UTF-8 CSV file "
                         f"with the columns file,label") from None
    if not rows or not {"file", "label"} <= set(rows[0]):
        raise ValueError(f"--labels: {path} has no header row with the columns file and label; "
                         f"start it with the line file,label")
    table: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        text = (row["label"] or "").strip()
        if not (len(text) == 1 and text.isdigit()):
            raise ValueError(f"--labels: {path} line {number}: label {text!r} of {row['file']!r} is not a digit "
                             f"0..9; correct that line")
        table[Path((row["file"] or "").strip()).name] = int(text)
    missing = [name for name in names if name not in table]
    if missing:
        raise ValueError(f"--labels: {path} has no label for {missing[0]!r}"
                         f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; add a line "
                         f"{missing[0]},<digit>")
    return [table[name] for name in names]


def read_labels(names: list[str], source: str | None) -> list[int]:
    """The labels of the pictures ``names``: from their names (``source`` None or "names") or a CSV file."""
    if source in (None, "names"):
        return labels_from_names(names)
    return labels_from_csv(source, names)
