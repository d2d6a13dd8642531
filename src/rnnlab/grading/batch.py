"""Grading a whole class: ``rnnlab check DIR_OR_FILES... [--jobs N] [--out DIR]``.

Every .py / .ipynb given (or found in a folder given, not below it) is one student, named from the file name.
``--jobs`` submissions are graded at a time, each in its own fresh sandbox; one that crashes, loops or attacks
costs its own row only.  Written into ``--out``:

- ``gradebook.csv``: one row per student (columns: see ``columns``), sorted by name;
- ``feedback/STUDENT.md`` (for the student) and ``feedback/STUDENT.json`` (the report's JSON, plus the
  file's SHA-256 and how it was graded: what makes a rerun skip it when the file has not changed);
- ``similarity.md``: pairs of near-identical submissions (``similarity``).

Resumable: a student whose feedback JSON records the same file contents, assignment, sandbox mode, limits and
grader version is not graded again (delete the JSON, or give a fresh ``--out``, to grade again).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..files import write_atomic
from .assignments import ASSIGNMENTS
from .jail import Limits
from .report import Report
from .similarity import similar_pairs
from .source import SubmissionError, read_submission, recognise

SUFFIXES = (".py", ".ipynb")


@dataclass
class Row:
    """One student's result: the report, or why the file could not be graded."""
    student: str
    path: Path
    digest: str
    report: Report | None = None
    problem: str | None = None
    resumed: bool = False
    code: str = ""


@dataclass
class ClassResult:
    rows: list[Row]
    pairs: list[tuple[str, str, float]] = field(default_factory=list)
    seconds: float = 0.0


def submissions(paths: list[str | Path]) -> dict[str, Path]:
    """student name -> file, from files and folders (each folder's .py and .ipynb files, not below it)."""
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            files += sorted(p for p in given.iterdir() if p.suffix in SUFFIXES and p.is_file())
        elif given.is_file():
            files.append(given)
        else:
            raise SubmissionError(f"{given}: no such file or folder; give submissions (.py, .ipynb) or folders of them")
    named: dict[str, Path] = {}
    for path in files:
        name = path.stem if path.stem not in named else f"{path.parent.name}-{path.stem}"
        named[name] = path
    if not named:
        raise SubmissionError(f"no .py or .ipynb submissions in {', '.join(map(str, paths))}")
    return named


def grade_class(paths: list[str | Path], out: str | Path, jobs: int = 1, limits: Limits | None = None,
                assignment: str | None = None, sandboxed: bool = True, progress=None) -> ClassResult:
    """Grade every submission in ``paths`` into ``out`` (see the module); returns the rows and similar pairs."""
    started = time.monotonic()
    out, limits = Path(out), limits or Limits()
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    students = submissions(paths)
    settings = _settings(limits, assignment, sandboxed)
    rows = {name: _row(name, path, out, settings) for name, path in students.items()}
    todo = [row for row in rows.values() if not row.resumed]
    tick = progress or (lambda row, done, total: None)
    done, lock = len(rows) - len(todo), threading.Lock()
    for row in rows.values():
        if row.resumed:
            tick(row, None, len(rows))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_grade_one, row, out, limits, settings) for row in todo]
        for future in as_completed(futures):
            row = future.result()
            with lock:
                done += 1
                tick(row, done, len(rows))
    ordered = [rows[name] for name in sorted(rows)]
    pairs = similar_pairs({r.student: r.code for r in ordered if r.code})
    write_gradebook(out / "gradebook.csv", ordered)
    write_atomic(out / "similarity.md", similarity_text(pairs).encode())
    return ClassResult(ordered, pairs, time.monotonic() - started)


def _settings(limits: Limits, assignment: str | None, sandboxed: bool) -> dict:
    """What a feedback JSON records of how it was graded; a file graded otherwise is graded again."""
    from ..version import version
    return {"requested_assignment": assignment, "sandboxed": sandboxed, "limits": asdict(limits),
            "grader": version}


def _row(name: str, path: Path, out: Path, settings: dict) -> Row:
    """The student's row: resumed from its feedback JSON when the file and the settings are unchanged."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Row(name, path, "", problem=f"cannot be read ({exc.strerror or exc}); check its permissions")
    row = Row(name, path, hashlib.sha256(raw).hexdigest())
    with _quietly():
        row.code = read_submission(path).code
    saved = out / "feedback" / f"{name}.json"
    try:
        data = json.loads(saved.read_text())
        same = data.get("sha256") == row.digest and all(data.get(k) == v for k, v in settings.items())
    except (OSError, ValueError, AttributeError):
        return row
    if same:
        row.resumed = True
        row.problem = data.get("problem")
        row.report = Report.from_dict(data) if "items" in data else None
    return row


class _quietly:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is not None and issubclass(kind, SubmissionError)


def _grade_one(row: Row, out: Path, limits: Limits, settings: dict) -> Row:
    """Grade one file; whatever happens becomes its row (never an exception that stops the class)."""
    from .runs import run_items
    from .sandbox import run
    assignment, sandboxed = settings["requested_assignment"], settings["sandboxed"]
    try:
        parsed = read_submission(row.path)
        name = recognise(parsed, assignment)
        if parsed.syntax_error:
            raise SubmissionError(f"not Python ({parsed.syntax_error})")
        row.report = run(parsed.code, name, limits, (), sandboxed)
        row.report.items += run_items(name, parsed.runs)
        if parsed.skipped:
            row.report.notes.append(f"{parsed.skipped} top-level statement(s) (tests, training, plots) not run: "
                                    f"the grader runs its own checks on the definitions")
    except SubmissionError as exc:
        row.problem = str(exc)
    except Exception as exc:                     # a bug of ours must not stop the class either
        row.problem = f"the grader failed on this file ({type(exc).__name__}: {exc}); please report it"
    data = {**(row.report.to_dict() if row.report else {"assignment": None, "score": 0, "max_score": 0}),
            "student": row.student, "file": str(row.path), "sha256": row.digest, "problem": row.problem, **settings}
    write_atomic(out / "feedback" / f"{row.student}.json", (json.dumps(data, indent=2) + "\n").encode())
    write_atomic(out / "feedback" / f"{row.student}.md", feedback_markdown(row, sandboxed).encode())
    return row


def feedback_markdown(row: Row, sandboxed: bool) -> str:
    """The student's feedback: total, one line per item, the notes."""
    lines = [f"# {row.student}: feedback", "", f"File: `{row.path.name}`", ""]
    if row.report is None:
        return "\n".join([*lines, f"**Not graded**: {row.problem}", ""])
    report = row.report
    lines += [f"**{ASSIGNMENTS[report.assignment].title}: {report.score:g} / {report.max_score:g} points**", "",
              "| item | points | feedback |", "|---|---|---|"]
    lines += [f"| `{i.id}` | {i.points:g} / {i.max_points:g} | {'ok: ' if i.passed else ''}"
              f"{i.feedback.replace('|', '/')} |" for i in report.items]
    if not sandboxed:
        lines += ["", "_Graded without a sandbox (--no-sandbox: trusted code only)._"]
    return "\n".join([*lines, "", *[f"- {note}" for note in report.notes], ""])


