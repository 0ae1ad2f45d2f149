"""What the distributed tests train, shared by the worker script (run under mpiexec) and the tests
(which train the same model in one process on the concatenated batches, as the reference).

A small classifier with an L2 penalty (so the penalty must come out once, not once per process),
rank-dependent initial weights (so the broadcast matters), per-rank shards of a global data set
laid out so that step s of rank r reads rows that the reference's step s reads too.
"""

import numpy as np

from symkeras import optimizers, regularizers
from symkeras.layers import Dense, Input
from symkeras.models import Model

BATCH = 4                         # per process
STEPS = 3                         # per process, per epoch
CLASS_WEIGHT = {0: 1.0, 1: 2.5, 2: 0.5}

# name → (optimizer, backend, sample weights?, class weights?, rows cut from the last batch of rank 1)
SCENARIOS = {
    "sgd": (lambda: optimizers.SGD(0.1, momentum=0.9), "c", True, False, 0),
    "adam": (lambda: optimizers.Adam(0.02), "c", False, True, 3),
    "rmsprop": (lambda: optimizers.RMSprop(0.01), "numpy", True, True, 0),
}


def build_model(seed, backend, optimizer, hidden=8):
    inputs = Input((6,))
    h = Dense(hidden, activation="tanh", kernel_regularizer=regularizers.l2(1e-2), name="hidden")(inputs)
    model = Model(inputs, Dense(3, activation="softmax", name="probs")(h))
    rng = np.random.RandomState(100 + seed)
    model.set_weights([rng.uniform(-0.7, 0.7, w.shape).astype("float32") for w in model.get_weights()])
    model.compile(optimizer, "categorical_crossentropy", metrics=["accuracy"], backend=backend)
    return model


def global_data(size):
    rng = np.random.RandomState(7)
    n = size * BATCH * STEPS
    x = rng.randn(n, 6).astype("float32")
    y = np.eye(3, dtype="float32")[rng.randint(0, 3, n)]
    w = rng.uniform(0.2, 2.0, n).astype("float32")
    return x, y, w


def step_rows(rank, size, step, cut):
    """The rows of the global data that ``rank`` trains on at ``step``."""
    start = (step * size + rank) * BATCH
    stop = start + BATCH - (cut if rank == 1 and step == STEPS - 1 else 0)
    return np.arange(start, stop)


def shard(rank, size, cut):
    return np.concatenate([step_rows(rank, size, s, cut) for s in range(STEPS)])
