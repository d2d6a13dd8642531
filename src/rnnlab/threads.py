"""How many threads training and evaluation use: chosen from the work's size and the machine's load.

Measured on 2-core machines (``docs/engines.md``, "Threads"): a recurrent model of the usual size (hidden
128, batch 64-128) gains little from a second thread when the machine is quiet, and loses badly when another
busy process shares the cores.  Each time step runs a few small parallel regions (OpenMP in torch, pthreads in
OpenBLAS); a thread that waits at the end of one while its partner is descheduled stalls the whole step.  One
epoch of the main job's RNN took 0.9 s with one thread and 36 s with two beside one busy process.  So:

    wanted  = 1 + floor(work / WORK_PER_THREAD)       work: multiply-adds of one step's largest product
    free    = cores - others                          rounded; at least 1
    threads = min(wanted, free, cores)

``cores``: the cores this process may run on (``os.sched_getaffinity``); ``others``: the busy processes
besides this one, the larger of the one-minute load average less one (it may count this process) and the
number of processes runnable right now less this one (``/proc/loadavg``, median of a few looks: it sees a
neighbour that started within the last minute).

The choice is made once when training starts (and when an evaluation starts outside training), said in one
line, and applied for that time only: torch's intra-op threads (``torch.set_num_threads``) and the BLAS pool
NumPy's matrix products use (OpenBLAS, through threadpoolctl), restored afterwards.  The NumPy engine's
compiled (numba) kernels run in the calling thread and start no numba threads.

Overrides, strongest first: the ``threads`` setting (``--threads N``, ``rnnlab.lab.train(threads=N)``),
then the environment variable ``RNNLAB_THREADS`` (a number, or ``auto``), then the choice above.

OpenMP's waiting: between parallel regions, torch's OpenMP threads spin for a while before they sleep
(``OMP_WAIT_POLICY`` unset); beside another busy process that spinning takes the core the other thread
needs.  The OpenMP runtime reads ``OMP_WAIT_POLICY`` (GNU) and ``KMP_BLOCKTIME`` (Intel's) once, when torch
is imported, so :func:`prepare_process` sets ``OMP_WAIT_POLICY=PASSIVE`` and ``KMP_BLOCKTIME=0`` for
processes rnnlab starts itself (the ``rnnlab`` command) unless they are set already; a notebook that
imported torch keeps its runtime as it is.
"""
from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass

ENV = "RNNLAB_THREADS"
WORK_PER_THREAD = 32_000_000   # multiply-adds per step that make another thread worth its waiting
WAITING = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}
_active: list[int] = []         # the thread counts of the scopes open now (innermost last)


