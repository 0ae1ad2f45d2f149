"""What a failed call must leave alone: a model's weights and its optimizer's state."""

import numpy as np


def snapshot(model):
    return [w.copy() for w in model.get_weights()], [w.copy() for w in model.optimizer.get_weights()]


def assert_untouched(model, state):
    weights, slots = state
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    current = model.optimizer.get_weights()
    assert len(current) == len(slots)
    for a, b in zip(slots, current):
        np.testing.assert_array_equal(a, b)
