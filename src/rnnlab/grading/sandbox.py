"""Run the checks on a submission in a separate, walled-in process: a fresh temporary working folder, a memory
limit (address space, ``resource.setrlimit``), a CPU-time and a file-size limit, a wall-clock limit on the whole
process and on each check, and the audit-hook wall of ``guard`` inside.  The grader never imports student code.

Whatever happens to the process (an endless loop, a crash, memory exhausted), the grader gets a ``Report``:
the items the process finished, and for the others why they were not checked.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .catalogue import ITEMS
from .report import Item, Report

STARTUP_SECONDS = 120.0        # the grading process's imports (torch), on a busy machine


@dataclass(frozen=True)
class Limits:
    """``check_seconds`` per check (and per top-level statement), ``total_seconds`` for the whole process,
    ``memory_mb`` of address space (torch alone takes about 700 MB of it)."""
    check_seconds: float = 10.0
    total_seconds: float = 120.0
    memory_mb: int = 3072

    def __post_init__(self):
        for name in ("check_seconds", "total_seconds", "memory_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected a positive number, got {getattr(self, name)!r}")


def _limit_memory(limits: Limits):
    def apply() -> None:               # runs in the grading process between fork and exec
        memory = limits.memory_mb * 2 ** 20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _environment(folder: str) -> dict[str, str]:
    package_root = str(Path(__file__).resolve().parents[2])
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
    return {**keep, "HOME": folder, "TMPDIR": folder, "MPLBACKEND": "Agg", "MPLCONFIGDIR": folder,
            "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONPATH": package_root, "PYTHONNOUSERSITE": "1"}


def run(code: str, assignment: str, limits: Limits, only: tuple[str, ...] = ()) -> Report:
    """Grade ``code`` (a submission's source) as ``assignment`` in a walled-in process; never raises for what
    the submission does."""
    return run_many([code], assignment, limits, only)[0]


def run_many(codes: list[str], assignment: str, limits: Limits, only: tuple[str, ...] = ()) -> list[Report]:
    """Grade several submissions of one assignment, one forked, walled-in process each, by a grading process
    that imported the checks once (kept warm for the next call: a notebook's checks cost one import)."""
    return [_server(assignment, limits).grade(code, only) for code in codes]


_SERVERS: dict[tuple[str, Limits], _Server] = {}


def _server(assignment: str, limits: Limits) -> _Server:
    key = (assignment, limits)
    server = _SERVERS.get(key)
    if server is None or server.process.poll() is not None:
        while len(_SERVERS) >= 3:
            _SERVERS.pop(next(iter(_SERVERS))).close()
        server = _SERVERS[key] = _Server(assignment, limits)
    return server


@atexit.register
def close_servers() -> None:
    """Stop every warm grading process (at exit, or by hand)."""
    while _SERVERS:
        _SERVERS.popitem()[1].close()


class _Server:
    """One grading process: its folder, its pipes and the jobs it has been given."""

    def __init__(self, assignment: str, limits: Limits):
        self.assignment, self.limits, self.jobs, self.started = assignment, limits, 0, False
        self.root = tempfile.mkdtemp(prefix="rnnlab-grade-")
        self.nonce = secrets.token_hex(16)
        self.log = open(os.path.join(self.root, "grader.log"), "w+b")  # noqa: SIM115  (open while it runs)
        command = [sys.executable, "-m", "rnnlab.grading.child", assignment, str(limits.check_seconds),
                   str(limits.total_seconds), str(limits.memory_mb)]
        self.process = subprocess.Popen(command, cwd=self.root, env=_environment(self.root), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, start_new_session=True,
                                        preexec_fn=_limit_memory(limits))
        self.process.stdin.write(self.nonce.encode() + b"\n")
        self.buffer = b""

    def grade(self, code: str, only: tuple[str, ...]) -> Report:
        """Send one job and collect its records until its process has ended (or the time is up)."""
        number, self.jobs = self.jobs, self.jobs + 1
        folder = Path(self.root, f"submission-{number}")
        folder.mkdir()
        (folder / "submission.py").write_text(code, encoding="utf-8")
        job = json.dumps({"id": number, "folder": str(folder), "only": list(only)})
        allowance = self.limits.total_seconds + 10 + (0 if self.started else STARTUP_SECONDS)
        records, stopped = [], None
        try:
            self.process.stdin.write(job.encode() + b"\n")
            self.process.stdin.flush()
            records, stopped = self._collect(number, time.monotonic() + allowance)
        except (BrokenPipeError, OSError):
            stopped = self._ended()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.started = True
        return _report(records, self.assignment, only, stopped)

    def _collect(self, number: int, deadline: float) -> tuple[list[dict], str | None]:
        records = []
        fd = self.process.stdout.fileno()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                return records, "the grading process was stopped (it ran past every time limit)"
            if not select.select([fd], [], [], remaining)[0]:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return records, self._ended()
            self.buffer += chunk
            *lines, self.buffer = self.buffer.split(b"\n")
            mine = [r for r in _records(b"\n".join(lines).decode("utf-8", "replace"), self.nonce)
                    if r.get("job") == number]
            records += mine
            if any(r["kind"] == "exit" for r in mine):
                return records, None

    def _ended(self) -> str:
        self.close()
        self.log.seek(0)
        lines = self.log.read().decode("utf-8", "replace").strip().splitlines()
        return _why_it_ended(self.process.returncode, lines[-1] if lines else "")

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.log):
            with contextlib.suppress(OSError):
                pipe.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _records(out: str, nonce: str) -> list[dict]:
    """The JSON records of the grading process: the lines that start with the nonce."""
    records = []
    for line in out.splitlines():
        if line.startswith(nonce):
            try:
                records.append(json.loads(line[len(nonce):]))
            except ValueError:
                continue
    return records


def _report(records: list[dict], assignment: str, only: tuple[str, ...], stopped: str | None) -> Report:
    """The items a job emitted, and the others as not checked, with the reason its process ended."""
    items = {r["id"]: Item(r["id"], r["points"], r["max_points"], r["passed"], r["feedback"])
             for r in records if r["kind"] == "item"}
    notes = [r["text"] for r in records if r["kind"] == "note"]
    ended = next((r for r in records if r["kind"] == "exit"), None)
    if not any(r["kind"] == "done" for r in records):
        stopped = _job_ending(ended) if ended else (stopped or "the grading process ended early")
    wanted = [(i, p) for i, p in ITEMS[assignment] if not only or i in only or i.split(".")[0] in only]
    report = Report(assignment, [items.get(i) or Item(i, 0, p, False, f"not checked: {stopped}")
                                 for i, p in wanted], notes)
    if stopped and len(items) < len(wanted):
        report.notes.append(stopped)
    return report


def _job_ending(record: dict) -> str:
    if "timeout" in record:
        return f"the submission's process was stopped after {record['timeout']:g} s (the time limit)"
    if "signal" in record:
        return _why_it_ended(-record["signal"], "")
    return f"the submission's process stopped early (exit code {record.get('code')})"


def _why_it_ended(returncode: int, err: str) -> str:
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        reason = {"SIGKILL": " (killed: the memory or CPU-time limit?)", "SIGXCPU": " (the CPU-time limit)",
                  "SIGSEGV": " (a crash in compiled code)", "SIGXFSZ": " (the file-size limit)"}.get(name, "")
        return f"the process ended with {name}{reason}"
    last = err.strip() or "no message"
    return f"the grading process stopped early (exit code {returncode}: {last[:200]})"
