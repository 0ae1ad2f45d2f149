"""The operations of the IR. Each is a small class: its identifying attributes
(``__props__``) and shape/dtype inference. Gradients live in ``grad.py``; code
emission lives in the backends."""

import hashlib
import itertools

import numpy as np
import sympy

from symkeras.ir import dims, scalar
from symkeras.ir.node import Node, Op, as_dtype

_uids = itertools.count()


def _float_result(dtypes):
    floats = [d for d in dtypes if d.startswith("float")]
    if "float64" in floats:
        return "float64"
    if floats:
        return "float32"
    return "int64" if any(d.startswith("int") for d in dtypes) else "float32"


# ----------------------------------------------------------------------------- leaves

class Placeholder(Op):
    """A function input, fed per call. ``batch`` dims in the shape are symbolic."""

    __props__ = ("name", "uid")
    differentiable = False

    def __init__(self, name):
        self.name = str(name)
        self.uid = next(_uids)


class VariableStorage:
    """The NumPy array that holds a variable's value; generated code updates it in place.

    Replacing the array object (``storage.value = new_array``) gives ``VariableStorage.epoch``
    a value it never had before, so compiled functions know to re-bind their pointers; writing
    into it (``value[...] = x``) needs nothing. The value comes from a counter rather than
    ``+= 1``: two threads replacing arrays at once cannot then leave the epoch unchanged.
    """

    epoch = 0
    _epochs = itertools.count(1)

    def __init__(self, value, name, dtype=None):
        self.value = np.array(value, dtype=dtype, copy=True, order="C")
        self.name = str(name)

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, array):
        old = getattr(self, "_value", None)
        if old is not None:
            if not isinstance(array, np.ndarray) or array.dtype != old.dtype or array.shape != old.shape:
                raise ValueError(f"variable {self.name!r}: a new value must be a {old.dtype} array of shape "
                                 f"{old.shape}, got {getattr(array, 'dtype', type(array).__name__)} "
                                 f"{getattr(array, 'shape', '')}")
            if not array.flags.c_contiguous or not array.flags.writeable:
                raise ValueError(f"variable {self.name!r}: a new value must be C-contiguous and writeable")
        self._value = array
        VariableStorage.epoch = next(VariableStorage._epochs)


class Variable(Op):
    """A persistent tensor (weight, optimizer slot, random state)."""

    __props__ = ("uid",)

    def __init__(self, storage):
        self.storage = storage
        self.uid = next(_uids)


class Constant(Op):
    """A literal array, identified by its bytes."""

    __props__ = ("digest", "shape", "dtype")
    differentiable = False

    def __init__(self, value):
        self.value = np.array(value, order="C", copy=True)
        self.value.setflags(write=False)
        self.shape = self.value.shape
        self.dtype = self.value.dtype.name
        self.digest = hashlib.sha256(self.value.tobytes()).hexdigest()[:24]

    def infer(self, inputs):
        return self.shape, self.dtype


def placeholder(shape, dtype="float32", name="input"):
    return Node(Placeholder(name), (), name=name, shape=dims.as_shape(shape), dtype=dtype)


def variable(storage):
    return Node(Variable(storage), (), name=storage.name, shape=storage.value.shape,
                dtype=storage.value.dtype.name)


def constant(value, dtype=None):
    arr = np.asarray(value, dtype=dtype)
    return Constant(arr)()


# ----------------------------------------------------------------------------- elementwise

class Elemwise(Op):
    """out = expr(x0, x1, ...) with NumPy broadcasting of the operands."""

    __props__ = ("expr", "dtype")

    def __init__(self, expr, dtype=None):
        self.expr = sympy.sympify(expr)
        self.dtype = None if dtype is None else as_dtype(dtype)

    def infer(self, inputs):
        if scalar.arity(self.expr) > len(inputs):
            raise ValueError(f"elementwise expression {self.expr} needs more operands than {len(inputs)}")
        shape = dims.broadcast_shapes(*(x.shape for x in inputs))
        return shape, self.dtype or _float_result([x.dtype for x in inputs])


