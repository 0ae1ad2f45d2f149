"""InputLayer and Input(): the entry points of a functional model."""

from symkeras import config
from symkeras.engine.base_layer import Layer, LayerNode, unique_name
from symkeras.engine.keras_tensor import KerasTensor
from symkeras.ir import ops as O


class InputLayer(Layer):
    """Holds the placeholder a model is fed through."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None, sparse=False,
                 name=None, batch_input_shape=None):
        if sparse:
            raise ValueError("InputLayer: sparse inputs are not supported")
        name = name or unique_name("input", zero_based=False)
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("InputLayer: give input_shape or batch_input_shape")
            batch_input_shape = (batch_size,) + tuple(input_shape)
        batch_input_shape = tuple(None if d is None else int(d) for d in batch_input_shape)
        for i, d in enumerate(batch_input_shape[1:], 1):
            if d is None:
                raise ValueError(f"InputLayer {name!r}: only the batch dimension may be None, "
                                 f"got shape {batch_input_shape}")
        super().__init__(name=name, dtype=dtype or config.floatx())
        self._batch_input_shape = batch_input_shape
        self.built = True
        # The batch axis is always symbolic: a static batch size in the shape is checked at fit time.
        shape = (None,) + batch_input_shape[1:]
        placeholder = O.placeholder(shape, dtype=self.dtype, name=self.name)
        tensor = KerasTensor.wrap(placeholder, self, 0, 0)
        self._inbound_nodes.append(LayerNode(self, [], [tensor], {}))
        self.placeholder = tensor

    def get_config(self):
        return {"batch_input_shape": self._batch_input_shape, "dtype": self.dtype, "sparse": False,
                "name": self.name}


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=False, tensor=None, batch_size=None):
    """A symbolic input tensor. ``shape`` excludes the batch axis."""
    if tensor is not None:
        raise ValueError("Input: wrapping an existing tensor is not supported")
    if shape is None and batch_shape is None:
        raise ValueError("Please provide to Input either a `shape` or a `batch_shape` argument. "
                         "Note that `shape` does not include the batch dimension.")
    if batch_shape is None:
        if isinstance(shape, int):
            shape = (shape,)
        batch_shape = (batch_size,) + tuple(shape)
    layer = InputLayer(batch_input_shape=tuple(batch_shape), name=name, dtype=dtype, sparse=sparse)
    return layer.placeholder
