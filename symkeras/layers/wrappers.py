"""Layers that wrap another layer (``keras.layers.wrappers``): the Wrapper base and TimeDistributed;
Bidirectional (layers/bidirectional.py) is importable from here too, as from Keras 2's module.

TimeDistributed applies its layer to every step of a (batch, time, ...) input by folding time
into the batch: (batch × time, ...) in, the layer's output unfolded to (batch, time, ...). The
time axis may be of unknown length (an Input's None): the folded batch is then the product of two
size symbols, and one generated function serves every length.
"""

from symkeras import backend as K
from symkeras.engine.base_layer import InputSpec, Layer, masks_per_output, to_list, unpack_singleton
from symkeras.ir import build as B
from symkeras.ir import dims
from symkeras.layers.bidirectional import Bidirectional  # noqa: F401  (Keras 2's module path)


class Wrapper(Layer):
    """A layer around another: the weights, trainable flag and weight penalties are the inner
    layer's, and the config holds the inner layer's (Keras 2)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `{type(self).__name__}` layer with a `Layer` instance. "
                             f"Received: layer={layer!r}")
        self.layer = layer
        trainable = kwargs.pop("trainable", None)
        super().__init__(**kwargs)
        if trainable is not None:
            self.trainable = trainable

    def build(self, input_shape=None):
        self.layer._build_with(input_shape)
        self.built = True

    @property
    def trainable(self):
        return self.layer.trainable

    @trainable.setter
    def trainable(self, value):
        self.layer.trainable = value

    @property
    def trainable_weights(self):
        return self.layer.trainable_weights

    @property
    def non_trainable_weights(self):
        return self.layer.non_trainable_weights

    @property
    def losses(self):
        return self.layer.losses

    def get_config(self):
        # The layers package registry serializes the inner layer (a model inside included).
        from symkeras.layers import serialize     # the package imports this module
        config = super().get_config()
        config["layer"] = serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from symkeras.layers import deserialize   # the package imports this module
        config = dict(config)
        if "layer" not in config:
            raise ValueError(f"{cls.__name__}: the config has no `layer` entry")
        layer = deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every temporal slice (axis 1) of a (batch, time, ...) input, with the
    same weights at every step. ``training`` and the (batch, time, ...) mask reach the layer when
    its ``call`` takes them; the output mask follows Keras 2 (the layer's own mask per step, or
    the input mask reduced to (batch, time))."""

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    @staticmethod
    def _child_shape(input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                             f"dimensions, received: {input_shape}")
        # The batch and time axes are free; the others are the ones the layer was built for.
        self.input_spec = InputSpec(ndim=len(input_shape),
                                    axes={i: d for i, d in enumerate(input_shape) if i >= 2 and d is not None})
        super().build(self._child_shape(input_shape))

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        if isinstance(child, list):
            return [(c[0], input_shape[1]) + tuple(c[1:]) for c in child]
        return (child[0], input_shape[1]) + tuple(child[1:])

    def call(self, inputs, training=False, mask=None):
        return self._distributed(inputs, training, mask)[0]

    def _call_and_mask(self, inputs, previous_mask, args, kwargs):
        # One pass of the layer gives the outputs and the per-step masks the output mask is made of.
        outputs, step_masks = self._distributed(inputs, kwargs.get("training", False), previous_mask)
        return outputs, masks_per_output(self._output_mask(inputs, previous_mask, step_masks), outputs)

    def _distributed(self, inputs, training, mask):
        """(outputs, the layer's output masks per step) of the layer applied to every step."""
        if isinstance(inputs, (list, tuple)):
            raise ValueError(f"TimeDistributed layer {self.name!r} takes one (batch, time, ...) tensor, "
                             f"got a list of {len(inputs)}")
        batch, steps = inputs.shape[0], inputs.shape[1]
        folded = _fold_time(inputs)
        self.layer._check_input_spec([folded])
        inner_losses = [] if self._loss_sink is not None else None
        # The folded mask reaches the layer's call when it takes one (a model's graph included).
        outputs, step_masks = self.layer.apply_with_mask(folded, None if mask is None else _fold_time(mask),
                                                         training=training, losses=inner_losses,
                                                         updates=self._update_sink)
        if inner_losses:
            # tf-keras averages an activity penalty of the inner layer over its own batch, batch × time;
            # the model divides every penalty by the batch: here the remaining 1 / time.
            self._loss_sink.extend(loss / _dim_node(steps) for loss in inner_losses)
        unfolded = [_unfold_time(y, batch, steps) for y in to_list(outputs)]
        return (unfolded if isinstance(outputs, (list, tuple)) else unfolded[0]), step_masks

    def compute_mask(self, inputs, mask=None):
        """The layer's output mask per step unfolded to (batch, time, ...); when it gives none, the
        input mask reduced with ``any`` to (batch, time); None when there is neither (Keras 2)."""
        step_masks = self.layer.compute_mask(_fold_time(inputs), None if mask is None else _fold_time(mask))
        return self._output_mask(inputs, mask, to_list(step_masks) if step_masks is not None else [None])

    @staticmethod
    def _output_mask(inputs, mask, step_masks):
        if all(m is None for m in step_masks):
            if mask is None:
                return None
            while mask.ndim > 2:
                mask = K.any(mask, axis=-1)
            return mask
        batch, steps = inputs.shape[0], inputs.shape[1]
        return unpack_singleton([None if m is None else _unfold_time(m, batch, steps) for m in step_masks])


def _fold_time(x):
    """(batch, time, ...) → (batch × time, ...)."""
    return B.reshape(x, (x.shape[0] * x.shape[1],) + tuple(x.shape[2:]))


def _unfold_time(y, batch, steps):
    """(batch × time, ...) → (batch, time, ...)."""
    return B.reshape(y, (batch, steps) + tuple(y.shape[1:]))


def _dim_node(d):
    """A float scalar node holding the size ``d`` (known, or known only per call)."""
    return float(d) if dims.is_static(d) else B.dim_scalar(d, K.floatx())
