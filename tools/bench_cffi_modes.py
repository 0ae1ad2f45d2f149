"""Compare cffi API mode and ABI mode for symkeras' generated C: cold build time and per-call cost.

    python3 tools/bench_cffi_modes.py [--calls 2000] [--samples 101]

Cold build: build_module on a fresh cache folder (compiler run + load), median of a few runs;
the last row builds the same extension through setuptools (``ffi.compile``) for comparison.
Per call: median over samples of the mean time of one call of a function taking a struct of
pointers, (a) with the struct already filled, (b) filling its 4 pointer fields from
``ffi.from_buffer`` of NumPy arrays before each call, as a training step does.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from symkeras.codegen.c import build as cbuild  # noqa: E402

SOURCE = r"""
#include <stddef.h>
#include <stdint.h>
#ifdef SK_USE_CBLAS
#include <cblas.h>
#endif

typedef struct {
    const float *x;       /* (batch, n) */
    const float *kernel;  /* (n, n) */
    const float *bias;    /* (n,) */
    float *y;             /* (batch, n) */
} dense_args;

/* y = relu(x @ kernel + bias): a GEMM then a small elementwise loop. */
int dense(const dense_args *a, int64_t batch, int64_t n, void *ws) {
    (void)ws;
#ifdef SK_USE_CBLAS
    SK_CBLAS_SGEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)batch, (int)n, (int)n,
                   1.0f, a->x, (int)n, a->kernel, (int)n, 0.0f, a->y, (int)n);
#endif
    for (int64_t i = 0; i < batch * n; ++i) {
        float v = a->y[i] + a->bias[i % n];
        a->y[i] = v > 0.0f ? v : 0.0f;
    }
    return 0;
}

/* The per-call probe: touches each pointer once, so the call itself dominates. */
int touch(const dense_args *a, void *ws) {
    (void)ws;
    a->y[0] = a->x[0] + a->kernel[0] + a->bias[0];
    return 0;
}
"""

CDEF = """
typedef struct { const float *x; const float *kernel; const float *bias; float *y; } dense_args;
int dense(const dense_args *a, int64_t batch, int64_t n, void *ws);
int touch(const dense_args *a, void *ws);
"""


def cold_build_seconds(mode, runs=3):
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            os.environ["SYMKERAS_CACHE_DIR"] = folder
            started = time.perf_counter()
            built = cbuild.build_module(SOURCE, CDEF, mode=mode)
            times.append(time.perf_counter() - started)
            assert built.compiled
    return statistics.median(times), built


def setuptools_build_seconds(runs=3):
    """The same extension built by cffi's own ``ffi.compile`` (setuptools drives the compiler)."""
    import contextlib
    import io

    import cffi
    import scipy_openblas32 as openblas

    times = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            ffi = cffi.FFI()
            ffi.cdef(CDEF)
            ffi.set_source(
                f"_bench_setuptools_{run}", SOURCE,
                include_dirs=[openblas.get_include_dir()], library_dirs=[openblas.get_lib_dir()],
                libraries=[openblas.get_library()], runtime_library_dirs=[openblas.get_lib_dir()],
                define_macros=[("SK_USE_CBLAS", None), ("SK_CBLAS_SGEMM", "scipy_cblas_sgemm"),
                               ("SK_CBLAS_DGEMM", "scipy_cblas_dgemm")],
                extra_compile_args=[*cbuild.BASE_CFLAGS, "-march=native"])
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                ffi.compile(tmpdir=folder, verbose=False)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def per_call_microseconds(built, calls, samples):
    ffi, lib = built.ffi, built.lib
    x, kernel, bias = (np.ones(n, np.float32) for n in (8, 64, 8))
    y = np.zeros(8, np.float32)
    args = ffi.new("dense_args *")
    touch = lib.touch
    null = ffi.NULL

    def fill():
        args.x = ffi.from_buffer("float[]", x)
        args.kernel = ffi.from_buffer("float[]", kernel)
        args.bias = ffi.from_buffer("float[]", bias)
        args.y = ffi.from_buffer("float[]", y, require_writable=True)

    def bare():
        for _ in range(calls):
            touch(args, null)

    def filled():
        for _ in range(calls):
            fill()
            touch(args, null)

    fill()
    results = []
    for body in (bare, filled):
        body()  # warm up
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            body()
            timings.append((time.perf_counter() - started) / calls * 1e6)
        results.append(statistics.median(timings))
    assert y[0] == 3.0
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=101)
    options = parser.parse_args()
    if not cbuild.compiler_available():
        sys.exit("no working C compiler")

    rows = {}
    for mode in cbuild.MODES:
        build_s, built = cold_build_seconds(mode)
        bare_us, filled_us = per_call_microseconds(built, options.calls, options.samples)
        rows[mode] = (build_s, bare_us, filled_us)
    setuptools_s = setuptools_build_seconds()

    print(f"{'mode':<22}{'cold build (s)':>16}{'bare call (us)':>16}{'fill+call (us)':>16}")
    for mode, (build_s, bare_us, filled_us) in rows.items():
        print(f"{mode:<22}{build_s:>16.3f}{bare_us:>16.3f}{filled_us:>16.3f}")
    api, abi = rows["api"], rows["abi"]
    print(f"{'ratio abi/api':<22}{abi[0] / api[0]:>16.2f}{abi[1] / api[1]:>16.2f}"
          f"{abi[2] / api[2]:>16.2f}")
    print(f"{'api via ffi.compile':<22}{setuptools_s:>16.3f}{'-':>16}{'-':>16}")


if __name__ == "__main__":
    main()
