"""Keras layers (``symkeras.layers`` as ``keras.layers``)."""

from symkeras.engine.base_layer import Layer  # noqa: F401
from symkeras.engine.input_layer import Input, InputLayer  # noqa: F401
from symkeras.layers.core import Activation, Dense, Dropout, Flatten, Lambda, Reshape  # noqa: F401
from symkeras.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,  # noqa: F401
                                   Subtract, add, average, concatenate, dot, maximum, minimum,
                                   multiply, subtract)


def get_layer_class(name, custom_objects=None):
    """The layer class registered under ``name`` (for from_config)."""
    from symkeras import models
    registry = {k: v for k, v in globals().items() if isinstance(v, type) and issubclass(v, Layer)}
    registry.update(Model=models.Model, Sequential=models.Sequential)
    registry.update(custom_objects or {})
    if name not in registry:
        raise ValueError(f"Unknown layer: {name}")
    return registry[name]
