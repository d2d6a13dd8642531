"""A batch split across threads: each thread runs the rows of its part on a twin of the model, and the
gradients are summed.

    rows 0..N-1  ->  parts P_1 .. P_k            (k = the threads in use, at least MIN_ROWS rows each,
                                                  sequences of at least MIN_STEPS steps)
    logits = concat_j f(x[P_j])                   one forward pass per thread, on twin j
    L, dL/dlogits of the whole batch              so the loss and its scaling are the batch's own
    dL/dW = sum_j backward_j(dL/dlogits[P_j])     one backward pass per thread, summed in part order

A twin (:func:`twin`) reads the same parameter arrays as the model and keeps its own
gradients and buffers; part 1 runs on the model itself.  The result equals one pass over the whole batch up
to the order of float sums (``tests/test_batch_split.py`` holds them equal).

Why: the NumPy engine's products are small (batch 64 x 4H x H at each of 784 steps) and BLAS spreads one
such product poorly over cores; parts of the batch on a thread each, BLAS held to one thread inside them,
keep every core busy for the whole pass (the step kernels and NumPy's products release the GIL).  The
measurement is in docs/engines.md ("The batch split across threads").

Only where nothing random or shared between rows is drawn: no dropout, no output dropout, no weight drop, no
activation regularisation (its value is a mean over the whole batch), no carried state, and a classic cell (dense
recurrence, no residual block between layers).  Anything else runs as one pass.
"""
from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_ROWS = 16      # rows per part: below this a part's products are too small to pay for a thread
MIN_STEPS = 200    # steps: a shorter pass is over before the second thread pays for itself (docs/engines.md)


def _classic(rnn) -> bool:
    """A dense recurrence with no block between layers: a net whose twin needs nothing but its own buffers."""
    return rnn.cell_def.recurrence == "dense" and rnn._block is None


def splittable(model) -> bool:
    """Whether ``model`` (a :class:`~rnnlab.numpy.model.SequenceModel`) can train as parts: see the module."""
    return (_classic(model.rnn) and model.rnn.dropout == 0.0 and model.output_dropout == 0.0
            and model.activation_reg == 0.0 and model.temporal_reg == 0.0 and model.weight_drop == 0.0)


def twin(model):
    """A :class:`~rnnlab.numpy.model.SequenceModel` on the same parameter arrays as ``model``, with its own gradients
    and buffers: for a classic cell with no block between layers (see :func:`splittable`)."""
    rnn = model.rnn
    if not _classic(rnn):
        raise ValueError(f"twin: a {rnn.cell_def.full_name} does not split its batch; it runs as one pass")
    other, other.rnn = copy.copy(model), copy.copy(rnn)
    other.rnn.grads = {name: np.zeros_like(g) for name, g in rnn.grads.items()}    # the head's are in it too
    other.grads = other.rnn.grads
    other.rnn._workspaces, other.rnn._last = {}, None
    other._cache = other._keep = other._outputs = None
    other._final, other._d_initial = (None, None), (None, None)
    return other


def batch_parts(model, batch_size: int, steps: int | None, cores: int) -> int:
    """How many parts a batch of ``batch_size`` sequences of ``steps`` steps can run as on ``cores`` threads: the
    NumPy engine's split (a trainable with a ``split``), 1 for any other model or unknown steps."""
    split = getattr(model, "split", None)
    return 1 if split is None or steps is None else split.parts(batch_size, steps, cores)


class BatchSplit:
    """Forward and backward passes of a :class:`~rnnlab.numpy.model.SequenceModel` over parts of a batch."""

    def __init__(self, model) -> None:
        self.model = model
        self.enabled = True        # False: every batch as one pass (benchmarks/batch_split.py compares the two)
        self._twins: list = []
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._bounds: list[int] = []
        self._models: list = []

    def parts(self, rows: int, steps: int, threads: int) -> int:
        """How many parts a batch of ``rows`` sequences of ``steps`` steps runs as with ``threads`` threads
        (1: one pass)."""
        if threads < 2 or steps < MIN_STEPS or not self.enabled or not splittable(self.model):
            return 1
        return max(1, min(threads, rows // MIN_ROWS))

    def forward(self, x: np.ndarray, parts: int) -> np.ndarray:
        """The logits of the whole training batch ``x`` (N, T, D), its parts in parallel."""
        from threadpoolctl import threadpool_limits
        self._bounds = [round(len(x) * j / parts) for j in range(parts + 1)]
        self._models = [self.model, *self._twins_for(parts - 1)]
        pieces = [x[a:b] for a, b in zip(self._bounds, self._bounds[1:])]
        with threadpool_limits(limits=1, user_api="blas"):
            outs = list(self._pool_for(parts).map(lambda m, p: m.forward(p, train=True), self._models, pieces))
        return np.concatenate(outs)

    def backward(self, dy: np.ndarray) -> None:
        """dL/dlogits of the whole batch -> the summed gradients in the model's ``grads``."""
        from threadpoolctl import threadpool_limits
        pieces = [dy[a:b] for a, b in zip(self._bounds, self._bounds[1:])]
        with threadpool_limits(limits=1, user_api="blas"):
            list(self._pool_for(len(pieces)).map(lambda m, p: m.backward(p), self._models, pieces))
        grads = self.model.grads
        for other in self._models[1:]:
            for name, g in other.grads.items():
                grads[name] += g

    def _twins_for(self, count: int) -> list:
        while len(self._twins) < count:
            self._twins.append(twin(self.model))
        return self._twins[:count]

    def _pool_for(self, parts: int) -> ThreadPoolExecutor:
        if self._pool is None or self._pool_size < parts:
            if self._pool is not None:
                self._pool.shutdown()
            self._pool = ThreadPoolExecutor(max_workers=parts, thread_name_prefix="rnnlab-part")
            self._pool_size = parts
        return self._pool
