"""The LSTM workload W5 (Embedding(5000, 64) -> LSTM(64) -> Dense(1, sigmoid), 50 steps, batch 32,
Adam, binary cross-entropy) on symkeras's backends beside a hand-written NumPy LSTM (forward, BPTT
and Adam written out, the input projection of all steps as one product), in one run.

    python tools/bench_rnn.py [--repeats 3] [--split]

Prints training and predict samples/s per contender and the ratios to hand-written NumPy;
``--split`` also prints where a training step's time goes (a profiling build's kernel timings:
input projection, forward recurrence, backward recurrence, the rest of the gradient, the
optimizer). Pin one thread (OPENBLAS_NUM_THREADS=1) for figures comparable to the peer harness.
"""

import argparse
import ast
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB, WIDTH, UNITS, STEPS, BATCH, ROWS, PREDICT_BATCH = 5000, 64, 64, 50, 32, 3200, 256


def data(seed=0):
    rs = np.random.RandomState(seed)
    return (rs.randint(1, VOCAB, (ROWS, STEPS)).astype("int32"), rs.randint(0, 2, (ROWS, 1)).astype("float32"))


# ----------------------------------------------------------------------------- symkeras

def symkeras_model(backend):
    sys.path.insert(0, ROOT)
    import symkeras as keras
    from symkeras import layers
    inputs = layers.Input((STEPS,), dtype="int32")
    x = layers.Embedding(VOCAB, WIDTH)(inputs)
    x = layers.LSTM(UNITS)(x)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", backend=backend)
    return model


def time_symkeras(backend, x, y):
    model = symkeras_model(backend)
    model.fit(x[:2 * BATCH], y[:2 * BATCH], batch_size=BATCH, epochs=1, verbose=0)      # build and warm up
    started = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    fit = len(x) / (time.perf_counter() - started)
    model.predict(x[:PREDICT_BATCH], batch_size=PREDICT_BATCH)
    started = time.perf_counter()
    model.predict(x, batch_size=PREDICT_BATCH)
    return fit, len(x) / (time.perf_counter() - started)


# ----------------------------------------------------------------------------- NumPy by hand

def _sigmoid(v):
    return 0.5 * (np.tanh(0.5 * v) + 1)


class HandLSTM:
    """The same model written out in NumPy: forward over time, BPTT, Adam."""

    def __init__(self, seed=0):
        rs = np.random.RandomState(seed)
        f32 = np.float32
        self.params = {
            "table": rs.uniform(-0.05, 0.05, (VOCAB, WIDTH)).astype(f32),
            "w": rs.uniform(-0.1, 0.1, (WIDTH, 4 * UNITS)).astype(f32),
            "u": np.linalg.qr(rs.randn(4 * UNITS, UNITS))[0].T.astype(f32),
            "b": np.concatenate([np.zeros(UNITS), np.ones(UNITS), np.zeros(2 * UNITS)]).astype(f32),
            "dw": rs.uniform(-0.1, 0.1, (UNITS, 1)).astype(f32), "db": np.zeros(1, f32)}
        self.m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.t = 0

    def forward(self, ids, keep=False):
        p = self.params
        n = ids.shape[0]
        emb = p["table"][ids]                                        # (n, T, W)
        proj = (emb.reshape(-1, WIDTH) @ p["w"] + p["b"]).reshape(n, STEPS, 4 * UNITS)
        h = np.zeros((n, UNITS), np.float32)
        c = np.zeros_like(h)
        tape = []
        for t in range(STEPS):
            z = proj[:, t] + h @ p["u"]
            i, f, g, o = _sigmoid(z[:, :UNITS]), _sigmoid(z[:, UNITS:2 * UNITS]), np.tanh(z[:, 2 * UNITS:3 * UNITS]), \
                _sigmoid(z[:, 3 * UNITS:])
            c_prev, h_prev = c, h
            c = f * c + i * g
            tc = np.tanh(c)
            h = o * tc
            if keep:
                tape.append((h_prev, c_prev, i, f, g, o, tc))
        out = _sigmoid(h @ p["dw"] + p["db"])
        return out, (emb, h, tape)

    def train_step(self, ids, y):
        p = self.params
        out, (emb, h, tape) = self.forward(ids, keep=True)
        n = len(ids)
        dz_out = (out - y) / n                                        # BCE through the sigmoid, mean over the batch
        grads = {"dw": h.T @ dz_out, "db": dz_out.sum(0)}
        dh, dc = dz_out @ p["dw"].T, np.zeros_like(h)
        dz_all = np.empty((n, STEPS, 4 * UNITS), np.float32)
        du = np.zeros_like(p["u"])
        for t in range(STEPS - 1, -1, -1):
            h_prev, c_prev, i, f, g, o, tc = tape[t]
            do = dh * tc
            dc = dc + dh * o * (1 - tc * tc)
            di, df, dg = dc * g, dc * c_prev, dc * i
            dz = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
            dz_all[:, t] = dz
            du += h_prev.T @ dz
            dh, dc = dz @ p["u"].T, dc * f
        flat = dz_all.reshape(-1, 4 * UNITS)
        grads.update(u=du, w=emb.reshape(-1, WIDTH).T @ flat, b=flat.sum(0))
        table = np.zeros_like(p["table"])
        np.add.at(table, ids.reshape(-1), (flat @ p["w"].T))
        grads["table"] = table
        self.t += 1
        lr = 1e-3 * np.sqrt(1 - 0.999 ** self.t) / (1 - 0.9 ** self.t)
        for k, g in grads.items():
            self.m[k] = 0.9 * self.m[k] + 0.1 * g
            self.v[k] = 0.999 * self.v[k] + 0.001 * g * g
            p[k] -= (lr * self.m[k] / (np.sqrt(self.v[k]) + 1e-7)).astype(np.float32)


