"""Train a small MLP with the low-level backend API and show where its generated code went.

    python examples/train_mlp_backend.py [--backend c|numpy]

The data is generated deterministically: 2,000 points in the plane, labelled by
whether they fall inside a ring.
"""

import argparse

import numpy as np

import symkeras.backend as K


def make_data(n=2000, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1.5, 1.5, size=(n, 2)).astype("float32")
    r = np.sqrt((x ** 2).sum(axis=1))
    y = ((r > 0.5) & (r < 1.0)).astype("float32").reshape(-1, 1)
    return x, y


def build(backend):
    rng = np.random.RandomState(1)
    x = K.placeholder((None, 2), name="x")
    y = K.placeholder((None, 1), name="y")
    w1 = K.variable(rng.uniform(-1, 1, (2, 32)), name="dense_kernel")
    b1 = K.variable(np.zeros(32), name="dense_bias")
    w2 = K.variable(rng.uniform(-0.3, 0.3, (32, 1)), name="dense_1_kernel")
    b2 = K.variable(np.zeros(1), name="dense_1_bias")
    params = [w1, b1, w2, b2]
    with K.name_scope("dense"):
        h = K.tanh(K.dot(x, w1) + b1)
    with K.name_scope("dense_1"):
        p = K.sigmoid(K.dot(h, w2) + b2)
    with K.name_scope("loss"):
        p_clipped = K.clip(p, K.epsilon(), 1 - K.epsilon())
        loss = -K.mean(y * K.log(p_clipped) + (1 - y) * K.log(1 - p_clipped))
        accuracy = K.mean(K.equal(y, K.cast(K.greater(p, 0.5), "float32")))
    grads = K.gradients(loss, params)
    updates = [K.update_sub(w, 0.5 * g) for w, g in zip(params, grads)]
    train = K.function([x, y], [loss, accuracy], updates=updates, backend=backend, name="train_step")
    predict = K.function([x], [p], backend=backend, name="predict")
    return train, predict


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["c", "numpy"], default=None)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    x, y = make_data()
    train, predict = build(args.backend)
    for epoch in range(args.epochs):
        order = np.random.RandomState(epoch).permutation(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            loss, acc = train([x[batch], y[batch]])
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1:3d}  loss {float(loss):.4f}  batch accuracy {float(acc):.3f}")
    accuracy = float(((predict([x])[0] > 0.5) == (y > 0.5)).mean())
    print(f"training accuracy: {accuracy:.3f}")
    print(f"backend: {train.backend}")
    print(f"generated training step: {train.path}")
    print(f"generated predict function: {predict.path}")


if __name__ == "__main__":
    main()
