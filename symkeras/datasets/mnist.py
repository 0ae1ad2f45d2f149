"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grayscale."""

from symkeras.datasets import origins
from symkeras.datasets.safe_files import load_npz


def load_data(path="mnist.npz"):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)`` with values 0-255,
    uint8 labels 0-9 ``(n,)``. ``path``: where to cache the file, relative to ``~/.keras/datasets``."""
    arrays = load_npz(origins.fetch(path, "mnist.npz"))
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
