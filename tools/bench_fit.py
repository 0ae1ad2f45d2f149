"""Benchmark of the Keras training API around the generated code, side by side in one run.

    python tools/bench_fit.py [--threads 1] [--backend c] [--repeats 3]

1. fit() of a 784-512-512-10 MLP (Adam, batch 128, 60,000 samples, one shuffled epoch) against
   the GEMM-bound limit measured in the same run: the time of that epoch's GEMMs done by
   NumPy/OpenBLAS (8 per step at batch 128). Target: fit throughput >= 0.8 x the limit, i.e.
   batching, shuffling, progress bookkeeping and callbacks cost <= 20 %.
2. train_on_batch() of a 32-64-64-1 MLP at batch 32 against calling the model's generated
   train function directly with the same arrays. Target: overhead <= 2x.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import _median_time, _set_threads, mlp_gemms  # noqa: E402


def _mlp(sizes, final, loss, optimizer, backend):
    from symkeras.layers import Dense, Input
    from symkeras.models import Model
    x = Input(shape=(sizes[0],))
    h = x
    for units in sizes[1:-1]:
        h = Dense(units, activation="relu")(h)
    out = Dense(sizes[-1], activation=final)(h)
    model = Model(x, out)
    model.compile(optimizer=optimizer, loss=loss, backend=backend)
    return model


def bench_fit(args, report):
    import time
    import numpy as np
    from symkeras.optimizers import Adam
    rng = np.random.RandomState(0)
    n, batch = 60000, 128
    x = rng.rand(n, 784).astype("float32")
    y = np.eye(10, dtype="float32")[rng.randint(0, 10, n)]
    model = _mlp([784, 512, 512, 10], "softmax", "categorical_crossentropy", Adam(1e-3), args.backend)
    model.fit(x[:352], y[:352], batch_size=batch, epochs=1, verbose=0)     # builds and warms up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        times.append(time.perf_counter() - start)
    t_fit = sorted(times)[len(times) // 2]

    step_gemms = mlp_gemms([784, 512, 512, 10], batch, rng)
    t_limit = _median_time(step_gemms, 7, 20) * (n / batch)
    report("fit, 784-512-512-10 Adam, 60k samples", n / t_fit, "GEMM-bound limit", n / t_limit,
           "samples/s", higher_is_better=True, target=0.8)


def bench_train_on_batch(args, report):
    import numpy as np
    from symkeras.optimizers import SGD
    rng = np.random.RandomState(1)
    x, y = rng.rand(32, 32).astype("float32"), rng.rand(32, 1).astype("float32")
    model = _mlp([32, 64, 64, 1], None, "mse", SGD(0.01), args.backend)
    model.train_on_batch(x, y)
    fn = model.make_train_function()
    feed = [x, y, np.ones(32, "float32")]
    t_api = _median_time(lambda: model.train_on_batch(x, y), args.repeats * 2 + 1, 300)
    t_direct = _median_time(lambda: fn(feed), args.repeats * 2 + 1, 300)
    report("train_on_batch, 32-64-64-1, batch 32", t_api * 1e6, "the generated train function called directly",
           t_direct * 1e6, "us", higher_is_better=False, target=2.0)


def main():
    parser = argparse.ArgumentParser(description="symkeras training-API benchmark")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backend", default="c", choices=["c", "numpy"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["fit", "tob"], default=None)
    args = parser.parse_args()
    _set_threads(args.threads)

    def report(what, value, baseline, base_value, unit, higher_is_better, target):
        ratio = value / base_value
        ok = ratio >= target if higher_is_better else ratio <= target
        sign = ">=" if higher_is_better else "<="
        print(f"{what}: {value:,.1f} {unit} | {baseline}: {base_value:,.1f} {unit} | ratio {ratio:.2f} | "
              f"target {sign} {target}: {'ok' if ok else 'MISSED'}", flush=True)

    print(f"backend={args.backend} threads={args.threads}")
    if args.only in (None, "fit"):
        bench_fit(args, report)
    if args.only in (None, "tob"):
        bench_train_on_batch(args, report)


if __name__ == "__main__":
    main()
