"""Train a small convolutional classifier on synthetic 12x12 images and write out its generated code.

    python examples/train_cnn.py [--backend c|numpy] [--epochs 4] [--out generated/cnn]

Each image holds one bright bar, horizontal, vertical or diagonal, at a random place over noise; the
model names the bar's direction. Conv2D, BatchNormalization, MaxPooling2D, a 'same' Conv2D and
global average pooling feed a softmax: the generated code shows the sliding-window kernels that
convolution and pooling become, forward and backward.
"""

import argparse
import os

import numpy as np

import symkeras.backend as K
from symkeras.layers import BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D, Input, MaxPooling2D
from symkeras.models import Model
from symkeras.optimizers import Adam
from symkeras.utils import set_random_seed
from train_functional import write_sources

SIDE = 12


def make_data(n=1200, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.uniform(0, 0.3, size=(n, SIDE, SIDE, 1)).astype("float32")
    kinds = rng.randint(0, 3, size=n)
    for image, kind, (row, col) in zip(images, kinds, rng.randint(2, SIDE - 6, size=(n, 2))):
        for step in range(5):
            r, c = [(row, col + step), (row + step, col), (row + step, col + step)][kind]
            image[r, c, 0] = 1.0
    return images, np.eye(3, dtype="float32")[kinds]


def build_model():
    image = Input(shape=(SIDE, SIDE, 1), name="image")
    h = Conv2D(8, 3, activation="relu", name="edges")(image)
    h = BatchNormalization(name="edges_norm")(h)
    h = MaxPooling2D(2, name="pool")(h)
    h = Conv2D(16, 3, padding="same", activation="relu", name="bars")(h)
    h = GlobalAveragePooling2D(name="average")(h)
    direction = Dense(3, activation="softmax", name="direction")(h)
    return Model(image, direction, name="cnn")


def compile_model(model, backend=None):
    model.compile(optimizer=Adam(learning_rate=1e-2), loss="categorical_crossentropy", metrics=["accuracy"],
                  backend=backend)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["c", "numpy"], default=None)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                      "generated", "cnn"))
    args = parser.parse_args()
    K.clear_session()
    set_random_seed(0)
    x, y = make_data()
    model = build_model()
    model.summary()
    compile_model(model, args.backend)
    history = model.fit(x, y, batch_size=32, epochs=args.epochs, validation_split=0.2, verbose=2)
    print("final epoch:", {k: round(v[-1], 4) for k, v in history.history.items()})
    print("generated code:")
    for path in write_sources(model, args.out):
        print("  " + os.path.normpath(path))


if __name__ == "__main__":
    main()
