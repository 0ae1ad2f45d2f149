"""Conditionals (``switch``, ``in_train_phase``), loops unrolled over static axes, and the parts of
the Keras 2 backend that have no meaning for compiled functions (sessions) or no IR yet (CTC)."""

import numpy as np

from symkeras import backend as K
from symkeras.backend import state, vectorize
from symkeras.ir import build as B
from symkeras.ir import dims, scalar
from symkeras.ir import ops as O
from symkeras.ir.node import Node
from symkeras.ir.scan import scan as scan_loop

X = scalar.X


# ----------------------------------------------------------------------------- conditionals

def _branch(value):
    return value() if callable(value) else value


def switch(condition, then_expression, else_expression):
    """``then_expression`` where ``condition`` is true (non-zero), else ``else_expression``.

    Either branch may be a callable returning a tensor. A condition of lower rank than the
    branches applies along their leading axes (Keras: it is tiled over the trailing ones)."""
    if isinstance(condition, (bool, int, np.bool_, np.integer)) and not isinstance(condition, Node):
        return _branch(then_expression) if condition else _branch(else_expression)
    condition = K._tensor(condition)
    then_t, else_t = K._tensor(_branch(then_expression)), K._tensor(_branch(else_expression))
    if 0 < condition.ndim:
        rank = max(then_t.ndim, else_t.ndim)
        if condition.ndim > rank:
            raise ValueError(f"switch: the condition has rank {condition.ndim}, more than the branches' "
                             f"({rank})")
        condition = B.reshape(condition, condition.shape + (1,) * (rank - condition.ndim))
    if else_t.dtype != then_t.dtype and then_t.dtype.startswith("float") and not isinstance(
            else_expression, Node):
        else_t = K.cast(else_t, then_t.dtype)
    return B.ew(scalar.select(X[0], X[1], X[2]), condition, then_t, else_t)


def in_train_phase(x, alt, training=None):
    """``x`` in the training phase, ``alt`` otherwise (either may be a callable). ``training`` is
    the flag a layer's ``call`` receives; None means ``learning_phase()``."""
    if training is None:
        training = state.learning_phase()
    if isinstance(training, Node):
        return switch(training, x, alt)
    if training in (0, 1):
        return _branch(x) if training else _branch(alt)
    raise ValueError(f"in_train_phase: `training` must be a bool, 0 or 1, None or a tensor, got {training!r}")


def in_test_phase(x, alt, training=None):
    """``x`` in the test phase, ``alt`` otherwise."""
    return in_train_phase(alt, x, training=training)


# ----------------------------------------------------------------------------- loops, unrolled

def _leading(elems, name):
    elems = K._tensor(elems)
    if elems.ndim == 0:
        raise ValueError(f"{name}: `elems` must have at least one axis to iterate over")
    n = elems.shape[0]
    if not dims.is_static(n):
        raise NotImplementedError(f"{name}: over an axis of unknown size, such as the batch axis. Loops are "
                                  "unrolled into the graph, which needs a static number of steps; that size "
                                  "is known only when the function is called")
    return elems, [B.getitem(elems, i) for i in range(n)]


def map_fn(fn, elems, name=None, dtype=None):
    """``stack([fn(e) for e in elems])`` over the leading axis of ``elems``: unrolled when the axis
    is static; over the batch axis, ``fn`` is traced once on one element and its graph applied to
    the whole batch (see ``vectorize``)."""
    elems = K._tensor(elems)

    def element(e):
        out = fn(e)
        if isinstance(out, (list, tuple)):
            raise TypeError(f"map_fn: `fn` must return one tensor, got a {type(out).__name__}")
        return K._tensor(out)

    if elems.ndim and not dims.is_static(elems.shape[0]):
        out = vectorize.map_over_batch(element, elems)
    else:
        _, items = _leading(elems, "map_fn")
        if not items:
            raise ValueError("map_fn: `elems` is empty")
        out = K.stack([element(e) for e in items], axis=0)
    return K.cast(out, dtype) if dtype is not None and dtype != out.dtype else out


