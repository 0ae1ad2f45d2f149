"""Recurrent layers (tf-keras 2.x arguments and weight layouts): the cells ``SimpleRNNCell``,
``GRUCell``, ``LSTMCell`` and ``StackedRNNCells``; ``RNN(cell)`` runs any cell over time through
``K.rnn`` (the IR's scan: one compiled loop, differentiated by backpropagation through time);
``SimpleRNN``, ``GRU`` and ``LSTM`` are ``RNN`` over their cell.

A cell is Keras's: ``call(inputs, states, training=None) -> (output, new_states)``, with
``state_size`` (an int or a list) and ``output_size``. Dropout masks are drawn once per batch,
before the loop, and used at every step (as Keras does); input dropout with one mask for every
gate (``implementation=2``) is applied to the whole sequence before the loop, so the input
projection of all steps stays one matrix product.
"""

import inspect

import numpy as np

from symkeras import activations, constraints, initializers, regularizers
from symkeras import backend as K
from symkeras.engine import state_updates
from symkeras.engine.base_layer import InputSpec, Layer, to_list
from symkeras.ir import build as B
from symkeras.ir import ops as O


def _sizes(state_size):
    return list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]


def _ones(batch, width, dtype):
    return B.broadcast_to(O.constant(np.ones((), dtype)), (batch, width))


def _positive_units(units):
    if units is None or isinstance(units, bool) or int(units) != units or int(units) <= 0:
        raise ValueError(f"Received an invalid value for argument `units`, expected a positive integer, got {units}.")
    return int(units)


def _rate(name, value):
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"`{name}` must be in [0, 1), got {value}")
    return min(1.0, max(0.0, value))


