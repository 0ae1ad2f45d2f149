"""Benchmark ``symkeras-aot`` on the 784→512→512→10 MLP (relu, relu, softmax), in one run:

1. a cold ``symkeras-aot`` run (a new process, an empty build cache) on the model saved as
   ``.keras``, for ``--weights file`` and ``--weights embed`` (target ≤ 3 s);
2. the time to compile the exported ``mlp.c`` with ``cc -O2`` (target ≤ 2 s), each weights mode;
3. single-sample ``mlp_predict`` from a C driver linked against the export, against the model's
   three GEMVs through the same BLAS (scipy-openblas32, one thread) on the same weights, in the
   same process, alternating rounds: ns per call and their ratio (target ≤ 1.3×).

    python tools/bench_aot.py [--calls 20000] [--rounds 15]

Times are wall-clock medians; the CPU seconds of the child processes are shown beside them, as
they vary less on a shared machine.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "mlp.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const float *variable(mlp_state *state, const char *name)
{
    for (int i = 0; i < MLP_VARIABLE_COUNT; ++i) {
        void *data;
        if (strcmp(mlp_variable_name(i), name) == 0 && mlp_variable(state, i, &data, NULL) == MLP_OK) return data;
    }
    fprintf(stderr, "no variable %s\n", name);
    exit(1);
}

int main(int argc, char **argv)
{
    const int calls = atoi(argv[1]), rounds = atoi(argv[2]);
    mlp_state *state;
    int status = mlp_init(&state, argc > 3 ? argv[3] : NULL, 1);
    if (status != MLP_OK) {
        fprintf(stderr, "%s\n", mlp_strerror(status));
        return 1;
    }
    const float *w1 = variable(state, "d1_kernel"), *w2 = variable(state, "d2_kernel");
    const float *w3 = variable(state, "d3_kernel");
    static float x[784], h1[512], h2[512], out[10];
    for (int i = 0; i < 784; ++i) x[i] = (float)((i * 7919) % 255) / 255.0f;
    float sink = 0.0f;
    for (int r = 0; r < rounds; ++r) {
        double start = now();
        for (int c = 0; c < calls; ++c) {
            mlp_predict(state, x, out, 1);
            sink += out[c % 10];
        }
        const double predict = (now() - start) / calls;
        start = now();
        for (int c = 0; c < calls; ++c) {      /* h = x @ W as y = W^T x, W row-major (in, out) */
            scipy_cblas_sgemv(CblasRowMajor, CblasTrans, 784, 512, 1.0f, w1, 512, x, 1, 0.0f, h1, 1);
            scipy_cblas_sgemv(CblasRowMajor, CblasTrans, 512, 512, 1.0f, w2, 512, h1, 1, 0.0f, h2, 1);
            scipy_cblas_sgemv(CblasRowMajor, CblasTrans, 512, 10, 1.0f, w3, 10, h2, 1, 0.0f, out, 1);
            sink += out[c % 10];
        }
        const double gemv = (now() - start) / calls;
        printf("%.1f %.1f\n", 1e9 * predict, 1e9 * gemv);
    }
    fprintf(stderr, "(checksum %g)\n", (double)sink);
    mlp_free(state);
    return 0;
}
"""


def _model():
    from symkeras.layers import Dense, Input
    from symkeras.models import Model
    x = Input((784,), name="pixels")
    h = Dense(512, activation="relu", name="d1")(x)
    h = Dense(512, activation="relu", name="d2")(h)
    model = Model(x, Dense(10, activation="softmax", name="d3")(h), name="mlp")
    model.compile("sgd", "categorical_crossentropy")
    return model


def _timed(command, **kwargs):
    """(wall seconds, CPU seconds of the child) of running ``command``; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{done.stdout}\n{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"))
    args = parser.parse_args()
    from symkeras.aot.c_export import _openblas

    blas = _openblas()
    work = tempfile.mkdtemp(prefix="bench_aot_")
    model_file = os.path.join(work, "mlp.keras")
    _model().save(model_file)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
               OPENBLAS_NUM_THREADS="1")

    print("symkeras-aot on the 784-512-512-10 MLP (.keras, predict)")
    for mode in ("file", "embed"):
        out = os.path.join(work, mode)
        env["SYMKERAS_CACHE_DIR"] = os.path.join(work, f"cache-{mode}")          # cold: an empty cache
        wall, cpu, _ = _timed([sys.executable, "-m", "symkeras.aot", model_file, "-o", out, "--prefix", "mlp",
                               "--weights", mode], env=env)
        size = os.path.getsize(os.path.join(out, "mlp.c"))
        print(f"  cold run, --weights {mode:5s}   {wall:6.2f} s wall ({cpu:.2f} s CPU)   mlp.c {size / 1e6:.2f} MB"
              f"   target <= 3 s")
    blas_flags = ["-DSK_USE_CBLAS", "-DSK_CBLAS_SGEMM=scipy_cblas_sgemm", "-DSK_CBLAS_DGEMM=scipy_cblas_dgemm",
                  "-DSK_CBLAS_SGEMV=scipy_cblas_sgemv", "-DSK_CBLAS_DGEMV=scipy_cblas_dgemv",
                  "-I" + blas["include"]]
    for mode in ("file", "embed"):
        out = os.path.join(work, mode)
        wall, cpu, _ = _timed([args.cc, "-std=c99", "-O2", *blas_flags, "-c", "mlp.c", "-o", "mlp_O2.o"], cwd=out)
        print(f"  cc -O2 -c mlp.c, {mode:5s}         {wall:6.2f} s wall ({cpu:.2f} s CPU)   target <= 2 s")

    out = os.path.join(work, "file")
    with open(os.path.join(out, "bench.c"), "w") as handle:
        handle.write(DRIVER)
    _timed(["make", "-s", "libmlp.a"], cwd=out)          # the Makefile's own flags (those of the model)
    _timed([args.cc, "-std=c99", "-O2", "-I" + blas["include"], "bench.c", "libmlp.a", "-L" + blas["lib"],
            "-l" + blas["name"], "-Wl,-rpath," + blas["lib"], "-lm", "-o", "bench"], cwd=out)
    _, _, text = _timed(["./bench", str(args.calls), str(args.rounds), "mlp.weights.bin"], cwd=out, env=env)
    rows = [tuple(map(float, line.split())) for line in text.strip().splitlines()]
    predict = statistics.median(r[0] for r in rows)
    gemv = statistics.median(r[1] for r in rows)
    ratios = [p / g for p, g in rows]
    print(f"\nsingle-sample mlp_predict vs its three sgemv (OpenBLAS {blas['name']}, 1 thread), "
          f"{args.rounds} rounds x {args.calls} calls")
    print(f"  mlp_predict     {predict:9.0f} ns/call")
    print(f"  3 x sgemv       {gemv:9.0f} ns/call")
    print(f"  ratio           {predict / gemv:9.2f}x  (per-round ratios {min(ratios):.2f}-{max(ratios):.2f})"
          f"   target <= 1.3x")
    print(f"\n(files in {work})")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
