"""Sequential: add, pop, build, the hidden InputLayer, deferred build from the first data,
predict_classes / predict_proba."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import Activation, Dense, Input, InputLayer, Lambda
from symkeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape).astype("float32")


def test_sequential_with_an_input_shape_builds_as_layers_are_added():
    model = Sequential()
    model.add(Dense(4, input_dim=3, name="first"))
    assert model.built and model.input_names == ["first_input"]
    model.add(Dense(2, name="second"))
    assert [layer.name for layer in model.layers] == ["first", "second"]     # InputLayer hidden
    assert isinstance(model._layers[0], InputLayer)
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
    assert model.output_names == ["second"]
    assert [w.op.storage.name for w in model.weights] == ["first/kernel", "first/bias", "second/kernel",
                                                          "second/bias"]
    assert model.get_layer(index=0).name == "first"
    x = _rand(5, 3)
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(model.predict(x), (x @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-6)


def test_sequential_from_an_input_tensor_or_input_layer():
    model = Sequential([Input((3,), name="x"), Dense(2)])
    assert model.input_names == ["x"] and [layer.name for layer in model.layers] == ["dense"]
    model = Sequential([InputLayer(input_shape=(5,), name="y"), Dense(1)])
    assert model.input_shape == (None, 5)


def test_pop_restores_the_previous_output():
    model = Sequential([Dense(4, input_dim=3), Dense(2), Dense(1)])
    model.pop()
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert model.output_shape == (None, 2) and model.output_names == ["dense_1"]
    model.add(Dense(5, name="new_top"))
    assert model.output_shape == (None, 5)
    model.pop()
    model.pop()
    model.pop()
    assert model.layers == [] and not model.built
    with pytest.raises(TypeError, match="There are no layers in the model"):
        model.pop()


def test_add_errors():
    model = Sequential([Dense(2, input_dim=3, name="d")])
    with pytest.raises(TypeError, match="must be an instance of class Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match='Name "d" is already the name of a layer'):
        model.add(Dense(2, name="d"))
    with pytest.raises(ValueError, match="single output tensor"):
        model.add(Lambda(lambda t: [t, t]))


def test_without_input_shape_the_model_is_built_from_the_first_data():
    model = Sequential([Dense(4, activation="relu"), Dense(1)])
    assert not model.built and [layer.name for layer in model.layers] == ["dense", "dense_1"]
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    with pytest.raises(ValueError, match="have not yet been created"):
        model.weights
    with pytest.raises(ValueError, match="isn't built"):
        model.count_params()
    model.compile("sgd", loss="mse")                 # waits for the build
    x, y = _rand(16, 3), _rand(16, 1, seed=1)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert model.built and model.input_shape == (None, 3) and model.input_names == ["dense_input"]
    assert model.metrics_names == ["loss"]
    assert model.count_params() == 3 * 4 + 4 + 4 + 1


def test_build_with_an_input_shape():
    model = Sequential([Dense(2), Dense(1)])
    with pytest.raises(ValueError, match="You must provide an `input_shape` argument"):
        model.build()
    model.build((None, 6))
    assert model.input_shape == (None, 6) and model.input_names == ["dense_input"]
    assert model.count_params() == 6 * 2 + 2 + 2 + 1
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "sequential"' and len(lines[1]) == 65
    assert lines[4].startswith("dense (Dense)")           # no InputLayer row


def test_nested_sequential_and_deferred_call():
    inner = Sequential([Dense(3, name="i1")], name="inner")
    outer = Sequential([Dense(4, input_dim=2, name="o1"), inner, Activation("sigmoid", name="act")])
    assert inner.built and inner.input_shape == (None, 4)
    assert [layer.name for layer in outer.layers] == ["o1", "inner", "act"]
    assert outer.output_shape == (None, 3)
    assert len(outer.weights) == 4
    x = _rand(3, 2)
    k1, b1, k2, b2 = outer.get_weights()
    want = 1 / (1 + np.exp(-((x @ k1 + b1) @ k2 + b2)))
    np.testing.assert_allclose(outer.predict(x), want, rtol=1e-5)
    i = Input((2,))
    functional = Model(i, Sequential([Dense(2, input_dim=2)])(i))
    assert functional.output_shape == (None, 2)


def test_predict_classes_and_predict_proba():
    softmax = Sequential([Dense(3, input_dim=4, activation="softmax")])
    x = _rand(6, 4)
    proba = softmax.predict_proba(x)
    np.testing.assert_array_equal(softmax.predict_classes(x), proba.argmax(axis=-1))
    sigmoid = Sequential([Dense(1, input_dim=4, activation="sigmoid")])
    p = sigmoid.predict(x)
    classes = sigmoid.predict_classes(x)
    assert classes.dtype == np.int32
    np.testing.assert_array_equal(classes, (p > 0.5).astype("int32"))
    linear = Sequential([Dense(1, input_dim=4, kernel_initializer="ones", bias_initializer="ones")])
    with pytest.warns(UserWarning, match="invalid probability values"):
        linear.predict_proba(np.ones((2, 4), dtype="float32"))
    with pytest.warns(UserWarning, match="deprecated"):
        assert linear.model is linear
