"""Data-parallel training throughput: 1 process vs 2 processes over MPI (needs the mpi extra).

    python tools/bench_distributed.py [--steps 60] [--repeat 3] [--backend c]

W2 (784→512→512→10, Adam, categorical cross-entropy), batch 128 per process, one BLAS thread per
process (OPENBLAS_NUM_THREADS=1). In one run, one after the other, each under ``mpiexec``:

- ``fused, 1 process``: the plain optimizer, one generated function per step (single-process fit);
- ``split, 1 process``: DistributedOptimizer alone (gradient function, allreduce of size 1 — a
  no-op — and update function): what the split costs;
- ``split, 2 processes``: DistributedOptimizer over 2 processes.

Samples per second count every process's samples over the slowest process's time for ``--steps``
steps of ``fit`` (after a warm-up fit that builds everything). Each step's allreduce is timed in two
parts: a barrier (waiting for the slower process) then the ``Allreduce`` itself; their shares of the
steps' time are reported. ``allreduce alone`` times the same reduction outside training.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

BATCH = 128


def worker(args):
    from symkeras import distribute as hvd
    from symkeras.distribute import comm
    from symkeras.layers import Dense, Input
    from symkeras.models import Model
    from symkeras.optimizers import Adam

    hvd.init()
    inputs = Input((784,))
    h = Dense(512, activation="relu")(Dense(512, activation="relu")(inputs))
    model = Model(inputs, Dense(10, activation="softmax")(h), name="w2")
    optimizer = Adam(1e-3) if args.mode == "fused" else hvd.DistributedOptimizer(Adam(1e-3))
    model.compile(optimizer, "categorical_crossentropy", backend=args.backend)
    rng = np.random.RandomState(hvd.rank())
    n = BATCH * args.steps
    x = rng.rand(n, 784).astype("float32")
    y = np.eye(10, dtype="float32")[rng.randint(0, 10, n)]
    model.fit(x[:BATCH * 3], y[:BATCH * 3], batch_size=BATCH, epochs=1, verbose=0)      # build, warm up

    waited, reduced = [0.0], [0.0]
    reduce = comm.allreduce_sum_in_place

    def timed(buffer):                       # a barrier first splits waiting for the other from reducing
        start = time.perf_counter()
        comm.world().Barrier()
        middle = time.perf_counter()
        reduce(buffer)
        waited[0] += middle - start
        reduced[0] += time.perf_counter() - middle
        return buffer

    comm.allreduce_sum_in_place = timed
    comm.world().Barrier()
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    elapsed = time.perf_counter() - start
    comm.allreduce_sum_in_place = reduce

    slowest = comm.world().allreduce(elapsed, op=_max())
    alone = None
    if args.mode == "split":
        buffer = np.ones(model.train_function.size + 1, dtype="float32")
        times = []
        for _ in range(20):
            comm.world().Barrier()
            t = time.perf_counter()
            reduce(buffer)
            times.append(time.perf_counter() - t)
        alone = float(np.median(times))
    if hvd.rank() == 0:
        print(json.dumps({"samples_per_s": hvd.size() * n / slowest, "step_ms": 1e3 * slowest / args.steps,
                          "allreduce_share": reduced[0] / elapsed, "wait_share": waited[0] / elapsed, "allreduce_alone_ms": alone and 1e3 * alone,
                          "gradients": getattr(model.train_function, "size", None)}))


def _max():
    from mpi4py import MPI
    return MPI.MAX


def run(mpiexec, processes, mode, args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [mpiexec, "-n", str(processes), sys.executable, os.path.abspath(__file__), "--worker", mode,
               "--steps", str(args.steps)] + (["--backend", args.backend] if args.backend else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--backend", choices=["c", "numpy"], default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each configuration (median reported)")
    parser.add_argument("--worker", choices=["fused", "split"], dest="mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        return worker(args)
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if mpiexec is None:
        sys.exit('mpiexec not found: pip install "symkeras[mpi]"')
    configurations = [("fused, 1 process", 1, "fused"), ("split, 1 process", 1, "split"),
                      ("split, 2 processes", 2, "split")]
    runs = {name: [] for name, _, _ in configurations}
    for _ in range(args.repeat):             # interleaved, so a busy moment falls on all of them alike
        for name, processes, mode in configurations:
            runs[name].append(run(mpiexec, processes, mode, args))
    rows = [(name, sorted(runs[name], key=lambda r: r["samples_per_s"])[len(runs[name]) // 2])
            for name, _, _ in configurations]                               # the median run of each
    base = rows[0][1]["samples_per_s"]
    print(f"W2 784-512-512-10, Adam, batch {BATCH} per process, {args.steps} steps, OPENBLAS_NUM_THREADS=1, "
          f"median of {args.repeat} interleaved runs")
    print(f"{'':22}{'samples/s':>12}{'step ms':>10}{'vs fused 1':>12}{'allreduce':>11}{'waiting':>9}"
          f"{'allreduce alone':>17}")
    for name, r in rows:
        alone = f"{r['allreduce_alone_ms']:.2f} ms" if r["allreduce_alone_ms"] is not None else "-"
        print(f"{name:22}{r['samples_per_s']:12.0f}{r['step_ms']:10.2f}{r['samples_per_s'] / base:11.2f}x"
              f"{100 * r['allreduce_share']:10.1f}%{100 * r['wait_share']:8.1f}%{alone:>17}")
    print("allreduce, waiting: shares of the steps' time spent in Allreduce, and before it waiting for the other "
          "process (a barrier)")
    print(f"gradient buffer: {rows[2][1]['gradients']} floats + 1 (batch size) in one Allreduce per step")


if __name__ == "__main__":
    main()
