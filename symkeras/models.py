"""Models: the functional ``Model``, ``Sequential``, and loading architectures from configs."""

import json
import warnings

import numpy as np

from symkeras.engine import keras3_config
from symkeras.engine.base_layer import Layer, to_list
from symkeras.engine.input_layer import Input, InputLayer
from symkeras.engine.keras_tensor import is_keras_tensor
from symkeras.engine.saving import load_model  # noqa: F401
from symkeras.engine.training import Model
from symkeras.layers import deserialize, serialize
from symkeras.utils.generic_utils import SafeModeScope

SINGLE_LAYER_OUTPUT_ERROR_MSG = ("All layers in a Sequential model should have a single output tensor. "
                                 "For multi-output layers, use the functional API.")


class Sequential(Model):
    """A linear stack of layers.

    With an input shape (an ``Input`` added first, or ``input_shape=`` on the first layer)
    the graph is built as layers are added; otherwise it is built by ``build(input_shape)``
    or from the first data given to fit/evaluate/predict, and ``compile`` waits until then.
    """

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._stack = []        # the added layers, in order (an added InputLayer first)
        for layer in to_list(layers):
            self.add(layer)

    @property
    def layers(self):
        """The added layers; the InputLayer (automatic or added) is hidden, as in Keras."""
        return [layer for layer in self._stack if not isinstance(layer, InputLayer)]

    @property
    def model(self):
        warnings.warn("`Sequential.model` is deprecated; the Sequential is itself a Model.", UserWarning,
                      stacklevel=2)
        return self

    # ------------------------------------------------------------------ building the stack
    def add(self, layer):
        if is_keras_tensor(layer) and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Received: layer={layer!r} "
                            f"of type {type(layer)}.")
        if any(other.name == layer.name and other is not layer for other in self._stack):
            raise ValueError(f'All layers added to a Sequential model should have unique names. Name '
                             f'"{layer.name}" is already the name of a layer in this model. Update the `name` '
                             "argument to pass a unique name.")
        self._stack.append(layer)
        if self._is_graph_network:
            self._init_graph_network(self.inputs, _call_single(layer, self.outputs[0]))
        elif len(self._stack) == 1:
            if isinstance(layer, InputLayer):
                self._init_graph_network(layer.output, layer.output)
            else:
                batch_shape, dtype = _input_shape_and_dtype(layer)
                if batch_shape is not None:
                    self._build_from(batch_shape, dtype)

    def pop(self):
        """Remove the last layer; the model's output becomes the previous layer's output."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        if not self._is_graph_network:
            return
        if self._stack:
            node = layer._inbound_nodes[self.outputs[0]._keras_history[1]]
            self._init_graph_network(self.inputs, node.input_tensors[0])
        else:
            self._is_graph_network, self.built = False, False
            self.inputs = self.outputs = None
            self._layers = []

    def build(self, input_shape=None):
        if self._is_graph_network:
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        self._build_from(tuple(input_shape))

    def _build_from(self, batch_shape, dtype=None):
        """Create the Input (named after the first layer, as tf-keras), call the stack on it."""
        first = self._stack[0].name if self._stack else self.name
        x = Input(batch_shape=batch_shape, dtype=dtype, name=f"{first}_input")
        out = x
        for layer in self._stack:
            out = _call_single(layer, out)
        self._init_graph_network(x, out)
        pending = self.__dict__.pop("_pending_compile", None)
        if pending is not None:
            self.compile(**pending)

    def _ensure_built(self, x):
        """Deferred build from the first data: the input shape is that of one sample."""
        if not self._is_graph_network:
            sample = _first_input_array(x)
            if sample is not None:
                self._build_from((None,) + (sample.shape[1:] or (1,)))

    # ------------------------------------------------------------------ data entry points build first
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

    def test_on_batch(self, x, y=None, *args, **kwargs):
        self._ensure_built(x)
        return super().test_on_batch(x, y, *args, **kwargs)

    def predict_on_batch(self, x):
        self._ensure_built(x)
        return super().predict_on_batch(x)

    def fit_generator(self, generator, *args, **kwargs):
        self._ensure_built(generator)
        return super().fit_generator(generator, *args, **kwargs)

    def evaluate_generator(self, generator, *args, **kwargs):
        self._ensure_built(generator)
        return super().evaluate_generator(generator, *args, **kwargs)

    def predict_generator(self, generator, *args, **kwargs):
        self._ensure_built(generator)
        return super().predict_generator(generator, *args, **kwargs)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class indices: argmax over the last axis, or ``p > 0.5`` for a single unit."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        return proba.argmax(axis=-1) if proba.shape[-1] > 1 else (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        """``predict``, warning when the outputs are not probabilities."""
        preds = self.predict(x, batch_size=batch_size, verbose=verbose)
        if preds.min() < 0.0 or preds.max() > 1.0:
            warnings.warn("Network returning invalid probability values. The last layer might not normalize "
                          "predictions into probabilities (like softmax or sigmoid would).", UserWarning,
                          stacklevel=2)
        return preds

    # ------------------------------------------------------------------ config
    def get_config(self):
        """``{'name', 'layers': [{'class_name', 'config'}, ...]}``; a built model lists its
        InputLayer first (tf-keras), which carries the input shape."""
        layers = self._layers if self._is_graph_network else self._stack
        return {"name": self.name, "layers": [serialize(layer) for layer in layers]}

    @classmethod
    def from_config(cls, config, custom_objects=None, *, safe_mode=None):
        """Accepts the dict format and Keras <= 2.1's bare list of layer configs. ``safe_mode``
        as ``Model.from_config``."""
        scope = SafeModeScope(safe_mode)          # checks the argument before anything is made
        if isinstance(config, list):
            name, build_input_shape, layer_configs = None, None, config
        else:
            name, build_input_shape = config.get("name"), config.get("build_input_shape")
            layer_configs = config["layers"]
        model = cls(name=name)
        with scope:
            for layer_config in layer_configs:
                model.add(deserialize(layer_config, custom_objects=custom_objects))
        if not model._is_graph_network and build_input_shape:
            model.build(build_input_shape)
        return model


def _first_input_array(x):
    """The array of the (first) input in ``x``: arrays, lists, dicts, or a Sequence's first
    batch; None for a plain generator (it cannot be peeked at without consuming it)."""
    if isinstance(x, dict):
        x = next(iter(x.values()), None)
    elif isinstance(x, (list, tuple)):
        if x and np.ndim(x[0]) == 0:                   # a list of scalars is one input
            return np.asarray(x)
        x = x[0] if x else None
    elif hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "shape"):
        batch = x[0]                                   # a keras Sequence: (x, y[, w]) batches
        return _first_input_array(batch[0] if isinstance(batch, tuple) else batch)
    if x is None or not hasattr(x, "__len__"):
        return None
    return np.asarray(x)


def _call_single(layer, x):
    out = layer(x)
    if isinstance(out, list):
        if len(out) != 1:
            raise ValueError(SINGLE_LAYER_OUTPUT_ERROR_MSG)
        out = out[0]
    return out


def _input_shape_and_dtype(layer):
    """The batch input shape a first layer declares (a built model: its input's), or None."""
    if isinstance(layer, Model):
        if layer._is_graph_network:
            first = layer.input_layers[0]
            return first._batch_input_shape, first.dtype
        stack = getattr(layer, "_stack", [])
        if not stack:
            raise ValueError("An empty Model cannot be used as a Layer.")
        return _input_shape_and_dtype(stack[0])
    shape = getattr(layer, "_batch_input_shape", None)
    return (shape, layer.dtype) if shape is not None else (None, None)


def model_from_config(config, custom_objects=None, *, safe_mode=True):
    """A model (functional or Sequential) from ``{'class_name', 'config'}``. Lambda layers
    stored as bytecode are refused unless ``safe_mode=False`` (loading them runs code)."""
    if isinstance(config, list):
        raise TypeError("`model_from_config` expects a dictionary, not a list. Maybe you meant to use "
                        "`Sequential.from_config(config)`?")
    if keras3_config.is_keras3(config):          # written by Keras 3: read in tf-keras 2's form
        config = keras3_config.to_keras2(config)
    with SafeModeScope(safe_mode):
        return deserialize(config, custom_objects=custom_objects)


def model_from_json(json_string, custom_objects=None, *, safe_mode=True):
    """A model from the JSON written by ``model.to_json()`` (architecture only, new weights);
    ``safe_mode`` as in ``model_from_config``."""
    return model_from_config(json.loads(json_string), custom_objects=custom_objects, safe_mode=safe_mode)


__all__ = ["Model", "Sequential", "Input", "load_model", "model_from_config", "model_from_json"]
