"""What machine a number was measured on: speed differs a lot between processors (Intel's slow
denormals, AVX-512), so every benchmark and results table names it."""
from __future__ import annotations

import os
import platform
import time


def processor() -> str:
    """The CPU's vendor and model name (from /proc/cpuinfo on Linux) with its family and model numbers,
    which tell processor generations apart where a VM hides the name: ``AuthenticAMD AMD EPYC (family 25,
    model 17)`` is a Zen 4 EPYC."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = " ".join(v for v in (info.get("vendor_id"), info.get("model name")) if v)
    if name and info.get("cpu family") and info.get("model"):
        name += f" (family {info['cpu family']}, model {info['model']})"
    return name or platform.processor() or platform.machine()


def machine_description() -> str:
    """Processor, cores, Python, torch (and its threads), NumPy, the threads asked for by ``RNNLAB_THREADS``
    where it is set (the runs then use that many, whatever torch's own count says) and the date, in one line."""
    import numpy as np
    import torch
    asked = os.environ.get("RNNLAB_THREADS", "").strip()
    return (f"{processor()} ({platform.machine()}), {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), NumPy {np.__version__}, "
            + (f"RNNLAB_THREADS={asked}, " if asked else "") + time.strftime('%Y-%m-%d'))