class BroadcastTo(Op):
    __props__ = ("shape",)

    def __init__(self, shape):
        self.shape = dims.as_shape(shape)

    def infer(self, inputs):
        (x,) = inputs
        if dims.broadcast_shapes(x.shape, self.shape) != self.shape:
            raise ValueError(f"cannot broadcast {dims.to_keras(x.shape)} to {dims.to_keras(self.shape)}")
        return self.shape, x.dtype


# ----------------------------------------------------------------------------- linear algebra

class MatMul(Op):
    """``np.matmul(a, b)`` with optional transposes of the last two axes of each operand.

    Supported ranks: 2-D @ 2-D; N-D @ 2-D (leading axes of ``a`` act as rows);
    N-D @ N-D with equal leading (batch) axes.
    """

    __props__ = ("transpose_a", "transpose_b")

    def __init__(self, transpose_a=False, transpose_b=False):
        self.transpose_a = bool(transpose_a)
        self.transpose_b = bool(transpose_b)

    def operand_dims(self, a, b):
        m, ka = (a.shape[-1], a.shape[-2]) if self.transpose_a else (a.shape[-2], a.shape[-1])
        kb, n = (b.shape[-1], b.shape[-2]) if self.transpose_b else (b.shape[-2], b.shape[-1])
        return m, ka, kb, n

    def infer(self, inputs):
        a, b = inputs
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(f"matmul: operands must have rank >= 2, got {a.ndim} and {b.ndim}")
        m, ka, kb, n = self.operand_dims(a, b)
        if ka != kb:
            raise ValueError(f"matmul: inner dimensions differ: {dims.to_keras(a.shape)} @ {dims.to_keras(b.shape)}")
        if b.ndim == 2:
            if self.transpose_a and a.ndim > 2:
                raise ValueError("matmul: transpose_a with a 2-D right operand needs a 2-D left operand")
            lead = a.shape[:-2]
        elif a.shape[:-2] == b.shape[:-2]:
            lead = a.shape[:-2]
        else:
            raise ValueError(f"matmul: batch axes differ: {dims.to_keras(a.shape)} @ {dims.to_keras(b.shape)}")
        return lead + (m, n), _float_result([a.dtype, b.dtype])


# ----------------------------------------------------------------------------- reductions

class Reduce(Op):
    """Sum/max/min over a contiguous run of axes."""

    __props__ = ("kind", "axes", "keepdims")
    KINDS = ("sum", "max", "min")

    def __init__(self, kind, axes, keepdims=False):
        if kind not in self.KINDS:
            raise ValueError(f"reduce: kind must be one of {self.KINDS}, got {kind!r}")
        self.kind, self.axes, self.keepdims = kind, tuple(axes), bool(keepdims)
        if self.axes and list(self.axes) != list(range(self.axes[0], self.axes[-1] + 1)):
            raise ValueError("Reduce takes a contiguous run of axes; use ir.reduce() for others")

    def infer(self, inputs):
        (x,) = inputs
        if self.keepdims:
            shape = tuple(1 if i in self.axes else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in self.axes)
        return shape, x.dtype


class ArgMax(Op):
    __props__ = ("axis", "kind")
    differentiable = False

    def __init__(self, axis, kind="max"):
        self.axis, self.kind = int(axis), kind

    def infer(self, inputs):
        (x,) = inputs
        return tuple(d for i, d in enumerate(x.shape) if i != self.axis), "int64"


class Softmax(Op):
    """exp(x - max) / sum(exp(x - max)) along one axis (``log=True``: its logarithm)."""

    __props__ = ("axis", "log")

    def __init__(self, axis, log=False):
        self.axis, self.log = int(axis), bool(log)

    def infer(self, inputs):
        (x,) = inputs
        return x.shape, x.dtype


# ----------------------------------------------------------------------------- shape ops

