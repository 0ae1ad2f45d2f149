"""InputLayer and Input(): the entry points of a functional model."""

from symkeras import config
from symkeras.engine.base_layer import Layer, LayerNode
from symkeras.engine.keras_tensor import KerasTensor
from symkeras.ir import ops as O
from symkeras.runtime.inputs import symbolic_shape
from symkeras.session import unique_layer_name


class InputLayer(Layer):
    """Holds the placeholder a model is fed through (named ``input_1``, ``input_2``, ...)."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None, sparse=None,
                 name=None, ragged=None, **kwargs):
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {list(kwargs)}")
        if input_shape and batch_input_shape:
            raise ValueError("Only provide the input_shape OR batch_input_shape argument to InputLayer, "
                             "not both at the same time.")
        if sparse or ragged:
            raise ValueError("InputLayer: sparse and ragged inputs are not supported")
        if input_tensor is not None:
            raise ValueError("InputLayer: wrapping an existing tensor (`input_tensor`) is not supported")
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("InputLayer: give input_shape or batch_input_shape")
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (batch_size,) + tuple(input_shape)
        batch_input_shape = tuple(None if d is None else int(d) for d in batch_input_shape)
        name = name or unique_layer_name("input", zero_based=False)
        super().__init__(name=name, dtype=dtype or config.floatx())
        self._batch_input_shape = batch_input_shape
        self.batch_size = batch_input_shape[0] if batch_input_shape else None
        self.sparse, self.ragged = False, False
        self.built = True
        placeholder = O.placeholder(symbolic_shape(batch_input_shape, self.name), dtype=self.dtype, name=self.name)
        tensor = KerasTensor.wrap(placeholder, self, 0, 0, static_batch=self.batch_size)
        self._inbound_nodes.append(LayerNode(self, [], [tensor], {}))

    def get_config(self):
        return {"batch_input_shape": self._batch_input_shape, "dtype": self.dtype, "sparse": self.sparse,
                "ragged": self.ragged, "name": self.name}


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=None, tensor=None, batch_size=None,
          ragged=None, **kwargs):
    """A symbolic input tensor. ``shape`` excludes the batch axis; ``batch_shape`` includes it.

    Positional arguments follow Keras 2 (``shape, batch_shape, name, dtype``); an int in the
    second place is taken as tf-keras's ``batch_size``.
    """
    if isinstance(batch_shape, int):
        batch_shape, batch_size = None, batch_shape
    batch_shape = kwargs.pop("batch_input_shape", batch_shape)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {list(kwargs)}")
    if shape is not None and batch_shape is not None:
        raise ValueError("Only provide the `shape` OR `batch_shape` argument to Input, not both at the same time.")
    if shape is None and batch_shape is None and tensor is None:
        raise ValueError("Please provide to Input either a `shape` or a `batch_shape` argument. "
                         "Note that `shape` does not include the batch dimension.")
    if batch_shape is not None:
        layer = InputLayer(batch_input_shape=tuple(batch_shape), name=name, dtype=dtype, sparse=sparse,
                           input_tensor=tensor, ragged=ragged)
    else:
        layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype, sparse=sparse,
                           input_tensor=tensor, ragged=ragged)
    return layer.output
