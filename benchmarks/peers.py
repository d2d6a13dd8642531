"""A training step of RNN, LSTM and GRU in rnnlab and its peers, each peer in its own process, rounds alternating.

A step is forward + backward + Adam of a classifier (one recurrent layer, hidden 128, the last step read out,
a linear head to 10 classes, softmax cross-entropy) at batch 64, float32, on the CPU, at 28 steps of 28 inputs
(MNIST rows) and 784 steps of 1 input (MNIST pixels).  Peers:

    numpy      rnnlab's NumPy engine (rnnlab.numpy.SequenceModel, Adam; denormals flushed as rnnlab trains)
    numpy-steps  the same with its time loop step by step (``sequence=False``: before numpy/sequence.py)
    scratch    rnnlab.torch's course-convention stacks (rnnlab.torch.RNN/LSTM/GRU in a SequenceClassifier)
    dropin     the drop-in rnnlab.torch.nn.RNN/LSTM/GRU in the same classifier
    torch      torch.nn.RNN/LSTM/GRU in the same classifier (denormals flushed, as rnnlab trains it)
    flax       JAX/Flax linen: nn.RNN over SimpleCell / OptimizedLSTMCell / GRUCell (lax.scan), optax.adam,
               the whole step under jax.jit
    keras      Keras 3 (its JAX backend unless KERAS_BACKEND says otherwise): SimpleRNN / LSTM / GRU + Dense,
               Adam, train_on_batch (jit-compiled)

Each peer runs in a worker process of its own that waits for requests on its standard input, so that one
framework's thread pool never competes with another's: for each round, each shape and cell, every peer in
turn times ``--repeat`` steps after its warm-up (JIT compilation).  The medians over rounds are reported with
each one's ratio to the fastest peer.  JAX, Flax and Keras are optional (``pip install 'rnnlab[peers]'``); a
peer whose packages are missing is skipped with a message.  They may live in another environment: ``--python``
names the interpreter for those peers (it needs numpy and the peer's packages, not rnnlab).

    python benchmarks/peers.py [--rounds 5] [--repeat 5] [--cells rnn,lstm,gru] [--quick | --long]
                               [--peers numpy,scratch,dropin,torch,flax,keras] [--python /path/to/python]
                               [--threads N] [--clock wall|cpu]

On a machine other people load, ``--threads 1 --clock cpu`` compares the work each peer does per step (its
processor time) rather than how much of the machine it got; on a quiet machine the wall clock is the number.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HIDDEN, BATCH, CLASSES = 128, 64, 10
SHAPES = {"28 x 28": (28, 28), "784 x 1": (784, 1)}
PEERS = ("numpy", "numpy-steps", "scratch", "dropin", "torch", "flax", "keras")
FOREIGN = {"flax": ("jax", "flax", "optax"), "keras": ("keras", "jax")}   # peers that may use --python
SRC = str(Path(__file__).resolve().parents[1] / "src")


def data(steps: int, inputs: int):
    import numpy as np
    rng = np.random.default_rng(0)
    return (rng.standard_normal((BATCH, steps, inputs)).astype(np.float32),
            rng.integers(0, CLASSES, BATCH).astype(np.int32))


# ----------------------------------------------------------------------------------- the peers' steps
def numpy_step(cell: str, x, y, whole_sequence: bool = True):
    from rnnlab.numpy import Adam, SequenceModel
    model = SequenceModel(cell, x.shape[2], HIDDEN, CLASSES)
    if not whole_sequence:
        model.rnn._sequence = None
    opt = Adam(model.params, lr=1e-3)
    return lambda: model.train_step(x, y, opt, loss="cross_entropy")


def torch_step(cell: str, x, y, kind: str):
    import torch

    from rnnlab.torch import GRU, LSTM, RNN, SequenceClassifier
    from rnnlab.torch import nn as dropin
    modules = {"scratch": {"rnn": RNN, "lstm": LSTM, "gru": GRU},
               "dropin": {"rnn": dropin.RNN, "lstm": dropin.LSTM, "gru": dropin.GRU},
               "torch": {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}}[kind]
    torch.manual_seed(0)
    extra = {} if kind == "scratch" else {"batch_first": True}
    model = SequenceClassifier(modules[cell](x.shape[2], HIDDEN, **extra), CLASSES)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    return step


def flax_step(cell: str, x, y):
    import flax.linen as nn
    import jax
    import optax
    cells = {"rnn": nn.SimpleCell, "lstm": nn.OptimizedLSTMCell, "gru": nn.GRUCell}

    class Classifier(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = nn.RNN(cells[cell](HIDDEN))(x)       # lax.scan over the steps
            return nn.Dense(CLASSES)(h[:, -1])

    model = Classifier()
    params = model.init(jax.random.PRNGKey(0), x)
    tx = optax.adam(1e-3)
    state = [params, tx.init(params)]

    @jax.jit
    def update(params, opt_state, x, y):
        def loss(p):
            return optax.softmax_cross_entropy_with_integer_labels(model.apply(p, x), y).mean()
        value, grads = jax.value_and_grad(loss)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    xj, yj = jax.numpy.asarray(x), jax.numpy.asarray(y)

    def step():
        state[0], state[1], value = update(state[0], state[1], xj, yj)
        value.block_until_ready()
    return step


def keras_step(cell: str, x, y):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    layer = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(x.shape[1:]), layer(HIDDEN), keras.layers.Dense(CLASSES)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    return lambda: model.train_on_batch(x, y)


def versions(peer: str) -> str:
    if peer in ("flax", "keras"):
        import jax
        if peer == "flax":
            import flax
            return f"jax {jax.__version__}, flax {flax.__version__}"
        import keras
        return f"keras {keras.__version__} ({keras.backend.backend()} backend), jax {jax.__version__}"
    import numpy
    import torch

    import rnnlab
    return f"rnnlab {rnnlab.__version__}, torch {torch.__version__}, NumPy {numpy.__version__}"


def make_step(peer: str, cell: str, steps: int, inputs: int):
    x, y = data(steps, inputs)
    if peer.startswith("numpy"):
        return numpy_step(cell, x, y, whole_sequence=peer == "numpy")
    if peer in ("scratch", "dropin", "torch"):
        return torch_step(cell, x, y, peer)
    return flax_step(cell, x, y) if peer == "flax" else keras_step(cell, x, y)


# ----------------------------------------------------------------------------------- the worker
def limit_threads(peer: str, threads: int) -> None:
    """Before the peer's framework loads: ``threads`` threads for it (0: its own default)."""
    if not threads:
        return
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    if peer in FOREIGN:
        os.environ["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
                                   f"intra_op_parallelism_threads={threads}")


