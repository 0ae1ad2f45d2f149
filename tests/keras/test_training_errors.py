"""Bad arguments to fit/evaluate/predict/*_on_batch raise ValueError/TypeError naming the
argument, and leave the weights and the optimizer state as they were: the model then trains."""

import numpy as np
import pytest

from symkeras.layers import Dense, Input, concatenate
from symkeras.models import Model

from model_state import assert_untouched, snapshot

NP = "numpy"
RNG = np.random.RandomState(0)
X = RNG.rand(8, 3).astype("float32")
Y = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2, 0, 1]]
XB = RNG.rand(8, 2).astype("float32")
YR = RNG.rand(8, 1).astype("float32")


def model_and_state():
    """A two-input, two-output model trained one step with Adam, so optimizer slots exist."""
    a, b = Input((3,), name="a"), Input((2,), name="b")
    h = Dense(4, activation="tanh", name="h")(concatenate([a, b]))
    model = Model([a, b], [Dense(3, activation="softmax", name="cls")(h), Dense(1, name="reg")(h)])
    model.compile("adam", ["categorical_crossentropy", "mse"], metrics={"cls": ["accuracy"]}, backend=NP)
    model.fit([X, XB], [Y, YR], verbose=0)
    return model


def gen():
    while True:
        yield [X, XB], [Y, YR]


BAD_CALLS = [
    # (call, error, message pattern)
    (lambda m: m.fit(X, [Y, YR], verbose=0), ValueError, r"expects 2 arrays .*`x`"),
    (lambda m: m.fit([X, XB, X], [Y, YR], verbose=0), ValueError, r"`x`.*Expected to see 2"),
    (lambda m: m.fit([X[:, :2], XB], [Y, YR], verbose=0), ValueError, r"`x`.*expected a to have shape \(3,\)"),
    (lambda m: m.fit([X[:, :, None], XB], [Y, YR], verbose=0), ValueError, r"`x`.*expected a to have 2 dim"),
    (lambda m: m.fit([X, XB], [Y[:, :2], YR], verbose=0), ValueError, r"`y`.*expected cls to have shape"),
    (lambda m: m.fit([X, XB], [Y, YR[:7]], verbose=0), ValueError, r"`y`.*same number of samples"),
    (lambda m: m.fit([X[:7], XB[:7]], [Y, YR], verbose=0), ValueError, r"`x`.*`y`.*7 input samples"),
    (lambda m: m.fit([X, XB[:7]], [Y, YR], verbose=0), ValueError, r"`x`.*same number of samples"),
    (lambda m: m.fit({"a": X}, [Y, YR], verbose=0), ValueError, r"'b'.*`x`"),
    (lambda m: m.fit([X, XB], {"cls": Y}, verbose=0), ValueError, r"'reg'.*`y`"),
    (lambda m: m.fit([X, XB], None, verbose=0), ValueError, r"`y`"),
    (lambda m: m.fit([X, XB], [np.zeros((8, 1)), YR], verbose=0), ValueError, r"categorical_crossentropy"),
    (lambda m: m.fit([X, XB], [Y, YR], validation_split=1.0, verbose=0), ValueError, r"validation_split"),
    (lambda m: m.fit([X, XB], [Y, YR], validation_split=-0.2, verbose=0), ValueError, r"validation_split"),
    (lambda m: m.fit([X, XB], [Y, YR], validation_split="half", verbose=0), TypeError, r"validation_split"),
    (lambda m: m.fit([X, XB], [Y, YR], validation_data=([X, XB],), verbose=0), ValueError, r"validation_data"),
    (lambda m: m.fit([X, XB], [Y, YR], validation_data=([X, XB], [Y[:, :1], YR]), verbose=0), ValueError,
     r"`y`"),
    (lambda m: m.fit([X, XB], [Y, YR], class_weight={"cls": {0: 1.0, 1: 2.0}}, verbose=0), ValueError,
     r"class_weight.*\[2\]"),
    (lambda m: m.fit([X, XB], [Y, YR], class_weight={0: 1.0, 1: 1.0, 2: 1.0}, verbose=0), ValueError,
     r"class_weight"),
    (lambda m: m.fit([X, XB], [Y, YR], class_weight={"cls": [1.0, 2.0]}, verbose=0), TypeError,
     r"class_weight"),
    (lambda m: m.fit([X, XB], [Y, YR], sample_weight=np.ones((8, 2)), verbose=0), ValueError,
     r"sample_weight.*temporal"),
    (lambda m: m.fit([X, XB], [Y, YR], sample_weight=np.ones(7), verbose=0), ValueError, r"sample_weight"),
    (lambda m: m.fit([X, XB], [Y, YR], sample_weight=[np.ones(8)], verbose=0), ValueError, r"sample_weight"),
    (lambda m: m.fit([X, XB], [Y, YR], sample_weight={"nope": np.ones(8)}, verbose=0), ValueError,
     r"sample_weight.*nope"),
    (lambda m: m.fit([X, XB], [Y, YR], batch_size=0, verbose=0), ValueError, r"batch_size"),
    (lambda m: m.fit([X, XB], [Y, YR], steps_per_epoch=0, verbose=0), ValueError, r"steps_per_epoch"),
    (lambda m: m.fit([X, XB], [Y, YR], shuffle="yes", verbose=0), ValueError, r"shuffle"),
    (lambda m: m.fit([X, XB], [Y, YR], validation_split=0.5, validation_freq=0, verbose=0), ValueError,
     r"validation_freq"),
    (lambda m: m.fit([X, XB], [Y, YR], epochz=2, verbose=0), TypeError, r"epochz"),
    (lambda m: m.fit(gen(), [Y, YR], verbose=0), ValueError, r"`y`.*generator"),
    (lambda m: m.fit([X, XB], [Y, YR], validation_data=gen(), verbose=0), TypeError, r"validation_data"),
    (lambda m: m.fit([X.astype(str), XB], [Y, YR], verbose=0), TypeError, r"`x`.*numeric"),
    (lambda m: m.evaluate([X, XB[:, :1]], [Y, YR], verbose=0), ValueError, r"`x`"),
    (lambda m: m.evaluate([X, XB], [Y, YR], sample_weight=np.ones(3), verbose=0), ValueError, r"sample_weight"),
    (lambda m: m.evaluate(gen(), sample_weight=np.ones(8), verbose=0), ValueError, r"`sample_weight`"),
    (lambda m: m.predict([X, XB[:, :1]]), ValueError, r"`x`"),
    (lambda m: m.predict(X), ValueError, r"`x`"),
    (lambda m: m.predict(gen(), batch_size=4), ValueError, r"`batch_size`"),
    (lambda m: m.predict([X, XB], steps=-1), ValueError, r"steps"),
    (lambda m: m.train_on_batch([X, XB], [Y[:4], YR]), ValueError, r"`y`"),
    (lambda m: m.train_on_batch([X, XB], [Y, YR], class_weight={"cls": {5: 1.0}}), ValueError, r"class_weight"),
    (lambda m: m.test_on_batch([X[:, :2], XB], [Y, YR]), ValueError, r"`x`"),
    (lambda m: m.predict_on_batch([X]), ValueError, r"`x`"),
    (lambda m: m.compile("nope", "mse"), ValueError, r"optimizer"),
    (lambda m: m.compile("adam", "nope"), ValueError, r"loss"),
    (lambda m: m.compile("adam", "mse", metrics=["nope"]), ValueError, r"metric"),
]


