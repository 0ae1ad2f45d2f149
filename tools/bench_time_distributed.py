"""What TimeDistributed costs: TimeDistributed(Dense) against the same Dense applied directly to the
(batch, time, features) input (the same arithmetic), and a masked against an unmasked sequence
loss, side by side in one run on one backend.

    python tools/bench_time_distributed.py [--backend c] [--repeats 5]

Prints train steps/s and predict batches/s of each model and the ratios to the baseline. Pin one
thread (OPENBLAS_NUM_THREADS=1) for stable figures.
"""

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, STEPS, FEATURES, UNITS, VOCAB = 32, 50, 64, 64, 1000


def models(backend):
    sys.path.insert(0, ROOT)
    from symkeras.layers import Dense, Embedding, Input, TimeDistributed
    from symkeras.models import Model

    built = {}
    for name, wrap, mask_zero in (("dense", False, False), ("time_distributed", True, False),
                                  ("time_distributed_masked", True, True)):
        tokens = Input((None,), dtype="int32")
        h = Embedding(VOCAB, FEATURES, mask_zero=mask_zero)(tokens)
        out = (TimeDistributed(Dense(UNITS, activation="tanh")) if wrap else Dense(UNITS, activation="tanh"))(h)
        model = Model(tokens, out)
        model.compile("sgd", "mse", backend=backend)
        built[name] = model
    return built


def rate(fn, repeats):
    fn()                                   # build and warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20):
            fn()
        best = min(best, (time.perf_counter() - start) / 20)
    return 1.0 / best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="c", choices=("c", "numpy"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rs = np.random.RandomState(0)
    x = rs.randint(1, VOCAB, (BATCH, STEPS)).astype("int32")
    x[:, STEPS // 2:] *= rs.randint(0, 2, (BATCH, STEPS - STEPS // 2))   # some padding
    y = rs.rand(BATCH, STEPS, UNITS).astype("float32")
    results = {}
    for name, model in models(args.backend).items():
        results[name] = (rate(lambda m=model: m.train_on_batch(x, y), args.repeats),
                         rate(lambda m=model: m.predict_on_batch(x), args.repeats))
    base_train, base_predict = results["dense"]
    print(f"backend {args.backend}, batch {BATCH}, {STEPS} steps, {FEATURES} -> {UNITS}")
    for name, (train, predict) in results.items():
        print(f"{name:26s} train {train:8.1f} steps/s ({train / base_train:.2f}x)   "
              f"predict {predict:8.1f} batches/s ({predict / base_predict:.2f}x)")


if __name__ == "__main__":
    main()