def worker(peer: str, threads: int, clock: str) -> None:
    """Answer one JSON line per request line ({"cell", "steps", "inputs", "repeat"}) with {"ms": [...]}."""
    now = time.process_time if clock == "cpu" else time.perf_counter
    limit_threads(peer, threads)
    flush = None
    if peer not in FOREIGN:
        from rnnlab.denormals import flush_denormals
        flush = flush_denormals()
        flush.__enter__()                    # as rnnlab trains: denormals flushed to zero
    steps = {}
    print(json.dumps({"versions": versions(peer)}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        key = (request["cell"], request["steps"], request["inputs"])
        if key not in steps:
            steps[key] = make_step(peer, *key)
            for _ in range(2):               # warm-up: compilation, buffers
                steps[key]()
        times = []
        for _ in range(request["repeat"]):
            start = now()
            steps[key]()
            times.append((now() - start) * 1e3)
        print(json.dumps({"ms": times}), flush=True)


# ----------------------------------------------------------------------------------- the conductor
def start(peer: str, python: str, threads: int, clock: str) -> subprocess.Popen | None:
    """A worker process for ``peer``, or None (with a message) when its packages are missing."""
    interpreter = python if (peer in FOREIGN and python) else sys.executable
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax")}
    needed = FOREIGN.get(peer, ("torch", "numpy"))
    check = subprocess.run([interpreter, "-c", f"import {', '.join(needed)}"], capture_output=True, env=env)
    if check.returncode != 0:
        print(f"# {peer}: skipped, {' / '.join(needed)} not importable by {interpreter} "
              f"(pip install 'rnnlab[peers]', or give --python)", flush=True)
        return None
    proc = subprocess.Popen([interpreter, __file__, "--worker", peer, "--threads", str(threads), "--clock", clock],
                            env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    print(f"# {peer}: {json.loads(proc.stdout.readline())['versions']}", flush=True)
    return proc


def ask(proc: subprocess.Popen, cell: str, steps: int, inputs: int, repeat: int) -> float:
    proc.stdin.write(json.dumps({"cell": cell, "steps": steps, "inputs": inputs, "repeat": repeat}) + "\n")
    proc.stdin.flush()
    answer = proc.stdout.readline()
    if not answer:
        raise SystemExit(f"a worker stopped while timing {cell} at {steps} steps")
    return statistics.median(json.loads(answer)["ms"])


def processor() -> str:
    sys.path.insert(0, SRC)
    from rnnlab.machine import processor as name
    return f"{name()} ({platform.machine()}), {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="steps timed per round (the median counts)")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--quick", action="store_true", help="28 steps only")
    parser.add_argument("--long", action="store_true", help="784 steps only")
    parser.add_argument("--python", help="the interpreter for the JAX peers (flax, keras)")
    parser.add_argument("--threads", type=int, default=0, help="threads for every peer (0: each one's default)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: elapsed time; cpu: the worker's processor time (all its threads), which other "
                             "people's load on a shared machine hardly changes: use it with --threads 1")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.threads, args.clock)
    shapes = {k: v for k, v in SHAPES.items() if not (args.quick and v[0] > 100 or args.long and v[0] < 100)}
    cells, peers = args.cells.split(","), args.peers.split(",")
    print(f"# training step, float32, batch {BATCH}, hidden {HIDDEN}; medians of {args.rounds} rounds of "
          f"{args.repeat} steps, peers alternating, each in its own process; threads: "
          f"{args.threads or 'each one default'}; clock: {args.clock}")
    print(f"# {processor()}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    procs = {peer: p for peer in peers if (p := start(peer, args.python, args.threads, args.clock)) is not None}
    times: dict[tuple[str, str, str], list[float]] = {}
    try:
        for _ in range(args.rounds):
            for shape, (steps, inputs) in shapes.items():
                for cell in cells:
                    for peer, proc in procs.items():
                        times.setdefault((shape, cell, peer), []).append(
                            ask(proc, cell, steps, inputs, 1 if steps > 100 else args.repeat))
    finally:
        for proc in procs.values():
            proc.stdin.close()
            proc.wait()
    print(f"# load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    print("| steps x inputs | cell | " + " | ".join(f"{p} ms" for p in procs) + " | fastest | numpy / fastest other |")
    print("|---|---|" + "---:|" * len(procs) + "---|---:|")
    for shape in shapes:
        for cell in cells:
            med = {p: statistics.median(times[(shape, cell, p)]) for p in procs}
            fastest = min(med, key=med.get)
            others = [p for p in med if not p.startswith("numpy")]
            ratio = (f"{med['numpy'] / min(med[p] for p in others):.2f}x" if "numpy" in med and others else "")
            print(f"| {shape} | {cell} | " + " | ".join(f"{med[p]:.2f}" for p in procs) + f" | {fastest} | {ratio} |")


if __name__ == "__main__":
    main()