@pytest.mark.parametrize("index", range(len(BAD_CALLS)))
def test_bad_call_raises_and_leaves_the_model_untouched(index):
    call, error, pattern = BAD_CALLS[index]
    model = model_and_state()
    state = snapshot(model)
    with pytest.raises(error, match=pattern):
        call(model)
    assert_untouched(model, state)
    history = model.fit([X, XB], [Y, YR], batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.array_equal(state[0][0], model.get_weights()[0])


def test_bad_fit_is_rejected_before_anything_is_built():
    """Validation comes first: no train function is built and no optimizer slot is created."""
    model = model_and_state()
    weights = model.get_weights()
    model.compile("adam", ["categorical_crossentropy", "mse"], backend=NP)
    fresh = model.optimizer
    with pytest.raises(ValueError, match="validation_data"):
        model.fit([X, XB], [Y, YR], validation_data=([X, XB], [Y, YR[:, :0]]), verbose=0)
    assert model.train_function is None and not fresh.built
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit([X, XB], [Y, YR], verbose=0)
    assert fresh.built and model.train_function is not None


def test_single_output_model_errors_name_arguments():
    x = Input((3,), name="x")
    model = Model(x, Dense(3, activation="softmax", name="out")(x))
    model.compile("sgd", "categorical_crossentropy", backend=NP)
    with pytest.raises(ValueError, match=r"`x`"):
        model.fit([X, X], Y, verbose=0)
    with pytest.raises(ValueError, match="to_categorical"):
        model.fit(X, np.arange(8).reshape(-1, 1) % 3, verbose=0)
    with pytest.raises(ValueError, match=r"No data provided for 'x'"):
        model.fit({"input": X}, Y, verbose=0)
    with pytest.raises(ValueError, match=r"class_weight.*\[1, 2\]"):
        model.fit(X, Y, class_weight={0: 1.0}, verbose=0)
    model.fit(X, Y, class_weight={0: 1.0, 1: 2.0, 2: 3.0}, verbose=0)
