"""What a grading produces: one item per TODO (points, maximum, passed, feedback) and their total.

The JSON layout is the one a course system imports:
``{"assignment": ..., "score": ..., "max_score": ..., "items": [{"id", "points", "max_points", "passed",
"feedback"}], "notes": [...]}`` where ``id`` names the class or function and the part checked (``RNN.backward``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Item:
    """One TODO's result: ``points`` of ``max_points``, and what is right or wrong in a sentence or two."""
    id: str
    points: float
    max_points: float
    passed: bool
    feedback: str


@dataclass
class Report:
    """A graded submission: score = sum of the items' points, max_score = sum of their maxima."""
    assignment: str
    items: list[Item]
    notes: list[str] = field(default_factory=list)
    sandboxed: bool = True               # False: graded with --no-sandbox (trusted code), said in every output

    @property
    def score(self) -> float:
        return sum(item.points for item in self.items)

    @property
    def max_score(self) -> float:
        return sum(item.max_points for item in self.items)

    def to_dict(self) -> dict:
        return {"assignment": self.assignment, "score": self.score, "max_score": self.max_score,
                "items": [asdict(item) for item in self.items], "notes": list(self.notes),
                "sandboxed": self.sandboxed}

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        return cls(data["assignment"], [Item(**item) for item in data["items"]], list(data.get("notes", [])),
                   bool(data.get("sandboxed", True)))

    def write_json(self, path: str | Path) -> None:
        from ..files import write_atomic
        write_atomic(Path(path), (json.dumps(self.to_dict(), indent=2) + "\n").encode())

    def text(self) -> str:
        """The report as a student reads it: one line per TODO, then the total and any notes."""
        width = max((len(item.id) for item in self.items), default=10)
        lines = [f"{self.assignment}: {_number(self.score)} / {_number(self.max_score)} points"]
        for item in self.items:
            mark = "ok  " if item.passed else "FAIL"
            lines.append(f"  {mark} {item.id:<{width}} {_number(item.points)}/{_number(item.max_points)}  "
                         f"{item.feedback}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:   # IPython shows the text, not the dataclass
        printer.text(self.text())


def _number(value: float) -> str:
    return f"{value:g}"
