"""The Layer base class: naming, weights, and calls on Keras tensors that record the graph."""

import inspect

import numpy as np

from symkeras import config, constraints, initializers, regularizers
from symkeras.engine.keras_tensor import KerasTensor, is_keras_tensor, keras_mask, keras_shape
from symkeras.ir import ops as O
from symkeras.ir.node import Node, name_scope
from symkeras.session import unique_layer_name
from symkeras.utils.generic_utils import to_snake_case

# tf-keras's allowed layer kwargs, plus Keras 2.2's legacy `input_dtype`.
ALLOWED_LAYER_KWARGS = {"input_dim", "input_shape", "batch_input_shape", "batch_size", "weights",
                        "activity_regularizer", "input_dtype"}


def to_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def unpack_singleton(xs):
    return xs[0] if len(xs) == 1 else xs


class InputSpec:
    """What a layer accepts (Keras's InputSpec): a rank, a minimum rank, fixed axis sizes."""

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})

    def check(self, shape, layer_name, index=0):
        prefix = f'Input {index} of layer "{layer_name}" is incompatible with the layer: '
        if self.ndim is not None and len(shape) != self.ndim:
            raise ValueError(f"{prefix}expected ndim={self.ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        if self.min_ndim is not None and len(shape) < self.min_ndim:
            raise ValueError(f"{prefix}expected min_ndim={self.min_ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        for axis, value in self.axes.items():
            if shape[axis] not in (value, None):
                raise ValueError(f"{prefix}expected axis {axis} of input shape to have value {value}, "
                                 f"but received input with shape {shape}")


class LayerNode:
    """One call of a layer on Keras tensors (Keras's ``Node``).

    ``inbound`` holds the ``_keras_history`` of each input: (layer, node_index, tensor_index).
    A node without input tensors is an input node (an InputLayer, or a model's own node 0).
    """

    def __init__(self, layer, inputs, outputs, arguments, called_on_list=False, call_args=()):
        self.layer, self.input_tensors, self.output_tensors = layer, list(inputs), list(outputs)
        self.arguments = dict(arguments)
        self.call_args = tuple(call_args)         # positional arguments after the inputs
        self.called_on_list = called_on_list      # replay passes a list even for one tensor
        self.inbound = [t._keras_history for t in self.input_tensors]
        # Keras tensors passed as other arguments (``layer(x, y)``, ``mask=m``) are inputs too:
        # the graph computes them first and a replay passes their new values.
        extra = [t for t in _flatten((self.call_args, list(self.arguments.values()))) if is_keras_tensor(t)]
        self.dependencies = self.input_tensors + [t for t in extra if all(t is not x for x in self.input_tensors)]

    def substitute(self, values):
        """(call_args, arguments) with each Keras tensor replaced by ``values[id(tensor)]``."""
        return _replaced(self.call_args, values), _replaced(self.arguments, values)

    @property
    def is_input(self):
        return not self.input_tensors


def _flatten(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flatten(item)
    else:
        yield value


def _carried_mask(inputs):
    """The masks Keras tensors ``inputs`` carry: one mask (or None) for a tensor, a list for a list;
    None when none is masked."""
    masks = [keras_mask(x) for x in to_list(inputs)]
    if all(m is None for m in masks):
        return None
    return masks if isinstance(inputs, (list, tuple)) else masks[0]


def masks_per_output(masks, outputs):
    """``compute_mask``'s result as one entry per output (None for each when it gave None). Keras pairs
    masks with outputs in order (``zip``): extra masks are dropped, missing ones are None."""
    n = len(to_list(outputs))
    masks = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    return (masks + [None] * n)[:n]


def _replaced(value, values):
    if is_keras_tensor(value):
        return values[id(value)]
    if isinstance(value, (list, tuple)):
        return type(value)(_replaced(item, values) for item in value)
    if isinstance(value, dict):
        return {k: _replaced(v, values) for k, v in value.items()}
    return value


class Layer:
    """Base class of every layer. Subclasses implement ``build(input_shape)`` and
    ``call(inputs, **kwargs)`` (which builds IR nodes, never numbers)."""

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - ALLOWED_LAYER_KWARGS
        if unknown:
            raise TypeError(f"Keyword argument not understood: {sorted(unknown)[0]!r}")
        if name is None:
            name = unique_layer_name(to_snake_case(type(self).__name__))
        if not isinstance(name, str) or not name:
            raise TypeError(f"Expected `name` argument to be a non-empty string, but got: {name!r}")
        self.name = name
        self._trainable = bool(trainable)
        self.dtype = np.dtype(dtype or kwargs.get("input_dtype") or config.floatx()).name
        self.built = False
        self.input_spec = None
        self._trainable_weights, self._non_trainable_weights = [], []
        self._weight_regularizers = []
        self._inbound_nodes, self._outbound_nodes = [], []
        self.activity_regularizer = regularizers.get(kwargs.get("activity_regularizer"))
        self._initial_weights = kwargs.get("weights")
        if "input_dim" in kwargs and "input_shape" not in kwargs:
            kwargs["input_shape"] = (kwargs["input_dim"],)
        if "batch_input_shape" in kwargs:
            self._batch_input_shape = tuple(kwargs["batch_input_shape"])
        elif "input_shape" in kwargs:
            self._batch_input_shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        self.supports_masking = False
        self._update_sink = None        # the list ``add_update`` appends to during ``apply``
        self._loss_sink = None          # and the list activity penalties go to (a wrapper's inner layer)

    # ------------------------------------------------------------------ weights
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)

    @property
    def trainable_weights(self):
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return list(self._non_trainable_weights)
        return self._trainable_weights + self._non_trainable_weights

    @property
    def weights(self):
        """Trainable then non-trainable weights (Keras order)."""
        return self.trainable_weights + self.non_trainable_weights

    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None, trainable=True,
                   constraint=None):
        dtype = dtype or self.dtype
        initializer = initializers.get(initializer or "glorot_uniform")
        value = np.asarray(initializer(tuple(shape), dtype=dtype), dtype=dtype)
        storage = O.VariableStorage(value, f"{self.name}/{name}")
        weight = O.variable(storage)
        storage.constraint = constraints.get(constraint)
        storage.trainable = bool(trainable)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(weight)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._weight_regularizers.append((weight, regularizer))
        return weight

    def get_weights(self):
        return [w.op.storage.value.copy() for w in self.weights]

    def set_weights(self, weights):
        """Assign values in ``weights`` order, all or none: the count, and every array's shape
        and dtype, are checked (and converted) before any weight changes."""
        params, weights = self.weights, list(weights)
        if len(weights) != len(params):
            raise ValueError(f'You called `set_weights(weights)` on layer "{self.name}" with a weight list '
                             f"of length {len(weights)}, but the layer was expecting {len(params)} weights.")
        converted = [_weight_value(w, p.op.storage) for p, w in zip(params, weights)]
        for p, value in zip(params, converted):
            p.op.storage.value[...] = value

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer {self.name}, but the layer isn't "
                             f"built. You can build it manually via: `{self.name}.build(batch_input_shape)`.")
        return _count_unique(self.weights)

    def add_update(self, updates, inputs=None):
        """Record variable updates (``K.update`` nodes or (variable, value) pairs) made by ``call``:
        a train function runs them; a replay that collects none (predict, evaluate) drops them.
        ``inputs`` is Keras 2's conditioning argument, unused (as in tf-keras 2)."""
        if isinstance(updates, tuple) and len(updates) == 2 and isinstance(getattr(updates[0], "op", None),
                                                                           O.Variable):
            updates = [updates]                 # one pair, not two updates
        if self._update_sink is not None:
            self._update_sink.extend(to_list(updates))

    @property
    def losses(self):
        """Weight penalties (scalar IR nodes); activity penalties are added per call by the model."""
        return [reg(w) for w, reg in self._weight_regularizers]

    # ------------------------------------------------------------------ building and calling
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, **kwargs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def _check_input_spec(self, inputs):
        specs = to_list(self.input_spec)
        if len(specs) == 1 and len(inputs) > 1:
            specs = specs * len(inputs)
        for i, (spec, x) in enumerate(zip(specs, inputs)):
            if spec is not None:
                spec.check(keras_shape(x), self.name, i)

    def _maybe_build(self, inputs):
        """Build from the input shapes: a list of shapes when called on a list."""
        if not self.built:
            shapes = [keras_shape(x) for x in to_list(inputs)]
            self._build_with(shapes if isinstance(inputs, (list, tuple)) else shapes[0])

    def _build_with(self, input_shape):
        """``build(input_shape)`` once, then the ``weights=`` given at construction."""
        if not self.built:
            self.build(input_shape)
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def __call__(self, inputs, *args, **kwargs):
        flat = to_list(inputs)
        for x in flat:
            if not isinstance(x, Node):
                raise TypeError(f"Layer {self.name!r} was called on {type(x).__name__}; "
                                "expected a symbolic tensor (from Input or another layer)")
        self._check_input_spec(flat)
        self._maybe_build(inputs)
        self._check_input_spec(flat)        # build may have fixed axis sizes (Dense's input_dim)
        kwargs = self._accepted(kwargs)
        # Keras: an explicit `mask=` wins; otherwise the masks the inputs carry are the layer's
        # input mask, passed to `call` when it takes one. Only explicit arguments are recorded: a
        # replay recomputes the implicit mask from its own inputs.
        previous_mask = kwargs["mask"] if "mask" in kwargs else _carried_mask(inputs)
        call_kwargs = dict(kwargs)
        if previous_mask is not None and "mask" not in kwargs:
            call_kwargs = self._accepted({**kwargs, "mask": previous_mask})
        with name_scope(self.name):
            outputs, output_masks = self._call_and_mask(inputs, previous_mask, args, call_kwargs)
        if not all(is_keras_tensor(x) for x in flat):
            return outputs          # a call inside another layer's replay: plain IR
        wrapped = self._record_call(inputs, outputs, kwargs, args)
        for tensor, mask in zip(to_list(wrapped), output_masks):
            object.__setattr__(tensor, "_keras_mask", mask)
        return wrapped

    def _call_and_mask(self, inputs, previous_mask, args, kwargs):
        """(outputs, one mask or None per output) of ``call`` on ``inputs`` whose mask is
        ``previous_mask``; a model overrides it to run its graph once for both."""
        outputs = self.call(inputs, *args, **kwargs)
        if previous_mask is not None and not self.supports_masking and "mask" in self._accepted({"mask": None}) \
                and type(self).compute_mask is Layer.compute_mask:
            # A call that takes the mask consumed it (tf-keras): its outputs carry none.
            return outputs, masks_per_output(None, outputs)
        return outputs, masks_per_output(self.compute_mask(inputs, previous_mask), outputs)

    def compute_mask(self, inputs, mask=None):
        """The output mask (Keras 2): a layer that supports masking passes its input mask on; one that
        does not refuses a mask (TypeError naming it) and gives None. In a call, a layer whose ``call``
        takes ``mask`` consumes it instead (its outputs carry no mask), as tf-keras lets it; one that
        neither supports nor takes a mask refuses it, so padding is never ignored unnoticed."""
        if not self.supports_masking:
            if any(m is not None for m in _flatten(mask)):
                raise TypeError(f"Layer {self.name} does not support masking, but was passed an "
                                f"input_mask: {mask}")
            return None
        return mask

    def _accepted(self, kwargs):
        """``kwargs`` without ``training`` and ``mask`` when ``call`` does not take them (Keras passes
        those only to layers that want them)."""
        parameters = inspect.signature(self.call).parameters
        if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return kwargs
        return {k: v for k, v in kwargs.items() if k not in ("training", "mask") or k in parameters}

    def _record_call(self, inputs, outputs, arguments, call_args=()):
        """Wrap ``outputs`` as Keras tensors and append the LayerNode of this call."""
        called_on_list, inputs = isinstance(inputs, (list, tuple)), to_list(inputs)
        out_list = to_list(outputs)
        index = len(self._inbound_nodes)
        batch = next((x._static_batch for x in inputs if x._static_batch is not None), None)
        wrapped = [KerasTensor.wrap(o, self, index, i, batch) for i, o in enumerate(out_list)]
        node = LayerNode(self, inputs, wrapped, arguments, called_on_list, call_args)
        self._inbound_nodes.append(node)
        for x in node.dependencies:
            x._keras_history[0]._outbound_nodes.append(node)
        return wrapped if isinstance(outputs, (list, tuple)) else wrapped[0]

    def apply(self, inputs, *args, training=False, losses=None, updates=None, **kwargs):
        """Run ``call`` on plain IR nodes (a replay of the graph); activity penalties go to ``losses``,
        variable updates (``add_update``) to ``updates``."""
        return self.apply_with_mask(inputs, None, *args, training=training, losses=losses, updates=updates,
                                    **kwargs)[0]

    def apply_with_mask(self, inputs, previous_mask, *args, training=False, losses=None, updates=None, **kwargs):
        """``apply`` whose input mask is ``previous_mask`` (given to ``call`` when it takes a mask and
        none is given explicitly): (outputs, one output mask or None per output)."""
        self._maybe_build(inputs)
        with name_scope(self.name):
            if "training" in inspect.signature(self.call).parameters:
                kwargs.setdefault("training", training)
            if previous_mask is not None:
                kwargs.setdefault("mask", previous_mask)
            kwargs = self._accepted(kwargs)
            self._update_sink, self._loss_sink = updates, losses
            try:
                outputs, masks = self._call_and_mask(inputs, previous_mask, args, kwargs)
            finally:
                self._update_sink = self._loss_sink = None
            if losses is not None and self.activity_regularizer is not None:
                losses.extend(self.activity_regularizer(o) for o in to_list(outputs))
        return outputs, masks

    # ------------------------------------------------------------------ introspection
    def _node_attr(self, node_index, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no {what} to return.")
        if not -len(self._inbound_nodes) <= node_index < len(self._inbound_nodes):
            raise ValueError(f"Asked to get {what} at node {node_index}, but the layer has only "
                             f"{len(self._inbound_nodes)} inbound nodes.")
        return unpack_singleton(getattr(self._inbound_nodes[node_index], attr))

    def _single_node_attr(self, attr, what, method):
        if len(self._inbound_nodes) > 1:
            raise AttributeError(f'Layer {self.name} has multiple inbound nodes, hence the notion of '
                                 f'"layer {what}" is ill-defined. Use `{method}(node_index)` instead.')
        return self._node_attr(0, attr, what)

    def get_input_at(self, node_index):
        return self._node_attr(node_index, "input_tensors", "input")

    def get_output_at(self, node_index):
        return self._node_attr(node_index, "output_tensors", "output")

    def get_input_shape_at(self, node_index):
        return _shapes(self.get_input_at(node_index))

    def get_output_shape_at(self, node_index):
        return _shapes(self.get_output_at(node_index))

    @property
    def input(self):
        return self._single_node_attr("input_tensors", "input", "get_input_at")

    @property
    def output(self):
        return self._single_node_attr("output_tensors", "output", "get_output_at")

    def _shape_over_nodes(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has no defined '
                                 f"{what} shape.")
        shapes = [_shapes(unpack_singleton(getattr(n, attr))) for n in self._inbound_nodes]
        if any(s != shapes[0] for s in shapes):
            raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with different {what} '
                                 f'shapes. Hence the notion of "{what} shape" is ill-defined for the layer. '
                                 f"Use `get_{what}_shape_at(node_index)` instead.")
        return shapes[0]

    @property
    def input_shape(self):
        return self._shape_over_nodes("input_tensors", "input")

    @property
    def output_shape(self):
        return self._shape_over_nodes("output_tensors", "output")

    # ------------------------------------------------------------------ config
    def get_config(self):
        """Base config; a layer with extra ``__init__`` arguments must extend it."""
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if hasattr(self, "_batch_input_shape"):
            config_["batch_input_shape"] = self._batch_input_shape
        own = type(self).__init__
        if own is not Layer.__init__ and type(self).get_config is Layer.get_config:
            extra = [p for p in inspect.signature(own).parameters.values()
                     if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
            if extra:
                raise NotImplementedError(f"Layer {type(self).__name__} has arguments "
                                          f"{[p.name for p in extra]} in `__init__` and therefore must "
                                          "override `get_config()`.")
        return config_

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _weight_value(value, storage):
    """``value`` as an array of ``storage``'s dtype and shape, or a ValueError naming the weight.

    Numbers only, converted within their kind (no strings, objects, complex into real, float
    into int) and without overflow: a value that would change on assignment is refused."""
    target = storage.value
    where = f"weight {storage.name!r}"
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"set_weights: the value for {where} is not an array of numbers: {error}") from None
    if array.shape != target.shape:
        raise ValueError(f"Layer weight shape {target.shape} not compatible with provided weight shape "
                         f"{array.shape} ({where})")
    if array.dtype.kind not in "biuf" or not np.can_cast(array.dtype, target.dtype, casting="same_kind"):
        raise ValueError(f"set_weights: the value for {where} has dtype {array.dtype}; expected numbers "
                         f"convertible to {target.dtype}")
    with np.errstate(over="raise"):
        try:
            converted = array.astype(target.dtype)
        except FloatingPointError:
            raise ValueError(f"set_weights: the value for {where} overflows {target.dtype}") from None
    if target.dtype.kind in "iu" and not np.array_equal(converted, array):
        raise ValueError(f"set_weights: the value for {where} does not fit in {target.dtype}")
    return converted


def _shapes(tensors):
    """Keras shape of a tensor, or list of shapes of a list of tensors."""
    return [keras_shape(t) for t in tensors] if isinstance(tensors, list) else keras_shape(tensors)


def _count_unique(weights):
    """Number of scalars in ``weights``, each shared variable counted once."""
    unique = {id(w.op.storage): w for w in weights}
    return int(sum(int(np.prod(w.shape)) for w in unique.values()))
