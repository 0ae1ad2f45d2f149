"""Functional model construction: Input, Model, naming, layer order, properties, weights,
summary and the construction errors, as in tf-keras 2.x."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import Add, Dense, Input, InputLayer, Layer, add, concatenate
from symkeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


# ----------------------------------------------------------------------------- Input

def test_input_returns_keras_tensor_of_an_input_layer():
    x = Input(shape=(3,))
    layer = x._keras_history[0]
    assert isinstance(layer, InputLayer)
    assert layer.name == "input_1"
    assert x.keras_shape == (None, 3) and x.dtype == "float32"
    assert Input(shape=4).keras_shape == (None, 4)          # an int shape is one axis
    assert Input(batch_shape=(None, 2, 5)).keras_shape == (None, 2, 5)
    assert Input(shape=(2,), dtype="float64").dtype == "float64"
    assert Input(shape=(2,), name="features")._keras_history[0].name == "features"
    assert layer.get_config() == {"batch_input_shape": (None, 3), "dtype": "float32", "sparse": False,
                                  "ragged": False, "name": "input_1"}


def test_input_static_batch_size_is_shown_through_the_graph():
    x = Input(shape=(3,), batch_size=8)
    y = Dense(2)(x)
    model = Model(x, y)
    assert x.keras_shape == (8, 3)
    assert model.input_shape == (8, 3) and model.output_shape == (8, 2)
    assert Input(batch_shape=(4, 3)).keras_shape == (4, 3)
    assert Input((3,), 5).keras_shape == (5, 3)          # tf-keras positional batch_size


@pytest.mark.parametrize("kwargs, message", [
    ({}, "either a `shape` or a `batch_shape`"),
    ({"shape": (3,), "batch_shape": (None, 3)}, "not both"),
    ({"shape": (3,), "foo": 1}, "Unrecognized keyword arguments"),
])
def test_input_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Input(**kwargs)


# ----------------------------------------------------------------------------- naming

def test_auto_names_are_zero_based_per_class_and_reset_by_clear_session():
    class MyCustomLayer(Layer):
        pass

    x = Input((3,))
    assert [Dense(1).name, Dense(1).name, Dense(1).name] == ["dense", "dense_1", "dense_2"]
    assert [MyCustomLayer().name, MyCustomLayer().name] == ["my_custom_layer", "my_custom_layer_1"]
    assert Input((3,))._keras_history[0].name == "input_2"
    assert [Model(x, Dense(1)(x)).name, Model(x, Dense(1)(x)).name] == ["model", "model_1"]
    assert Sequential().name == "sequential"
    K.clear_session()
    assert Dense(1).name == "dense"
    assert Input((3,))._keras_history[0].name == "input_1"
    with pytest.raises(TypeError, match="string"):
        Dense(1, name=3)


def test_duplicate_layer_names_in_one_model():
    x = Input((3,))
    y = Dense(2, name="same")(Dense(2, name="same")(x))
    with pytest.raises(ValueError, match='The name "same" is used 2 times in the model'):
        Model(x, y)


# ----------------------------------------------------------------------------- Model(inputs, outputs)

def test_single_input_single_output_properties():
    a = Input(shape=(32,))
    b = Dense(16, name="hidden")(a)
    model = Model(inputs=a, outputs=b)
    assert model.inputs == [a] and model.outputs == [b]
    assert model.input is a and model.output is b
    assert model.input_names == ["input_1"] and model.output_names == ["hidden"]
    assert model.input_shape == (None, 32) and model.output_shape == (None, 16)
    assert [layer.name for layer in model.layers] == ["input_1", "hidden"]


def test_multi_input_multi_output_properties():
    a1, a2 = Input((4,), name="a1"), Input((3,), name="a2")
    joint = concatenate([a1, a2])
    b1, b2, b3 = Dense(1, name="b1")(joint), Dense(2, name="b2")(joint), Dense(3, name="b3")(a2)
    model = Model(inputs=[a1, a2], outputs=[b1, b2, b3])
    assert model.inputs == [a1, a2] and model.input == [a1, a2]
    assert model.output == [b1, b2, b3]
    assert model.input_names == ["a1", "a2"]
    assert model.output_names == ["b1", "b2", "b3"]
    assert model.input_shape == [(None, 4), (None, 3)]
    assert model.output_shape == [(None, 1), (None, 2), (None, 3)]


def test_output_names_are_made_unique_when_a_layer_gives_two_outputs():
    x = Input((2,))
    y = Dense(2, name="d")(x)
    model = Model(x, [y, y])
    assert model.output_names == ["d", "d_1"]


def test_legacy_input_output_keywords_warn():
    a = Input((3,))
    b = Dense(2)(a)
    with pytest.warns(UserWarning, match="inputs"):
        model = Model(input=a, output=b)
    assert model.inputs == [a] and model.outputs == [b]


def test_layer_order_follows_depth_then_discovery_order():
    def build(merge_order):
        K.clear_session()
        x = Input((3,), name="x")
        c = Dense(3, name="c")(x)                # created first, but shallower than a -> b
        b = Dense(3, name="b")(Dense(3, name="a")(x))
        out = Add(name="merge")([b, c] if merge_order == "bc" else [c, b])
        return x, Model(x, out)

    # depth: x 3, a 2, b and c 1 (tie broken by DFS discovery from the output), merge 0
    assert [layer.name for layer in build("bc")[1].layers] == ["x", "a", "b", "c", "merge"]
    assert [layer.name for layer in build("cb")[1].layers] == ["x", "a", "c", "b", "merge"]


def test_unconnected_input_is_kept_at_depth_zero_before_the_outputs():
    x, unused = Input((3,), name="x"), Input((2,), name="unused")
    out = Dense(1, name="out")(Dense(2, name="h")(x))
    model = Model([x, unused], out)
    assert [layer.name for layer in model.layers] == ["x", "h", "unused", "out"]


def test_graph_disconnected_names_the_tensor_and_the_layers_reached():
    a, b = Input((3,), name="a"), Input((3,), name="b")
    h = Dense(3, name="h")(a)
    out = Dense(1, name="out")(concatenate([h, b], name="join"))
    with pytest.raises(ValueError, match=r"Graph disconnected: cannot obtain value for tensor .*'b'.* "
                                         r"at layer \"join\". .* accessed without issue: \['h'\]"):
        Model(a, out)


def test_construction_errors():
    a = Input((3,))
    h = Dense(3)(a)
    with pytest.raises(ValueError, match="same input multiple times"):
        Model([a, a], h)
    with pytest.raises(ValueError, match="must come from `Input`"):
        Model(K.placeholder((None, 3)), h)
    with pytest.warns(UserWarning, match="cannot be the output of a previous non-Input layer"):
        with pytest.raises(TypeError, match="InputLayer"):
            Model(h, Dense(1)(h))
    with pytest.raises(ValueError, match="Lambda"):
        Model(a, K.sum(h, axis=1, keepdims=True))


# ----------------------------------------------------------------------------- shared layers, nested models

def test_shared_layer_called_twice():
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = Dense(3, name="shared")
    model = Model([a, b], add([shared(a), shared(b)]))
    assert len(shared._inbound_nodes) == 2
    assert len(model.weights) == 2 and model.count_params() == 15
    with pytest.raises(AttributeError, match="multiple inbound nodes"):
        shared.input
    assert shared.get_input_at(1) is b
    assert shared.output_shape == (None, 3)           # same on both nodes
    xa, xb = np.random.rand(5, 4).astype("float32"), np.random.rand(5, 4).astype("float32")
    kernel, bias = shared.get_weights()
    np.testing.assert_allclose(model.predict([xa, xb]), xa @ kernel + xb @ kernel + 2 * bias, rtol=1e-5)


def test_nested_model_is_a_layer_sharing_its_weights():
    inner_in = Input((3,), name="inner_in")
    inner = Model(inner_in, Dense(4, activation="relu", name="inner_dense")(inner_in), name="inner")
    x1, x2 = Input((3,), name="x1"), Input((3,), name="x2")
    y1, y2 = inner(x1), inner(x2)                  # called twice: nodes 1 and 2 (node 0 is its own)
    assert y1._keras_history[1] == 1 and y2._keras_history[1] == 2
    assert y1.keras_shape == (None, 4)
    outer = Model([x1, x2], Dense(1, name="head")(concatenate([y1, y2])))
    assert [layer.name for layer in outer.layers] == ["x1", "x2", "inner", "concatenate", "head"]
    assert outer.count_params() == 16 + 9
    assert outer.weights[0] is inner.weights[0]     # shared, listed once
    data = [np.random.rand(6, 3).astype("float32") for _ in range(2)]
    k, b = inner.get_weights()
    inner.set_weights([k + 1.0, b])                  # visible through the outer model
    hk, hb = outer.get_layer("head").get_weights()
    h = np.concatenate([np.maximum(d @ (k + 1.0) + b, 0) for d in data], axis=1)
    np.testing.assert_allclose(outer.predict(data), h @ hk + hb, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- weights

def _two_layer_model():
    x = Input((3,), name="x")
    h = Dense(4, name="h")(x)
    return Model(x, Dense(2, name="out")(h), name="m")


def test_weights_are_listed_layer_by_layer_in_keras_order():
    model = _two_layer_model()
    names = [w.op.storage.name for w in model.weights]
    assert names == ["h/kernel", "h/bias", "out/kernel", "out/bias"]
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,), (4, 2), (2,)]
    new = [np.full(w.shape, i, dtype="float32") for i, w in enumerate(model.get_weights())]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(model.get_layer("out").get_weights()[0], new[2])
    with pytest.raises(ValueError, match="weight list of length 3, but the layer was expecting 4"):
        model.set_weights(new[:3])
    with pytest.raises(ValueError, match=r"\(3, 4\) not compatible with provided weight shape \(4, 3\)"):
        model.set_weights([np.zeros((4, 3))] + new[1:])
    np.testing.assert_array_equal(model.get_weights()[0], new[0])     # nothing half-assigned


def test_trainable_flags_on_a_layer_and_on_the_model():
    model = _two_layer_model()
    h = model.get_layer("h")
    h.trainable = False
    assert [w.op.storage.name for w in model.trainable_weights] == ["out/kernel", "out/bias"]
    assert [w.op.storage.name for w in model.non_trainable_weights] == ["h/kernel", "h/bias"]
    assert len(model.weights) == 4
    h.trainable = True
    model.trainable = False                        # tf-keras: propagates to every layer
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    assert not h.trainable
    model.trainable = True
    assert len(model.trainable_weights) == 4 and h.trainable


def test_count_params_and_get_layer():
    model = _two_layer_model()
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    assert model.get_layer("out").name == "out"
    assert model.get_layer(index=1).name == "h"
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="retrieve layer at index 7 but model only has 3 layers"):
        model.get_layer(index=7)
    with pytest.raises(ValueError, match="Provide either a layer name or layer index"):
        model.get_layer()
    with pytest.raises(ValueError, match="Provide only a layer name or a layer index"):
        model.get_layer("h", 1)
    with pytest.raises(ValueError, match="isn't built"):
        Dense(2).count_params()


def test_metrics_names_after_compile():
    model = _two_layer_model()
    assert model.metrics_names == []
    model.compile("sgd", loss="mse", metrics=["mae"])
    assert model.metrics_names == ["loss", "mae"]
    x = Input((3,))
    two = Model(x, [Dense(1, name="o1")(x), Dense(1, name="o2")(x)])
    two.compile("sgd", loss="mse")
    assert two.metrics_names == ["loss", "o1_loss", "o2_loss"]


# ----------------------------------------------------------------------------- summary

def _summary(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def test_summary_of_a_chain_is_the_65_column_table():
    x = Input((3,))
    h = Dense(10)(x)
    model = Model(x, Dense(1)(h))
    lines = _summary(model)
    assert [line.rstrip() for line in lines] == [
        'Model: "model"',
        "_" * 65,
        "Layer (type)                 Output Shape              Param #",
        "=" * 65,
        "input_1 (InputLayer)         (None, 3)                 0",
        "_" * 65,
        "dense (Dense)                (None, 10)                40",
        "_" * 65,
        "dense_1 (Dense)              (None, 1)                 11",
        "=" * 65,
        "Total params: 51",
        "Trainable params: 51",
        "Non-trainable params: 0",
        "_" * 65,
    ]
    assert all(len(line) == 65 for line in lines[1:10])     # table rows are padded


def test_summary_of_a_branching_model_has_connections_and_thousands_separators():
    a, b = Input((30,), name="a"), Input((2,), name="b")
    big = Dense(100, name="big")(a)
    small = Dense(100, name="small", trainable=False)(b)
    model = Model([a, b], Add(name="sum")([big, small]), name="branchy")
    lines = _summary(model)
    assert [line.rstrip() for line in lines] == [
        'Model: "branchy"',
        "_" * 98,
        "Layer (type)                    Output Shape         Param #     Connected to",
        "=" * 98,
        "a (InputLayer)                  (None, 30)           0",
        "_" * 98,
        "b (InputLayer)                  (None, 2)            0",
        "_" * 98,
        "big (Dense)                     (None, 100)          3100        a[0][0]",
        "_" * 98,
        "small (Dense)                   (None, 100)          300         b[0][0]",
        "_" * 98,
        "sum (Add)                       (None, 100)          0           big[0][0]",
        "                                                                 small[0][0]",
        "=" * 98,
        "Total params: 3,400",
        "Trainable params: 3,100",
        "Non-trainable params: 300",
        "_" * 98,
    ]
    assert all(len(line) == 98 for line in lines[1:15])
