"""Keras tensors: IR nodes that also remember which layer call produced them."""

from symkeras.ir import dims
from symkeras.ir.node import Node


class KerasTensor(Node):
    """A symbolic tensor of the functional API.

    It is an IR node (so backend functions and operators apply to it) that also carries
    ``_keras_history = (layer, node_index, tensor_index)``. The IR batch axis is always
    symbolic; a static batch size given to ``Input(batch_size=...)`` is only *shown*
    (``keras_shape``, ``output_shape``, ``summary``), as Keras shows it. ``_keras_mask`` is the
    mask the layer call computed for it (a bool IR node, or None), as in Keras.
    """

    __slots__ = ("_keras_history", "_static_batch", "_keras_mask")

    @classmethod
    def wrap(cls, node, layer, node_index, tensor_index, static_batch=None):
        t = cls(node.op, node.inputs, name=node.name, shape=node.shape, dtype=node.dtype)
        object.__setattr__(t, "scope", node.scope)
        object.__setattr__(t, "_keras_history", (layer, node_index, tensor_index))
        object.__setattr__(t, "_static_batch", static_batch)
        object.__setattr__(t, "_keras_mask", None)
        return t

    @property
    def keras_shape(self):
        shape = dims.to_keras(self.shape)
        if shape and shape[0] is None and self._static_batch is not None:
            shape = (self._static_batch,) + shape[1:]
        return shape

    def __repr__(self):
        layer = self._keras_history[0].name if getattr(self, "_keras_history", None) else "?"
        return f"<KerasTensor shape={self.keras_shape} dtype={self.dtype} (created by layer '{layer}')>"


def is_keras_tensor(x):
    return isinstance(x, KerasTensor) and getattr(x, "_keras_history", None) is not None


def keras_mask(x):
    """The mask a Keras tensor carries (None for plain IR nodes and unmasked tensors)."""
    return getattr(x, "_keras_mask", None) if isinstance(x, KerasTensor) else None


def keras_shape(x):
    """The Keras shape of a Keras tensor or plain IR node (batch axis as None)."""
    return x.keras_shape if isinstance(x, KerasTensor) else dims.to_keras(x.shape)
