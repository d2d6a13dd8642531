"""Whole walks through time on torch's own OpenMP team: the batch's rows split between its threads.

An LSTM's rows (sequences) are independent: row n's step t needs only row n's h_{t-1} and c_{t-1}.  So a walk
through time can be cut by rows into one part per thread, and each thread walks its part through every step
with no meeting between steps.  The alternative, one step at a time with each step's matrix product and
elementwise work spread over the threads, meets twice per step; at batch 64 and hidden 128 those meetings and
the steps' small pieces of work leave the second core mostly idle (the drop-in LSTM gained 26-30 % from a
second thread where torch.nn's oneDNN kernel gains 35 %).

The threads are torch's intra-op team itself (GNU OpenMP, ``libgomp``), entered with ``GOMP_parallel`` and
a compiled function (a numba ``cfunc``), so the walk runs where torch's own parallel work runs: no second pool
competes with torch's threads for the cores (a pool of Python threads beside torch's spinning team made the walk
slower, not faster), and the team's threads already carry the denormal flushing that
:mod:`rnnlab.denormals` sets in them.  Each step's recurrent product is torch's own MKL ``sgemm_`` /
``dgemm_`` (the Fortran interface that ``libtorch_cpu`` exports), called inside the parallel region, where MKL
runs it on the calling thread alone.  In float32 the weight matrix is packed once per walk and thread into MKL's
own layout (``sgemm_pack_``) and every step's product reads it packed (``sgemm_compute_``): a plain ``sgemm_``
repacks it at every call (measured on the Intel Xeon, one thread, (32 x 128) (128 x 512): 42 against 34 us).

    run(entry, block, threads)     GOMP_parallel(entry, block, threads): entry(block) on each of ``threads``
                                   threads; thread k (``thread_number()``) walks rows [k B / n, (k + 1) B / n)
    fortran_gemm(address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
                                   C = alpha op(A) op(B) + beta C, row-major, by the Fortran gemm at ``address``
                                   (column-major: C^T = op(B)^T op(A)^T)
    pack_b(address, trans_b, m, n, k, b, ldb, dest)         op(B) packed for C (m x n) = A op(B)
    packed_b_gemm(address, m, n, k, a, lda, dest, beta, c, ldc)     C = A op(B) + beta C, op(B) packed

Integers go as 32 bits: the unsuffixed names are MKL's LP64 interface (its ILP64 names end in ``_64``).

:data:`AVAILABLE` is False where torch has no GNU OpenMP team of its own (the libgomp its wheels bundle) or its
library exports no Fortran gemm (then the node keeps its step-by-step walk).
"""
from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np
import torch
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ..denormals import openmp_runtime

NO, TRANS = 111, 112                                  # the CBLAS codes blas.py uses: 'N' and 'T' here


def _addresses() -> tuple[ctypes.CDLL | None, int, dict[torch.dtype, int], dict[str, int]]:
    """torch's libgomp, the address of its omp_get_thread_num, the Fortran gemm of each dtype in libtorch_cpu
    ({} where either is missing), and MKL's packed float32 products there (sgemm_pack_get_size_, sgemm_pack_,
    sgemm_compute_ by name; {} where absent)."""
    gomp = openmp_runtime()
    try:
        library = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"))
    except OSError:
        return None, 0, {}, {}
    names = {torch.float32: "sgemm_", torch.float64: "dgemm_"}
    if gomp is None or not hasattr(gomp, "GOMP_parallel") or not all(hasattr(library, n) for n in names.values()):
        return None, 0, {}, {}
    gomp.GOMP_parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    gomp.GOMP_parallel.restype = None
    thread_number = ctypes.cast(gomp.omp_get_thread_num, ctypes.c_void_p).value
    gemm = {d: ctypes.cast(getattr(library, n), ctypes.c_void_p).value for d, n in names.items()}
    packed_names = ("sgemm_pack_get_size_", "sgemm_pack_", "sgemm_compute_")
    packed = {n: ctypes.cast(getattr(library, n), ctypes.c_void_p).value for n in packed_names
              if hasattr(library, n)}
    return gomp, thread_number, gemm, packed if len(packed) == len(packed_names) else {}


_GOMP, THREAD_NUMBER, GEMM, _PACKED = _addresses()
# torch's wheels bundle the libgomp that torch and its MKL run on; elsewhere (a build on Intel's OpenMP, a
# distribution's torch) the libgomp found might not be torch's own team, so the walks stay step by step
_BUNDLED = any((Path(torch.__file__).parent / "lib").glob("libgomp*"))
AVAILABLE = bool(GEMM) and _BUNDLED and "OpenMP" in torch.__config__.parallel_info()
_SIZE_OF_PACK = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_char_p, *[ctypes.POINTER(ctypes.c_int32)] * 3)


@functools.lru_cache(maxsize=64)
def packing(m: int, n: int, k: int) -> tuple[int, int, int]:
    """MKL's packed float32 product for C (m x n) = A op(B), op(B) k x n: (the size in bytes of one packed
    op(B), the addresses of sgemm_pack_ and sgemm_compute_), or (0, 0, 0) where MKL's packed API is absent."""
    if not _PACKED:
        return 0, 0, 0
    integers = [ctypes.c_int32(v) for v in (n, m, k)]          # the column-major call's m, n, k
    size = _SIZE_OF_PACK(_PACKED["sgemm_pack_get_size_"])(b"A", *(ctypes.byref(v) for v in integers))
    return int(size), _PACKED["sgemm_pack_"], _PACKED["sgemm_compute_"]