class _DropoutCell(Layer):
    """What the three cells share: arguments, weights in Keras order, and dropout masks made
    before the loop (``prepare_dropout``) for ``call`` to read at every step."""

    gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, implementation=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed            # of the dropout masks (Keras 3 records it)
        self.units = _positive_units(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation) if recurrent_activation else None
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate("dropout", dropout)
        self.recurrent_dropout = _rate("recurrent_dropout", recurrent_dropout)
        if implementation not in (1, 2):
            raise ValueError(f"`implementation` must be 1 or 2, got {implementation!r}")
        self.implementation = int(implementation)
        self.state_size = self.units
        self.output_size = self.units
        self._input_masks = self._recurrent_masks = None
        self.input_dropout_applied = False

    def _add_kernels(self, input_dim, bias_shape, bias_initializer=None):
        width = self.units * self.gates
        self.kernel = self.add_weight("kernel", (input_dim, width), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", bias_shape, initializer=bias_initializer or self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    # Dropout: one mask per gate with implementation 1, one in all with 2 (tf-keras's count).
    def prepare_dropout(self, inputs, training, sequence=True):
        """Draw this batch's masks (``inputs``: the whole (batch, time, features) sequence, or a
        (batch, features) stand-in when not ``sequence``) and return the sequence with the input
        mask applied when one mask serves every gate."""
        self._input_masks = self._recurrent_masks = None
        self.input_dropout_applied = False
        if not training:
            return inputs
        batch, count = inputs.shape[0], self.gates if self.implementation == 1 else 1
        if self.dropout > 0:
            ones = _ones(batch, inputs.shape[-1], inputs.dtype)
            self._input_masks = [K.dropout(ones, self.dropout, seed=self.seed) for _ in range(count)]
            if count == 1 and sequence:
                inputs = inputs * K.expand_dims(self._input_masks[0], 1)
                self.input_dropout_applied = True
        if self.recurrent_dropout > 0:
            ones = _ones(batch, self.units, inputs.dtype)
            self._recurrent_masks = [K.dropout(ones, self.recurrent_dropout, seed=self.seed) for _ in range(count)]
        return inputs

    def reset_dropout_mask(self):
        self._input_masks = None
        self.input_dropout_applied = False

    def reset_recurrent_dropout_mask(self):
        self._recurrent_masks = None

    def _gate_inputs(self, x):
        """The step's input for each gate, with its dropout mask."""
        if self._input_masks is None or self.input_dropout_applied:
            return [x] * self.gates
        masks = self._input_masks * self.gates if len(self._input_masks) == 1 else self._input_masks
        return [x * m for m in masks]

    def _gate_states(self, h):
        if self._recurrent_masks is None:
            return [h] * self.gates
        masks = self._recurrent_masks * self.gates if len(self._recurrent_masks) == 1 else self._recurrent_masks
        return [h * m for m in masks]

    def _gate_slice(self, w, i):
        return w[..., i * self.units:(i + 1) * self.units]

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units, activation=activations.serialize(self.activation), use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            recurrent_initializer=initializers.serialize(self.recurrent_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            recurrent_constraint=constraints.serialize(self.recurrent_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout)
        if self.seed is not None:
            config["seed"] = self.seed
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config


class SimpleRNNCell(_DropoutCell):
    """``h_t = activation(x_t W + h_{t-1} U + b)``."""

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, None, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         implementation=2, seed=seed, **kwargs)

    def build(self, input_shape):
        self._add_kernels(input_shape[-1], (self.units,))
        self.built = True

    def call(self, inputs, states, training=None):
        (x,), (h,) = self._gate_inputs(inputs), self._gate_states(to_list(states)[0])
        out = K.dot(x, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        out = self.activation(out + K.dot(h, self.recurrent_kernel))
        return out, [out]


class GRUCell(_DropoutCell):
    """Gates z (update), r (reset), h (candidate) in that order in the kernels. ``reset_after``
    (tf-keras's default) applies the reset gate after the recurrent product and keeps two biases
    (input and recurrent, shape (2, 3*units)); without it (Keras 2.2's default) before, with one."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 implementation=2, reset_after=True, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, implementation, **kwargs)
        self.reset_after = bool(reset_after)

    def build(self, input_shape):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_kernels(input_shape[-1], shape)
        self.built = True

    def call(self, inputs, states, training=None):
        h = to_list(states)[0]
        xs, hs = self._gate_inputs(inputs), self._gate_states(h)
        W, U = self.kernel, self.recurrent_kernel
        if self.bias is not None:
            b_in, b_rec = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        else:
            b_in = b_rec = None

        def part(w, i):
            return self._gate_slice(w, i)

        x_parts = []
        for i in range(3):
            x_i = K.dot(xs[i], part(W, i))
            x_parts.append(x_i + part(b_in, i) if b_in is not None else x_i)
        if self.reset_after:
            inner = [K.dot(hs[i], part(U, i)) for i in range(3)]
            if b_rec is not None:
                inner = [v + part(b_rec, i) for i, v in enumerate(inner)]
            z = self.recurrent_activation(x_parts[0] + inner[0])
            r = self.recurrent_activation(x_parts[1] + inner[1])
            candidate = self.activation(x_parts[2] + r * inner[2])
        else:
            z = self.recurrent_activation(x_parts[0] + K.dot(hs[0], part(U, 0)))
            r = self.recurrent_activation(x_parts[1] + K.dot(hs[1], part(U, 1)))
            candidate = self.activation(x_parts[2] + K.dot(r * hs[2], part(U, 2)))
        out = z * h + (1 - z) * candidate
        return out, [out]

    def get_config(self):
        config = super().get_config()
        config.update(implementation=self.implementation, reset_after=self.reset_after)
        return config


class LSTMCell(_DropoutCell):
    """Gates i (input), f (forget), c (cell candidate), o (output) in that order in the kernels;
    states [h, c]. ``unit_forget_bias`` starts the forget gate's bias at one."""

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, implementation=2, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, implementation, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        units, base = self.units, self.bias_initializer

        def forget_bias_initializer(shape, dtype=None):
            return np.concatenate([np.asarray(base((units,), dtype=dtype)), np.ones(units, dtype=dtype),
                                   np.asarray(base((2 * units,), dtype=dtype))])
        self._add_kernels(input_shape[-1], (4 * self.units,), forget_bias_initializer if self.unit_forget_bias
                          else None)
        self.built = True

    def call(self, inputs, states, training=None):
        h, c = to_list(states)[:2]
        xs, hs = self._gate_inputs(inputs), self._gate_states(h)
        if self._input_masks is None or self.input_dropout_applied:       # x_t @ kernel for all gates at once
            z = K.dot(xs[0], self.kernel)
            if self.bias is not None:
                z = z + self.bias
            if self._recurrent_masks is None:
                z = z + K.dot(h, self.recurrent_kernel)
                parts = [z[:, i * self.units:(i + 1) * self.units] for i in range(4)]
            else:
                parts = [z[:, i * self.units:(i + 1) * self.units]
                         + K.dot(hs[i], self._gate_slice(self.recurrent_kernel, i)) for i in range(4)]
        else:
            parts = []
            for i in range(4):
                z = K.dot(xs[i], self._gate_slice(self.kernel, i)) + K.dot(hs[i], self._gate_slice(
                    self.recurrent_kernel, i))
                parts.append(z + self._gate_slice(self.bias, i) if self.bias is not None else z)
        i, f, g, o = parts
        i, f, o = self.recurrent_activation(i), self.recurrent_activation(f), self.recurrent_activation(o)
        c_new = f * c + i * self.activation(g)
        h_new = o * self.activation(c_new)
        return h_new, [h_new, c_new]

    def get_config(self):
        config = super().get_config()
        config.update(unit_forget_bias=self.unit_forget_bias, implementation=self.implementation)
        return config


class StackedRNNCells(Layer):
    """Several cells as one: each step runs them in order, each cell's output the next one's input."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
                raise ValueError(f"All cells must have a `call` method and a `state_size` attribute; got {cell}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [s for cell in self.cells for s in _sizes(cell.state_size)]

    @property
    def output_size(self):
        last = self.cells[-1]
        return getattr(last, "output_size", _sizes(last.state_size)[0])

    def build(self, input_shape):
        for cell in self.cells:
            if not cell.built:
                cell.build(input_shape)
                cell.built = True
            input_shape = tuple(input_shape[:-1]) + (getattr(cell, "output_size", _sizes(cell.state_size)[0]),)
        self.built = True

    def prepare_dropout(self, inputs, training):
        """Each cell's masks, for its own input width; none is applied before the loop (a cell's
        input is the previous cell's output)."""
        width = inputs.shape[-1]
        for cell in self.cells:
            if hasattr(cell, "prepare_dropout"):
                cell.prepare_dropout(_ones(inputs.shape[0], width, inputs.dtype), training, sequence=False)
            width = getattr(cell, "output_size", _sizes(cell.state_size)[0])
        return inputs

    def call(self, inputs, states, training=None):
        states, new_states, at = to_list(states), [], 0
        for cell in self.cells:
            n = len(_sizes(cell.state_size))
            inputs, cell_states = cell.call(inputs, states[at:at + n], training=training) \
                if _takes_training(cell) else cell.call(inputs, states[at:at + n])
            new_states += to_list(cell_states)
            at += n
        return inputs, new_states

    @property
    def trainable_weights(self):
        return [w for cell in self.cells for w in cell.trainable_weights] if self.trainable else []

    @property
    def non_trainable_weights(self):
        weights = [w for cell in self.cells for w in cell.non_trainable_weights]
        if not self.trainable:
            weights = [w for cell in self.cells for w in cell.trainable_weights] + weights
        return weights

    @property
    def losses(self):
        return [loss for cell in self.cells for loss in cell.losses]

    def get_config(self):
        from symkeras import layers     # the package imports this module: a cell is (de)serialised by it
        config = super().get_config()
        config["cells"] = [layers.serialize(cell) for cell in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from symkeras import layers     # the package imports this module: a cell is (de)serialised by it
        config = dict(config)
        cells = [layers.deserialize(c, custom_objects=custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _takes_training(cell):
    return "training" in inspect.signature(cell.call).parameters


class RNN(Layer):
    """Runs ``cell`` over the time axis of (batch, time, features) inputs (Keras 2's ``RNN``)."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, time_major=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call"):
            raise ValueError(f"`cell` should have a `call` method. The RNN was passed: {cell}")
        if not hasattr(cell, "state_size"):
            raise ValueError("The RNN cell should have an attribute `state_size` (tuple of integers, one integer "
                             "per RNN state).")
        input_dim, input_length = kwargs.pop("input_dim", None), kwargs.pop("input_length", None)
        if input_dim is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length, input_dim)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)
        self.time_major = bool(time_major)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)
        self.state_spec = None
        self.states_variables = None
        self._num_constants = 0

    # ------------------------------------------------------------------ weights are the cell's
    @property
    def trainable_weights(self):
        return list(self.cell.trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return list(self.cell.non_trainable_weights)
        return list(self.cell.trainable_weights) + list(self.cell.non_trainable_weights)

    @property
    def losses(self):
        return list(self.cell.losses)

    @property
    def states(self):
        return list(self.states_variables or [None] * len(_sizes(self.cell.state_size)))

    # ------------------------------------------------------------------ shapes
    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps = (input_shape[1], input_shape[0]) if self.time_major else input_shape[:2]
        units = getattr(self.cell, "output_size", _sizes(self.cell.state_size)[0])
        output = ((steps, batch, units) if self.time_major else (batch, steps, units)) \
            if self.return_sequences else (batch, units)
        if self.return_state:
            return [output] + [(batch, s) for s in _sizes(self.cell.state_size)]
        return output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(_sizes(self.cell.state_size))
        return output_mask

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        step_shape = (input_shape[1] if self.time_major else input_shape[0],) + tuple(input_shape[2:])
        if self.stateful and step_shape[0] is None:
            raise ValueError("If a RNN is stateful, it needs to know its batch size. Specify the batch size of your "
                             "input tensors: - If using a Sequential model, specify the batch size by passing a "
                             "`batch_input_shape` argument to your first layer. - If using the functional API, "
                             "specify the batch size by passing a `batch_shape` argument to your Input layer.")
        if isinstance(self.cell, Layer) and not self.cell.built:
            saved = self.cell.name
            self.cell.name = f"{self.name}/{saved}"     # weights named <rnn>/<cell>/kernel, as tf-keras names them
            try:
                self.cell.build(step_shape)
            finally:
                self.cell.name = saved
            self.cell.built = True
        if self.stateful:
            self._make_state_variables(step_shape[0])
        self.built = True

    def _make_state_variables(self, batch):
        self.states_variables = [K.variable(np.zeros((batch, s), dtype=self.dtype), dtype=self.dtype,
                                            name=f"{self.name}/state{i}")
                                 for i, s in enumerate(_sizes(self.cell.state_size))]

    def reset_states(self, states=None):
        """Zero the kept states of a stateful layer, or set them to ``states`` (arrays)."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if self.states_variables is None:
            raise ValueError("The layer is not built yet: call it on an input before resetting its states.")
        if states is None:
            for v in self.states_variables:
                v.op.storage.value[...] = 0
            return
        states = to_list(states)
        if len(states) != len(self.states_variables):
            raise ValueError(f"Layer {self.name} expects {len(self.states_variables)} states, but it received "
                             f"{len(states)} state values.")
        values = []
        for i, (v, value) in enumerate(zip(self.states_variables, states)):
            value = np.asarray(value, dtype=v.dtype)
            if value.shape != v.shape:
                raise ValueError(f"State {i} is incompatible with layer {self.name}: expected shape "
                                 f"{tuple(v.shape)}, found shape={value.shape}")
            values.append(value)
        for v, value in zip(self.states_variables, values):
            v.op.storage.value[...] = value

    # ------------------------------------------------------------------ the loop
    def _initial_state(self, inputs):
        batch = inputs.shape[0]
        return [B.broadcast_to(O.constant(np.zeros((), inputs.dtype)), (batch, s))
                for s in _sizes(self.cell.state_size)]

    def __call__(self, inputs, initial_state=None, constants=None, **kwargs):
        if initial_state is None and constants is None:
            return super().__call__(inputs, **kwargs)
        # Keras: extra tensors (initial states, constants) are inputs of the call.
        extra = to_list(initial_state) if initial_state is not None else []
        consts = to_list(constants) if constants is not None else []
        self._num_constants = len(consts)
        self.input_spec = [InputSpec(min_ndim=3)] + [None] * (len(extra) + len(consts))
        return super().__call__([inputs] + extra + consts, **kwargs)

    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if isinstance(inputs, (list, tuple)):
            inputs = list(inputs)
            n_const = self._num_constants
            constants = inputs[len(inputs) - n_const:] if n_const else None
            initial_state = inputs[1:len(inputs) - n_const] or None
            inputs = inputs[0]
        if isinstance(mask, list):
            mask = mask[0]
        if self.time_major:
            inputs = K.permute_dimensions(inputs, (1, 0) + tuple(range(2, inputs.ndim)))
            if mask is not None:
                mask = K.transpose(mask)
        n_states = len(_sizes(self.cell.state_size))
        if initial_state is not None:
            states = to_list(initial_state)
            if len(states) != n_states:
                raise ValueError(f"Layer {self.name} expects {n_states} states, but it received {len(states)} "
                                 "initial states.")
        elif self.stateful:
            # The kept states hold exactly the batch size the layer was built for.
            states = [O.BatchCast(v.shape[0])(v) for v in self.states_variables]
        else:
            states = self._initial_state(inputs)
        if hasattr(self.cell, "prepare_dropout"):
            inputs = self.cell.prepare_dropout(inputs, bool(training))
        cell_training = _takes_training(self.cell)

        def step(x_t, step_states):
            cell_states = step_states[:n_states]
            kwargs = {"training": training} if cell_training else {}
            if constants:
                kwargs["constants"] = step_states[n_states:]
            output, new_states = self.cell.call(x_t, list(cell_states), **kwargs)
            return output, to_list(new_states)

        last, outputs, final_states = K.rnn(step, inputs, states, go_backwards=self.go_backwards, mask=mask,
                                            constants=constants, unroll=self.unroll)
        if mask is not None and self.zero_output_for_mask and self.return_sequences:
            kept = K.cast(K.expand_dims(K.reverse(mask, 1) if self.go_backwards else mask, -1), outputs.dtype)
            outputs = outputs * kept
        if self.stateful:
            state_updates.record([(v, O.BatchCast(v.shape[0], to_symbolic=False)(s))
                                  for v, s in zip(self.states_variables, final_states)])
        output = outputs if self.return_sequences else last
        if self.return_sequences and self.time_major:
            output = K.permute_dimensions(output, (1, 0) + tuple(range(2, output.ndim)))
        if self.return_state:
            return [output] + list(final_states)
        return output

    def get_config(self):
        from symkeras import layers     # the package imports this module: a cell is (de)serialised by it
        config = super().get_config()
        config.update(return_sequences=self.return_sequences, return_state=self.return_state,
                      go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll,
                      time_major=self.time_major)
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        config["cell"] = layers.serialize(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from symkeras import layers     # the package imports this module: a cell is (de)serialised by it
        config = dict(config)
        cell = layers.deserialize(config.pop("cell"), custom_objects=custom_objects)
        return cls(cell, **config)


_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "time_major",
             "zero_output_for_mask")


class _CellLayer(RNN):
    """A recurrent layer over its own cell (``SimpleRNN``, ``GRU``, ``LSTM``): the cell's arguments
    are the layer's, and read back from it."""

    cell_class = None
    cell_name = None

    def __init__(self, units, **kwargs):
        rnn_kwargs = {k: kwargs.pop(k) for k in _RNN_ARGS if k in kwargs}
        layer_keys = ("name", "trainable", "dtype", "input_shape", "batch_input_shape", "batch_size", "input_dim",
                      "input_length", "weights", "activity_regularizer", "input_dtype")
        layer_kwargs = {k: kwargs.pop(k) for k in layer_keys if k in kwargs}
        cell = self.cell_class(units, name=self.cell_name, dtype=layer_kwargs.get("dtype"), **kwargs)
        super().__init__(cell, **rnn_kwargs, **layer_kwargs)

    def __getattr__(self, name):
        # The cell's arguments (units, activation, dropout …) read through the layer, as in Keras.
        if name != "cell" and "cell" in self.__dict__ and hasattr(self.__dict__["cell"], name):
            return getattr(self.__dict__["cell"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self):
        config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            config.pop(key, None)
        base = super().get_config()
        base.pop("cell")
        config.update(base)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


class SimpleRNN(_CellLayer):
    cell_class, cell_name = SimpleRNNCell, "simple_rnn_cell"

    def __init__(self, units, **kwargs):
        kwargs.pop("implementation", None)       # accepted and unused, as in tf-keras
        super().__init__(units, **kwargs)


class GRU(_CellLayer):
    cell_class, cell_name = GRUCell, "gru_cell"


class LSTM(_CellLayer):
    cell_class, cell_name = LSTMCell, "lstm_cell"

