"""Benchmark of the compiler core, each figure side by side with its baseline in one run.

    python tools/bench_core.py [--threads 1] [--backend c] [--repeats 7]

1. MLP 784-512-512-10, batch 128, one forward+backward+SGD step of the generated function,
   against just its eight GEMMs done by NumPy/OpenBLAS (3 forward, 3 weight-gradient,
   2 input-gradient) with the same thread count. Target ratio <= 1.25.
2. MLP 32-64-64-1, batch 32, one training step (MSE, SGD) called from Python, against the same
   step written by hand in NumPy (np.dot into preallocated buffers). Target ratio <= 0.5.
3. Warm start: building the 784-512-512-10 training function when its source is already in the
   build cache (fresh process, symkeras imported). Target <= 0.2 s.

The thread count is fixed before NumPy loads (OPENBLAS_NUM_THREADS etc.) and the process is
pinned to that many CPUs, so both sides of every ratio use the same threads.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap


def _set_threads(n):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(var, None)
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cpus[-n:])


def _median_time(fn, repeats, min_calls, min_seconds=0.2):
    """Median over ``repeats`` rounds of the mean time per call within each round."""
    import time
    for _ in range(min_calls):
        fn()
    rounds = []
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if calls >= min_calls and elapsed >= min_seconds:
                break
        rounds.append(elapsed / calls)
    rounds.sort()
    return rounds[len(rounds) // 2]


def _mlp(K, sizes, batch_name, out_act, loss_kind, lr, backend, name, seed=0):
    import numpy as np
    rng = np.random.RandomState(seed)
    x = K.placeholder((None, sizes[0]), name="x")
    y = K.placeholder((None, sizes[-1]), name="y")
    params, h = [], x
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        limit = np.sqrt(6.0 / (a + b))
        w = K.variable(rng.uniform(-limit, limit, (a, b)), name=f"dense_{i}_kernel")
        bias = K.variable(np.zeros(b), name=f"dense_{i}_bias")
        params += [w, bias]
        with K.name_scope(f"dense_{i}"):
            z = K.dot(h, w) + bias
            last = i == len(sizes) - 2
            h = K.relu(z) if not last else (K.softmax(z) if out_act == "softmax" else z)
    with K.name_scope("loss"):
        if loss_kind == "mse":
            loss = K.mean(K.square(h - y))
        else:
            loss = -K.mean(K.sum(y * K.log(K.clip(h, K.epsilon(), 1 - K.epsilon())), axis=-1))
    grads = K.gradients(loss, params)
    updates = [K.update_sub(p, lr * g) for p, g in zip(params, grads)]
    return K.function([x, y], [loss], updates=updates, backend=backend, name=name), params


def mlp_gemms(sizes, batch, rng):
    """A callable doing one training step's GEMMs of an MLP in NumPy: forward A@W, weight
    gradients A.T@dZ, input gradients dZ@W.T (none for the first layer)."""
    import numpy as np
    acts = [rng.rand(batch, n).astype("float32") for n in sizes]
    weights = [rng.rand(a, b).astype("float32") for a, b in zip(sizes[:-1], sizes[1:])]
    outs = [np.empty((batch, n), "float32") for n in sizes[1:]]
    grads = [np.empty_like(w) for w in weights]
    dins = [np.empty((batch, n), "float32") for n in sizes[1:-1]]

    def run():
        for a, w, o in zip(acts, weights, outs):
            np.dot(a, w, out=o)
        for a, d, g in zip(acts, acts[1:], grads):
            np.dot(a.T, d, out=g)
        for d, w, o in zip(acts[2:], weights[1:], dins):
            np.dot(d, w.T, out=o)
    return run


def bench_gemm_bound(args, report):
    import numpy as np
    import symkeras.backend as K
    sizes, batch = [784, 512, 512, 10], 128
    step, _ = _mlp(K, sizes, "b", "softmax", "cce", 0.01, args.backend, "mlp784_step")
    rng = np.random.RandomState(1)
    x = rng.rand(batch, 784).astype("float32")
    y = np.eye(10, dtype="float32")[rng.randint(0, 10, batch)]
    inputs = [x, y]
    t_step = _median_time(lambda: step(inputs), args.repeats, 20)

    eight_gemms = mlp_gemms(sizes, batch, rng)
    t_gemm = _median_time(eight_gemms, args.repeats, 20)
    report("784-512-512-10 step, batch 128", t_step, "its 8 GEMMs in NumPy/OpenBLAS", t_gemm, 1.25)


class _HandNumPyStep:
    """The 32-64-64-1 MSE/SGD step written by hand, np.dot into preallocated buffers."""

    def __init__(self, np, params, batch, lr):
        self.np, self.lr = np, np.float32(lr)
        self.W = [params[0], params[2], params[4]]
        self.b = [params[1], params[3], params[5]]
        self.gW = [np.empty_like(w) for w in self.W]
        self.gb = [np.empty_like(b) for b in self.b]
        self.a = [np.empty((batch, w.shape[1]), "float32") for w in self.W]
        self.da = [np.empty((batch, w.shape[1]), "float32") for w in self.W]
        self.mask = [np.empty((batch, w.shape[1]), bool) for w in self.W]
        self.ones = np.ones(batch, "float32")

    def __call__(self, x, y):
        np = self.np
        a = x
        for i, (w, b) in enumerate(zip(self.W, self.b)):
            z = self.a[i]
            np.dot(a, w, out=z)
            z += b
            if i < 2:
                np.maximum(z, 0, out=z)
            a = z
        dz = self.da[-1]
        np.subtract(a, y, out=dz)
        loss = float(np.vdot(dz, dz)) / dz.size
        dz *= np.float32(2.0 / dz.size)
        for i in (2, 1, 0):
            prev = x if i == 0 else self.a[i - 1]
            np.dot(prev.T, dz, out=self.gW[i])
            np.dot(self.ones, dz, out=self.gb[i])
            if i > 0:
                dprev = self.da[i - 1]
                np.dot(dz, self.W[i].T, out=dprev)
                np.greater(prev, 0, out=self.mask[i - 1])
                np.multiply(dprev, self.mask[i - 1], out=dprev)
                dz = dprev
        for p, g in zip(self.W + self.b, self.gW + self.gb):
            p -= self.lr * g
        return loss


def bench_small_step(args, report):
    import numpy as np
    import symkeras.backend as K
    step, params = _mlp(K, [32, 64, 64, 1], "b", None, "mse", 0.01, args.backend, "mlp32_step")
    rng = np.random.RandomState(2)
    x, y = rng.rand(32, 32).astype("float32"), rng.rand(32, 1).astype("float32")
    inputs = [x, y]
    hand = _HandNumPyStep(np, [K.get_value(p) for p in params], 32, 0.01)
    t_gen = _median_time(lambda: step(inputs), args.repeats, 200)
    t_hand = _median_time(lambda: hand(x, y), args.repeats, 200)
    report("32-64-64-1 train step, batch 32", t_gen, "hand-written NumPy step", t_hand, 0.5)


_WARM_CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tools!r})
    import symkeras.backend as K
    from bench_core import _mlp
    start = time.perf_counter()
    f, _ = _mlp(K, [784, 512, 512, 10], "b", "softmax", "cce", 0.01, {backend!r}, "mlp784_step")
    print(time.perf_counter() - start, f.compiled)
""")


