"""Masks through the functional graph (Keras 2): Embedding(mask_zero=True) and Masking make them,
layers that support masking pass them on, merge layers combine them, GlobalAveragePooling1D and
calls that take a mask consume them, the others refuse them (TypeError naming the layer). Masks are
computed, not stored: a model called on new tensors, or rebuilt from its config, has them again.
Values against NumPy written here."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers
from symkeras.layers import (Activation, Add, Average, Concatenate, Conv1D, Dense, Dot, Dropout, Embedding, Flatten,
                             GlobalAveragePooling1D, Input, Lambda, Layer, Masking, Maximum, Multiply)
from symkeras.models import Model, Sequential, model_from_json

TOKENS = np.array([[3, 1, 0, 0], [2, 0, 5, 0], [4, 4, 4, 1]], dtype="int32")


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _values(inputs, nodes, arrays):
    return K.function(inputs, nodes)(arrays)


def test_embedding_mask_passes_through_the_layers_that_support_masking():
    tokens = Input((None,), dtype="int32")
    h = Embedding(6, 3, mask_zero=True)(tokens)
    chain = [Dense(4), Activation("tanh"), Dropout(0.5), layers.ReLU(), layers.BatchNormalization()]
    out = h
    for layer in chain:
        out = layer(out)
        assert out._keras_mask is not None, layer.name
    (mask,) = _values([tokens], [out._keras_mask], [TOKENS])
    np.testing.assert_array_equal(mask, TOKENS != 0)
    assert Embedding(6, 3)(tokens)._keras_mask is None


def test_masking_layer_zeroes_masked_steps_and_reports_them():
    x = Input((None, 3))
    y = Masking(mask_value=-1.0)(x)
    data = np.random.RandomState(0).rand(2, 5, 3).astype("float32")
    data[0, 1] = -1.0
    data[1, 4] = -1.0
    data[1, 2, 0] = -1.0                        # one feature only: the step is kept
    out, mask = _values([x], [y, y._keras_mask], [data])
    keep = np.any(data != -1.0, axis=-1)
    np.testing.assert_array_equal(mask, keep)
    np.testing.assert_allclose(out, data * keep[..., None])
    assert Masking(0.5).get_config()["mask_value"] == 0.5
    with pytest.raises(TypeError, match="mask_value"):
        Masking("zero")


def test_layers_that_do_not_support_masking_refuse_a_mask_naming_the_layer():
    tokens = Input((4,), dtype="int32")
    h = Embedding(6, 3, mask_zero=True)(tokens)
    with pytest.raises(TypeError, match="Layer flatten_it does not support masking"):
        Flatten(name="flatten_it")(h)
    with pytest.raises(TypeError, match="Layer conv does not support masking"):
        Conv1D(2, 2, name="conv")(h)
    with pytest.raises(TypeError, match="Layer flat does not support masking"):
        Flatten(name="flat").compute_mask(h, h._keras_mask)
    assert Flatten().compute_mask(h, None) is None


def test_global_average_pooling_1d_averages_the_unmasked_steps_only():
    tokens = Input((4,), dtype="int32")
    embedding = Embedding(6, 3, mask_zero=True, embeddings_initializer="random_normal")
    pooled = GlobalAveragePooling1D()(embedding(tokens))
    assert pooled._keras_mask is None
    model = Model(tokens, Dense(1)(pooled))             # Dense after it gets no mask
    (out,) = _values([tokens], [pooled], [TOKENS])
    table, keep = embedding.get_weights()[0], (TOKENS != 0).astype("float32")
    want = (table[TOKENS] * keep[..., None]).sum(1) / keep.sum(1, keepdims=True)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    assert model.predict(TOKENS).shape == (3, 1)


class Gate(Layer):
    """A custom layer whose call takes the mask (and does not declare supports_masking)."""

    def call(self, inputs, mask=None):
        return inputs if mask is None else inputs * K.expand_dims(K.cast(mask, inputs.dtype), -1)


def test_a_call_that_takes_the_mask_consumes_it():
    tokens = Input((4,), dtype="int32")
    embedding = Embedding(6, 2, mask_zero=True, embeddings_initializer="ones")
    gated = Gate()(embedding(tokens))
    assert gated._keras_mask is None
    Flatten()(gated)                                    # nothing left to refuse
    (out,) = _values([tokens], [gated], [TOKENS])
    np.testing.assert_array_equal(out, np.repeat((TOKENS != 0)[..., None], 2, -1).astype("float32"))


def test_lambda_mask_argument_and_mask_function():
    tokens = Input((4,), dtype="int32")
    h = Embedding(6, 2, mask_zero=True)(tokens)
    dropped = Lambda(lambda t: t * 2)(h)
    assert dropped._keras_mask is None                  # Keras: a Lambda without `mask` drops it
    seen = []

    def double(t, mask=None):
        seen.append(mask)
        return t * 2
    kept = Lambda(double, mask=lambda inputs, mask: mask)(h)
    assert seen[-1] is h._keras_mask and kept._keras_mask is h._keras_mask
    first = Lambda(lambda t: t, mask=lambda inputs, mask: K.not_equal(inputs[:, :, 0], 0))(h)
    (mask,) = _values([tokens], [first._keras_mask], [TOKENS])
    assert mask.shape == (3, 4)


def _two_masked_inputs():
    a, b = Input((4,), dtype="int32"), Input((4,), dtype="int32")
    ea = Embedding(6, 2, mask_zero=True)(a)
    eb = Embedding(6, 2, mask_zero=True)(b)
    return a, b, ea, eb


OTHER = np.array([[0, 1, 1, 0], [2, 2, 0, 0], [1, 0, 1, 1]], dtype="int32")


@pytest.mark.parametrize("merge", [Add, Multiply, Average, Maximum])
def test_elementwise_merges_and_their_masks(merge):
    a, b, ea, eb = _two_masked_inputs()
    merged = merge()([ea, eb])
    (mask,) = _values([a, b], [merged._keras_mask], [TOKENS, OTHER])
    np.testing.assert_array_equal(mask, (TOKENS != 0) & (OTHER != 0))
    plain = Input((4, 2))
    (mask,) = _values([a, plain], [merge()([ea, plain])._keras_mask], [TOKENS, np.zeros((3, 4, 2), "float32")])
    np.testing.assert_array_equal(mask, TOKENS != 0)            # an unmasked input leaves the other's


def test_concatenate_masks_follow_keras():
    a, b, ea, eb = _two_masked_inputs()
    plain = Input((4, 3))
    last = Concatenate()([ea, plain])                           # features: the masked input's mask
    steps = Concatenate(axis=1)([ea, eb])                       # time: the two masks side by side
    m_last, m_steps = _values([a, b, plain], [last._keras_mask, steps._keras_mask],
                              [TOKENS, OTHER, np.zeros((3, 4, 3), "float32")])
    np.testing.assert_array_equal(m_last, TOKENS != 0)
    np.testing.assert_array_equal(m_steps, np.concatenate([TOKENS != 0, OTHER != 0], axis=1))
    assert Concatenate().compute_mask([ea, plain], [None, None]) is None
    with pytest.raises(ValueError, match="should have the same length"):
        Concatenate().compute_mask([ea, plain], [None])
    assert Dot(axes=2)([ea, eb])._keras_mask is None


def _masked_model():
    tokens = Input((None,), dtype="int32", name="tokens")
    h = Embedding(6, 3, mask_zero=True, name="embed")(tokens)
    return Model(tokens, Dense(2, name="proj")(h), name="inner")


def test_masks_are_replayed_when_a_model_is_called_on_new_tensors():
    inner = _masked_model()
    assert inner.outputs[0]._keras_mask is not None
    outer_in = Input((None,), dtype="int32")
    out = Activation("relu")(inner(outer_in))
    (mask,) = _values([outer_in], [out._keras_mask], [TOKENS])
    np.testing.assert_array_equal(mask, TOKENS != 0)
    (direct,) = _values([outer_in], [inner.compute_mask(outer_in)], [TOKENS])
    np.testing.assert_array_equal(direct, TOKENS != 0)
    # A model inside a model passes its input mask on to the layers inside.
    seq = Input((4, 3))
    masked = Masking()(seq)
    x = Input((4, 3))
    passthrough = Model(x, Dense(2)(x))
    y = passthrough(masked)
    data = np.ones((1, 4, 3), "float32")
    data[0, 2] = 0
    (mask,) = _values([seq], [y._keras_mask], [data])
    np.testing.assert_array_equal(mask, [[True, True, False, True]])


def test_masks_are_computed_again_when_a_model_is_rebuilt_from_its_config():
    model = _masked_model()
    clone = model_from_json(model.to_json())
    assert clone.outputs[0]._keras_mask is not None
    sequential = Sequential([Embedding(6, 3, mask_zero=True, input_length=4), Dense(2)])
    rebuilt = Sequential.from_config(sequential.get_config())
    (mask,) = _values(rebuilt.inputs, [rebuilt.outputs[0]._keras_mask], [TOKENS])
    np.testing.assert_array_equal(mask, TOKENS != 0)
