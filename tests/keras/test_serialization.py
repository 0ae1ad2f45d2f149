"""get_config / from_config / to_json for functional and Sequential models: the Keras 2
config format, round trips that rebuild an equivalent model, and custom objects."""

import json
import warnings

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import Dense, Dropout, Input, Layer, add, concatenate
from symkeras.models import Model, Sequential, model_from_config, model_from_json
from symkeras.utils.generic_utils import custom_object_scope


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape).astype("float32")


def _branching_model():
    a, b = Input((4,), name="a"), Input((3,), name="b")
    shared = Dense(3, activation="tanh", name="shared")
    h = concatenate([shared(a), b], name="join")
    out1 = Dense(2, activation="softmax", name="out1")(h)
    out2 = add([shared(a), Dense(3, name="proj")(b)], name="out2")
    return Model([a, b], [out1, out2], name="branchy")


def _assert_equivalent(old, new, data):
    assert new.name == old.name
    assert [layer.name for layer in new.layers] == [layer.name for layer in old.layers]
    assert [type(layer) for layer in new.layers] == [type(layer) for layer in old.layers]
    assert [layer.get_config() for layer in new.layers] == [layer.get_config() for layer in old.layers]
    assert new.input_names == old.input_names and new.output_names == old.output_names
    assert new.output_shape == old.output_shape
    new.set_weights(old.get_weights())
    for got, want in zip(_list(new.predict(data)), _list(old.predict(data))):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def _list(x):
    return x if isinstance(x, list) else [x]


# ----------------------------------------------------------------------------- the format

def test_functional_config_format():
    model = _branching_model()
    config = model.get_config()
    assert list(config) == ["name", "layers", "input_layers", "output_layers"]
    assert config["name"] == "branchy"
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["out1", 0, 0], ["out2", 0, 0]]
    entries = {entry["name"]: entry for entry in config["layers"]}
    assert [entry["name"] for entry in config["layers"]] == [layer.name for layer in model.layers]
    assert entries["a"] == {"name": "a", "class_name": "InputLayer", "inbound_nodes": [],
                            "config": {"batch_input_shape": (None, 4), "dtype": "float32", "sparse": False,
                                       "ragged": False, "name": "a"}}
    assert entries["shared"]["class_name"] == "Dense"
    assert entries["shared"]["config"] == model.get_layer("shared").get_config()
    # the shared layer has two calls; its consumers name which one
    assert entries["shared"]["inbound_nodes"] == [[["a", 0, 0, {}]], [["a", 0, 0, {}]]]
    assert entries["join"]["inbound_nodes"] == [[["shared", 0, 0, {}], ["b", 0, 0, {}]]]
    assert entries["out2"]["inbound_nodes"] == [[["shared", 1, 0, {}], ["proj", 0, 0, {}]]]
    json.dumps(config, default=list)                     # plain data


def test_nested_model_keeps_its_own_node_zero_in_the_config():
    i = Input((3,), name="i")
    inner = Model(i, Dense(2, name="d")(i), name="inner")
    x = Input((3,), name="x")
    outer = Model(x, Dense(1, name="head")(inner(x)), name="outer")
    entries = {entry["name"]: entry for entry in outer.get_config()["layers"]}
    assert entries["inner"]["inbound_nodes"] == [[["x", 0, 0, {}]]]
    assert entries["head"]["inbound_nodes"] == [[["inner", 1, 0, {}]]]
    assert entries["inner"]["config"]["input_layers"] == [["i", 0, 0]]
    rebuilt = Model.from_config(outer.get_config())
    _assert_equivalent(outer, rebuilt, _rand(5, 3))
    assert rebuilt.get_layer("inner").get_layer("d") is not inner.get_layer("d")


def test_call_kwargs_are_kept_and_replayed():
    x = Input((4,))
    y = Dropout(0.5, name="drop")(x, training=True)
    model = Model(x, Dense(1)(y))
    entry = [e for e in model.get_config()["layers"] if e["name"] == "drop"][0]
    assert entry["inbound_nodes"] == [[["input_1", 0, 0, {"training": True}]]]
    rebuilt = Model.from_config(model.get_config())
    assert rebuilt.layers[1]._inbound_nodes[0].arguments == {"training": True}


