"""Train a two-input, two-output functional model and write out its generated code.

    python examples/train_functional.py [--backend c|numpy] [--epochs 8] [--out generated/demo]

The data is generated deterministically. Input ``signal`` (12 features) and input
``context`` (4 features) predict ``level`` (a regression target, mse) and ``kind``
(one of 3 classes, categorical cross-entropy with accuracy).
"""

import argparse
import os

import numpy as np

import symkeras.backend as K
from symkeras.layers import Dense, Dropout, Input, concatenate
from symkeras.models import Model
from symkeras.optimizers import Adam


def make_data(n=4000, seed=0):
    rng = np.random.RandomState(seed)
    signal = rng.normal(size=(n, 12)).astype("float32")
    context = rng.uniform(-1, 1, size=(n, 4)).astype("float32")
    level = (np.sin(signal[:, :3].sum(axis=1)) + context[:, 0] * 0.5).reshape(-1, 1).astype("float32")
    logits = np.stack([signal[:, 3] + context[:, 1], signal[:, 4] - context[:, 2], 0.3 * signal[:, 5]], axis=1)
    kind = np.eye(3, dtype="float32")[logits.argmax(axis=1)]
    return {"signal": signal, "context": context}, {"level": level, "kind": kind}


def build_model():
    signal = Input(shape=(12,), name="signal")
    context = Input(shape=(4,), name="context")
    h = Dense(64, activation="relu", name="signal_dense")(signal)
    c = Dense(16, activation="tanh", name="context_dense")(context)
    joint = concatenate([h, c], name="joint")
    joint = Dropout(0.1, seed=7, name="joint_dropout")(joint)
    shared = Dense(64, activation="relu", name="shared")(joint)
    level = Dense(1, name="level")(shared)
    kind = Dense(3, activation="softmax", name="kind")(shared)
    return Model(inputs=[signal, context], outputs=[level, kind], name="demo")


def write_sources(model, out_dir):
    """The generated train, test and predict code, written for the model's backend."""
    return model.export_source(out_dir, functions=("train", "test", "predict"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["c", "numpy"], default=None)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                      "generated", "demo"))
    args = parser.parse_args()
    K.clear_session()
    np.random.seed(0)
    from symkeras.utils import set_random_seed
    set_random_seed(0)
    x, y = make_data()
    model = build_model()
    model.summary()
    model.compile(optimizer=Adam(learning_rate=3e-3), loss={"level": "mse", "kind": "categorical_crossentropy"},
                  loss_weights={"level": 1.0, "kind": 0.5}, metrics={"kind": ["accuracy"], "level": ["mae"]},
                  backend=args.backend)
    history = model.fit(x, y, batch_size=64, epochs=args.epochs, validation_split=0.2, verbose=1)
    print("final epoch:", {k: round(v[-1], 4) for k, v in history.history.items()})
    results = model.evaluate(x, y, batch_size=256, verbose=0)
    print("evaluate:", dict(zip(model.metrics_names, [round(float(r), 4) for r in results])))
    level, kind = model.predict({"signal": x["signal"][:3], "context": x["context"][:3]})
    print("predict level:", level.ravel().round(3), "kind:", kind.argmax(axis=1))
    backend = model.train_function.backend
    print(f"backend: {backend}")
    for path in write_sources(model, os.path.normpath(args.out)):
        print(f"generated code: {path}")
    print(f"compiled module: {model.train_function.path}")


if __name__ == "__main__":
    main()