def foldl(fn, elems, initializer=None, name=None):
    """``fn(...fn(fn(initializer, e0), e1)..., en)`` over the static leading axis of ``elems``;
    without ``initializer`` the fold starts from ``elems[0]``."""
    _, items = _leading(elems, "foldl")
    return _fold(fn, items, initializer, "foldl")


def foldr(fn, elems, initializer=None, name=None):
    """As ``foldl`` from the last element to the first."""
    _, items = _leading(elems, "foldr")
    return _fold(fn, items[::-1], initializer, "foldr")


def _fold(fn, items, initializer, name):
    if initializer is None:
        if not items:
            raise ValueError(f"{name}: `elems` is empty and there is no initializer")
        acc, items = items[0], items[1:]
    else:
        acc = K._tensor(initializer)
    for e in items:
        acc = fn(acc, e)
    return acc


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None, unroll=False,
        input_length=None):
    """Iterate ``step_function(x_t, states + constants) -> (output, new_states)`` over the time
    axis of ``inputs`` (batch, time, ...). Returns ``(last_output, outputs, new_states)``, outputs
    stacked as (batch, time, ...) in the order the steps ran (reversed with ``go_backwards``).

    A ``mask`` (batch, time) keeps the previous output and states at masked steps (the output
    before the first unmasked step is zeros). The loop is the IR's scan: one compiled loop for
    any number of steps, differentiated by backpropagation through time. ``unroll=True`` (a static
    number of steps) writes every step into the graph instead, as Keras unrolls it."""
    inputs = K._tensor(inputs)
    if inputs.ndim < 3:
        raise ValueError(f"rnn: `inputs` must have rank >= 3 (batch, time, ...), got {K.int_shape(inputs)}")
    constants = list(constants or [])
    states = [K._tensor(s) for s in initial_states]
    mask = None if mask is None else K._tensor(mask)
    if mask is not None and (mask.ndim < 2 or mask.shape[:2] != inputs.shape[:2]):
        raise ValueError(f"rnn: `mask` must be (batch, time) like the inputs {K.int_shape(inputs)[:2]}, got "
                         f"{K.int_shape(mask)}")
    if unroll:
        return _unrolled_rnn(step_function, inputs, states, go_backwards, mask, constants)
    if go_backwards:
        inputs = K.reverse(inputs, 1)
        mask = None if mask is None else K.reverse(mask, 1)
    time_major = (1, 0) + tuple(range(2, inputs.ndim))
    sequences = [K.permute_dimensions(inputs, time_major)]
    if mask is not None:
        mask = K.cast(K.reshape(mask, tuple(mask.shape[:2])), "bool")
        sequences.append(K.transpose(mask))

    # One trace on stand-ins tells the output's shape, and whether it is one of the states.
    stand_ins = [O.placeholder(inputs.shape[:1] + inputs.shape[2:], inputs.dtype, name="x_t")]
    stand_ins += [O.placeholder(s.shape, s.dtype, name="state") for s in states]
    probe, probe_states = step_function(stand_ins[0], stand_ins[1:] + constants)
    probe = K._tensor(probe)
    probe_states = [K._tensor(s) for s in probe_states]
    output_state = next((k for k, s in enumerate(probe_states) if s is probe), None)
    carry_output = mask is not None or output_state is None
    n = len(states)

    def step(seq, carried):
        output, new_states = step_function(seq[0], list(carried[:n]) + constants)
        output, new_states = K._tensor(output), [K._tensor(s) for s in new_states]
        if len(new_states) != n:
            raise ValueError(f"rnn: the step function returned {len(new_states)} states for {n}")
        if mask is not None:
            m_t = seq[1]
            output = switch(m_t, output, carried[n])
            new_states = [switch(m_t, new, old) for new, old in zip(new_states, carried[:n])]
        return new_states + ([output] if carry_output else []), [output]

    initial = states + ([B.zeros_like(probe)] if carry_output else [])
    finals, (outputs,) = scan_loop(step, sequences, initial, names={"sequences": ["x_t", "mask_t"]})
    last = finals[n] if carry_output else finals[output_state]
    return last, K.permute_dimensions(outputs, time_major), finals[:n]


