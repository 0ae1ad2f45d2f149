"""``ConvLSTM2D``: an LSTM whose input and recurrent transforms are 2-D convolutions (tf-keras 2.x
arguments and weight layout), over (batch, time, rows, cols, channels) sequences. The loop is the
IR's scan, like every recurrent layer's; the convolutions inside it are the window ops of
``Conv2D``, so the images' sides must be known (a time axis of unknown length is fine)."""

import numpy as np

from symkeras import activations
from symkeras import backend as K
from symkeras.engine.base_layer import InputSpec, to_list
from symkeras.ir import build as B
from symkeras.ir import ops as O
from symkeras.layers import conv_utils
from symkeras.layers.recurrent import RNN, LSTMCell


class ConvLSTM2DCell(LSTMCell):
    """One step: gates i, f, c, o from conv(x_t, kernel) + conv(h, recurrent_kernel) (stride 1,
    'same'); states [h, c] of shape (rows', cols', filters)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation="tanh", recurrent_activation="hard_sigmoid", **kwargs):
        data_format = conv_utils.normalize_data_format(data_format)
        if data_format != "channels_last":
            raise ValueError("ConvLSTM2D: only data_format='channels_last' is supported (the window ops read "
                             f"channels last); got {data_format!r}")
        super().__init__(filters, activation=activation, recurrent_activation=recurrent_activation, **kwargs)
        self.filters = int(filters)
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, 2, "strides")
        self.padding = conv_utils.normalize_padding(padding)
        self.data_format = data_format
        self.dilation_rate = conv_utils.normalize_tuple(dilation_rate, 2, "dilation_rate")
        self.state_size = None          # known once the input's sides are (build)

    def output_sides(self, rows, cols):
        return tuple(conv_utils.conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                     zip((rows, cols), self.kernel_size, self.strides, self.dilation_rate))

    def build(self, input_shape):
        rows, cols, channels = input_shape[-3:]
        if channels is None:
            raise ValueError("ConvLSTM2D: the channel dimension of the inputs should be defined. Found `None`.")
        self.sides = self.output_sides(rows, cols)
        self.state_size = [self.sides + (self.filters,)] * 2
        width = 4 * self.filters
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, width),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", self.kernel_size + (self.filters, width),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            filters, base = self.filters, self.bias_initializer

            def forget_bias_initializer(shape, dtype=None):
                return np.concatenate([np.asarray(base((filters,), dtype=dtype)), np.ones(filters, dtype=dtype),
                                       np.asarray(base((2 * filters,), dtype=dtype))])
            self.bias = self.add_weight("bias", (width,), initializer=forget_bias_initializer
                                        if self.unit_forget_bias else self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def prepare_dropout(self, inputs, training, sequence=True):
        """Masks of one step's shape, drawn before the loop and used at every step."""
        self._input_masks = self._recurrent_masks = None
        self.input_dropout_applied = False
        if not training:
            return inputs
        count = 4 if self.implementation == 1 else 1
        batch = inputs.shape[0]
        ones = B.broadcast_to(O.constant(np.ones((), inputs.dtype)), (batch,) + tuple(inputs.shape[-3:]))
        if self.dropout > 0:
            self._input_masks = [K.dropout(ones, self.dropout) for _ in range(count)]
        if self.recurrent_dropout > 0:
            state = B.broadcast_to(O.constant(np.ones((), inputs.dtype)), (batch,) + self.sides + (self.filters,))
            self._recurrent_masks = [K.dropout(state, self.recurrent_dropout) for _ in range(count)]
        return inputs

    def call(self, inputs, states, training=None):
        h, c = to_list(states)[:2]
        xs, hs = self._gate_inputs(inputs), self._gate_states(h)
        parts = []
        for i in range(4):
            kernel = self.kernel[..., i * self.filters:(i + 1) * self.filters]
            recurrent = self.recurrent_kernel[..., i * self.filters:(i + 1) * self.filters]
            x_i = K.conv2d(xs[i], kernel, self.strides, self.padding, "channels_last", self.dilation_rate)
            if self.bias is not None:
                x_i = x_i + self.bias[i * self.filters:(i + 1) * self.filters]
            parts.append(x_i + K.conv2d(hs[i], recurrent, (1, 1), "same", "channels_last"))
        i, f, g, o = parts
        i, f, o = self.recurrent_activation(i), self.recurrent_activation(f), self.recurrent_activation(o)
        c_new = f * c + i * self.activation(g)
        h_new = o * self.activation(c_new)
        return h_new, [h_new, c_new]

    def get_config(self):
        config = super().get_config()
        config.pop("units", None)
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      padding=self.padding, data_format=self.data_format, dilation_rate=self.dilation_rate)
        return config


class ConvLSTM2D(RNN):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, dropout=0.0,
                 recurrent_dropout=0.0, **kwargs):
        cell = ConvLSTM2DCell(filters, kernel_size, strides, padding, data_format, dilation_rate, activation,
                              recurrent_activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                              recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                              unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
                              recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                              kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                              bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                              name="conv_lstm2d_cell", dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.input_spec = InputSpec(ndim=5)

    def __getattr__(self, name):
        if name != "cell" and "cell" in self.__dict__ and hasattr(self.__dict__["cell"], name):
            return getattr(self.__dict__["cell"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps, rows, cols = input_shape[:4]
        sides = self.cell.output_sides(rows, cols)
        step = (batch,) + sides + (self.cell.filters,)
        output = (batch, steps) + step[1:] if self.return_sequences else step
        return [output, step, step] if self.return_state else output

    def _initial_state(self, inputs):
        shape = (inputs.shape[0],) + self.cell.sides + (self.cell.filters,)
        return [B.broadcast_to(O.constant(np.zeros((), inputs.dtype)), shape)] * 2

    def _make_state_variables(self, batch):
        shape = (batch,) + self.cell.sides + (self.cell.filters,)
        self.states_variables = [K.variable(np.zeros(shape, dtype=self.dtype), dtype=self.dtype,
                                            name=f"{self.name}/state{i}") for i in range(2)]

    def get_config(self):
        config = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "implementation"):
            config.pop(key, None)
        config["activation"] = activations.serialize(self.cell.activation)
        base = super().get_config()
        base.pop("cell")
        config.update(base)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
