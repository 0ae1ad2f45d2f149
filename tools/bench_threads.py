"""Benchmark of concurrent predict calls: the same work done by one thread and by several, side by side.

    python tools/bench_threads.py [--threads 2] [--backend c] [--repeats 5]

MLP 256-512-512-10, ``model.predict`` on 1024 rows (batch size 256) per call. One thread makes
``--threads`` x 8 predict calls; then ``--threads`` threads make 8 each, started together on
one model. The generated C runs without the GIL, so on free cores the wall time should drop
close to 1/threads: target speedup >= 0.75 x threads (1.5 for two) for the C backend.

BLAS runs single-threaded (OPENBLAS_NUM_THREADS=1 etc., set before NumPy loads) and the process
is pinned to ``--threads`` CPUs, so each side uses the same cores and only the Python threads
differ. Every threaded result is checked against the single-threaded one.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import _set_threads  # noqa: E402

CALLS_PER_THREAD = 8


def _set_blas_single_threaded(cpus):
    """BLAS on one thread; the process on ``cpus`` CPUs (for the Python threads)."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    _set_threads(1)
    if available:
        if len(available) < cpus:
            print(f"warning: only {len(available)} CPUs available for {cpus} threads", file=sys.stderr)
        os.sched_setaffinity(0, available[-cpus:])


def _model(backend):
    import numpy as np
    from symkeras.layers import Dense, Input
    from symkeras.models import Model
    x = Input((256,), name="x")
    h = Dense(512, activation="relu", name="dense_1")(x)
    h = Dense(512, activation="relu", name="dense_2")(h)
    model = Model(x, Dense(10, activation="softmax", name="out")(h))
    model.compile(optimizer="sgd", loss="categorical_crossentropy", backend=backend)
    data = np.random.RandomState(0).rand(1024, 256).astype("float32")
    return model, data


def _wall_time(threads, work):
    """Seconds for ``threads`` threads, started together, each running ``work(i)``."""
    import threading
    import time
    barrier = threading.Barrier(threads + 1)
    results = [None] * threads

    def body(i):
        barrier.wait()
        results[i] = work(i)
    pool = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    return time.perf_counter() - start, results


def main():
    parser = argparse.ArgumentParser(description="symkeras concurrent predict benchmark")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", default="c", choices=["c", "numpy"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    _set_blas_single_threaded(args.threads)
    import numpy as np

    model, data = _model(args.backend)
    expected = model.predict(data, batch_size=256)
    total = args.threads * CALLS_PER_THREAD

    def predict(calls):
        out = None
        for _ in range(calls):
            out = model.predict(data, batch_size=256)
        return out

    one, many = [], []
    for _ in range(args.repeats):      # alternate, so both sides see the same machine load
        one.append(_wall_time(1, lambda i: predict(total))[0])
        seconds, outs = _wall_time(args.threads, lambda i: predict(CALLS_PER_THREAD))
        many.append(seconds)
        for out in outs:
            np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)
    t_one, t_many = sorted(one)[len(one) // 2], sorted(many)[len(many) // 2]
    speedup = t_one / t_many
    verdict = "no target (NumPy code holds the GIL between its array operations)"
    if args.backend == "c":
        target = 0.75 * args.threads
        verdict = f"target >= {target:.2f}: {'ok' if speedup >= target else 'MISSED'}"
    print(f"backend={args.backend} cpus={args.threads} blas_threads=1")
    print(f"{total} predict calls, 256-512-512-10 on 1024 rows: {args.threads} threads {t_many * 1e3:8.1f} ms | "
          f"1 thread {t_one * 1e3:8.1f} ms | speedup {speedup:4.2f} | {verdict}", flush=True)


if __name__ == "__main__":
    main()