def time_numpy(x, y):
    model = HandLSTM()
    model.train_step(x[:BATCH], y[:BATCH])
    started = time.perf_counter()
    for at in range(0, len(x), BATCH):
        model.train_step(x[at:at + BATCH], y[at:at + BATCH])
    fit = len(x) / (time.perf_counter() - started)
    started = time.perf_counter()
    for at in range(0, len(x), PREDICT_BATCH):
        model.forward(x[at:at + PREDICT_BATCH])
    return fit, len(x) / (time.perf_counter() - started)


# ----------------------------------------------------------------------------- the time split

CATEGORIES = (("optimizer", lambda label: label.startswith("Adam/")),
              ("backward recurrence", lambda label: label.startswith("gradients/lstm: loop")),
              ("rest of the gradient", lambda label: label.startswith("gradients/")),
              ("forward recurrence", lambda label: label.startswith("lstm: loop")),
              ("input projection", lambda label: label.startswith("lstm: gemm")),
              ("other", lambda label: True))


def split():
    """Seconds per category over one epoch, from a profiling build (in a process of its own)."""
    code = ("import sys; sys.path.insert(0, %r); sys.path.insert(0, %r); import bench_rnn as b; "
            "m = b.symkeras_model('c'); x, y = b.data(); m.fit(x, y, batch_size=b.BATCH, epochs=1, verbose=0); "
            "print(repr(m.make_train_function().profile()))") % (ROOT, os.path.join(ROOT, "tools"))
    env = dict(os.environ, SYMKERAS_PROFILE="1")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    totals = {name: 0.0 for name, _ in CATEGORIES}
    for label, seconds in ast.literal_eval(done.stdout.strip().splitlines()[-1]):
        name = next(name for name, matches in CATEGORIES if matches(label))
        totals[name] += seconds
    whole = sum(totals.values())
    for name, seconds in totals.items():
        print(f"  {name:<22} {seconds:7.3f} s  {100 * seconds / whole:5.1f} %")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--split", action="store_true")
    args = parser.parse_args()
    x, y = data()
    results = {name: [] for name in ("symkeras-c", "symkeras-numpy", "numpy by hand")}
    for _ in range(args.repeats):
        results["symkeras-c"].append(time_symkeras("c", x, y))
        results["symkeras-numpy"].append(time_symkeras("numpy", x, y))
        results["numpy by hand"].append(time_numpy(x, y))
    base = [np.median([r[i] for r in results["numpy by hand"]]) for i in range(2)]
    print(f"{'contender':<16} {'fit samples/s':>14} {'ratio':>7} {'predict samples/s':>18} {'ratio':>7}")
    for name, runs in results.items():
        fit, predict = (np.median([r[i] for r in runs]) for i in range(2))
        print(f"{name:<16} {fit:14,.0f} {fit / base[0]:7.2f} {predict:18,.0f} {predict / base[1]:7.2f}")
    if args.split:
        print("symkeras-c, one epoch of training:")
        split()


if __name__ == "__main__":
    main()
