"""Normalization layers: LayerNormalization and BatchNormalization (tf-keras 2 semantics)."""

from symkeras import backend as K
from symkeras import constraints, initializers, regularizers
from symkeras.engine.base_layer import InputSpec, Layer


def _axis_argument(axis):
    """An int, or a list of ints (tf-keras keeps lists as lists)."""
    if isinstance(axis, (list, tuple)) and all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return list(axis)
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    raise TypeError(f"Expected an int or a list/tuple of ints for the argument 'axis', but received: {axis!r}")


def _resolve_axes(axis, ndims):
    """``axis`` as a list of non-negative ints, each valid for rank ``ndims`` and none twice."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    axes = [a + ndims if a < 0 else a for a in axes]
    for a in axes:
        if not 0 <= a < ndims:
            raise ValueError(f"Invalid axis: {axis} (`axis` of an input of rank {ndims})")
    if len(axes) != len(set(axes)):
        raise ValueError(f"Duplicate axis: {tuple(axes)} (argument `axis`)")
    return axes


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"`{name}` must be a non-negative number, got {value!r}")
    return float(value)


class _Normalization(Layer):
    """What both layers share: the axis, epsilon, and the gamma/beta weights."""

    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                 gamma_regularizer, beta_constraint, gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(axis)
        self.epsilon = _number("epsilon", epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _add_gamma_beta(self, param_shape):
        """gamma then beta (tf-keras order), each only if enabled."""
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight("gamma", param_shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", param_shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)

    def _broadcast(self, v, ndims):
        """A parameter of the axes' sizes reshaped to broadcast against the input (as it is when
        the axis is the last one)."""
        if v is None or v.ndim == ndims or self.axis == [ndims - 1]:
            return v
        return K.reshape(v, self._broadcast_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def _config(self, after_axis=(), after_initializers=()):
        """The config in tf-keras's key order, with the subclass's own keys where it puts them."""
        config = super().get_config()
        config["axis"] = self.axis
        config.update(after_axis)
        config.update(epsilon=self.epsilon, center=self.center, scale=self.scale,
                      beta_initializer=initializers.serialize(self.beta_initializer),
                      gamma_initializer=initializers.serialize(self.gamma_initializer))
        config.update(after_initializers)
        config.update(beta_regularizer=regularizers.serialize(self.beta_regularizer),
                      gamma_regularizer=regularizers.serialize(self.gamma_regularizer),
                      beta_constraint=constraints.serialize(self.beta_constraint),
                      gamma_constraint=constraints.serialize(self.gamma_constraint))
        return config


class LayerNormalization(_Normalization):
    """Normalises each sample over ``axis`` with its own mean and (biased) variance, then
    scales by gamma and shifts by beta, both of the axes' shape."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)

    def build(self, input_shape):
        ndims = len(input_shape)
        self.axis = _resolve_axes(self.axis, ndims)
        self._broadcast_shape = [input_shape[a] if a in self.axis else 1 for a in range(ndims)]
        if any(input_shape[a] is None for a in self.axis):
            raise ValueError(f"LayerNormalization: `axis` {self.axis} includes the batch axis of input shape "
                             f"{tuple(input_shape)}")
        self._add_gamma_beta([input_shape[a] for a in self.axis])
        self.built = True

    def call(self, inputs):
        ndims = inputs.ndim
        mean = K.mean(inputs, self.axis, keepdims=True)
        variance = K.mean(K.square(inputs - mean), self.axis, keepdims=True)
        gamma, beta = self._broadcast(self.gamma, ndims), self._broadcast(self.beta, ndims)
        return K.batch_normalization(inputs, mean, variance, beta, gamma, epsilon=self.epsilon)

    def get_config(self):
        return self._config()


class BatchNormalization(_Normalization):
    """Normalises over every axis but ``axis``: with the batch's mean and (biased) variance in
    training, with the moving statistics otherwise. Each training step moves them towards the
    batch's: ``moving = moving * momentum + batch * (1 - momentum)``. A layer with
    ``trainable=False`` always runs in inference mode (tf-keras 2)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, fused=None, virtual_batch_size=None,
                 adjustment=None, **kwargs):
        # tf-keras's variants of the algorithm; `fused` only picks a kernel there, so it is accepted.
        for name, value, default in (("renorm", renorm, False), ("renorm_clipping", renorm_clipping, None),
                                     ("virtual_batch_size", virtual_batch_size, None),
                                     ("adjustment", adjustment, None)):
            if value != default:
                raise ValueError(f"BatchNormalization: `{name}` is not supported (got {name}={value!r})")
        if fused not in (None, True, False):
            raise ValueError(f"BatchNormalization: `fused` must be None, True or False, got {fused!r}")
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        self.momentum = _number("momentum", momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        ndims = len(input_shape)
        if not ndims:
            raise ValueError("Input has undefined rank.")
        self.axis = _resolve_axes(self.axis, ndims)
        axis_to_dim = {a: input_shape[a] for a in self.axis}
        if any(d is None for d in axis_to_dim.values()):
            raise ValueError(f"Input has undefined `axis` dimension. Received input with shape "
                             f"{tuple(input_shape)}. Axis value: {self.axis}")
        self.input_spec = InputSpec(ndim=ndims, axes=axis_to_dim)
        self._broadcast_shape = [axis_to_dim.get(a, 1) for a in range(ndims)]
        # One axis: parameters of that axis's size; several: the input's rank with 1 elsewhere.
        param_shape = (input_shape[self.axis[0]],) if len(self.axis) == 1 else tuple(self._broadcast_shape)
        self._add_gamma_beta(param_shape)
        self.moving_mean = self.add_weight("moving_mean", param_shape, initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", param_shape,
                                               initializer=self.moving_variance_initializer, trainable=False)
        self.built = True

    def call(self, inputs, training=False):
        ndims = inputs.ndim
        gamma, beta = self._broadcast(self.gamma, ndims), self._broadcast(self.beta, ndims)
        if not (training and self.trainable):
            mean, variance = self.moving_mean, self.moving_variance
        else:
            reduction_axes = [a for a in range(ndims) if a not in self.axis]
            keepdims = len(self.axis) > 1              # multi-axis statistics keep the parameters' rank
            mean = K.mean(inputs, reduction_axes, keepdims=keepdims)
            centred = inputs - self._broadcast(mean, ndims)
            variance = K.mean(K.square(centred), reduction_axes, keepdims=keepdims)
            self.add_update([K.moving_average_update(self.moving_mean, mean, self.momentum),
                             K.moving_average_update(self.moving_variance, variance, self.momentum)])
        return K.batch_normalization(inputs, self._broadcast(mean, ndims), self._broadcast(variance, ndims), beta,
                                     gamma, epsilon=self.epsilon)

    def get_config(self):
        return self._config(
            after_axis={"momentum": self.momentum},
            after_initializers={
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer)})