def check_threads(name: str, value: object) -> int | None:
    """``value`` as a thread count: None (rnnlab chooses) or a positive whole number; else a one-line error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive whole number of threads (or none to let rnnlab choose "
                         f"from the work's size and the machine's load), got {value!r}")
    return value


def from_environment(environ: MutableMapping[str, str] | None = None) -> int | None:
    """``RNNLAB_THREADS``: a positive whole number, or None when unset, empty or ``auto``."""
    raw = (os.environ if environ is None else environ).get(ENV, "").strip()
    if raw.lower() in ("", "auto"):
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{ENV}={raw!r}: expected a positive whole number of threads or 'auto'; "
                         f"set it to 1 or 2, say, or unset it to let rnnlab choose")
    return value


def requested(setting: int | None, environ: MutableMapping[str, str] | None = None) -> int | None:
    """The thread count asked for: the setting, else ``RNNLAB_THREADS``, else None (rnnlab chooses)."""
    setting = check_threads("threads", setting)
    return setting if setting is not None else from_environment(environ)


def choose_threads(work: float, others: float, cores: int, parts: int = 1) -> int:
    """Threads for ``work`` multiply-adds per step on ``cores`` cores beside ``others`` busy processes (pure);
    ``parts``: how many parts of a batch the model can run on a thread each (the NumPy engine's batch split)."""
    if not (cores >= 1 and work >= 0 and others >= 0 and parts >= 1):
        raise ValueError(f"choose_threads: expected work >= 0, others >= 0, cores >= 1 and parts >= 1, "
                         f"got work={work!r}, others={others!r}, cores={cores!r}, parts={parts!r}")
    wanted = max(1 + int(work // WORK_PER_THREAD), parts)
    free = max(1, math.floor(cores - others + 0.5))
    return max(1, min(wanted, free, cores))


@dataclass(frozen=True)
class Load:
    cores: int          # the cores this process may run on
    others: float       # busy processes besides this one
    load1: float        # the one-minute load average


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not Linux
        return os.cpu_count() or 1


def _runnable_now() -> int | None:
    """Processes runnable at this moment, this one included (/proc/loadavg's fourth field), or None."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def machine_load(looks: int = 5, gap: float = 0.01) -> Load:
    """The cores this process may use and how many other processes keep them busy (see the module docstring)."""
    try:
        load1 = os.getloadavg()[0]
    except (AttributeError, OSError):
        load1 = 0.0
    counts = []
    for k in range(looks):
        count = _runnable_now()
        if count is not None:
            counts.append(count)
        if k + 1 < looks:
            time.sleep(gap)
    now = statistics.median(counts) - 1 if counts else 0.0
    return Load(usable_cores(), max(0.0, load1 - 1, now), load1)


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    why: str            # "--threads / threads=", "RNNLAB_THREADS" or "chosen"
    work: float = 0.0
    load: Load | None = None
    parts: int = 1      # the parts a batch can split into (a thread each)

    def line(self, purpose: str = "training") -> str:
        """One line for the log: what was chosen, from what, and how to choose otherwise."""
        plural = "s" if self.threads > 1 else ""
        if self.why != "chosen":
            return f"threads: {self.threads} for {purpose} (set by {self.why})"
        load = self.load
        return (f"threads: {self.threads} thread{plural} for {purpose} ({load.cores} cores, {load.others:.1f} "
                f"other busy processes, load {load.load1:.2f}; {self.work / 1e6:.3g} M multiply-adds per step"
                f"{f', the batch in up to {self.parts} parts' if self.parts > 1 else ''}); "
                f"--threads N or {ENV}=N to choose")


def decide(setting: int | None, work: float, load: Load | None = None, parts: int = 1) -> ThreadChoice:
    """The thread count for ``work`` multiply-adds per step (a batch in up to ``parts`` parts): the setting,
    ``RNNLAB_THREADS``, or the choice."""
    setting = check_threads("threads", setting)
    if setting is not None:
        return ThreadChoice(setting, "--threads / threads=", work)
    from_env = from_environment()
    if from_env is not None:
        return ThreadChoice(from_env, ENV, work)
    load = load or machine_load()
    return ThreadChoice(choose_threads(work, load.others, load.cores, parts), "chosen", work, load, parts)


def torch_threads() -> int:
    """torch's intra-op threads (1 where torch is not installed)."""
    torch = _torch_or_none()
    return torch.get_num_threads() if torch is not None else 1


def current_threads() -> int:
    """The threads of the innermost :func:`use_threads` scope open now (1 outside every scope)."""
    return _active[-1] if _active else 1


def inside_scope() -> bool:
    """Whether a :func:`use_threads` scope is open (training sets one; its evaluations keep it)."""
    return bool(_active)


@contextmanager
def use_threads(threads: int) -> Iterator[int]:
    """torch's intra-op threads (where torch is installed: the NumPy engine runs without it) and the BLAS pool
    limited to ``threads`` inside the block, as before after."""
    from threadpoolctl import threadpool_limits
    torch = _torch_or_none()
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(threads)
    _active.append(threads)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield threads
    finally:
        _active.pop()
        if torch is not None:
            torch.set_num_threads(before)


def _torch_or_none():
    """torch, or None where it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def prepare_process(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Before torch is imported, in a process rnnlab starts: OpenMP threads that sleep when they wait
    (``OMP_WAIT_POLICY=PASSIVE``, ``KMP_BLOCKTIME=0``) unless the user set either (or ``GOMP_SPINCOUNT``).
    Returns what it set."""
    import sys
    environ = os.environ if environ is None else environ
    if "torch" in sys.modules or any(name in environ for name in (*WAITING, "GOMP_SPINCOUNT")):
        return {}
    for name, value in WAITING.items():
        environ[name] = value
    return dict(WAITING)