class Reshape(Op):
    __props__ = ("shape",)

    def __init__(self, shape):
        self.shape = dims.as_shape(shape)
        for d in self.shape:
            # Sizes are computed in integers at call time: an unknown size may be multiplied, not divided.
            if dims.symbols_in(d) - {dims.BATCH} and not dims.is_integer_polynomial(d):
                raise ValueError(f"reshape: the target shape would divide an unknown size ({d}); only whole "
                                 "multiples of an axis of unknown size can be reshaped into")

    def infer(self, inputs):
        (x,) = inputs
        if sympy.simplify(dims.size(x.shape) - dims.size(self.shape)) != 0:
            raise ValueError(f"reshape: cannot reshape {dims.to_keras(x.shape)} into {dims.to_keras(self.shape)}")
        return self.shape, x.dtype


class BatchCast(Op):
    """The same memory seen with a fixed batch ``size`` as the symbolic batch (``to_symbolic``) or
    back: a stateful layer's state variables hold exactly ``size`` rows, and a function reading
    them runs only on batches of that size (the runtime checks it before each call)."""

    __props__ = ("size", "to_symbolic")
    differentiable = False

    def __init__(self, size, to_symbolic=True):
        self.size, self.to_symbolic = int(size), bool(to_symbolic)

    def infer(self, inputs):
        (x,) = inputs
        expected = self.size if self.to_symbolic else dims.BATCH
        if not x.shape or x.shape[0] != expected:
            raise ValueError(f"batch cast: expected a leading axis of {expected}, got {dims.to_keras(x.shape)}")
        return ((dims.BATCH if self.to_symbolic else self.size),) + x.shape[1:], x.dtype


class Transpose(Op):
    __props__ = ("perm",)

    def __init__(self, perm):
        self.perm = tuple(int(p) for p in perm)

    def infer(self, inputs):
        (x,) = inputs
        if sorted(self.perm) != list(range(x.ndim)):
            raise ValueError(f"transpose: {self.perm} is not a permutation of {x.ndim} axes")
        return tuple(x.shape[p] for p in self.perm), x.dtype


class Concat(Op):
    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def infer(self, inputs):
        first = inputs[0]
        for x in inputs[1:]:
            if x.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, first.shape))
                                           if i != self.axis):
                raise ValueError("concatenate: shapes "
                                 f"{[dims.to_keras(x.shape) for x in inputs]} differ off axis {self.axis}")
        total = dims.as_dim(sum(x.shape[self.axis] for x in inputs))
        shape = first.shape[:self.axis] + (total,) + first.shape[self.axis + 1:]
        return shape, _float_result([x.dtype for x in inputs]) if len({x.dtype for x in inputs}) > 1 else first.dtype


class Slice(Op):
    """x[start:stop:step] per axis; ``index`` picks one element and drops the axis."""

    __props__ = ("starts", "stops", "steps", "drop")

    def __init__(self, starts, stops, steps, drop=()):
        self.starts, self.stops, self.steps = tuple(starts), tuple(stops), tuple(steps)
        self.drop = tuple(drop)

    def infer(self, inputs):
        (x,) = inputs
        shape = []
        for axis, (d, a, b, s) in enumerate(zip(x.shape, self.starts, self.stops, self.steps)):
            if axis in self.drop:
                continue
            if not dims.is_static(d):
                # An axis of unknown size is taken whole, in order or reversed.
                reversed_whole = s == -1 and b == -1 and sympy.expand(a - (d - 1)) == 0
                if (a, b, s) != (0, d, 1) and not reversed_whole:
                    raise ValueError("slice: an axis of unknown size (such as the batch axis) can only be "
                                     "taken whole, in order or reversed")
                shape.append(d)
            else:
                shape.append(len(range(a, b, s)))
        return tuple(shape), x.dtype


class SliceGrad(Op):
    """Zeros of ``shape`` with the input written into the slice ``Slice`` took."""

    __props__ = ("shape", "slice_op")

    def __init__(self, shape, slice_op):
        self.shape, self.slice_op = dims.as_shape(shape), slice_op

    def infer(self, inputs):
        return self.shape, inputs[0].dtype


