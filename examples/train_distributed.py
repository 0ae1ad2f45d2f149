"""Train one classifier with several processes, the Horovod way (needs the mpi extra).

    pip install "symkeras[mpi]"
    mpiexec -n 2 python examples/train_distributed.py [--epochs 4] [--batch-size 64] [--backend c|numpy]

Every process builds the same model, takes its own shard of the (deterministic) data, and trains
with ``DistributedOptimizer``: each step, the gradients of all processes are averaged by one
allreduce, so together they train as one process would on batches of size × batch-size.
``BroadcastGlobalVariablesCallback(0)`` starts everyone from rank 0's weights,
``MetricAverageCallback`` logs metrics averaged over all processes, and only rank 0 prints and
writes the checkpoint. Across hosts it is plain MPI: ``mpiexec -hosts a,b -n 4 python …``.
"""

import argparse
import os
import tempfile

import numpy as np

from symkeras import callbacks
from symkeras import distribute as hvd
from symkeras.layers import Dense, Input
from symkeras.models import Model
from symkeras.optimizers import Adam


def make_data(n=8192, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, 20)).astype("float32")
    logits = np.stack([x[:, :5].sum(axis=1), x[:, 5:10].sum(axis=1) - x[:, 0], 0.5 * x[:, 10:15].sum(axis=1)], axis=1)
    return x, np.eye(3, dtype="float32")[logits.argmax(axis=1)]


def build_model():
    inputs = Input(shape=(20,), name="features")
    h = Dense(64, activation="relu", name="hidden_1")(inputs)
    h = Dense(64, activation="relu", name="hidden_2")(h)
    return Model(inputs, Dense(3, activation="softmax", name="kind")(h), name="distributed_mlp")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64, help="per process")
    parser.add_argument("--backend", choices=["c", "numpy"], default=None)
    parser.add_argument("--checkpoint", default=os.path.join(tempfile.gettempdir(), "distributed_mlp.h5"))
    args = parser.parse_args()

    hvd.init()
    x, y = make_data()
    x_train, y_train = x[hvd.rank()::hvd.size()], y[hvd.rank()::hvd.size()]    # this process's shard
    model = build_model()
    # The learning rate grows with the number of processes, as the batch does; the warm-up eases into it.
    model.compile(optimizer=hvd.DistributedOptimizer(Adam(0.001 * hvd.size())), loss="categorical_crossentropy",
                  metrics=["accuracy"], backend=args.backend)
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, callbacks=[
        hvd.BroadcastGlobalVariablesCallback(0),
        hvd.MetricAverageCallback(),
        hvd.LearningRateWarmupCallback(initial_lr=0.001 * hvd.size(), warmup_epochs=2),
        callbacks.ModelCheckpoint(args.checkpoint),
    ], verbose=2)
    # Each process evaluates its shard; the mean over processes is the accuracy on all the data.
    loss, accuracy = model.evaluate(x_train, y_train, verbose=0)
    accuracy = hvd.allreduce(accuracy)
    if hvd.rank() == 0:
        print(f"{hvd.size()} processes, final loss {history.history['loss'][-1]:.4f}, "
              f"accuracy on all the data {accuracy:.4f}; checkpoint: {args.checkpoint}")


if __name__ == "__main__":
    main()
