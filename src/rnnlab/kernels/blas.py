"""Matrix products inside compiled loops: BLAS's gemm called from numba, through the library NumPy itself uses.

A time loop in Python pays for every step's calls (a matrix product, a compiled kernel, the indexing: 10-35 us
a step, forward and backward), which at 28 steps is a tenth of a training step.  A loop compiled whole needs its
products inside it.  numba's ``np.dot`` would take BLAS from SciPy, which rnnlab does not need; so the
products call ``cblas_sgemm`` / ``cblas_dgemm`` of the OpenBLAS that NumPy loads (found by threadpoolctl),
by address, through the intrinsic :func:`gemm`.  The address is an argument, not a constant, so the kernels
that call it can be cached on disk like the others.

    gemm(address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        C = alpha op(A) op(B) + beta C,  row-major;  op(X) = X (NO) or X^T (TRANS);
        a, b, c: data addresses (``array.ctypes.data``); alpha and beta float32 (sgemm) or float64 (dgemm)

Only OpenBLAS builds with 64-bit integers (NumPy's wheels: ``scipy_cblas_sgemm64_``) are used; elsewhere
:data:`ADDRESSES` is empty and the engine keeps its step-by-step loop.  OpenBLAS runs each call on as many
threads as its pool has (``rnnlab.threads`` limits it while training) and hands its threads the caller's
floating-point mode, so denormal flushing holds inside these products too.
"""
from __future__ import annotations

import ctypes

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

NO, TRANS = 111, 112              # CblasNoTrans, CblasTrans
_ROW_MAJOR = 101
_NAMES = {np.dtype(np.float32): ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
          np.dtype(np.float64): ("scipy_cblas_dgemm64_", "cblas_dgemm64_")}


def _find_addresses() -> dict[np.dtype, int]:
    """dtype -> the address of its gemm in NumPy's OpenBLAS (64-bit integers), or {} where there is none."""
    try:
        from threadpoolctl import threadpool_info
        paths = [p["filepath"] for p in threadpool_info() if p.get("internal_api") == "openblas"]
    except ImportError:   # pragma: no cover - threadpoolctl is a dependency of rnnlab
        return {}
    found = {}
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for dtype, names in _NAMES.items():
            for name in names:
                if dtype not in found and hasattr(library, name):
                    found[dtype] = ctypes.cast(getattr(library, name), ctypes.c_void_p).value
    return found if len(found) == len(_NAMES) else {}


ADDRESSES: dict[np.dtype, int] = _find_addresses()


@intrinsic
def gemm(typingctx, address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """cblas_?gemm(RowMajor, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) at ``address``."""
    sig = types.void(address, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        i32, i64, pointer = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        real = ir.FloatType() if signature.args[6] == types.float32 else ir.DoubleType()
        kinds = [i32, i32, i32, i64, i64, i64, real, pointer, i64, pointer, i64, real, pointer, i64]
        function = builder.inttoptr(args[0], ir.FunctionType(ir.VoidType(), kinds).as_pointer())
        values = [ir.Constant(i32, _ROW_MAJOR)]
        for value, kind in zip(args[1:], kinds[1:], strict=True):
            if kind is pointer:
                value = builder.inttoptr(value, pointer)
            elif kind in (i32, i64) and value.type.width != kind.width:
                value = builder.trunc(value, kind) if value.type.width > kind.width else builder.sext(value, kind)
            values.append(value)
        builder.call(function, values)
        return context.get_dummy_value()
    return sig, codegen