class Gather(Op):
    """table[indices] along axis 0 of the table (embedding lookup)."""

    __props__ = ()

    def infer(self, inputs):
        table, indices = inputs
        return indices.shape + table.shape[1:], table.dtype


class ScatterAdd(Op):
    """Zeros of ``shape`` (the table) with rows of ``updates`` added at ``indices``."""

    __props__ = ("shape",)

    def __init__(self, shape):
        self.shape = dims.as_shape(shape)

    def infer(self, inputs):
        updates, indices = inputs
        return self.shape, updates.dtype


class Window:
    """The geometry of a sliding window over the spatial axes of a channels-last tensor
    (batch, *spatial, channels): per spatial axis the window size, stride, dilation and the
    padding before and after. Hashable, so ops holding it compare by value."""

    def __init__(self, spatial, size, strides, dilation, pad_before, pad_after):
        if not all(dims.is_static(s) for s in spatial):
            raise ValueError(f"window: the spatial axes {dims.to_keras(spatial)} must have known sizes: a window "
                             "op cannot slide over an axis of unknown size (None)")
        self.spatial = tuple(int(s) for s in spatial)
        self.size = tuple(int(s) for s in size)
        self.strides = tuple(int(s) for s in strides)
        self.dilation = tuple(int(d) for d in dilation)
        self.pad_before = tuple(int(p) for p in pad_before)
        self.pad_after = tuple(int(p) for p in pad_after)
        rank = len(self.spatial)
        if any(len(v) != rank for v in (self.size, self.strides, self.dilation, self.pad_before, self.pad_after)):
            raise ValueError("window: every attribute needs one value per spatial axis")
        if min(self.size + self.strides + self.dilation, default=1) < 1 or min(self.pad_before + self.pad_after,
                                                                              default=0) < 0:
            raise ValueError("window: sizes, strides and dilations must be positive, paddings not negative")
        if min(self.out_spatial, default=1) < 1:
            raise ValueError(f"window: a window of {self.size} (dilation {self.dilation}) does not fit "
                             f"in {self.spatial} padded by {self.pad_before}/{self.pad_after}")

    @property
    def out_spatial(self):
        return tuple((s + b + a - d * (k - 1) - 1) // st + 1 for s, k, st, d, b, a in
                     zip(self.spatial, self.size, self.strides, self.dilation, self.pad_before, self.pad_after))

    def _key(self):
        return (self.spatial, self.size, self.strides, self.dilation, self.pad_before, self.pad_after)

    def __eq__(self, other):
        return isinstance(other, Window) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return ("Window(spatial={}, size={}, strides={}, dilation={}, pad_before={}, pad_after={})"
                .format(*self._key()))


class WindowGather(Op):
    """The windows of ``x`` (batch, *spatial, channels) as (batch, *out_spatial, *size, channels):
    element (o, k) is x at ``o*stride + k*dilation - pad_before``, or ``pad_value`` where that
    falls in the padding. Convolution is this followed by a matrix product (im2col)."""

    __props__ = ("window", "pad_value")

    def __init__(self, window, pad_value=0.0):
        self.window, self.pad_value = window, float(pad_value)

    def infer(self, inputs):
        (x,) = inputs
        w = self.window
        if len(x.shape) != len(w.spatial) + 2 or tuple(x.shape[1:-1]) != w.spatial:
            raise ValueError(f"WindowGather: input shape {x.shape} does not have the spatial axes {w.spatial}")
        return (x.shape[0],) + w.out_spatial + w.size + (x.shape[-1],), x.dtype


class WindowScatter(Op):
    """The adjoint of ``WindowGather``: each window element of ``g`` is added back at the input
    position it was read from (the padding's share is dropped). Output: (batch, *spatial, channels)."""

    __props__ = ("window",)

    def __init__(self, window):
        self.window = window

    def infer(self, inputs):
        (g,) = inputs
        w = self.window
        if tuple(g.shape[1:-1]) != w.out_spatial + w.size:
            raise ValueError(f"WindowScatter: input shape {g.shape} is not the windows of {w.spatial}")
        return (g.shape[0],) + w.spatial + (g.shape[-1],), g.dtype


