"""Core layers: Dense, Activation, Masking, Dropout (and its spatial variants), Flatten, Reshape,
Permute, RepeatVector, ActivityRegularization, Lambda."""

import codecs
import inspect
import marshal
import sys
import types
import warnings

import numpy as np

from symkeras import activations, constraints, initializers, regularizers
from symkeras import backend as K
from symkeras.engine.base_layer import InputSpec, Layer
from symkeras.utils.generic_utils import (SafeModeScope, deserialize_keras_object, get_registered_object,
                                          in_safe_mode)

# Keras 1 argument names of Dense and their Keras 2 replacements.
_LEGACY_DENSE = {"output_dim": "units", "init": "kernel_initializer", "W_regularizer": "kernel_regularizer",
                 "b_regularizer": "bias_regularizer", "W_constraint": "kernel_constraint",
                 "b_constraint": "bias_constraint", "bias": "use_bias"}


class Dense(Layer):
    """``activation(dot(x, kernel) + bias)`` on the last axis of inputs of any rank >= 2."""

    def __init__(self, units=None, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        legacy = {old: kwargs[old] for old in _LEGACY_DENSE if old in kwargs}
        if legacy:
            if "output_dim" in legacy and units is not None:
                raise TypeError("Got both a positional argument and keyword argument for argument units "
                                "(output_dim in the legacy interface).")
            new = {_LEGACY_DENSE[old]: kwargs.pop(old) for old in legacy}
            call = ", ".join(f"{k}={v!r}" for k, v in new.items())
            warnings.warn(f"Update your `Dense` call to the Keras 2 API: `Dense({call})`", UserWarning,
                          stacklevel=2)
            units = new.pop("units", units)
            use_bias = new.pop("use_bias", use_bias)
            kernel_initializer = new.pop("kernel_initializer", kernel_initializer)
            kernel_regularizer = new.pop("kernel_regularizer", kernel_regularizer)
            bias_regularizer = new.pop("bias_regularizer", bias_regularizer)
            kernel_constraint = new.pop("kernel_constraint", kernel_constraint)
            bias_constraint = new.pop("bias_constraint", bias_constraint)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if units is None or isinstance(units, bool) or int(units) != units or int(units) < 0:
            raise ValueError("Received an invalid value for `units`, expected a positive integer. "
                             f"Received: units={units}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True          # per step on sequences: the mask passes through

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.kernel = self.add_weight("kernel", (input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs):
        output = K.dot(inputs, self.kernel)
        if self.use_bias:
            output = output + self.bias
        return self.activation(output)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
        )
        return config


class Activation(Layer):
    """Applies an activation function (a name, or any function of backend tensors)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Masking(Layer):
    """Marks the steps whose features all equal ``mask_value`` as padding: the output is the input
    with those steps zeroed, and its mask (for the layers after it) is False there.

    ``any(inputs != mask_value, axis=-1)`` is the mask; the output is ``inputs`` times that mask."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise TypeError(f"Masking: `mask_value` must be a number, got {mask_value!r}")
        self.supports_masking = True
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        return K.any(K.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = K.any(K.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return inputs * K.stop_gradient(K.cast(keep, inputs.dtype))

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config


class Dropout(Layer):
    """Inverted dropout in training (fit); the identity in evaluate/predict."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Invalid value {rate} received for `rate`, expected a value in [0, 1).")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed
        self.supports_masking = True

    def _get_noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        return tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return K.dropout(inputs, self.rate, self._get_noise_shape(inputs), seed=self.seed)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config


def _check_data_format(data_format):
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError('`data_format` must be "channels_last" or "channels_first". '
                         f"Received: data_format={data_format}.")
    return data_format


class SpatialDropout1D(Dropout):
    """Dropout of whole feature maps of (batch, steps, channels) inputs: one draw per channel."""

    def __init__(self, rate, **kwargs):
        super().__init__(rate, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def _get_noise_shape(self, inputs):
        return (inputs.shape[0], 1, inputs.shape[2])


class _SpatialDropoutND(Dropout):
    """Dropout of whole feature maps of rank-``_rank`` images, channels first or last."""

    _rank = None

    def __init__(self, rate, data_format=None, **kwargs):
        super().__init__(rate, **kwargs)
        self.data_format = _check_data_format(data_format)
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _get_noise_shape(self, inputs):
        ones = (1,) * self._rank
        if self.data_format == "channels_first":
            return (inputs.shape[0], inputs.shape[1]) + ones
        return (inputs.shape[0],) + ones + (inputs.shape[-1],)

    def get_config(self):
        # tf-keras leaves data_format out, so a channels_first layer reloads as channels_last;
        # keeping it makes the round trip exact.
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class SpatialDropout2D(_SpatialDropoutND):
    """Dropout of whole 2D feature maps (``noise_shape`` (batch, 1, 1, channels))."""

    _rank = 2


class SpatialDropout3D(_SpatialDropoutND):
    """Dropout of whole 3D feature maps (``noise_shape`` (batch, 1, 1, 1, channels))."""

    _rank = 3


class Flatten(Layer):
    """Flattens every axis but the batch axis."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten: only data_format='channels_last' is supported, got {data_format!r}")
        self.data_format = "channels_last"
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if inputs.ndim == 1:
            return K.expand_dims(inputs, -1)
        return K.batch_flatten(inputs)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], int(np.prod(rest)) if rest else 1)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshapes every axis but the batch axis to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def _resolved(self, input_shape):
        """``target_shape`` with its -1 filled in, checking the size is unchanged. With an input
        axis of unknown size the -1 stays unknown (None), as in Keras."""
        unknown = [i for i, d in enumerate(self.target_shape) if d == -1]
        if len(unknown) > 1:
            raise ValueError("There must be at most one unknown dimension in output_shape. "
                             f"Received: output_shape={self.target_shape}.")
        if any(d is None for d in input_shape[1:]):
            if not unknown:
                raise ValueError(f"Reshape: the input shape {tuple(input_shape)} has an axis of unknown size, so "
                                 f"target_shape {self.target_shape} needs a -1 for it")
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = int(np.prod(input_shape[1:]))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        shape = list(self.target_shape)
        if unknown and known and size % known == 0:
            shape[unknown[0]] = size // known
        if int(np.prod(shape)) != size:
            raise ValueError(f"total size of the new array must be unchanged, input_shape = "
                             f"{list(input_shape[1:])}, output_shape = {list(self.target_shape)}")
        return tuple(shape)

    def build(self, input_shape):
        self._resolved(input_shape)
        self.built = True

    def call(self, inputs):
        shape = self._resolved(K.int_shape(inputs))
        if None in shape:                 # the -1 covers an unknown size: the IR works it out
            return K.reshape(inputs, (inputs.shape[0],) + self.target_shape)
        return K.reshape(inputs, (-1,) + shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolved(input_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a permutation of 1..n (the batch axis is 0)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        if isinstance(dims, (int, np.integer)) or not hasattr(dims, "__iter__"):
            raise TypeError(f"Permute: `dims` must be a tuple of integers, got dims={dims!r}")
        self.dims = tuple(dims)
        if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in self.dims) \
                or sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                             f"`dims` must be consecutive and start from 1. Received dims={self.dims}")
        self.dims = tuple(int(d) for d in self.dims)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return K.permute_dimensions(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config


class RepeatVector(Layer):
    """Repeats a (batch, features) input ``n`` times: (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n < 1:
            raise ValueError(f"RepeatVector: `n` must be a positive integer, got n={n}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return K.repeat(inputs, self.n)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x^2)`` of its output to the training loss."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        if "activity_regularizer" in kwargs:
            raise TypeError("ActivityRegularization: the penalty is given by `l1` and `l2`, "
                            "not `activity_regularizer`")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1, self.l2 = l1, l2

    def get_config(self):
        config = super().get_config()
        config.update(l1=self.l1, l2=self.l2)
        return config


class Lambda(Layer):
    """Wraps a function of backend tensors as a layer.

    Its config holds a named function by name, and a lambda as marshalled bytecode (as
    Keras does: such a config is Python-version specific). Loading bytecode runs code from
    the config, so ``from_config`` refuses it unless ``safe_mode=False`` (Keras 3 rule).
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function, self.arguments = function, dict(arguments or {})
        self._output_shape, self.mask = output_shape, mask
        self.supports_masking = mask is not None

    def call(self, inputs, mask=None):
        arguments = dict(self.arguments)
        if mask is not None and _takes_mask(self.function):
            arguments["mask"] = mask          # Keras gives the input mask to a function that takes one
        return self.function(inputs, **arguments)

    def compute_mask(self, inputs, mask=None):
        """``mask``: a function of (inputs, input mask) giving the output mask, or the mask itself; without
        one the output has no mask (Keras: a Lambda drops its input mask)."""
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        config = super().get_config()
        function, function_type, module = _function_to_config(self.function)
        shape, shape_type, shape_module = _function_to_config(self._output_shape, allow_raw=True)
        config.update(function=function, function_type=function_type, module=module, output_shape=shape,
                      output_shape_type=shape_type, output_shape_module=shape_module, arguments=self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, *, safe_mode=None):
        """``safe_mode=None`` follows the enclosing ``SafeModeScope`` (safe unless one says not)."""
        with SafeModeScope(safe_mode):
            safe = in_safe_mode()
        config = dict(config)
        name = config.get("name")
        config["function"] = _function_from_config(config, custom_objects, "function", "module",
                                                   "function_type", name, safe)
        config["output_shape"] = _function_from_config(config, custom_objects, "output_shape",
                                                       "output_shape_module", "output_shape_type", name, safe)
        if not callable(config["function"]):
            raise ValueError(f"Lambda layer {name!r}: the config's `function` is not a function: "
                             f"{config['function']!r}")
        return cls(**config)


def _takes_mask(fn):
    """Whether ``fn`` names a ``mask`` parameter (Keras's ``has_arg(fn, 'mask')``)."""
    try:
        return "mask" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _function_to_config(fn, allow_raw=False):
    """(value, type, module): a lambda as (base64 bytecode, defaults, closure), a function by name."""
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return (code, fn.__defaults__, closure), "lambda", fn.__module__
    if callable(fn):
        return fn.__name__, "function", fn.__module__
    if allow_raw:
        return fn, "raw", None
    raise ValueError(f"Lambda: cannot serialize {fn!r}")


def _function_from_config(config, custom_objects, key, module_key, type_key, layer_name, safe):
    module = config.pop(module_key, None)
    kind = config.pop(type_key, "raw")
    value = config.get(key)
    if kind == "function":
        return _named_function(value, module, custom_objects, key, layer_name, safe)
    if kind == "lambda":
        if safe:
            raise ValueError(f"Lambda layer {layer_name!r}: its `{key}` is a Python lambda stored as bytecode, "
                             "and loading it would run code from the model file. This is refused in safe mode "
                             "(the default). If you trust the source of the file, pass `safe_mode=False` (to "
                             "`load_model`, `model_from_json`, `model_from_config` or `from_config`).")
        return _lambda_from_bytecode(value, module, custom_objects)
    if kind == "raw":
        return value
    raise TypeError(f"Unknown function type: {kind}")


def _is_symkeras_module(module):
    return isinstance(module, str) and (module == "symkeras" or module.startswith("symkeras."))


def _named_function(value, module, custom_objects, key, layer_name, safe):
    """The function a config names: from ``custom_objects`` (and registered objects); from
    the module the config names only if that is symkeras's own, or when not in safe mode."""
    if callable(value):      # already resolved by the deserializer's custom-object lookup
        return value
    found = get_registered_object(value, custom_objects) if isinstance(value, str) else None
    if found is not None:
        return found
    namespace = vars(sys.modules[module]) if isinstance(module, str) and module in sys.modules else {}
    found = namespace.get(value) if isinstance(value, str) else None
    if safe and not (inspect.isfunction(found) and _is_symkeras_module(module)
                     and _is_symkeras_module(found.__module__)):
        raise ValueError(f"Lambda layer {layer_name!r}: its `{key}` names the function {value!r} of module "
                         f"{module!r}, which is not in `custom_objects`. In safe mode (the default) a model file "
                         "cannot pick functions of arbitrary modules: pass it as "
                         f"`custom_objects={{{value!r}: <function>}}`, or, if you trust the source of the file, "
                         "`safe_mode=False`.")
    return deserialize_keras_object(value, module_objects=namespace, custom_objects=custom_objects,
                                    printable_module_name="function in Lambda layer")


def _lambda_from_bytecode(value, module, custom_objects):
    code, defaults, closure = value
    globs = dict(sys.modules[module].__dict__) if module in sys.modules else {}
    globs.update(custom_objects or {})
    code = marshal.loads(codecs.decode(code.encode("ascii"), "base64"))
    cells = tuple(types.CellType(c) for c in closure) if closure else None
    return types.FunctionType(code, globs or globals(), code.co_name, tuple(defaults) if defaults else None, cells)
