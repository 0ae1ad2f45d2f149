"""An MNIST MLP script written the Keras 2 way (keras.datasets.mnist, keras.utils.to_categorical,
Sequential of Dense and Dropout, RMSprop, summary, fit with validation data, evaluate), with only
its import changed, run end to end in its own process. The dataset comes from a mirror on
loopback: a small file in mnist.npz's format, written here (the script itself is untouched; only
the process is told where the mirror is, as a user behind a mirror would)."""

import functools
import hashlib
import http.server
import io
import os
import threading

import numpy as np

from keras2_script import run_script

MNIST_MLP = """
import symkeras as keras
from symkeras.datasets import mnist
from symkeras.models import Sequential
from symkeras.layers import Dense, Dropout
from symkeras.optimizers import RMSprop

batch_size = 32
num_classes = 10
epochs = 4

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(len(x_train), 784).astype('float32') / 255
x_test = x_test.reshape(len(x_test), 784).astype('float32') / 255
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Dense(64, activation='relu', input_shape=(784,)))
model.add(Dropout(0.2))
model.add(Dense(64, activation='relu'))
model.add(Dropout(0.2))
model.add(Dense(num_classes, activation='softmax'))
model.summary()
model.compile(loss='categorical_crossentropy', optimizer=RMSprop(), metrics=['accuracy'])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                    validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
print('History keys:', sorted(history.history))
"""

# The process is pointed at the mirror before the script runs.
MIRROR = """
import symkeras.datasets.origins as origins
origins.TF_KERAS_DATASETS = {base!r}
origins.FILE_HASHES['mnist.npz'] = {digest!r}
"""


def _small_mnist():
    """mnist.npz's layout (uint8 images 28x28, uint8 labels) with learnable stand-in digits: each
    class lights its own band of rows, over noise."""
    rng = np.random.RandomState(0)

    def part(n):
        labels = rng.randint(0, 10, size=n).astype("uint8")
        images = rng.randint(0, 60, size=(n, 28, 28)).astype("uint8")
        for image, label in zip(images, labels):
            image[2 + 2 * label:4 + 2 * label, 4:24] = 255
        return images, labels
    (x_train, y_train), (x_test, y_test) = part(640), part(160)
    buffer = io.BytesIO()
    np.savez(buffer, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return buffer.getvalue()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_mnist_mlp_script(tmp_path):
    data = _small_mnist()
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "mnist.npz").write_bytes(data)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        mirror = MIRROR.format(base=f"http://127.0.0.1:{server.server_address[1]}/",
                               digest=hashlib.sha256(data).hexdigest())
        out = run_script(MNIST_MLP, tmp_path, env=dict(os.environ, KERAS_HOME=str(tmp_path / "keras-home")),
                         prelude=mirror)
    finally:
        server.shutdown()
        server.server_close()
    assert "640 train samples" in out and "160 test samples" in out
    assert "Total params: 55,050" in out              # Keras's count: 784*64+64 + 64*64+64 + 64*10+10
    accuracy = float(out.split("Test accuracy:")[1].split()[0])
    assert accuracy > 0.9
    assert "'val_accuracy'" in out and "'accuracy'" in out
    assert (tmp_path / "keras-home" / "datasets" / "mnist.npz").exists()      # cached where Keras keeps it
