"""Model.compile: every argument (strings or objects, per-output lists/dicts), metric naming and
resolution as tf-keras, target_tensors, sample_weight_mode, illegal values, recompiling."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import losses, metrics, optimizers
from symkeras.layers import Dense, Input
from symkeras.models import Model

NP = "numpy"


def single(units=1, activation=None, features=3, name="out"):
    x = Input((features,), name="x")
    return Model(x, Dense(units, activation=activation, name=name)(x))


def two_outputs():
    x = Input((3,), name="x")
    a = Dense(2, activation="softmax", name="out_a")(x)
    b = Dense(1, name="out_b")(x)
    return Model(x, [a, b])


def fixed(model, seed=0):
    rng = np.random.RandomState(seed)
    model.set_weights([rng.uniform(-1, 1, w.shape) for w in model.get_weights()])
    return model


# ----------------------------------------------------------------------------- optimizer / loss

@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam", "adagrad", "adadelta", "adamax", "nadam",
                                       "SGD", "Adam"])
def test_optimizer_by_name(optimizer):
    model = single()
    model.compile(optimizer, "mse", backend=NP)
    assert model.optimizer.__class__.__name__.lower() == optimizer.lower()


def test_optimizer_object_is_used_as_given():
    model = single()
    opt = optimizers.SGD(learning_rate=0.5)
    model.compile(opt, "mse", backend=NP)
    assert model.optimizer is opt
    x, y = np.ones((2, 3)), np.zeros((2, 1))
    before = model.get_weights()
    model.train_on_batch(x, y)
    kernel_grad = 2 * x.T @ (x @ before[0] + before[1] - y) / 2
    np.testing.assert_allclose(model.get_weights()[0], before[0] - 0.5 * kernel_grad, rtol=1e-5)


@pytest.mark.parametrize("loss", ["mse", "mean_squared_error", losses.mean_squared_error,
                                  losses.MeanSquaredError(), "MeanSquaredError"])
def test_loss_as_string_function_or_object(loss):
    model = fixed(single())
    model.compile("sgd", loss, backend=NP)
    x, y = np.random.RandomState(1).rand(4, 3), np.random.RandomState(2).rand(4, 1)
    expected = np.mean((model.predict(x) - y) ** 2)
    np.testing.assert_allclose(model.test_on_batch(x, y), expected, rtol=1e-5)


def test_custom_loss_function_and_loss_subclass():
    def halved(y_true, y_pred):
        return 0.5 * K.mean(K.square(y_pred - y_true), axis=-1)

    class SumOfSquares(losses.Loss):
        def call(self, y_true, y_pred):
            return K.sum(K.square(y_pred - y_true), axis=-1)

    model = fixed(single(units=2))
    x, y = np.random.RandomState(1).rand(4, 3), np.random.RandomState(2).rand(4, 2)
    err = (model.predict(x) - y) ** 2
    model.compile("sgd", halved, backend=NP)
    np.testing.assert_allclose(model.test_on_batch(x, y), 0.5 * err.mean(), rtol=1e-5)
    model.compile("sgd", SumOfSquares(), backend=NP)
    np.testing.assert_allclose(model.test_on_batch(x, y), err.sum(-1).mean(), rtol=1e-5)
    model.compile("sgd", SumOfSquares(reduction="sum"), backend=NP)
    np.testing.assert_allclose(model.test_on_batch(x, y), err.sum(), rtol=1e-5)


def test_per_output_losses_and_loss_weights_list_and_dict():
    model = fixed(two_outputs())
    x = np.random.RandomState(1).rand(5, 3)
    ya = np.eye(2)[[0, 1, 1, 0, 1]]
    yb = np.random.RandomState(2).rand(5, 1)
    pa, pb = model.predict(x)
    la = -np.mean(np.sum(ya * np.log(np.clip(pa, 1e-7, 1 - 1e-7)), axis=-1))
    lb = np.mean((pb - yb) ** 2)
    model.compile("sgd", ["categorical_crossentropy", "mse"], loss_weights=[0.3, 2.0], backend=NP)
    np.testing.assert_allclose(model.test_on_batch(x, [ya, yb]), [0.3 * la + 2 * lb, la, lb], rtol=1e-5)
    model.compile("sgd", {"out_b": "mse", "out_a": "categorical_crossentropy"}, loss_weights={"out_b": 4.0},
                  backend=NP)
    np.testing.assert_allclose(model.test_on_batch(x, {"out_a": ya, "out_b": yb}), [la + 4 * lb, la, lb],
                               rtol=1e-5)


def test_loss_dict_missing_an_output_warns_and_needs_no_data_for_it():
    model = fixed(two_outputs())
    with pytest.warns(UserWarning, match="out_b"):
        model.compile("sgd", {"out_a": "categorical_crossentropy"}, backend=NP)
    assert model.metrics_names == ["loss", "out_a_loss"]
    x, ya = np.random.rand(4, 3), np.eye(2)[[0, 1, 0, 1]]
    with pytest.warns(UserWarning, match="Gradients do not exist"):      # out_b's weights: no loss
        result = model.train_on_batch(x, {"out_a": ya})
    assert len(result) == 2
    model.fit(x, [ya, np.zeros((4, 1))], verbose=0)      # y for every output: the unused one is ignored


# ----------------------------------------------------------------------------- metrics

def test_accuracy_resolves_by_shapes_like_tf_keras():
    x = np.random.RandomState(0).rand(6, 3)
    # binary: a single sigmoid unit
    model = fixed(single(1, "sigmoid"))
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy", "acc"], backend=NP)
    y = np.array([[0], [1], [1], [0], [1], [0]], dtype="float32")
    expected = np.mean((model.predict(x) > 0.5) == y)
    assert model.metrics_names == ["loss", "accuracy", "acc"]
    np.testing.assert_allclose(model.test_on_batch(x, y)[1:], [expected, expected], rtol=1e-6)
    # categorical: one-hot targets
    model = fixed(single(3, "softmax"))
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"], backend=NP)
    labels = np.array([0, 2, 1, 1, 0, 2])
    expected = np.mean(model.predict(x).argmax(-1) == labels)
    np.testing.assert_allclose(model.test_on_batch(x, np.eye(3)[labels])[1], expected, rtol=1e-6)
    # sparse: integer targets
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["acc"], backend=NP)
    np.testing.assert_allclose(model.test_on_batch(x, labels.reshape(-1, 1))[1], expected, rtol=1e-6)


def test_metric_names_as_tf_keras():
    model = single(1, "sigmoid")
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy", "mse", "mse", metrics.mean_absolute_error,
                                                         metrics.BinaryAccuracy(name="bin")],
                  weighted_metrics=["accuracy", "mae"], backend=NP)
    assert model.metrics_names == ["loss", "accuracy", "mse", "mse_1", "mean_absolute_error", "bin",
                                   "weighted_accuracy", "mae"]

    model = two_outputs()
    model.compile("sgd", ["categorical_crossentropy", "mse"], metrics={"out_a": ["accuracy"], "out_b": "mae"},
                  weighted_metrics={"out_a": ["accuracy", "mse"]}, backend=NP)
    assert model.metrics_names == ["loss", "out_a_loss", "out_b_loss", "out_a_accuracy",
                                   "out_a_weighted_accuracy", "out_a_mse", "out_b_mae"]
    model.compile("sgd", ["categorical_crossentropy", "mse"], metrics=["mae"], backend=NP)
    assert model.metrics_names == ["loss", "out_a_loss", "out_b_loss", "out_a_mae", "out_b_mae"]
    model.compile("sgd", ["categorical_crossentropy", "mse"], metrics=[["accuracy"], ["mse", "mae"]], backend=NP)
    assert model.metrics_names == ["loss", "out_a_loss", "out_b_loss", "out_a_accuracy", "out_b_mse", "out_b_mae"]


def test_metrics_names_order_matches_returned_values():
    model = fixed(two_outputs())
    model.compile("sgd", ["categorical_crossentropy", "mse"], metrics={"out_b": ["mae"], "out_a": ["accuracy"]},
                  backend=NP)
    x = np.random.RandomState(3).rand(4, 3)
    ya, yb = np.eye(2)[[0, 1, 1, 0]], np.random.RandomState(4).rand(4, 1)
    pa, pb = model.predict(x)
    logs = model.test_on_batch(x, [ya, yb], return_dict=True)
    assert list(logs) == model.metrics_names
    np.testing.assert_allclose(logs["out_b_mae"], np.abs(pb - yb).mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["out_a_accuracy"], np.mean(pa.argmax(-1) == ya.argmax(-1)))


def test_weighted_metrics_use_sample_weights_and_plain_ones_do_not():
    model = fixed(single(1))
    model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"], backend=NP)
    x, y = np.random.RandomState(1).rand(4, 3), np.random.RandomState(2).rand(4, 1)
    w = np.array([1.0, 0.0, 2.0, 3.0])
    err = np.abs(model.predict(x) - y)[:, 0]
    loss, mae, wmae = model.test_on_batch(x, y, sample_weight=w)
    np.testing.assert_allclose(mae, err.mean(), rtol=1e-5)
    np.testing.assert_allclose(wmae, (w * err).sum() / w.sum(), rtol=1e-5)
    assert model.metrics_names == ["loss", "mae", "weighted_mae"]


# ----------------------------------------------------------------------------- sample_weight_mode

def sequence_model():
    x = Input((4, 3), name="x")
    return fixed(Model(x, Dense(2, name="out")(x)))


def test_temporal_sample_weight_mode_weights_each_timestep():
    model = sequence_model()
    model.compile("sgd", "mse", sample_weight_mode="temporal", weighted_metrics=["mse"], backend=NP)
    rng = np.random.RandomState(0)
    x, y, w = rng.rand(5, 4, 3), rng.rand(5, 4, 2), rng.rand(5, 4)
    per_step = ((model.predict(x) - y) ** 2).mean(-1)               # (samples, timesteps)
    loss, wmse = model.test_on_batch(x, y, sample_weight=w)
    np.testing.assert_allclose(loss, (w * per_step).sum() / per_step.size, rtol=1e-5)
    np.testing.assert_allclose(wmse, (w * per_step).sum() / w.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="sample_weight"):
        model.test_on_batch(x, y, sample_weight=w[:, 0])             # 1-D weights in temporal mode


def test_sample_weight_mode_per_output_list_and_dict():
    x = Input((4, 3), name="x")
    model = Model(x, [Dense(2, name="seq")(x), Dense(1, name="seq2")(x)])
    model.compile("sgd", "mse", sample_weight_mode=["temporal", None], backend=NP)
    assert model._compiled["modes"] == ["temporal", None]
    model.compile("sgd", "mse", sample_weight_mode={"seq": "temporal"}, backend=NP)
    assert model._compiled["modes"] == ["temporal", None]
    rng = np.random.RandomState(0)
    model.fit(rng.rand(4, 4, 3), [rng.rand(4, 4, 2), rng.rand(4, 4, 1)],
              sample_weight={"seq": rng.rand(4, 4), "seq2": rng.rand(4)}, verbose=0)


def test_temporal_mode_needs_a_sequence_output():
    with pytest.raises(ValueError, match="temporal"):
        single().compile("sgd", "mse", sample_weight_mode="temporal", backend=NP)
    with pytest.raises(ValueError, match="sample_weight_mode"):
        sequence_model().compile("sgd", "mse", sample_weight_mode="timestep", backend=NP)


def test_non_temporal_mode_on_sequence_output_takes_1d_weights():
    model = sequence_model()
    model.compile("sgd", "mse", backend=NP)
    rng = np.random.RandomState(0)
    x, y, w = rng.rand(3, 4, 3), rng.rand(3, 4, 2), np.array([1.0, 2.0, 0.5])
    per_step = ((model.predict(x) - y) ** 2).mean(-1)
    np.testing.assert_allclose(model.test_on_batch(x, y, sample_weight=w),
                               (w[:, None] * per_step).sum() / per_step.size, rtol=1e-5)


# ----------------------------------------------------------------------------- target_tensors

def test_target_tensors_as_array_replace_y():
    model = fixed(single())
    x = np.random.RandomState(0).rand(6, 3)
    target = np.arange(6, dtype="float32").reshape(-1, 1)
    model.compile("sgd", "mse", target_tensors=[target], backend=NP)
    expected = np.mean((model.predict(x) - target) ** 2)
    np.testing.assert_allclose(model.test_on_batch(x, None), expected, rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, batch_size=4, verbose=0), expected, rtol=1e-5)
    model.compile("sgd", "mse", target_tensors=K.constant(target), backend=NP)
    np.testing.assert_allclose(model.test_on_batch(x), expected, rtol=1e-5)
    history = model.fit(x, epochs=2, batch_size=4, verbose=0)
    assert len(history.history["loss"]) == 2
    with pytest.raises(ValueError, match="samples"):
        model.fit(x[:5], verbose=0)


def test_target_tensors_as_placeholder_is_fed_with_y():
    model = fixed(two_outputs())
    target = K.placeholder((None, 1), name="my_target")
    model.compile("sgd", ["categorical_crossentropy", "mse"], target_tensors={"out_b": target}, backend=NP)
    fn = model.make_test_function()
    assert any(spec.name == "my_target" for spec in fn.inputs)
    x, ya, yb = np.random.rand(4, 3), np.eye(2)[[0, 1, 1, 0]], np.random.rand(4, 1)
    _, _, lb = model.test_on_batch(x, [ya, yb])
    np.testing.assert_allclose(lb, np.mean((model.predict(x)[1] - yb) ** 2), rtol=1e-5)


def test_target_tensors_errors():
    model = two_outputs()
    with pytest.raises(ValueError, match="target_tensors"):
        model.compile("sgd", "mse", target_tensors={"nope": np.zeros((2, 1))}, backend=NP)
    with pytest.raises(ValueError, match="target_tensors"):
        model.compile("sgd", "mse", target_tensors=[np.zeros((2, 2))], backend=NP)
    with pytest.raises(TypeError, match="target_tensors"):
        model.compile("sgd", "mse", target_tensors=[np.zeros((2, 2)), "y"], backend=NP)
    with pytest.raises(ValueError, match="target_tensors"):
        model.compile("sgd", "mse", target_tensors=[None, K.placeholder((None, 5))], backend=NP)


# ----------------------------------------------------------------------------- illegal values

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(optimizer="nope", loss="mse"), ValueError, "optimizer"),
    (dict(optimizer=3, loss="mse"), ValueError, "optimizer"),
    (dict(optimizer="sgd", loss="nope"), ValueError, "loss"),
    (dict(optimizer="sgd", loss="mse", metrics=["nope"]), ValueError, "metric"),
    (dict(optimizer="sgd", loss="mse", metrics=3), TypeError, "metrics"),
    (dict(optimizer="sgd", loss="mse", weighted_metrics=["nope"]), ValueError, "weighted_metrics"),
    (dict(optimizer="sgd", loss=None), ValueError, "loss"),
    (dict(optimizer="sgd", loss="mse", loss_weights="heavy"), TypeError, "loss_weights"),
    (dict(optimizer="sgd", loss="mse", loss_weights=[1.0, 2.0]), ValueError, "loss_weights"),
    (dict(optimizer="sgd", loss="mse", loss_weights={"nope": 1.0}), ValueError, "loss_weights"),
    (dict(optimizer="sgd", loss="mse", sample_weight_mode="nope"), ValueError, "sample_weight_mode"),
    (dict(optimizer="sgd", loss={"nope": "mse"}), ValueError, "loss"),
    (dict(optimizer="sgd", loss=["mse", "mse"]), ValueError, "loss"),
    (dict(optimizer="sgd", loss="mse", backend="fortran"), ValueError, "backend"),
    (dict(optimizer="sgd", loss="mse", metrics={"nope": ["mae"]}), ValueError, "metrics"),
    (dict(optimizer="sgd", loss="mse", session="x"), TypeError, "session"),
])
def test_illegal_compile_arguments_raise_and_keep_the_old_compile(kwargs, error, match):
    model = fixed(single())
    model.compile("sgd", "mae", metrics=["mse"], backend=NP)
    x, y = np.random.rand(4, 3), np.random.rand(4, 1)
    before = model.evaluate(x, y, verbose=0)
    with pytest.raises(error, match=match):
        model.compile(**kwargs)
    assert model.metrics_names == ["loss", "mse"]
    assert model.evaluate(x, y, verbose=0) == before


# ----------------------------------------------------------------------------- (re)compiling

def test_recompile_resets_functions_and_takes_the_new_settings():
    model = fixed(single())
    model.compile("sgd", "mse", backend=NP)
    x, y = np.random.rand(4, 3), np.random.rand(4, 1)
    model.train_on_batch(x, y)
    model.evaluate(x, y, verbose=0)
    first_train = model.train_function
    model.compile("sgd", "mae", metrics=["mse"], backend=NP)
    assert model.train_function is None and model.test_function is None
    p = model.predict(x)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), [np.abs(p - y).mean(), ((p - y) ** 2).mean()],
                               rtol=1e-5)
    model.train_on_batch(x, y)
    assert model.train_function is not first_train


def test_weights_kept_across_recompile_and_trainable_collected_at_compile():
    model = fixed(single())
    model.compile("sgd", "mse", backend=NP)
    weights = model.get_weights()
    model.compile("adam", "mae", backend=NP)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.layers[-1].trainable = False
    model.train_on_batch(np.random.rand(2, 3), np.random.rand(2, 1))      # still the compile-time list
    assert not all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    model.compile("adam", "mae", backend=NP)
    frozen = model.get_weights()
    model.train_on_batch(np.random.rand(2, 3), np.random.rand(2, 1))
    for a, b in zip(frozen, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.layers[-1].trainable = True


def test_built_model_predicts_without_compile_but_needs_compile_to_train():
    model = fixed(single(2))
    x = np.random.RandomState(0).rand(5, 3)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict(x), x @ kernel + bias, rtol=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(x), x @ kernel + bias, rtol=1e-5)
    assert model.metrics_names == []
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, np.zeros((5, 2)), verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        model.evaluate(x, np.zeros((5, 2)), verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        model.train_on_batch(x, np.zeros((5, 2)))


def test_model_with_only_regularization_losses_compiles():
    from symkeras import regularizers
    x = Input((3,), name="x")
    model = Model(x, Dense(2, name="out", kernel_regularizer=regularizers.l2(0.5))(x))
    model.compile("sgd", loss=None, backend=NP)
    kernel = model.get_weights()[0]
    assert model.metrics_names == ["loss"]
    np.testing.assert_allclose(model.test_on_batch(np.ones((2, 3)), None), 0.5 * (kernel ** 2).sum(), rtol=1e-5)
