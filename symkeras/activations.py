"""Built-in activation functions (tf-keras 2.x semantics), applied to IR nodes with ``K``.

Each function builds elementwise nodes; the derivative follows from their SymPy
expressions, with TensorFlow's conventions at the kinks (relu'(0) = 0, leaky_relu'(0) =
alpha, relu6'(6) = 0, clip passes the gradient on its closed interval).
"""

import math
import numbers

from symkeras import backend as K
from symkeras.utils.generic_utils import get_from_identifier, deserialize_keras_object, serialize_keras_object

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _node(x):
    """An IR node for ``x`` (arrays and numbers become constants of floatx)."""
    return x if K.is_tensor(x) else K.constant(x)


def linear(x):
    """Identity: ``x``."""
    return x


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit (see ``K.relu``: tf-keras semantics, including its edge cases)."""
    return K.relu(_node(x), alpha=alpha, max_value=max_value, threshold=threshold)


def leaky_relu(x, alpha=0.2):
    """``x`` if ``x > 0`` else ``alpha * x`` (``tf.nn.leaky_relu``; gradient ``alpha`` at 0)."""
    x = _node(x)
    return K.switch(K.greater(x, 0.0), x, float(alpha) * x)


def relu6(x):
    """``min(max(x, 0), 6)`` with zero gradient at both kinks (``tf.nn.relu6``)."""
    x = _node(x)
    return K.switch(K.less(x, 6.0), K.relu(x), 6.0)


def elu(x, alpha=1.0):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return K.elu(x, alpha)


def selu(x):
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    ``tf.nn.selu`` takes the linear branch at 0 (``x < 0`` picks the exponential one), so
    its gradient there is ``scale``, not ``scale * alpha``.
    """
    x = _node(x)
    return _SELU_SCALE * K.switch(K.less(x, 0.0), K.elu(x, _SELU_ALPHA), x)


def softplus(x):
    """``log(exp(x) + 1)``, evaluated without overflow."""
    return K.softplus(x)


def softsign(x):
    """``x / (|x| + 1)``."""
    return K.softsign(x)


def swish(x):
    """``x * sigmoid(x)``."""
    x = _node(x)
    return x * K.sigmoid(x)


silu = swish


def gelu(x, approximate=False):
    """Gaussian error linear unit.

    ``approximate=False`` (the tf-keras default): ``0.5 x (1 + erf(x / sqrt(2)))``.
    ``approximate=True``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    """
    x = _node(x)
    if not approximate:
        return 0.5 * x * (1.0 + K.erf(x / math.sqrt(2.0)))
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * K.pow(x, 3))
    return 0.5 * x * (1.0 + K.tanh(inner))


def tanh(x):
    return K.tanh(x)


def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return K.sigmoid(x)


def exponential(x):
    """``exp(x)``."""
    return K.exp(x)


def hard_sigmoid(x):
    """``clip(0.2 x + 0.5, 0, 1)`` (tf-keras; Keras 3 uses slope 1/6)."""
    return K.hard_sigmoid(x)


def mish(x):
    """``x * tanh(softplus(x))``."""
    x = _node(x)
    return x * K.tanh(K.softplus(x))


def softmax(x, axis=-1):
    """Softmax along ``axis`` (an int or a tuple of ints); rank-1 input is an error."""
    x = _node(x)
    if x.ndim <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: {x}")
    if isinstance(axis, numbers.Integral):
        return K.softmax(x, int(axis))
    shifted = x - K.stop_gradient(K.max(x, axis=axis, keepdims=True))
    e = K.exp(shifted)
    return e / K.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis)``."""
    x = _node(x)
    if isinstance(axis, numbers.Integral):
        return K.log_softmax(x, int(axis))
    return x - K.logsumexp(x, axis=axis, keepdims=True)


# ----------------------------------------------------------------------------- registry

_ACTIVATIONS = {fn.__name__: fn for fn in (
    linear, relu, leaky_relu, relu6, elu, selu, softplus, softsign, swish, gelu, tanh, sigmoid,
    exponential, hard_sigmoid, mish, softmax, log_softmax)}
_ACTIVATIONS["silu"] = silu


def serialize(activation):
    """The name of a built-in or custom function; a config dict for objects with get_config."""
    return serialize_keras_object(activation)


def deserialize(name, custom_objects=None):
    """The activation function called ``name`` (or described by a config dict); as in tf-keras,
    a config of an activation layer (``LeakyReLU``, ``PReLU`` ...) gives that layer."""
    # layers import this module; the activation layers are looked up only when a config is read
    from symkeras.layers import advanced_activations
    layers = {k: v for k, v in vars(advanced_activations).items()
              if isinstance(v, type) and issubclass(v, advanced_activations.Layer)
              and v.__module__ == advanced_activations.__name__}
    return deserialize_keras_object(name, module_objects={**layers, **_ACTIVATIONS},
                                    custom_objects=custom_objects, printable_module_name="activation function")


def get(identifier):
    """``None`` → linear; a name or config → that function; a callable passes through."""
    return get_from_identifier(identifier, deserialize, "activation function", none=linear, error=TypeError)