def bench_warm_start(args, report):
    code = _WARM_CHILD.format(tools=os.path.dirname(os.path.abspath(__file__)), backend=args.backend)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SYMKERAS_CACHE_DIR=cache)
        cold = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        warm = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
                for _ in range(3)]
    t_cold = float(cold.stdout.split()[0])
    times = sorted(float(w.stdout.split()[0]) for w in warm)
    assert all(w.stdout.split()[1] == "False" for w in warm), "warm builds compiled again"
    report("build 784-512-512-10 step, cached", times[1], "the same build, empty cache", t_cold, None,
           absolute_limit=0.2)


def main():
    parser = argparse.ArgumentParser(description="symkeras compiler-core benchmark")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backend", default="c", choices=["c", "numpy"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", choices=["gemm", "small", "warm"], default=None)
    args = parser.parse_args()
    _set_threads(args.threads)
    rows = []

    def report(what, t, baseline, t_base, target, absolute_limit=None):
        rows.append((what, t, baseline, t_base, target, absolute_limit))
        ratio = t / t_base
        verdict = ""
        if target is not None:
            verdict = "ok" if ratio <= target else "MISSED"
            verdict = f"target <= {target}: {verdict}"
        if absolute_limit is not None:
            verdict = f"target <= {absolute_limit} s: {'ok' if t <= absolute_limit else 'MISSED'}"
        print(f"{what}: {t * 1e6:9.1f} us | {baseline}: {t_base * 1e6:9.1f} us | ratio {ratio:5.2f} | {verdict}",
              flush=True)

    print(f"backend={args.backend} threads={args.threads}")
    if args.only in (None, "gemm"):
        bench_gemm_bound(args, report)
    if args.only in (None, "small"):
        bench_small_step(args, report)
    if args.only in (None, "warm"):
        bench_warm_start(args, report)


if __name__ == "__main__":
    main()
