"""A loop computing several outputs may have an output that is one of its operands as it is,
while an earlier output of the same loop shares that operand's memory: each backend computes
every result before it stores any (C loads per element first; NumPy copies such a result)."""

import numpy as np

import symkeras.backend as K


def test_an_output_that_is_an_operand_is_read_before_the_other_outputs_are_written(backend):
    x = K.placeholder((None, 4), name="x")
    labels = K.placeholder((None,), dtype="int64", name="labels")
    outputs = [K.switch(K.any(x > 2, axis=1), x, -x),
               K.sparse_categorical_crossentropy(labels, K.softmax(x)),
               K.switch(K.constant(0, "int32"), x, -x)]
    fn = K.function([x, labels], outputs, backend=backend, name="shared_outputs")
    values = np.random.RandomState(0).uniform(0, 4, (5, 4)).astype("float32")
    chosen, loss, negated = fn([values, np.array([0, 1, 2, 3, 0])])
    np.testing.assert_array_equal(negated, -values)
    np.testing.assert_array_equal(chosen, np.where(values.max(axis=1, keepdims=True) > 2, values, -values))
    assert loss.shape == (5,) and np.isfinite(loss).all()
