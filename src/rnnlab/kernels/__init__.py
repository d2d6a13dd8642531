"""Compiled primitives shared by both engines, below them: the numba switch and the per-unit step math.

Neither engine imports the other; what both compile sits here:

- :mod:`rnnlab.kernels.switch` (re-exported here; imports no numba): whether compiled kernels run —
  numba importable and ``RNNLAB_FUSED`` not 0 (:func:`compiled_default`, :func:`resolve_compiled`).
- :mod:`rnnlab.kernels.scalar` (imports numba): the scalar functions every kernel calls — tanh in
  float32 as a branch-free rational approximation (:func:`~rnnlab.kernels.scalar.vector_tanh`), the
  same with tanh(x) = x near zero (:func:`~rnnlab.kernels.scalar.tanh_`), and the sigmoids built on them.
- :mod:`rnnlab.kernels.units` (imports numba): each cell's step for one unit of one sequence, forward
  and backward, as numba functions that are inlined into the engines' loops.  The NumPy engine's
  feature-major loops (``numpy/fused_steps.py``) and rnnlab.torch's batch-major loops
  (``torch/kernels.py``) call the same functions, so each cell's compiled equations are written once.

Import the numba modules only where compiled kernels are to run (after :func:`compiled_default`).

The engines' kernels are cached on disk (``cache=True``), and numba keys that cache on the kernel's own
source file only: after editing ``scalar.py`` or ``units.py``, clear the caches (the ``*.nbi`` / ``*.nbc``
files in ``src/rnnlab/numpy/__pycache__`` and ``src/rnnlab/torch/__pycache__``) or the kernels keep the
old inlined code.
"""
from .switch import AVAILABLE, ENV, compiled_default, resolve_compiled

__all__ = ["AVAILABLE", "ENV", "compiled_default", "resolve_compiled"]