def columns(rows: list[Row]) -> list[str]:
    """student, file, assignment, score, max_score, status, sandboxed, then one column of points per item
    (``assignment/item`` when the class holds more than one assignment)."""
    present = [a for a in ASSIGNMENTS if any(r.report and r.report.assignment == a for r in rows)]
    items = [f"{a}/{i}" if len(present) > 1 else i for a in present for i, _ in ASSIGNMENTS[a].all_items]
    return ["student", "file", "assignment", "score", "max_score", "status", "sandboxed", *items]


def write_gradebook(path: Path, rows: list[Row]) -> None:
    names = columns(rows)
    several = len({r.report.assignment for r in rows if r.report}) > 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        report = row.report
        values = {"student": row.student, "file": row.path.name, "assignment": report.assignment if report else "",
                  "score": f"{report.score:g}" if report else "0",
                  "max_score": f"{report.max_score:g}" if report else "",
                  "status": "graded" if report else f"not graded: {row.problem}",
                  "sandboxed": "yes" if (report.sandboxed if report else True) else "no (--no-sandbox)"}
        for item in report.items if report else []:
            values[f"{report.assignment}/{item.id}" if several else item.id] = f"{item.points:g}"
        writer.writerow([values.get(n, "") for n in names])
    write_atomic(path, buffer.getvalue().encode())


def similarity_text(pairs: list[tuple[str, str, float]]) -> str:
    lines = ["# Near-identical submissions", "",
             "Pairs whose own code (the exercise's shared skeleton left out) matches at 90 % or more after "
             "names and whitespace are normalised. A hint for a closer look, not a verdict.", ""]
    if not pairs:
        return "\n".join([*lines, "No pair.", ""])
    lines += ["| student | student | similarity |", "|---|---|---|"]
    return "\n".join([*lines, *[f"| {a} | {b} | {r:.0%} |" for a, b, r in pairs], ""])


def summary(result: ClassResult) -> str:
    """The terminal's table: students, graded, mean and median, per item how many got its points."""
    graded = [r for r in result.rows if r.report]
    scores = sorted(r.report.score for r in graded)
    lines = [f"{len(result.rows)} submissions, {len(graded)} graded, "
             f"{sum(r.resumed for r in result.rows)} unchanged since the last run, in {result.seconds:.0f} s"]
    if scores:
        median = scores[len(scores) // 2] if len(scores) % 2 else sum(scores[len(scores) // 2 - 1:][:2]) / 2
        lines.append(f"score: mean {sum(scores) / len(scores):.1f}, median {median:g}, "
                     f"full marks {sum(r.report.score == r.report.max_score for r in graded)}")
        for name in ASSIGNMENTS:
            mine = [r.report for r in graded if r.report.assignment == name]
            if mine:
                lines.append(f"  {name} ({len(mine)}):")
                for item_id, _ in ASSIGNMENTS[name].all_items:
                    got = sum(1 for rep in mine for i in rep.items if i.id == item_id and i.passed)
                    lines.append(f"    {item_id:<38} {got:>4} / {len(mine)} passed")
    lines += [f"not graded: {r.student}: {r.problem}" for r in result.rows if not r.report]
    lines.append(f"near-identical pairs: {len(result.pairs)}" +
                 "".join(f"\n  {a} ~ {b} ({r:.0%})" for a, b, r in result.pairs[:10]))
    return "\n".join(lines)


def progress_bar(stream=None):
    """A progress callback: a bar and the last student graded (one line per student when not a terminal);
    on standard error unless ``stream`` is given."""
    def tick(row: Row, done: int | None, total: int) -> None:
        out = stream or sys.stderr
        if done is None:
            return
        score = f"{row.report.score:g}/{row.report.max_score:g}" if row.report else "not graded"
        filled = int(30 * done / total)
        line = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}  {row.student}: {score}"
        if out.isatty():
            out.write("\r" + line[:100].ljust(100) + ("\n" if done == total else ""))
        else:
            out.write(line + "\n")
        out.flush()
    return tick
