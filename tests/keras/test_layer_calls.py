"""Layer calls as Keras allows them: ``training=`` and ``mask=`` reach only layers whose ``call``
takes them; tensors passed as extra arguments are inputs of the call (computed first, replaced
when the graph is replayed on other inputs, differentiated through); and models written by
subclassing build their graph from the first data they see."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import Add, Dense, Dropout, Embedding, Input, Layer
from symkeras.models import Model


@pytest.fixture(autouse=True)
def _numpy_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


class Scale(Layer):
    """``a * b``: the second tensor comes as an extra positional argument."""

    def call(self, a, b):
        return a * b


class Masked(Layer):
    """``a`` where ``mask`` is nonzero, else 0: the mask comes as a keyword tensor."""

    def call(self, a, mask=None):
        return a * K.cast(K.not_equal(mask, 0), "float32")


def test_training_and_mask_reach_only_the_layers_that_take_them():
    x = Input((4,))
    dense = Dense(2, kernel_initializer="ones")
    y = dense(x, training=True, mask=x)
    assert dense._inbound_nodes[0].arguments == {}
    always = Dropout(0.5, seed=1)(x, training=True)          # dropout even in predict, as Keras
    model = Model(x, [y, always])
    ones = np.ones((64, 4), "float32")
    plain, dropped = model.predict(ones)
    np.testing.assert_array_equal(plain, np.full((64, 2), 4.0))
    assert 0 < (dropped == 0).mean() < 1 and set(np.unique(dropped)) <= {0.0, 2.0}


def test_extra_tensors_are_inputs_of_the_call_and_are_replayed():
    a, b = Input((3,), name="a"), Input((3,), name="b")
    scale = Scale(name="scale")
    product = scale(a, b)
    gated = Masked(name="gate")(product, mask=b)
    inner = Model([a, b], gated, name="inner")
    assert [t.name for t in scale._inbound_nodes[0].dependencies] == [a.name, b.name]
    x = np.array([[1, 2, 3], [4, 5, 6]], "float32")
    w = np.array([[2, 0, 1], [0, 1, 0]], "float32")
    np.testing.assert_array_equal(inner.predict([x, w]), x * w)
    # The same calls replayed inside another model on other tensors use those tensors' values.
    p, q = Input((3,)), Input((3,))
    outer = Model([p, q], inner([Dense(3, use_bias=False, kernel_initializer="identity")(p), q]))
    np.testing.assert_array_equal(outer.predict([x, w]), x * w)


def test_gradients_flow_through_an_extra_tensor():
    a, b = Input((3,)), Input((3,))
    dense = Dense(3, kernel_initializer="ones", use_bias=False)
    model = Model([a, b], Scale()(a, dense(b)))
    model.compile("sgd", "mse")
    before = dense.get_weights()[0].copy()
    model.train_on_batch([np.ones((4, 3), "float32"), np.ones((4, 3), "float32")], np.zeros((4, 3), "float32"))
    assert not np.allclose(dense.get_weights()[0], before)     # reached only through the extra argument


def test_a_call_with_positional_extras_cannot_be_written_to_a_config_yet():
    a, b = Input((3,)), Input((3,))
    model = Model([a, b], Scale(name="scale")(a, b))
    with pytest.raises(NotImplementedError, match="scale was called with 1 positional"):
        model.get_config()


class TwoLayers(Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.hidden = Dense(units, activation="tanh")
        self.out = Dense(1)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


class Words(Model):
    """Integer inputs and two of them: an embedding of each, added."""

    def __init__(self, raw_add=False):
        super().__init__()
        self.embed = Embedding(10, 3)
        self.add = Add()
        self.read = Dense(1)
        self.raw_add = raw_add

    def call(self, inputs):
        first, second = inputs
        if self.raw_add:                 # a backend op between layers, not a layer
            return self.read(self.embed(first) + self.embed(second))
        return self.read(self.add([self.embed(first), self.embed(second)]))


def test_a_subclassed_model_builds_from_its_first_data_and_trains():
    model = TwoLayers(units=5)
    model.compile("adam", "mse")                       # compiled before it has a graph, as in Keras
    rng = np.random.RandomState(0)
    x = rng.randn(64, 3).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.count_params() == 3 * 5 + 5 + 5 + 1
    assert model.predict(x[:7]).shape == (7, 1)
    assert np.isfinite(model.evaluate(x, y, verbose=0))


def test_a_subclassed_model_with_integer_and_several_inputs():
    model = Words()
    model.compile("sgd", "mse")
    first = np.random.RandomState(1).randint(0, 10, size=(8, 2))
    second = np.random.RandomState(2).randint(0, 10, size=(8, 2))
    loss = model.train_on_batch([first, second], np.zeros((8, 2, 1), "float32"))
    assert np.isfinite(loss)
    assert model.inputs[0].dtype.startswith("int") and len(model.inputs) == 2
    assert model.predict_on_batch([first, second]).shape == (8, 2, 1)


def test_a_subclassed_call_with_a_backend_op_between_layers_says_to_use_a_layer():
    model = Words(raw_add=True)
    model.compile("sgd", "mse")
    first = np.zeros((2, 2), "int64")
    with pytest.raises(ValueError, match="wrap backend operations in a `Lambda` layer"):
        model.fit([first, first], np.zeros((2, 2, 1), "float32"), verbose=0)


class TrainOnlyNoise(Layer):
    """Doubles its input in the training phase, asked through K.in_train_phase with no flag."""

    def call(self, inputs):
        return K.in_train_phase(inputs * 2.0, inputs)


def test_a_layer_asking_the_learning_phase_sees_the_phase_of_the_function():
    x = Input((2,))
    model = Model(x, TrainOnlyNoise()(x))
    model.compile("sgd", "mse")
    ones = np.ones((3, 2), "float32")
    np.testing.assert_array_equal(model.predict(ones), ones)                # test phase
    loss = model.train_on_batch(ones, np.zeros((3, 2), "float32"))           # training phase: 2 * x
    assert loss == pytest.approx(4.0)
    assert model.evaluate(ones, np.zeros((3, 2), "float32"), verbose=0) == pytest.approx(1.0)
