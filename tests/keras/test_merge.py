"""Merge layers and their functional forms: numbers against NumPy on both backends, output
shapes, per-sample broadcasting, Dot axes/normalize, and tf-keras's shape errors."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import (Add, Average, Concatenate, Dot, Input, Maximum, Minimum, Multiply, Subtract, add,
                             average, concatenate, dot, maximum, minimum, multiply, subtract)
from symkeras.models import Model


@pytest.fixture(autouse=True)
def _fresh_session():
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape).astype("float32")


def _l2n(x, axis):
    return x / np.sqrt(np.maximum((x ** 2).sum(axis=axis, keepdims=True), 1e-12))


def test_merge_layers_match_numpy(backend):
    a, b, c = Input((4,)), Input((4,)), Input((4,))
    s, t = Input((3, 4)), Input((3, 5))              # for axis-1 / 3-D cases
    v = Input((4, 5))
    outputs = {
        "add": Add()([a, b, c]),
        "subtract": Subtract()([a, b]),
        "multiply": Multiply()([a, b, c]),
        "average": Average()([a, b, c]),
        "maximum": Maximum()([a, b, c]),
        "minimum": Minimum()([a, b, c]),
        "concat_last": Concatenate()([a, b]),
        "concat_axis1": Concatenate(axis=1)([s, s]),
        "concat_3d_last": Concatenate(axis=-1)([s, t]),
        "dot_1": Dot(axes=1)([a, b]),
        "dot_normalized": Dot(axes=-1, normalize=True)([a, b]),
        "dot_3d": Dot(axes=(2, 1))([s, v]),
        "dot_3d_same_axis": Dot(axes=1)([s, t]),
        "dot_2d_3d": Dot(axes=(1, 2))([a, s]),
        "add_broadcast": Add()([a, s]),              # (None, 4) broadcast per sample over (None, 3, 4)
    }
    arrays = {name: _rand(*shape, seed=i) for i, (name, shape) in
              enumerate([("a", (2, 4)), ("b", (2, 4)), ("c", (2, 4)), ("s", (2, 3, 4)), ("t", (2, 3, 5)),
                         ("v", (2, 4, 5))])}
    A, B, C, S, T, V = (arrays[k] for k in "abcstv")
    want = {
        "add": A + B + C,
        "subtract": A - B,
        "multiply": A * B * C,
        "average": (A + B + C) / 3,
        "maximum": np.maximum(np.maximum(A, B), C),
        "minimum": np.minimum(np.minimum(A, B), C),
        "concat_last": np.concatenate([A, B], axis=-1),
        "concat_axis1": np.concatenate([S, S], axis=1),
        "concat_3d_last": np.concatenate([S, T], axis=-1),
        "dot_1": (A * B).sum(axis=1, keepdims=True),
        "dot_normalized": (_l2n(A, 1) * _l2n(B, 1)).sum(axis=1, keepdims=True),
        "dot_3d": np.einsum("nik,nkj->nij", S, V),
        "dot_3d_same_axis": np.einsum("nki,nkj->nij", S, T),
        "dot_2d_3d": np.einsum("nk,nik->ni", A, S),
        "add_broadcast": A[:, None, :] + S,
    }
    inputs = [a, b, c, s, t, v]
    f = K.function(inputs, list(outputs.values()), backend=backend)
    results = dict(zip(outputs, f([A, B, C, S, T, V])))
    for name, tensor in outputs.items():
        assert results[name].shape == want[name].shape, name
        assert tensor.keras_shape == (None,) + want[name].shape[1:], name
        layer = tensor._keras_history[0]
        assert layer.compute_output_shape(layer.input_shape) == tensor.keras_shape, name
        np.testing.assert_allclose(results[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_functional_forms_make_the_layers():
    a, b = Input((3,)), Input((3,))
    pairs = [(add, Add), (subtract, Subtract), (multiply, Multiply), (average, Average), (maximum, Maximum),
             (minimum, Minimum), (concatenate, Concatenate)]
    for fn, cls in pairs:
        out = fn([a, b], name=f"my_{cls.__name__.lower()}")
        assert type(out._keras_history[0]) is cls
        assert out._keras_history[0].name == f"my_{cls.__name__.lower()}"
    out = dot([a, b], axes=1, normalize=True)
    layer = out._keras_history[0]
    assert isinstance(layer, Dot) and layer.axes == 1 and layer.normalize is True
    assert concatenate([Input((2, 3)), Input((2, 3))], axis=1).keras_shape == (None, 4, 3)


def test_merge_configs():
    assert Concatenate(axis=1).get_config()["axis"] == 1
    config = Dot(axes=(1, 2), normalize=True, name="d").get_config()
    assert config == {"name": "d", "trainable": True, "dtype": "float32", "axes": (1, 2), "normalize": True}
    assert Dot.from_config(config).get_config() == config
    assert Add(name="s").get_config() == {"name": "s", "trainable": True, "dtype": "float32"}


def test_merge_shape_errors():
    a3, a4 = Input((3,)), Input((4,))
    with pytest.raises(ValueError, match="should be called on a list of inputs"):
        Add()(a3)
    with pytest.raises(ValueError, match="Inputs have incompatible shapes"):
        Add()([a3, a4])
    with pytest.raises(ValueError, match="Inputs have incompatible shapes"):
        Multiply()([Input((2, 3)), Input((4, 3))])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract()([a3, a3, a3])
    with pytest.raises(ValueError, match="different batch sizes"):
        Add()([Input((3,), batch_size=2), Input((3,), batch_size=5)])
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        Concatenate()([Input((2, 3)), Input((4, 3))])
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        Concatenate()([Input((2, 3)), Input((3,))])
    with pytest.raises(ValueError, match="should be called on a list"):
        Concatenate()(a3)


def test_dot_errors():
    with pytest.raises(TypeError, match="Invalid type for argument `axes`"):
        Dot(axes="1")
    with pytest.raises(ValueError, match="it should contain two elements"):
        Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="list elements should be integers"):
        Dot(axes=(1, 1.5))
    with pytest.raises(ValueError, match="list of 2 inputs"):
        Dot(axes=1)([Input((3,)), Input((3,)), Input((3,))])
    with pytest.raises(ValueError, match=r"Incompatible input shapes: axis values 3 \(at axis 1\) != 4"):
        Dot(axes=1)([Input((3,)), Input((4,))])
    with pytest.raises(ValueError, match="batch_dot over axis 0"):
        Dot(axes=0)([Input((3,)), Input((3,))])


def test_merge_inside_a_model_predicts(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    a, b = Input((3,)), Input((3,))
    model = Model([a, b], [add([a, b]), concatenate([a, b]), dot([a, b], axes=1)])
    A, B = _rand(4, 3), _rand(4, 3, seed=1)
    s, c, d = model.predict([A, B])
    np.testing.assert_allclose(s, A + B, rtol=1e-6)
    np.testing.assert_allclose(c, np.concatenate([A, B], axis=1))
    np.testing.assert_allclose(d, (A * B).sum(axis=1, keepdims=True), rtol=1e-5)
