"""keras.wrappers.scikit_learn: the estimator interface scikit-learn's tools call (get_params,
set_params, fit, predict, predict_proba, score), without scikit-learn itself; and with it, when
installed, cross-validation and a grid search over a wrapper."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import Dense, Input
from symkeras.models import Model, Sequential
from symkeras.wrappers.scikit_learn import KerasClassifier, KerasRegressor


@pytest.fixture(autouse=True)
def _numpy_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _classifier(hidden=8, classes=3):
    model = Sequential([Dense(hidden, activation="relu", input_shape=(4,)), Dense(classes, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model


def _binary(hidden=8):
    x = Input((4,))
    model = Model(x, Dense(1, activation="sigmoid")(Dense(hidden, activation="relu")(x)))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


def _regressor(hidden=8):
    model = Sequential([Dense(hidden, activation="relu", input_shape=(4,)), Dense(1)])
    model.compile("adam", "mse")
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    x = rng.randn(120, 4).astype("float32")
    labels = np.array(["cat", "dog", "eel"])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    return x, labels


def test_classifier_learns_labels_of_any_kind_and_gives_them_back(data):
    x, labels = data
    clf = KerasClassifier(build_fn=_classifier, hidden=16, epochs=40, batch_size=16, verbose=0)
    history = clf.fit(x, labels)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert list(clf.classes_) == ["cat", "dog", "eel"] and clf.n_classes_ == 3
    predicted = clf.predict(x)
    assert predicted.shape == (120,) and set(predicted) <= set(labels)
    proba = clf.predict_proba(x)
    assert proba.shape == (120, 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(predicted, clf.classes_[proba.argmax(axis=1)])
    accuracy = clf.score(x, labels)
    assert accuracy == pytest.approx(np.mean(predicted == labels), abs=1e-6) and accuracy > 0.7


def test_binary_classifier_of_a_functional_model_gives_two_columns(data):
    x, labels = data
    y = (labels == "cat").astype(int)
    clf = KerasClassifier(build_fn=_binary, epochs=30, verbose=0)
    clf.fit(x, y)
    proba = clf.predict_proba(x)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba[:, 0], 1 - proba[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(x), (proba[:, 1] > 0.5).astype(int))


def test_regressor_predicts_and_scores_the_negated_loss(data):
    x, _ = data
    y = x[:, 0] * 2 - x[:, 2]
    reg = KerasRegressor(build_fn=_regressor, epochs=30, batch_size=16, verbose=0)
    reg.fit(x, y)
    predicted = reg.predict(x)
    assert predicted.shape == (120,)
    assert reg.score(x, y) == pytest.approx(-np.mean((predicted - y) ** 2), rel=1e-4)


def test_params_are_checked_read_and_set():
    clf = KerasClassifier(build_fn=_classifier, hidden=4, epochs=2)
    assert clf.get_params() == {"hidden": 4, "epochs": 2, "build_fn": _classifier}
    assert clf.set_params(hidden=6) is clf and clf.get_params()["hidden"] == 6
    with pytest.raises(ValueError, match="unknown_param is not a legal parameter"):
        KerasClassifier(build_fn=_classifier, unknown_param=1)
    with pytest.raises(ValueError, match="not a legal parameter"):
        clf.set_params(hidde=3)
    assert clf.filter_sk_params(_classifier) == {"hidden": 6}


def test_score_needs_accuracy(data):
    x, labels = data

    def no_metrics():
        model = _classifier()
        model.compile("adam", "categorical_crossentropy")
        return model
    clf = KerasClassifier(build_fn=no_metrics, epochs=1, verbose=0)
    clf.fit(x, labels)
    with pytest.raises(ValueError, match="not configured to compute accuracy"):
        clf.score(x, labels)


def test_with_scikit_learn_cross_validation_and_grid_search(data):
    model_selection = pytest.importorskip("sklearn.model_selection", reason="scikit-learn is an optional extra")
    x, labels = data
    clf = KerasClassifier(build_fn=_classifier, epochs=5, verbose=0)
    scores = model_selection.cross_val_score(clf, x, labels, cv=2)
    assert scores.shape == (2,)
    search = model_selection.GridSearchCV(clf, {"hidden": [4, 8]}, cv=2).fit(x, labels)
    assert search.best_params_["hidden"] in (4, 8)