def test_non_json_call_kwargs_are_dropped_with_a_warning():
    class Scale(Layer):
        def call(self, inputs, factor=None):
            return inputs * 2.0

    x = Input((2,))
    model = Model(x, Scale(name="scale")(x, factor=object()))
    with pytest.warns(UserWarning, match="non-JSON-serializable argument factor"):
        config = model.get_config()
    assert config["layers"][1]["inbound_nodes"] == [[["input_1", 0, 0, {}]]]


# ----------------------------------------------------------------------------- round trips

def test_from_config_rebuilds_an_equivalent_model():
    model = _branching_model()
    rebuilt = Model.from_config(model.get_config())
    _assert_equivalent(model, rebuilt, [_rand(5, 4), _rand(5, 3, seed=1)])
    assert rebuilt.get_config() == model.get_config()


def test_to_json_and_model_from_json():
    model = _branching_model()
    text = model.to_json()
    payload = json.loads(text)
    assert payload["class_name"] == "Model"
    assert payload["keras_version"] == "2.2.4" and payload["backend"] == "tensorflow"
    assert payload["config"]["layers"][0]["config"]["batch_input_shape"] == [None, 4]
    rebuilt = model_from_json(text)
    _assert_equivalent(model, rebuilt, [_rand(5, 4), _rand(5, 3, seed=1)])
    assert json.loads(rebuilt.to_json()) == payload
    assert isinstance(model_from_config(payload), Model)
    assert model.to_json(indent=2).startswith("{\n")
    with pytest.raises(TypeError, match="expects a dictionary, not a list"):
        model_from_config([payload])
    # tf-keras names functional models "Functional"
    payload["class_name"] = "Functional"
    assert isinstance(model_from_config(payload), Model)


class Doubler(Layer):
    """A custom layer with an argument (so it overrides get_config)."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def cube(x):
    return x * x * x


def test_custom_objects():
    x = Input((3,))
    model = Model(x, Dense(2, activation=cube, name="d")(Doubler(3.0, name="dbl")(x)))
    text = model.to_json()
    with pytest.raises(ValueError, match="Unknown layer: Doubler"):
        model_from_json(text)
    rebuilt = model_from_json(text, custom_objects={"Doubler": Doubler, "cube": cube})
    assert rebuilt.get_layer("dbl").factor == 3.0
    assert rebuilt.get_layer("d").activation is cube
    _assert_equivalent(model, rebuilt, _rand(4, 3))
    with custom_object_scope({"Doubler": Doubler, "cube": cube}):
        assert isinstance(model_from_json(text).get_layer("dbl"), Doubler)


# ----------------------------------------------------------------------------- Sequential

def test_sequential_config_lists_its_input_layer_first():
    model = Sequential([Dense(4, input_dim=3, activation="relu"), Dense(2)], name="seq")
    config = model.get_config()
    assert config["name"] == "seq"
    assert [entry["class_name"] for entry in config["layers"]] == ["InputLayer", "Dense", "Dense"]
    assert config["layers"][0]["config"]["name"] == "dense_input"
    assert config["layers"][1]["config"] == model.layers[0].get_config()
    rebuilt = Sequential.from_config(config)
    _assert_equivalent(model, rebuilt, _rand(5, 3))
    assert json.loads(model.to_json())["class_name"] == "Sequential"
    again = model_from_json(model.to_json())
    assert isinstance(again, Sequential)
    _assert_equivalent(model, again, _rand(5, 3))


def test_sequential_from_older_configs():
    layers = [{"class_name": "Dense", "config": {"name": "d1", "units": 2, "batch_input_shape": [None, 3]}},
              {"class_name": "Dense", "config": {"name": "d2", "units": 1}}]
    model = Sequential.from_config(layers)                        # Keras <= 2.1: a bare list
    assert [layer.name for layer in model.layers] == ["d1", "d2"] and model.output_shape == (None, 1)
    unbuilt = Sequential.from_config({"name": "s", "layers": layers[1:], "build_input_shape": [None, 5]})
    assert unbuilt.input_shape == (None, 5)                         # 2.2: built from build_input_shape
    deferred = Sequential.from_config(Sequential([Dense(2)]).get_config())
    assert not deferred.built


def test_nested_sequential_in_a_functional_model_round_trips():
    inner = Sequential([Dense(3, input_dim=2, name="a"), Dense(2, name="b")], name="stack")
    x = Input((2,), name="x")
    model = Model(x, Dense(1, name="head")(inner(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rebuilt = model_from_json(model.to_json())
    _assert_equivalent(model, rebuilt, _rand(3, 2))