def _unrolled_rnn(step_function, inputs, states, go_backwards, mask, constants):
    steps = inputs.shape[1]
    if not dims.is_static(steps):
        raise ValueError("rnn: unroll=True needs a static number of time steps")
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs, last = [], None
    for t in order:
        x_t = B.getitem(inputs, (slice(None), t))
        output, new_states = step_function(x_t, states + constants)
        output = K._tensor(output)
        if mask is not None:
            m_t = B.getitem(mask, (slice(None), t))
            previous = K.zeros_like(output) if last is None else last
            output = switch(m_t, output, previous)
            new_states = [switch(m_t, n, s) for n, s in zip(new_states, states)]
        states, last = list(new_states), output
        outputs.append(output)
    stacked = K.stack(outputs, axis=1)
    return last, stacked, states


# ----------------------------------------------------------------------------- not meaningful here

def get_session():
    """There is no session: functions are compiled ahead of running (``K.function``)."""
    raise NotImplementedError("get_session: symkeras has no TensorFlow session; compiled functions "
                              "(K.function, a model's predict/train functions) run on their own")


def set_session(session):
    raise NotImplementedError("set_session: symkeras has no TensorFlow session to set; compiled functions "
                              "(K.function) run on their own")


def _ctc(name):
    def ctc(*args, **kwargs):
        raise NotImplementedError(f"{name}: connectionist temporal classification needs a dynamic-"
                                  "programming loop over time (and label sequences of varying length) "
                                  "that the IR does not have")
    ctc.__name__ = ctc.__qualname__ = name
    return ctc


ctc_batch_cost = _ctc("ctc_batch_cost")
ctc_decode = _ctc("ctc_decode")
ctc_label_dense_to_sparse = _ctc("ctc_label_dense_to_sparse")


# ----------------------------------------------------------------------------- small things

def is_sparse(tensor):
    """Always False: there are no sparse tensors."""
    return False


def to_dense(tensor):
    return tensor


def is_placeholder(x):
    return isinstance(x, Node) and isinstance(x.op, O.Placeholder)


def is_keras_tensor(x):
    """Whether ``x`` is the output of a Keras layer (or an ``Input``); ValueError if it is no tensor."""
    if not isinstance(x, Node):
        raise ValueError(f"Unexpectedly found an instance of type `{type(x)}`. Expected a symbolic tensor "
                         "instance.")
    return getattr(x, "_keras_history", None) is not None


def get_variable_shape(x):
    return K.int_shape(x)


def eval(x):
    """The value of a tensor that needs no input (variables, constants and what they make)."""
    x = K._tensor(x)
    return K.function([], [x], backend="numpy", name="eval")([])[0]


def backend():
    """The name of the backend: every function is generated code."""
    return "symkeras"


def print_tensor(x, message=""):
    """``x`` itself. Generated functions print nothing: to see a value, make it an output of a
    ``K.function``. (Keras prints ``message`` and the value each time the graph runs.)"""
    return K._tensor(x)


_DIM_ORDERING = {"tf": "channels_last", "th": "channels_first"}


def image_dim_ordering():
    """Keras 1's name for the image data format: 'tf' (channels last) or 'th'."""
    return "tf" if K.image_data_format() == "channels_last" else "th"


def set_image_dim_ordering(dim_ordering):
    if dim_ordering not in _DIM_ORDERING:
        raise ValueError(f"Unknown dim_ordering: {dim_ordering!r} (expected 'tf' or 'th')")
    K.set_image_data_format(_DIM_ORDERING[dim_ordering])
