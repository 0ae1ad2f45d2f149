"""``Bidirectional(layer)``: a recurrent layer run forwards and, as a copy of it, backwards over
the same sequence, the two outputs merged (tf-keras 2.x arguments and weight order: the forward
layer's weights, then the backward one's)."""

from symkeras import backend as K
from symkeras.engine.base_layer import Layer, to_list

MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialize(layer):
    from symkeras import layers        # the package imports this module
    return layers.serialize(layer)


def _deserialize(config, custom_objects=None):
    from symkeras import layers        # the package imports this module
    return layers.deserialize(config, custom_objects=custom_objects)


class Bidirectional(Layer):
    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError("Please initialize `Bidirectional` layer with a recurrent layer instance (an RNN). "
                             f"Received: {layer}")
        if backward_layer is not None and (not isinstance(backward_layer, Layer)
                                           or not hasattr(backward_layer, "go_backwards")):
            raise ValueError(f"`backward_layer` needs to be a recurrent layer instance. Received: {backward_layer}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        super().__init__(**kwargs)
        config = layer.get_config()
        config["name"] = "forward_" + layer.name
        self.forward_layer = type(layer).from_config(config)
        if backward_layer is None:
            config = layer.get_config()
            config["name"] = "backward_" + layer.name
            config["go_backwards"] = not layer.go_backwards
            self.backward_layer = type(layer).from_config(config)
            self._backward_given = False
        else:
            self.backward_layer = backward_layer
            self._backward_given = True
            for attr in ("return_sequences", "return_state"):
                if getattr(backward_layer, attr) != getattr(layer, attr):
                    raise ValueError(f"Forward layer and backward layer should have the same `{attr}`: "
                                     f"{getattr(layer, attr)} and {getattr(backward_layer, attr)}")
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("Forward layer and backward layer should have different `go_backwards` value.")
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        self.supports_masking = True
        self._initial_weights = weights

    # ------------------------------------------------------------------ weights: forward, then backward
    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self.forward_layer.trainable_weights + self.backward_layer.trainable_weights

    @property
    def non_trainable_weights(self):
        both = self.forward_layer.non_trainable_weights + self.backward_layer.non_trainable_weights
        if self.trainable:
            return both
        return self.forward_layer.trainable_weights + self.backward_layer.trainable_weights + both

    @property
    def losses(self):
        return self.forward_layer.losses + self.backward_layer.losses

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    # ------------------------------------------------------------------ shapes
    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)
        elif self.merge_mode is None:
            shape = [shape, shape]
        if self.return_state:
            shape = (shape if isinstance(shape, list) else [shape]) + states * 2
        return shape

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n = len(to_list(self.forward_layer.cell.state_size))
            return masks + [None] * (2 * n)
        return masks[0] if len(masks) == 1 else masks

    def build(self, input_shape):
        for layer in (self.forward_layer, self.backward_layer):
            if not layer.built:
                saved = layer.name
                layer.name = f"{self.name}/{saved}"    # weights named <bidirectional>/<layer>/<cell>/kernel
                try:
                    layer.build(input_shape)
                finally:
                    layer.name = saved
                layer.built = True
        self.built = True

    # ------------------------------------------------------------------ the call
    def __call__(self, inputs, initial_state=None, constants=None, **kwargs):
        if initial_state is None and constants is None:
            return super().__call__(inputs, **kwargs)
        extra = to_list(initial_state) if initial_state is not None else []
        if len(extra) % 2:
            raise ValueError("When passing `initial_state` to a Bidirectional RNN, the state should be a list "
                             f"containing the states of the underlying RNNs (an even number). Received: {len(extra)}")
        if constants is not None:
            raise NotImplementedError("Bidirectional: `constants` are not supported; pass them to the cells")
        self._num_states = len(extra)
        return super().__call__([inputs] + extra, **kwargs)

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if isinstance(inputs, (list, tuple)):
            inputs = list(inputs)
            states = inputs[1:]
            inputs = inputs[0]
            half = len(states) // 2
            forward_state, backward_state = states[:half] or None, states[half:] or None
        else:
            forward_state = backward_state = None
        if isinstance(mask, list):
            mask = mask[0]
        y = self._run(self.forward_layer, inputs, forward_state, mask, training)
        y_rev = self._run(self.backward_layer, inputs, backward_state, mask, training)
        states = []
        if self.return_state:
            states = to_list(y)[1:] + to_list(y_rev)[1:]
            y, y_rev = to_list(y)[0], to_list(y_rev)[0]
        if self.return_sequences:
            y_rev = K.reverse(y_rev, 1)      # the backward layer's outputs back in time order
        if self.merge_mode == "concat":
            output = K.concatenate([y, y_rev])
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + states
        return output

    @staticmethod
    def _run(layer, inputs, state, mask, training):
        with K.name_scope(layer.name):
            if state is not None:
                layer._num_constants = 0
                return layer.call([inputs] + list(state), mask=mask, training=training)
            return layer.call(inputs, mask=mask, training=training)

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config["layer"] = _serialize(self.forward_layer)
        config["layer"]["config"]["name"] = self.forward_layer.name[len("forward_"):]
        config["merge_mode"] = self.merge_mode
        if self._backward_given:
            config["backward_layer"] = _serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = _deserialize(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = _deserialize(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)
