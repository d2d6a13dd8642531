"""The grader's side of the channel: a ``Session`` talks to one agent (one sandbox), and ``Remote`` stands for an
object that lives there.  A check uses a ``Remote`` like the object itself (``model.forward(X)``,
``model.Wx``, ``model.cache = ...``); each use is one request, answered with plain data (arrays, numbers,
strings, tensors as values) or another ``Remote``.  An exception in the student's code arrives as a
``StudentError`` (its type, message and the submission's lines), never as an object.

Every request has a deadline: the end of the current check.  The agent interrupts its own work at that time;
when it does not answer a little later (the student's code swallowed the alarm), the whole sandbox is killed
and ``CheckTimeout`` is raised, so one loop costs one check.
"""
from __future__ import annotations

import contextlib
import os
import select
import time

from . import wire
from .checks import CheckTimeout, SessionEnded, StudentError

GRACE_SECONDS = 2.0            # how long past a deadline the agent may take to answer before it is killed


class Session:
    """One sandboxed agent: requests and answers, deadlines, and how it ended."""

    def __init__(self, process, stop):
        self.process, self._stop = process, stop
        self.deadline = time.monotonic() + 3600.0
        self.ended: str | None = None
        self._in, self._out = process.stdin.fileno(), process.stdout.fileno()

    def limit(self, seconds: float) -> None:
        """The current check must be over in ``seconds``."""
        self.deadline = time.monotonic() + seconds

    def request(self, op: str, *args, **kwargs):
        """Send one request; its answer decoded (references become ``Remote``)."""
        if self.ended:
            raise SessionEnded(self.ended)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CheckTimeout()
        message = {"op": op, "seconds": remaining, "args": [wire.encode(a, _unwrap) for a in args],
                   "kwargs": {k: wire.encode(v, _unwrap) for k, v in kwargs.items()}}
        try:
            wire.send(self._in, message)
            answer = wire.receive(self._reader(self.deadline + GRACE_SECONDS))
            if "ok" in answer:
                return wire.decode(answer["ok"], lambda ref: Remote(self, ref))
            problem = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        except _Late:
            self.stop("it ran past the time limit and ignored the alarm")
            raise CheckTimeout() from None
        except (OSError, EOFError, wire.WireError, ValueError, TypeError, KeyError, RecursionError) as exc:
            self.stop(f"the sandbox ended during a check ({type(exc).__name__}: {str(exc)[:120]})")
            raise SessionEnded(self.ended) from None
        if problem.get("type") == "Timeout":
            raise CheckTimeout()
        lines = problem.get("lines") if isinstance(problem.get("lines"), list) else []
        raise StudentError(printable(problem.get("type", "Error"))[:60], printable(problem.get("message", ""))[:300],
                           [n for n in lines if type(n) is int][-3:])

    def _reader(self, deadline: float):
        def read(n: int) -> bytes:
            data = b""
            while len(data) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([self._out], [], [], remaining)[0]:
                    raise _Late()
                chunk = os.read(self._out, n - len(data))
                if not chunk:
                    raise EOFError(self._why())
                data += chunk
            return data
        return read

    def _why(self) -> str:
        code = self.process.poll()
        if code is None:
            with contextlib.suppress(Exception):
                code = self.process.wait(timeout=1.0)
        return describe_exit(code)

    def stop(self, reason: str) -> None:
        """Kill the sandbox and everything in it (idempotent)."""
        if not self.ended:
            self.ended = reason
        self._stop()

    # the operations a check needs besides attribute access and calls
    def has(self, name: str) -> bool:
        return bool(self.request("has", name))

    def get(self, name: str) -> Remote:
        return self.request("get", name)

    @contextlib.contextmanager
    def lent(self, pieces: dict) -> contextlib.AbstractContextManager:
        """The student's namespace with these names replaced by the grader's pieces, for one check."""
        self.request("lend", pieces)
        try:
            yield
        finally:
            with contextlib.suppress(StudentError, SessionEnded, CheckTimeout):
                self.request("unlend")


class _Late(Exception):
    pass


def printable(text) -> str:
    """Text from the sandbox with control characters (terminal escapes, newlines) replaced: it is shown to the
    teacher's terminal and written to the feedback."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def describe_exit(code: int | None) -> str:
    """How a sandbox's process ended, in words."""
    if code is None:
        return "the sandbox stopped answering"
    if code < 0 or code > 128:
        import signal
        number = -code if code < 0 else code - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        reason = {"SIGKILL": " (killed: the memory or CPU-time limit?)", "SIGXCPU": " (the CPU-time limit)",
                  "SIGSEGV": " (a crash in compiled code)", "SIGXFSZ": " (the file-size limit)"}.get(name, "")
        return f"the sandbox's process ended with {name}{reason}"
    return f"the sandbox's process exited with code {code}"


def _unwrap(value):
    if isinstance(value, Remote):
        return object.__getattribute__(value, "_ref")
    if callable(value) and getattr(value, "__name__", "") in ("tanh", "sigmoid"):
        module = getattr(value, "__module__", "") or ""
        return wire.Function("torch.tanh" if module.startswith("torch") else value.__name__)
    raise wire.WireError(f"{type(value).__name__} cannot be sent to the sandbox")


class Remote:
    """An object in the sandbox.  Attribute reads, writes and calls are requests; dunder names are not sent."""
    __slots__ = ("_session", "_ref")

    def __init__(self, session: Session, ref: wire.Ref):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_ref", ref)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._session.request("getattr", self, name)
        except StudentError as exc:
            if exc.type_name == "AttributeError":
                raise AttributeError(exc.message) from None
            raise

    def __setattr__(self, name: str, value) -> None:
        self._session.request("setattr", self, name, value)

    def __call__(self, *args, **kwargs):
        return self._session.request("call", self, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<{printable(self._ref.type_name)} in the sandbox>"

    def __bool__(self) -> bool:
        return True

    @property
    def type_name(self) -> str:
        return self._ref.type_name

    def assign(self, name: str, value) -> None:
        """Write ``value`` into the student's own array ``name`` in place (views and dtype kept)."""
        self._session.request("assign", self, name, value)

    def bare(self) -> Remote:
        """``cls.__new__(cls)``: an instance whose ``__init__`` has not run."""
        return self._session.request("bare", self)


IDENTITY = wire.Function("identity")
TORCH_TANH = wire.Function("torch.tanh")