class WindowMax(Op):
    """The maximum of each window of ``x`` (batch, *spatial, channels) over its positions inside
    the input (the padding never wins): (batch, *out_spatial, channels). NaN propagates, as in
    NumPy. Max pooling in one pass, without materialising the windows."""

    __props__ = ("window",)

    def __init__(self, window):
        self.window = window

    def infer(self, inputs):
        (x,) = inputs
        w = self.window
        if len(x.shape) != len(w.spatial) + 2 or tuple(x.shape[1:-1]) != w.spatial:
            raise ValueError(f"WindowMax: input shape {x.shape} does not have the spatial axes {w.spatial}")
        return (x.shape[0],) + w.out_spatial + (x.shape[-1],), x.dtype


class WindowMaxGrad(Op):
    """The gradient of ``WindowMax``: each element of ``g`` (batch, *out_spatial, channels) added at
    the first position of its window that holds the window's maximum in ``x`` (TensorFlow's choice
    among ties). Inputs (x, g); output shaped as x."""

    __props__ = ("window",)

    def __init__(self, window):
        self.window = window

    def infer(self, inputs):
        x, g = inputs
        if tuple(g.shape[1:-1]) != self.window.out_spatial:
            raise ValueError(f"WindowMaxGrad: gradient shape {g.shape} is not the windows of {x.shape}")
        return x.shape, g.dtype


class OneHot(Op):
    __props__ = ("depth", "dtype")
    differentiable = False

    def __init__(self, depth, dtype="float32"):
        self.depth, self.dtype = int(depth), as_dtype(dtype)

    def infer(self, inputs):
        (indices,) = inputs
        return indices.shape + (self.depth,), self.dtype


class StopGradient(Op):
    __props__ = ()

    def infer(self, inputs):
        return inputs[0].shape, inputs[0].dtype


# ----------------------------------------------------------------------------- several results

class TupleGet(Op):
    """Result ``index`` of a node whose op computes several values at once (``Scan``). Such an
    op has ``results(inputs)``: the (shape, dtype) of each; its own node is only the tuple."""

    __props__ = ("index",)

    def __init__(self, index):
        self.index = int(index)

    def infer(self, inputs):
        (whole,) = inputs
        results = whole.op.results(whole.inputs)
        if not 0 <= self.index < len(results):
            raise ValueError(f"result {self.index} of {type(whole.op).__name__}: it has {len(results)}")
        return results[self.index]


# ----------------------------------------------------------------------------- randomness

class Random(Op):
    """Uniform [0, 1) or standard normal numbers from a counter-based generator.

    Input 0 is the int64 state variable (shape (2,): seed, counter). The values are a pure
    function of (seed, counter, element index), so both backends draw the same numbers.
    """

    __props__ = ("distribution", "shape", "dtype", "stream")
    differentiable = False

    def __init__(self, distribution, shape, dtype="float32", stream=0):
        if distribution not in ("uniform", "normal"):
            raise ValueError(f"random: distribution must be 'uniform' or 'normal', got {distribution!r}")
        self.distribution, self.shape = distribution, dims.as_shape(shape)
        self.dtype, self.stream = as_dtype(dtype), int(stream)

    def infer(self, inputs):
        return self.shape, self.dtype


# ----------------------------------------------------------------------------- updates

class Assign(Op):
    """Write ``value`` into variable ``var`` after every output of the function is computed."""

    __props__ = ()
    differentiable = False

    def infer(self, inputs):
        var, value = inputs
        if not isinstance(var.op, Variable):
            raise TypeError("update: the target must be a variable")
        if var.shape != value.shape:
            raise ValueError(f"update of {var.name!r}: new value has shape {dims.to_keras(value.shape)}, "
                             f"the variable {dims.to_keras(var.shape)}")
        return (), var.dtype


def broadcast_to_constant(value, shape):
    """A constant of ``shape`` filled with a single value."""
    node = constant(value)
    shape = dims.as_shape(shape)
    return node if node.shape == shape else BroadcastTo(shape)(node)
