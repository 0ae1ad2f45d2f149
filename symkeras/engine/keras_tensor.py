"""Keras tensors: IR nodes that also remember which layer call produced them."""

from symkeras.ir import dims
from symkeras.ir.node import Node


class KerasTensor(Node):
    """A symbolic tensor of the functional API.

    It is an IR node (so backend functions and operators apply to it) that also carries
    ``_keras_history = (layer, node_index, tensor_index)``.
    """

    __slots__ = ("_keras_history",)

    @classmethod
    def wrap(cls, node, layer, node_index, tensor_index):
        t = cls(node.op, node.inputs, name=node.name, shape=node.shape, dtype=node.dtype)
        object.__setattr__(t, "scope", node.scope)
        object.__setattr__(t, "_keras_history", (layer, node_index, tensor_index))
        return t

    @property
    def keras_shape(self):
        return dims.to_keras(self.shape)

    def __repr__(self):
        layer = self._keras_history[0].name if getattr(self, "_keras_history", None) else "?"
        return f"<KerasTensor shape={self.keras_shape} dtype={self.dtype} (created by layer '{layer}')>"


def is_keras_tensor(x):
    return isinstance(x, KerasTensor) and getattr(x, "_keras_history", None) is not None
