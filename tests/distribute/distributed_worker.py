"""One process of a distributed test run: ``mpiexec -n N python distributed_worker.py CASE OUT``.

CASE ``train``: every scenario of distributed_scenarios, fit on this rank's shard (a Sequence,
a generator, arrays) with the broadcast, metric-average and checkpoint callbacks, then evaluated
on it; writes OUT/<scenario>-rank<r>.npz.
The fault cases: ``raise`` (rank 1 raises while rank 0 waits in a broadcast), ``exit`` (rank 1
calls sys.exit with a message), ``die`` (rank 1 is
killed in the middle of training while rank 0 waits in the allreduce), ``mismatch`` (rank 1 builds
a wider model).
"""

import json
import os
import signal
import sys

import numpy as np

import distributed_scenarios as S
from symkeras import callbacks as keras_callbacks
from symkeras import distribute as hvd
from symkeras.utils import Sequence


class Batches(Sequence):
    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]


class Record(keras_callbacks.Callback):
    def __init__(self, into):
        super().__init__()
        self.into = into

    def on_epoch_end(self, epoch, logs=None):
        self.into.append(dict(logs))


def train(out):
    rank, size = hvd.rank(), hvd.size()
    x, y, w = S.global_data(size)
    for name, (make_optimizer, backend, use_w, use_cw, cut) in S.SCENARIOS.items():
        model = S.build_model(rank, backend, hvd.DistributedOptimizer(make_optimizer()))
        rows = S.shard(rank, size, cut)
        local, averaged = [], []
        cbs = [hvd.BroadcastGlobalVariablesCallback(0), Record(local), hvd.MetricAverageCallback(), Record(averaged),
               keras_callbacks.ModelCheckpoint(os.path.join(out, f"{name}-checkpoint-rank{rank}.h5"))]
        batches = [(x[r], y[r]) + ((w[r],) if use_w else ()) for r in np.array_split(rows, S.STEPS)]
        if name == "sgd":                                 # the three ways of feeding fit, one per scenario
            model.fit(Batches(batches), epochs=1, shuffle=False, callbacks=cbs, verbose=2)
        elif name == "rmsprop":
            model.fit_generator(iter(batches), steps_per_epoch=S.STEPS, class_weight=S.CLASS_WEIGHT,
                                callbacks=cbs, verbose=2)
        else:
            model.fit(x[rows], y[rows], sample_weight=w[rows] if use_w else None,
                      class_weight=S.CLASS_WEIGHT if use_cw else None, batch_size=S.BATCH, epochs=1, shuffle=False,
                      callbacks=cbs, verbose=2)
        # Each rank evaluates its (uncut) shard; the mean over ranks is the evaluation of all the data.
        full = S.shard(rank, size, 0)
        evaluated = hvd.allreduce(model.evaluate(x[full], y[full], batch_size=S.BATCH, verbose=0))
        np.savez(os.path.join(out, f"{name}-rank{rank}.npz"), *model.get_weights(),
                 logs=json.dumps({"local": local, "averaged": averaged, "evaluated": list(evaluated),
                                  "ranks": [rank, size, hvd.local_rank(), hvd.local_size()]}))


def fault(case):
    rank = hvd.rank()
    hidden = 9 if case == "mismatch" and rank == 1 else 8
    model = S.build_model(rank, "numpy", hvd.DistributedOptimizer("sgd"), hidden=hidden)
    if case == "raise" and rank == 1:
        raise RuntimeError("worker 1 cannot read its data")
    if case == "exit" and rank == 1:
        sys.exit("worker 1 found no data")
    x, y, _ = S.global_data(2)

    class Die(keras_callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            if rank == 1 and batch == 1:
                os.kill(os.getpid(), signal.SIGKILL)

    model.fit(x, y, batch_size=S.BATCH, epochs=50, verbose=0,
              callbacks=[hvd.BroadcastGlobalVariablesCallback(0)] + ([Die()] if case == "die" else []))
    print(f"rank {rank} finished", flush=True)


if __name__ == "__main__":
    hvd.init()
    if sys.argv[1] == "train":
        train(sys.argv[2])
    else:
        fault(sys.argv[1])
