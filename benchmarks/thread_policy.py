"""One epoch of the main job's RNN alone and beside busy processes, with one thread, two and rnnlab's policy.

The run is ``rnnlab train --cell rnn --opt n_train=10000 --epochs 1`` (torch engine, hidden 128, batch 128,
MNIST rows: MNIST must be in the data folder, ``rnnlab data fetch``); its epoch time is read from its epoch
line.  Conditions, each with its own neighbours started before its runs and stopped after them:

    alone       nothing else of ours running (other people's load is stated beside the table)
    beside 1    a Python busy loop (``while True: pass``)
    beside 2    another rnnlab training run (an LSTM, many epochs, threads as rnnlab chooses) and a busy loop

Settings, alternating run by run inside each condition (rounds x settings):

    1 thread                        --threads 1
    2 threads, OpenMP spins         --threads 2 with GOMP_SPINCOUNT=300000: libgomp's own default waiting,
                                    what every run had before the thread policy
    2 threads, passive waiting      --threads 2 (the rnnlab command sets OMP_WAIT_POLICY=PASSIVE)
    policy                          no flag: rnnlab chooses from the step's size and the machine's load

The table gives the median epoch seconds of each setting and condition, the ratio beside two busy processes to
alone, and each setting's ratio to one thread in the same condition.  Run it on a quiet machine for the figures
that go into docs/engines.md; the processor and the load average (before and after each condition) are printed.

    python benchmarks/thread_policy.py [--rounds 3] [--data-dir DIR]
"""
from __future__ import annotations

import argparse
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
MAIN = ["train", "--cell", "rnn", "--opt", "n_train=10000", "--epochs", "1", "--quiet", "--force"]
NEIGHBOUR = ["train", "--cell", "lstm", "--opt", "n_train=10000", "--epochs", "100", "--quiet", "--force"]
SETTINGS = {
    "1 thread": (["--threads", "1"], {}),
    "2 threads, OpenMP spins (before)": (["--threads", "2"], {"GOMP_SPINCOUNT": "300000"}),
    "2 threads, passive waiting": (["--threads", "2"], {}),
    "policy": ([], {}),
}
CONDITIONS = ("alone", "beside 1 busy", "beside 2 busy")
EPOCH = re.compile(r"epoch 1/1: .* \| ([0-9.]+) s$", re.M)
THREADS = re.compile(r"^threads: (\d+)", re.M)


def environment(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "KMP_BLOCKTIME", "GOMP_SPINCOUNT", "RNNLAB_THREADS")}
    return {**env, "PYTHONPATH": SRC + os.pathsep + env.get("PYTHONPATH", ""), **extra}


def rnnlab(args: list[str], runs: Path, data_dir: str | None, extra: dict | None = None) -> tuple[list[str], dict]:
    data = ["--data-dir", data_dir] if data_dir else []
    return [sys.executable, "-m", "rnnlab", *args, *data, "--runs-dir", str(runs)], environment(extra or {})


def start_neighbours(condition: str, runs: Path, data_dir: str | None) -> list[subprocess.Popen]:
    busy = [sys.executable, "-c", "while True: pass"]
    procs = []
    if condition != "alone":
        procs.append(subprocess.Popen(busy))
    if condition == "beside 2 busy":
        command, env = rnnlab([*NEIGHBOUR, "--name", "neighbour"], runs, data_dir)
        procs.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(8)           # its imports and data loading done: it trains
    time.sleep(2)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()


def one_epoch(setting: str, runs: Path, data_dir: str | None, cap: float) -> tuple[float, int]:
    """The epoch's seconds and the threads the run used; inf when the run took more than ``cap`` seconds."""
    flags, extra = SETTINGS[setting]
    command, env = rnnlab([*MAIN, *flags, "--name", "main"], runs, data_dir, extra)
    try:
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return math.inf, int(flags[1]) if flags else 0
    found = EPOCH.search(out.stdout)
    if out.returncode != 0 or not found:
        raise SystemExit(f"the run failed:\n{out.stdout}\n{out.stderr}")
    return float(found.group(1)), int(THREADS.search(out.stdout).group(1))


def times_as(ratio: float, digits: int) -> str:
    """``2.4x``, or - where a run took longer than the cap (an unknown ratio)."""
    return f"{ratio:.{digits}f}x" if math.isfinite(ratio) and ratio > 0 else "-"


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # a timeout still stops the neighbours
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--cap", type=float, default=180.0,
                        help="seconds a run may take (start, data and epoch); slower runs show as > cap")
    args = parser.parse_args()
    sys.path.insert(0, SRC)
    from rnnlab.machine import machine_description
    print(f"# one epoch of `rnnlab {' '.join(MAIN[:-2])}`, seconds (median of {args.rounds} rounds)")
    print(f"# {machine_description()}")
    times: dict[tuple[str, str], list[float]] = {}
    chosen: dict[str, set[int]] = {}
    loads = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        for condition in args.conditions.split(","):
            procs = start_neighbours(condition, runs, args.data_dir)
            before = load()
            try:
                for _ in range(args.rounds):
                    for setting in SETTINGS:
                        seconds, threads = one_epoch(setting, runs, args.data_dir, args.cap)
                        print(f"#   {condition}, {setting}: {seconds:.1f} s ({threads} threads); load average "
                              f"{load()}", flush=True)
                        times.setdefault((setting, condition), []).append(seconds)
                        if setting == "policy":
                            chosen.setdefault(condition, set()).add(threads)
            finally:
                stop(procs)
            loads[condition] = f"{before} -> {load()}"
            print(f"# {condition}: load average {loads[condition]}; policy chose {sorted(chosen.get(condition, []))}",
                  flush=True)
    conditions = [c for c in CONDITIONS if (next(iter(SETTINGS)), c) in times]
    med = {key: statistics.median(v) for key, v in times.items()}
    print("\n| setting | " + " | ".join(f"{c} s" for c in conditions) + " | beside 2 / alone | "
          + " | ".join(f"/ 1 thread, {c}" for c in conditions) + " |")
    print("|---|" + "---:|" * (2 * len(conditions) + 1))
    for setting in SETTINGS:
        cells = [f"{med[(setting, c)]:.2f}" if math.isfinite(med[(setting, c)]) else f"> {args.cap:.0f}"
                 for c in conditions]
        ratio = (times_as(med[(setting, "beside 2 busy")] / med[(setting, "alone")], 1)
                 if {"alone", "beside 2 busy"} <= set(conditions) else "")
        versus = [times_as(med[(setting, c)] / med[("1 thread", c)], 2) for c in conditions]
        print(f"| {setting} | " + " | ".join(cells) + f" | {ratio} | " + " | ".join(versus) + " |")
    print("\nevery run:", {f"{s} / {c}": v for (s, c), v in times.items()})


if __name__ == "__main__":
    main()
