"""The grading process: ``python -m rnnlab.grading.child ASSIGNMENT CHECK_SECONDS TOTAL_SECONDS MEMORY_MB``,
started by ``sandbox`` with a nonce, then one job per line on stdin as they come (``{"id": ..., "folder": ...,
"only": [...]}``, each folder a fresh temporary folder holding ``submission.py``); it serves until stdin closes.

It imports what the checks need once, then forks one process per job (so many submissions cost one import of
torch, and each still runs alone).  The job's process limits itself (memory, CPU time, file size), moves into
its folder, walls itself in (``guard.install``: nothing outside the folder can be written, deleted or
started), runs the submission's definitions one statement at a time and the checks one at a time, each under
a CHECK_SECONDS alarm, and writes one JSON line per note and per item.  This process kills a job that runs
past TOTAL_SECONDS and reports how each job ended.  Every line starts with the nonce; student code's own
output goes to /dev/null.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import json
import os
import resource
import signal
import sys
import tempfile
import time


def _checks(assignment: str):
    if assignment == "gradient-flow":
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot  # imported before the wall: it reads and writes its cache
        import torch
        torch.set_num_threads(1)
        for module in ("rnnlab.torch", "rnnlab.analysis"):   # they load compiled code: before the wall
            importlib.import_module(module)
        from .checks_flow import flow_checks
        return flow_checks()
    importlib.import_module("rnnlab.classic")   # loads compiled code (ctypes): before the wall
    from .checks_backprop import assignment_checks
    return assignment_checks()


def _run_definitions(code: str, namespace: dict, seconds: float) -> list[str]:
    """Execute the submission's definitions one by one; what fails becomes a note, and the rest still runs."""
    from .checks import CheckTimeout, student_error
    from .source import definitions
    notes = []
    for node in definitions(ast.parse(code)):
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            exec(compile(ast.Module(body=[node], type_ignores=[]), "<submission>", "exec"), namespace)
        except (Exception, SystemExit, KeyboardInterrupt, CheckTimeout) as exc:
            notes.append(f"line {node.lineno}: {str(student_error('the statement', exc))[:300]}; "
                         f"the checks that need what it defines fail")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return notes


def _job(folder: str, only: set[str], checks, seconds: float, limits: tuple[float, int], emit) -> None:
    """One submission, in the forked process: limits, folder, wall, definitions, checks."""
    from . import guard
    from .checks import raise_timeout, run_checks
    total_seconds, memory_mb = limits
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2 ** 20,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (int(total_seconds) + 2,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2 ** 20,) * 2)
    os.chdir(folder)
    os.environ["TMPDIR"] = os.environ["HOME"] = folder      # tempfile and ~ point inside the walls
    tempfile.tempdir = folder
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 2):
        os.dup2(quiet, fd)
    signal.signal(signal.SIGALRM, raise_timeout)
    with open(os.path.join(folder, "submission.py"), encoding="utf-8") as file:
        code = file.read()
    guard.install(folder)
    namespace = {"__name__": "submission", "__builtins__": builtins}
    for note in _run_definitions(code, namespace, seconds):
        emit("note", {"text": note})
    run_checks([c for c in checks if not only or c.id in only or c.id.split(".")[0] in only], namespace, seconds,
               lambda item: emit("item", item))
    emit("done", {})


def _wait(pid: int, total_seconds: float) -> dict:
    """Wait for a job's process; kill it past the time limit.  How it ended, as a record."""
    deadline = time.monotonic() + total_seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                return {"signal": os.WTERMSIG(status)}
            return {"code": os.WEXITSTATUS(status)}
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"timeout": total_seconds}
        time.sleep(0.005)


def main(argv: list[str]) -> int:
    """Read the nonce, import the checks, then serve jobs as they come, one line each, until stdin closes."""
    assignment, seconds, total_seconds, memory_mb = argv[0], float(argv[1]), float(argv[2]), int(argv[3])
    nonce = sys.stdin.readline().strip()
    results = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)

    def emitter(number: int):
        def emit(kind: str, payload: dict) -> None:
            results.write(nonce + json.dumps({"kind": kind, "job": number, **payload}) + "\n")
            results.flush()
        return emit

    checks = _checks(assignment)
    for line in sys.stdin:
        job = json.loads(line)
        emit = emitter(job["id"])
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _job(job["folder"], set(job["only"]), checks, seconds, (total_seconds, memory_mb), emit)
            except BaseException:
                code = 3
            finally:
                results.flush()
                os._exit(code)
        emit("exit", _wait(pid, total_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