def threads_for(rows: int, smallest_part: int = 8) -> int:
    """How many of torch's threads walk ``rows`` rows: torch's number, but no part below ``smallest_part`` rows."""
    return max(1, min(torch.get_num_threads(), rows // smallest_part))


def run(entry_address: int, block: np.ndarray, threads: int) -> None:
    """entry(block) on ``threads`` threads of torch's OpenMP team (the calling thread is thread 0).  ctypes
    releases the GIL for the call.  ``block`` (int64) holds the walk's sizes and its tensors' addresses."""
    _GOMP.GOMP_parallel(entry_address, block.ctypes.data, threads, 0)


@intrinsic
def pointer(typingctx, address, like):
    """An integer address as a pointer to numbers of ``like``'s type (for numba.carray, which then needs no
    dtype: one compiled function serves float32 and float64)."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(like).as_pointer())
    return types.CPointer(like)(address, like), codegen


@intrinsic
def thread_number(typingctx, address):
    """omp_get_thread_num() through its address: this thread's number in the team, 0 .. threads - 1."""
    def codegen(context, builder, signature, args):
        function = builder.inttoptr(args[0], ir.FunctionType(ir.IntType(32), []).as_pointer())
        return builder.sext(builder.call(function, []), ir.IntType(64))
    return types.int64(address), codegen


def _fortran_call(builder, address, kinds: str, values: list) -> None:
    """Call the Fortran routine at ``address`` with every argument by reference: ``kinds`` has one letter per
    argument, c (a character, given as its code), i (a 32-bit integer, MKL's LP64 interface), r (a real of
    the call's precision, given as such) or p (an array, given as its address)."""
    p = ir.IntType(8).as_pointer()

    def ref(value, kind):      # a slot in the function's entry block (not one per call inside a loop)
        slot = cgutils.alloca_once(builder, kind)
        builder.store(value, slot)
        return builder.bitcast(slot, p)

    arguments = []
    for kind, value in zip(kinds, values, strict=True):
        if kind == "p":
            arguments.append(builder.inttoptr(value, p))
        elif kind == "r":
            arguments.append(ref(value, value.type))
        else:
            width = 8 if kind == "c" else 32
            target = ir.IntType(width)
            arguments.append(ref(builder.trunc(value, target) if value.type.width > width else value, target))
    function = builder.inttoptr(address, ir.FunctionType(ir.VoidType(), [p] * len(kinds)).as_pointer())
    builder.call(function, arguments)


def _char(builder, trans):
    """The CBLAS code NO / TRANS as Fortran's 'N' / 'T'."""
    is_trans = builder.icmp_signed("==", trans, ir.Constant(trans.type, TRANS))
    return builder.select(is_trans, ir.Constant(trans.type, ord("T")), ir.Constant(trans.type, ord("N")))


@intrinsic
def fortran_gemm(typingctx, address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Row-major C = alpha op(A) op(B) + beta C by the Fortran ?gemm_ at ``address``: column-major
    C^T = op(B)^T op(A)^T, so B comes first."""
    sig = types.void(address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        address_, ta, tb, m_, n_, k_, alpha_, a_, lda_, b_, ldb_, beta_, c_, ldc_ = args
        _fortran_call(builder, address_, "cciiirpipirpi",
                      [_char(builder, tb), _char(builder, ta), n_, m_, k_, alpha_, b_, ldb_, a_, lda_, beta_, c_, ldc_])
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def pack_b(typingctx, address, trans_b, m, n, k, b, ldb, dest):
    """MKL's sgemm_pack_ of op(B) (k x n, row-major, ``ldb``) for products C (m x n) = A op(B) with
    :func:`packed_b_gemm`, into ``dest`` (``sgemm_pack_get_size_`` bytes): B is the column-major call's A."""
    sig = types.void(address, trans_b, m, n, k, b, ldb, dest)

    def codegen(context, builder, signature, args):
        address_, tb, m_, n_, k_, b_, ldb_, dest_ = args
        one = ir.Constant(ir.FloatType(), 1.0)
        _fortran_call(builder, address_, "cciiirpip",
                      [ir.Constant(ir.IntType(8), ord("A")), _char(builder, tb), n_, m_, k_, one, b_, ldb_, dest_])
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def packed_b_gemm(typingctx, address, m, n, k, a, lda, packed, beta, c, ldc):
    """Row-major C = A op(B) + beta C (float32) by MKL's sgemm_compute_, op(B) packed by :func:`pack_b`."""
    sig = types.void(address, m, n, k, a, lda, packed, beta, c, ldc)

    def codegen(context, builder, signature, args):
        address_, m_, n_, k_, a_, lda_, packed_, beta_, c_, ldc_ = args
        i8 = ir.IntType(8)
        _fortran_call(builder, address_, "cciiipipirpi",
                      [ir.Constant(i8, ord("P")), ir.Constant(i8, ord("N")), n_, m_, k_, packed_, n_, a_, lda_,
                       beta_, c_, ldc_])
        return context.get_dummy_value()
    return sig, codegen
