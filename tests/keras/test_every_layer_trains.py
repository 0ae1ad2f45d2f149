"""One functional model holding a layer of every kind trains end to end: its loss falls, the C
and NumPy backends agree on its first steps, and it survives a save and reload in every file
format (symkeras's .npz, Keras 2's .h5, Keras 3's .keras)."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers as L
from symkeras import optimizers, utils
from symkeras.models import Model, load_model


def _model(seed=0):
    utils.set_random_seed(seed)
    image = L.Input((8, 8, 2), name="image")
    h = L.Conv2D(4, 3, padding="same", name="conv")(image)
    h = L.BatchNormalization(name="bn")(h)
    h = L.LeakyReLU(name="leaky")(h)
    h = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="depthwise")(h)
    h = L.PReLU(shared_axes=[1, 2], name="prelu")(h)
    h = L.SeparableConv2D(4, 3, strides=2, padding="same", name="separable")(h)
    h = L.ZeroPadding2D(1, name="pad")(h)
    h = L.Cropping2D(((1, 0), (0, 1)), name="crop")(h)
    h = L.MaxPooling2D(2, name="max_pool")(h)
    h = L.UpSampling2D(2, interpolation="bilinear", name="upsample")(h)
    h = L.Conv2DTranspose(3, 2, strides=2, name="deconv")(h)
    h = L.SpatialDropout2D(0.1, name="spatial_dropout")(h)
    h = L.AveragePooling2D(2, padding="same", name="avg_pool")(h)
    h = L.ELU(name="elu")(h)
    image_features = L.GlobalAveragePooling2D(name="gap")(h)

    words = L.Input((6,), name="words")
    e = L.Embedding(20, 5, name="embedding")(words)
    e = L.GaussianNoise(0.05, name="noise")(e)
    e = L.Conv1D(6, 2, padding="causal", activation="relu", name="conv1d")(e)
    e = L.LayerNormalization(name="layer_norm")(e)
    e = L.Permute((2, 1), name="permute")(e)
    e = L.GlobalMaxPooling1D(name="gmp")(e)

    h = L.concatenate([image_features, e], name="joined")
    h = L.Dense(8, name="dense")(h)
    h = L.ReLU(max_value=6.0, name="relu6")(h)
    h = L.AlphaDropout(0.1, name="alpha_dropout")(h)
    h = L.RepeatVector(2, name="repeat")(h)
    h = L.Flatten(name="flat")(h)
    h = L.ActivityRegularization(l2=1e-4, name="activity")(h)
    out = L.Dense(3, name="logits")(h)
    out = L.Softmax(name="probabilities")(out)
    return Model([image, words], out)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    images = rng.rand(48, 8, 8, 2).astype("float32")
    words = rng.randint(0, 20, size=(48, 6))
    labels = (images[:, :4].mean(axis=(1, 2, 3)) * 3).astype("int64").clip(0, 2)
    return images, words, np.eye(3, dtype="float32")[labels]


def test_every_layer_kind_trains_and_backends_agree(data, tmp_path):
    images, words, targets = data
    losses = {}
    for backend in ("numpy", "c"):
        K.clear_session()
        model = _model()
        model.compile(optimizers.Adam(0.01), "categorical_crossentropy", backend=backend)
        first = [model.train_on_batch([images[:16], words[:16]], targets[:16]) for _ in range(2)]
        losses[backend] = (first, model.predict([images, words]))
        if backend == "c":
            history = model.fit([images, words], targets, batch_size=16, epochs=12, verbose=0)
            assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
            for name in ("every_layer.skw", "every_layer.h5", "every_layer.keras"):      # each file format
                path = str(tmp_path / name)
                model.save(path)
                again = load_model(path)
                np.testing.assert_allclose(again.predict([images, words]), model.predict([images, words]),
                                           rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(losses["c"][0], losses["numpy"][0], rtol=1e-4)
    np.testing.assert_allclose(losses["c"][1], losses["numpy"][1], rtol=1e-4, atol=1e-6)
