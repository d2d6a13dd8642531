"""Flush denormal floats to zero while training and evaluating, and restore the setting afterwards.

Backpropagation through hundreds of steps produces denormal (subnormal) numbers: float32 values
below about 1.18e-38 (float64: 2.2e-308).  Intel processors compute with them up to a hundred
times more slowly than with normal numbers (measured: an LSTM training step at 784 steps 4-10x
slower, ``../shared/PERF-NOTES.md``); AMD's cost little.  Flushing sets two bits of the x86 MXCSR
register of a thread:

    flush-to-zero (FTZ):        a result below the smallest normal number becomes 0
    denormals-are-zero (DAZ):   a denormal operand is read as 0

So with flushing, every value of magnitude below about 1.18e-38 (float32) or 2.2e-308 (float64)
is 0.  Gradients that small change no weight a float32 step can represent, so training is the
same up to rounding (the results suite's short entries give the same numbers both ways).

The register is per thread.  :func:`flush_denormals` sets it in

- the calling thread, where NumPy's elementwise work and the fused NumPy cells run
  (``torch.set_flush_denormal``);
- torch's intra-op worker threads (an OpenMP team), which keep the setting they were started with:
  one empty parallel region of torch's own OpenMP runtime sets it in each of them;
- OpenBLAS's threads (NumPy's matrix products) need nothing: OpenBLAS hands the caller's MXCSR to
  its workers with every call (built with CONSISTENT_FPCSR; ``tests/test_denormals.py`` observes it).

On processors without these modes (not x86) nothing changes and the context reports False.
"""
from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_lock = threading.Lock()


def flushing() -> bool:
    """Whether the calling thread flushes denormals now: 1e-30 * 1e-10 (float32) gives 0 exactly."""
    return bool(np.float32(1e-30) * np.float32(1e-10) == 0)


def openmp_runtime() -> ctypes.CDLL | None:
    """torch's OpenMP runtime (libgomp), already loaded with torch, or None."""
    import torch
    candidates = [Path(torch.__file__).parent / "lib" / "libgomp.so.1"]
    try:
        with open("/proc/self/maps") as maps:
            candidates += [Path(line.split()[-1]) for line in maps if "libgomp" in line and "/" in line]
    except OSError:
        pass
    for path in candidates:
        if path.exists():
            try:
                return ctypes.CDLL(str(path))
            except OSError:
                continue
    return None


_REGION = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _set_in_torch_threads(on: bool) -> None:
    """Run ``torch.set_flush_denormal(on)`` once in every thread of torch's intra-op team."""
    import torch
    gomp = openmp_runtime()
    if gomp is None or not hasattr(gomp, "GOMP_parallel"):
        return
    region = _REGION(lambda _: torch.set_flush_denormal(on))
    gomp.GOMP_parallel.argtypes = [_REGION, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    gomp.GOMP_parallel.restype = None
    gomp.GOMP_parallel(region, None, torch.get_num_threads(), 0)


def set_flush_denormals(on: bool) -> bool:
    """Set (or clear) FTZ and DAZ in this thread and torch's worker threads; False where unsupported."""
    try:
        import torch
    except ImportError:   # pragma: no cover - torch is a dependency of rnnlab
        return False
    with _lock:
        if not torch.set_flush_denormal(on):
            return False
        if torch.get_num_threads() > 1:
            _set_in_torch_threads(on)
    return True


@contextmanager
def flush_denormals(enabled: bool = True) -> Iterator[bool]:
    """Flush denormals to zero inside the ``with`` block (FTZ + DAZ), as it was before afterwards.

    Yields whether flushing is in effect.  ``enabled=False`` changes nothing (``--keep-denormals``).
    """
    before = flushing()
    if not enabled or before:
        yield before
        return
    supported = set_flush_denormals(True)
    try:
        yield supported
    finally:
        if supported:
            set_flush_denormals(False)
