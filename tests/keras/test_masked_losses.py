"""Losses and metrics of a masked sequence output, as tf-keras computes them (compile_utils and
losses_utils.apply_valid_mask): the mask multiplies the sample weights, and a SUM_OVER_BATCH_SIZE
loss is Σ l·w·m / Σ m (only the unmasked entries counted); a SUM loss is Σ l·w·m; a metric is the
mean over unmasked entries, a weighted metric Σ v·w·m / Σ w·m. Values against NumPy written here,
on both backends, and one SGD step against the gradient worked out by hand."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import losses, optimizers
from symkeras.layers import Dense, Embedding, Input, Masking
from symkeras.models import Model

TOKENS = np.array([[3, 1, 0, 0, 2], [2, 0, 5, 0, 0], [4, 4, 4, 1, 1]], dtype="int32")
RNG = np.random.RandomState(0)
TARGETS = RNG.rand(3, 5, 2).astype("float32")
PER_SAMPLE = np.array([1.0, 0.5, 2.0], "float32")
PER_STEP = RNG.rand(3, 5).astype("float32")
MASK = (TOKENS != 0).astype("float64")


@pytest.fixture(autouse=True)
def _fresh_session():
    K.clear_session()


def _model():
    tokens = Input((None,), dtype="int32", name="tokens")
    h = Embedding(6, 3, mask_zero=True, embeddings_initializer="random_normal", name="embed")(tokens)
    return Model(tokens, Dense(2, name="proj")(h))


def _prediction(model):
    table, kernel, bias = (w.astype("float64") for w in model.get_weights())
    return table[TOKENS] @ kernel + bias


def _evaluate(model, **kwargs):
    return model.evaluate(TOKENS, TARGETS, batch_size=len(TOKENS), verbose=0, **kwargs)


@pytest.fixture(scope="module")
def compiled():
    """One model per backend: mse, with mae as a plain and as a weighted metric, temporal weights."""
    K.clear_session()
    models = {}
    for backend in ("numpy", "c"):
        model = _model()
        model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"], sample_weight_mode="temporal",
                      backend=backend)
        models[backend] = model
    models["c"].set_weights(models["numpy"].get_weights())
    return models


def test_masked_loss_and_metrics_against_numpy_on_both_backends(compiled):
    model = compiled["numpy"]
    pred = _prediction(model)
    mse, mae = ((pred - TARGETS) ** 2).mean(-1), np.abs(pred - TARGETS).mean(-1)
    for weights in (None, PER_STEP):
        w = np.ones_like(MASK) if weights is None else weights
        loss, metric, weighted = _evaluate(model, sample_weight=weights)
        np.testing.assert_allclose(loss, (mse * w * MASK).sum() / MASK.sum(), rtol=1e-5)
        np.testing.assert_allclose(metric, (mae * MASK).sum() / MASK.sum(), rtol=1e-5)
        np.testing.assert_allclose(weighted, (mae * w * MASK).sum() / (w * MASK).sum(), rtol=1e-5)
        np.testing.assert_allclose(_evaluate(compiled["c"], sample_weight=weights), [loss, metric, weighted],
                                   rtol=1e-5)


def test_per_sample_weights_and_the_sum_reduction():
    model = _model()
    pred = _prediction(model)
    mse = ((pred - TARGETS) ** 2).mean(-1)
    model.compile("sgd", "mse")
    np.testing.assert_allclose(_evaluate(model, sample_weight=PER_SAMPLE),
                               (mse * PER_SAMPLE[:, None] * MASK).sum() / MASK.sum(), rtol=1e-5)
    model.compile("sgd", losses.MeanSquaredError(reduction=losses.Reduction.SUM))
    np.testing.assert_allclose(_evaluate(model, sample_weight=PER_SAMPLE),
                               (mse * PER_SAMPLE[:, None] * MASK).sum(), rtol=1e-5)


def test_the_worked_example_of_the_spec():
    # B=1, T=4, per-step losses [1, 2, 3, 4], mask [1, 1, 0, 0]: tf-keras gives 1.5 (2.3 gave 0.75).
    x = Input((4, 1))
    model = Model(x, Masking()(x))
    model.compile("sgd", "mae")
    values = np.array([[[1.0], [2.0], [0.0], [0.0]]], "float32")
    targets = np.array([[[0.0], [0.0], [-3.0], [-4.0]]], "float32")
    assert model.evaluate(values, targets, verbose=0) == pytest.approx(1.5)


def test_a_batch_with_every_step_masked_has_loss_zero():
    model = _model()
    model.compile("sgd", "mse", metrics=["mae"])
    loss, _ = model.evaluate(np.zeros((2, 5), "int32"), TARGETS[:2], verbose=0)
    assert loss == 0.0


def test_one_sgd_step_follows_the_masked_gradient():
    model = _model()
    model.compile(optimizers.SGD(learning_rate=0.5), "mse", sample_weight_mode="temporal")
    table, kernel, bias = (w.astype("float64") for w in model.get_weights())
    embedded = table[TOKENS]
    pred = embedded @ kernel + bias
    # L = Σ_bt m·w·mean_c (pred - y)² / Σ m  →  dL/dpred = 2 (pred - y) / C · m·w / Σ m
    upstream = 2 * (pred - TARGETS) / 2 * (MASK * PER_STEP)[..., None] / MASK.sum()
    grad_kernel = np.einsum("btf,btu->fu", embedded, upstream)
    grad_bias = upstream.sum((0, 1))
    model.train_on_batch(TOKENS, TARGETS, sample_weight=PER_STEP)
    np.testing.assert_allclose(model.get_weights()[1], kernel - 0.5 * grad_kernel, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[2], bias - 0.5 * grad_bias, rtol=1e-5, atol=1e-6)
    # Padding (index 0) reaches no loss term: its embedding row does not move.
    np.testing.assert_array_equal(model.get_weights()[0][0], table[0].astype("float32"))
