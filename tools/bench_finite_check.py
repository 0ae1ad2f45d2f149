"""What the NaN/inf check of training data costs, side by side in one run (check on vs off).

    python tools/bench_finite_check.py [--threads 1] [--backend c] [--repeats 5]

1. W2 of the peer benchmark (shared/bench/peers.py): a 784-512-512-10 relu/softmax MLP,
   categorical cross-entropy, Adam(1e-3), one shuffled epoch of fit() over 60,000 random float32
   samples at batch 128, each repeat on a fresh model after a warm-up fit on 352 rows. The epochs
   with the check on and off alternate in pairs (on/off, then off/on) so drifts in machine load hit
   both. Reported: wall and CPU time on / off; the ratio judged is the median over pairs of the CPU
   time on / off (CPU time, because the machine is shared: time spent descheduled is not ours);
   also the check alone (over the same x and y, as fit does it once per call) as a fraction of an
   epoch. Target: ratio <= 1.02.
2. train_on_batch() of W1's 32-64-64-1 MLP at batch 32 (mse, SGD), where the check runs on every
   call: CPU time per call on / off, in alternating pairs of 2,000 calls. Reported, no target.

The check is switched through ``symkeras.engine.data_checks.check_finite_data``.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import _set_threads  # noqa: E402

SEED = 1234


def _mlp(sizes, final, loss, optimizer, backend):
    from symkeras.layers import Dense, Input
    from symkeras.models import Model
    from symkeras.utils import set_random_seed
    set_random_seed(SEED)
    x = Input(shape=(sizes[0],))
    h = x
    for units in sizes[1:-1]:
        h = Dense(units, activation="relu")(h)
    model = Model(x, Dense(sizes[-1], activation=final)(h))
    model.compile(optimizer=optimizer, loss=loss, backend=backend)
    return model


def _w2_data():
    """The peer benchmark's W2 data (same generator, seed and shapes)."""
    import numpy as np
    rng = np.random.default_rng(SEED)
    n = 60000
    x = rng.random((n, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return x, y


def bench_w2_epoch(args, checks):
    from symkeras.optimizers import Adam
    x, y = _w2_data()
    batch, n_warm = 128, 2 * 128 + (len(x) % 128 or 128)

    def epoch(check_on):
        """(wall, CPU) seconds of one epoch on a fresh model."""
        model = _mlp([784, 512, 512, 10], "softmax", "categorical_crossentropy", Adam(1e-3), args.backend)
        model.fit(x[:n_warm], y[:n_warm], batch_size=batch, epochs=1, shuffle=True, verbose=0)
        checks.check_finite_data = check_on
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
            return time.perf_counter() - wall, time.process_time() - cpu
        finally:
            checks.check_finite_data = True

    pairs = [_pair(epoch, repeat) for repeat in range(args.repeats)]
    wall = [on[0] / off[0] for on, off in pairs]
    cpu = [on[1] / off[1] for on, off in pairs]
    epoch_cpu = statistics.median(off[1] for _, off in pairs)

    def check_alone():
        checks.check_finite([x], "x", ["input"])
        checks.check_finite([y], "y", ["output"])

    check_alone()
    t_check = min(_cpu_time(check_alone) for _ in range(7))
    ratio = statistics.median(cpu)
    print(f"W2 fit epoch, 60,000 samples: {args.repeats} on/off pairs, epoch {epoch_cpu:.3f} s CPU "
          f"({statistics.median(off[0] for _, off in pairs):.3f} s wall)")
    print(f"  ratio on/off, median of the pairs: CPU {ratio:.4f} (quartiles {_quartiles(cpu)}), wall "
          f"{statistics.median(wall):.4f} (quartiles {_quartiles(wall)})")
    print(f"  the check alone: {t_check * 1e3:.1f} ms CPU = {t_check / epoch_cpu:.2%} of the epoch "
          f"(ratio {1 + t_check / epoch_cpu:.4f} without the noise of whole epochs)")
    print(f"  target: ratio <= 1.02: {'ok' if ratio <= 1.02 else 'MISSED'}", flush=True)


def bench_train_on_batch(args, checks):
    import numpy as np
    from symkeras.optimizers import SGD
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((32, 32), dtype=np.float32)
    y = rng.standard_normal((32, 1), dtype=np.float32)
    model = _mlp([32, 64, 64, 1], None, "mse", SGD(0.01), args.backend)
    for _ in range(300):
        model.train_on_batch(x, y)

    def per_call(check_on, calls=2000):
        """CPU seconds per call over ``calls`` calls."""
        checks.check_finite_data = check_on
        try:
            start = time.thread_time()
            for _ in range(calls):
                model.train_on_batch(x, y)
            return (time.thread_time() - start) / calls
        finally:
            checks.check_finite_data = True

    pairs = [_pair(per_call, repeat) for repeat in range(4 * args.repeats)]
    ratios = [on / off for on, off in pairs]
    t_on, t_off = statistics.median(on for on, _ in pairs), statistics.median(off for _, off in pairs)

    def check_alone(calls=20000):
        start = time.thread_time()
        for _ in range(calls):
            checks.batch_is_finite(x, y)
        return (time.thread_time() - start) / calls

    t_check = min(check_alone() for _ in range(7))
    print(f"W1 train_on_batch (32 rows): check on {t_on * 1e6:.1f} us, off {t_off * 1e6:.1f} us CPU per call; "
          f"ratio on/off, median of {len(pairs)} pairs: {statistics.median(ratios):.4f} (quartiles "
          f"{_quartiles(ratios)})")
    print(f"  the check alone: {t_check * 1e6:.2f} us = {t_check / t_off:.1%} of a call; reported, no target",
          flush=True)


def _pair(measure, repeat):
    """(measure(True), measure(False)) run back to back, in alternating order (on/off, off/on)."""
    if repeat % 2 == 0:
        on = measure(True)
        return on, measure(False)
    off = measure(False)
    return measure(True), off


def _quartiles(values):
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{q1:.3f}-{q3:.3f}"


def _cpu_time(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


def main():
    parser = argparse.ArgumentParser(description="cost of the finite-data check of fit / train_on_batch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backend", default="c", choices=["c", "numpy"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["w2", "w1"], default=None)
    args = parser.parse_args()
    _set_threads(args.threads)
    from symkeras.engine import data_checks
    print(f"backend={args.backend} threads={args.threads}")
    if args.only in (None, "w2"):
        bench_w2_epoch(args, data_checks)
    if args.only in (None, "w1"):
        bench_train_on_batch(args, data_checks)


if __name__ == "__main__":
    main()
