"""Models: the functional ``Model`` and ``Sequential``."""

from symkeras.engine.base_layer import Layer
from symkeras.engine.input_layer import Input, InputLayer
from symkeras.engine.training import Model


class Sequential(Model):
    """A linear stack of layers."""

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._stack = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)] if self._is_graph_network \
            else list(self._stack)

    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Found: {layer!r}")
        if self._is_graph_network:
            output = layer(self.outputs[0])
            if isinstance(output, list):
                raise TypeError("All layers in a Sequential model should have a single output tensor.")
            self._stack.append(layer)
            self._init_graph_network(self.inputs[0], output)
            return
        self._stack.append(layer)
        shape = getattr(layer, "_batch_input_shape", None)
        if isinstance(layer, Model) and layer._is_graph_network:
            shape = (None,) + tuple(layer.input_shape[1:])
        if shape is not None and len(self._stack) == 1:
            self._build_from(shape, f"{layer.name}_input")

    def _build_from(self, batch_input_shape, input_name):
        x = Input(batch_shape=batch_input_shape, name=input_name)
        inputs, out = x, x
        for layer in self._stack:
            out = layer(out)
            if isinstance(out, list):
                raise TypeError("All layers in a Sequential model should have a single output tensor.")
        self._init_graph_network(inputs, out)
        pending = getattr(self, "_pending_compile", None)
        if pending is not None:
            del self._pending_compile
            self.compile(**pending)

    def build(self, input_shape=None):
        if self._is_graph_network:
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        self._build_from(tuple(input_shape), f"{self.name}_input")

    def pop(self):
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        self._stack.pop()
        if self._is_graph_network:
            self._is_graph_network = False
            first_input = self.inputs[0]
            shape = (None,) + tuple(first_input.shape[1:])
            if self._stack:
                self._build_from(tuple(None if not isinstance(d, int) else d for d in shape),
                                 first_input._keras_history[0].name)

    def _ensure_built(self, x):
        if not self._is_graph_network:
            import numpy as np
            arr = np.asarray(x[0] if isinstance(x, (list, tuple)) else x)
            self._build_from((None,) + arr.shape[1:], f"{self._stack[0].name}_input")

    def fit(self, x=None, y=None, *args, **kwargs):
        self._ensure_built(x)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._ensure_built(x)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._ensure_built(x)
        return super().predict(x, *args, **kwargs)

    def train_on_batch(self, x, y=None, *args, **kwargs):
        self._ensure_built(x)
        return super().train_on_batch(x, y, *args, **kwargs)

    def predict_classes(self, x, batch_size=32, verbose=0):
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        return proba.argmax(axis=-1) if proba.shape[-1] > 1 else (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def get_config(self):
        return {"name": self.name, "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                                              for layer in self.layers]}


__all__ = ["Model", "Sequential", "Input"]
