"""Benchmark of convolution, each figure side by side with its baseline in one run.

    python tools/bench_conv.py [--threads 1] [--backend c] [--repeats 7] [--without PASS[,PASS]]

The model is the peer harness's W3: 28x28x1 -> Conv2D(32, 3, relu) -> MaxPooling2D(2) ->
Conv2D(64, 3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(10, softmax), Adam, float32.

1. One training step at batch 64 (the generated train function called directly) against the
   GEMMs an im2col convolution needs for it, done by NumPy/OpenBLAS on arrays already laid out:
   forward, weight gradients and conv2's input gradient. The ratio is what the gathers, pooling,
   activations and the optimizer cost on top of the matrix products.
2. predict at batch 256 (the generated predict function) against its forward GEMMs.

3. With ``--without``: the same model compiled with those program passes switched off
   (SYMKERAS_DISABLE_PASSES), its train step and predict timed interleaved with the first's,
   round by round, so a machine busy with other work slows both alike; the ratio is the median
   of the rounds' ratios.

Where the time of each step goes: run with SYMKERAS_PROFILE=1 and read ``fn.profile()``.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import _median_time, _set_threads  # noqa: E402

# (rows per sample, inner, columns) of each forward GEMM of W3 with im2col.
FORWARD = [(26 * 26, 9, 32), (11 * 11, 288, 64), (1, 1600, 10)]


def _model(backend):
    from symkeras import optimizers
    from symkeras.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
    from symkeras.models import Model
    x = Input((28, 28, 1))
    h = MaxPooling2D(2)(Conv2D(32, 3, activation="relu")(x))
    h = MaxPooling2D(2)(Conv2D(64, 3, activation="relu")(h))
    model = Model(x, Dense(10, activation="softmax")(Flatten()(h)))
    model.compile(optimizers.Adam(1e-3), "categorical_crossentropy", backend=backend)
    return model


def _gemms(batch, rng, training):
    """One call doing the im2col GEMMs of a forward pass (and, for training, of the backward one)."""
    import numpy as np
    products = []
    for rows, inner, cols in FORWARD:
        a = rng.rand(batch * rows, inner).astype("float32")
        w = rng.rand(inner, cols).astype("float32")
        products.append((a, w, np.empty((batch * rows, cols), "float32")))
        if training:
            g = rng.rand(batch * rows, cols).astype("float32")
            products.append((a.T, g, np.empty((inner, cols), "float32")))          # weight gradient
            if inner != 9:                                                           # no gradient for the input
                products.append((g, w.T, np.empty((batch * rows, inner), "float32")))

    def run():
        for a, b, out in products:
            np.dot(a, b, out=out)
    return run


def _paired(fn_a, fn_b, repeats, min_calls):
    """Median over rounds of (time per call of fn_a) / (of fn_b), the two timed back to back."""
    import time
    ratios = []
    for _ in range(repeats):
        times = []
        for fn in (fn_a, fn_b):
            fn()
            start = time.perf_counter()
            for _ in range(min_calls):
                fn()
            times.append((time.perf_counter() - start) / min_calls)
        ratios.append(times[0] / times[1])
    ratios.sort()
    return ratios[len(ratios) // 2], times


def _compare(args, model, x, inputs):
    os.environ["SYMKERAS_DISABLE_PASSES"] = args.without
    try:
        other = _model(args.backend)
        train_b, predict_b = other.make_train_function(), other.make_predict_function()
    finally:
        del os.environ["SYMKERAS_DISABLE_PASSES"]
    train_a, predict_a = model.make_train_function(), model.make_predict_function()
    for name, fa, fb, calls in (("train step", lambda: train_a(inputs), lambda: train_b(inputs), 20),
                                ("predict   ", lambda: predict_a([x]), lambda: predict_b([x]), 5)):
        ratio, (ta, tb) = _paired(fa, fb, 3 * args.repeats, calls)
        print(f"W3 {name}: all passes / without {args.without}: {ratio:5.2f} "
              f"(last round {ta * 1e6:,.0f} us vs {tb * 1e6:,.0f} us)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backend", default="c", choices=["c", "numpy"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--without", default="", help="program passes to compare against switching off")
    args = parser.parse_args()
    _set_threads(args.threads)
    import numpy as np
    rng = np.random.RandomState(0)
    model = _model(args.backend)
    print(f"backend={args.backend} threads={args.threads}")

    x = rng.rand(256, 28, 28, 1).astype("float32")
    y = np.eye(10, dtype="float32")[rng.randint(0, 10, 256)]
    train = model.make_train_function()
    inputs = [x[:64], y[:64]] + ([np.ones(64, "float32")] if len(train.inputs) == 3 else [])
    t_step = _median_time(lambda: train(inputs), args.repeats, 10)
    t_gemm = _median_time(_gemms(64, rng, True), args.repeats, 10)
    print(f"W3 train step, batch 64: {t_step * 1e6:9.1f} us | its im2col GEMMs in NumPy: {t_gemm * 1e6:9.1f} us "
          f"| ratio {t_step / t_gemm:5.2f} | {64 / t_step:,.0f} samples/s")

    predict = model.make_predict_function()
    t_predict = _median_time(lambda: predict([x]), args.repeats, 5)
    t_forward = _median_time(_gemms(256, rng, False), args.repeats, 5)
    print(f"W3 predict, batch 256:   {t_predict * 1e6:9.1f} us | its forward GEMMs in NumPy: {t_forward * 1e6:9.1f} us "
          f"| ratio {t_predict / t_forward:5.2f} | {256 / t_predict:,.0f} samples/s")
    if args.without:
        _compare(args, model, x, inputs)


if __name__ == "__main__":
    main()
