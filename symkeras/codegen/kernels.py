"""The backend-neutral program: buffers and kernels.

``schedule.lower`` turns an optimised FunctionGraph into a ``Program``: an ordered list
of kernels reading and writing named buffers; ``program_passes`` then optimises it and
packs its workspace. Each backend renders the same Program with its own templates,
dispatching on each kernel's ``kind``, so the NumPy and C versions of a function agree
line by line. Sizes are ints or SymPy expressions in the size symbols (``batch``, ``signal_1`` …).

Each kernel kind is a frozen dataclass. Fields holding buffers say whether the kernel reads
or writes them (``read()``/``written()``), so what a kernel touches, and swapping one buffer
for another, follow from the fields alone: a pass needs no knowledge of any kind's layout.
A kind may also say which IR op it lowers (``lowers``, with ``fields_from``): the lowering then
needs nothing of its own for it.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from symkeras.ir import dims


@dataclass(eq=False)
class Buffer:
    name: str
    shape: tuple
    dtype: str
    role: str                      # input | output | variable | temp | constant | view
    base: "Buffer" = None          # views (reshapes) share their base's memory
    value: Any = None              # constants: the NumPy array
    region: int = None             # temps: index of the workspace region used
    scope: str = ""

    @property
    def size(self):
        return dims.size(self.shape)

    @property
    def root(self):
        return self.base.root if self.base is not None else self

    @property
    def keras_shape(self):
        """The shape as comments show it (``dims.describe``)."""
        return dims.describe(self.shape)


# ----------------------------------------------------------------------------- buffer fields

def read():
    """A field holding buffers the kernel reads: a Buffer, or a tuple of them (or of tuples
    that start with one, like a concat's pieces)."""
    return field(metadata={"access": "read"})


def written():
    """A field holding buffers the kernel writes (shaped as for ``read``)."""
    return field(metadata={"access": "write"})


def _buffers_in(value):
    if isinstance(value, Buffer):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _buffers_in(item)


def _swapped(value, old, new):
    if value is old:
        return new
    if isinstance(value, (tuple, list)):
        return type(value)(_swapped(item, old, new) for item in value)
    return value


# ----------------------------------------------------------------------------- kernels

@dataclass(frozen=True, eq=False, kw_only=True)
class Kernel:
    """One step of a program. Subclasses set ``kind``, the name backends dispatch on."""

    kind: ClassVar[str]
    lowers: ClassVar[tuple] = ()        # names of the IR ops lowered to this kind by ``fields_from``
    scope: str

    @classmethod
    def fields_from(cls, node, ins, out):
        """The fields of the kernel computing ``node`` (inputs' buffers ``ins``) into ``out``."""
        raise NotImplementedError(cls.__name__)

    def _buffer_fields(self, access):
        return [f for f in dataclasses.fields(self) if f.metadata.get("access") == access]

    def _accessed(self, access):
        return [b for f in self._buffer_fields(access) for b in _buffers_in(getattr(self, f.name))]

    @property
    def reads(self):
        return self._accessed("read")

    @property
    def writes(self):
        return self._accessed("write")

    def replace_buffer(self, old, new):
        """This kernel with every use of buffer ``old`` (read or written) turned into ``new``."""
        changes = {}
        for f in self._buffer_fields("read") + self._buffer_fields("write"):
            value = getattr(self, f.name)
            if any(b is old for b in _buffers_in(value)):
                changes[f.name] = _swapped(value, old, new)
        return dataclasses.replace(self, **changes) if changes else self

    def field_values(self):
        """{field name: value}, not copied (what a template reads as ``k.<name>``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True, eq=False, kw_only=True)
class Elementwise(Kernel):
    """``outputs[i] = exprs[i]`` over ``shape``, the operands broadcast to it (``X[j]`` is operand j)."""
    kind = "elementwise"
    operands: tuple = read()
    outputs: tuple = written()
    exprs: tuple
    shape: tuple
    dtype: str


@dataclass(frozen=True, eq=False, kw_only=True)
class Gemm(Kernel):
    """``c = op(a) @ op(b)``, BLAS-style, ``count`` times at the given strides."""
    kind = "gemm"
    a: Buffer = read()
    b: Buffer = read()
    c: Buffer = written()
    ta: bool
    tb: bool
    m: Any
    n: Any
    k: Any
    lda: Any
    ldb: Any
    ldc: Any
    count: Any
    stride_a: Any
    stride_b: Any
    stride_c: Any
    dtype: str


@dataclass(frozen=True, eq=False, kw_only=True)
class Reduce(Kernel):
    """``x`` seen as (outer, n, inner) reduced over n with ``op`` (sum, max, min)."""
    kind = "reduce"
    x: Buffer = read()
    out: Buffer = written()
    op: str
    outer: Any
    n: Any
    inner: Any
    dtype: str


@dataclass(frozen=True, eq=False, kw_only=True)
class ArgMax(Kernel):
    """Index of the max (or min: ``op``) along n of ``x`` seen as (outer, n, inner)."""
    kind = "argmax"
    x: Buffer = read()
    out: Buffer = written()
    op: str
    outer: Any
    n: Any
    inner: Any


@dataclass(frozen=True, eq=False, kw_only=True)
class Softmax(Kernel):
    """(Log-)softmax along n of ``x`` seen as (outer, n, inner)."""
    kind = "softmax"
    x: Buffer = read()
    out: Buffer = written()
    log: bool
    outer: Any
    n: Any
    inner: Any
    dtype: str


@dataclass(frozen=True, eq=False, kw_only=True)
class Transpose(Kernel):
    kind = "transpose"
    x: Buffer = read()
    out: Buffer = written()
    perm: tuple
    in_shape: tuple


@dataclass(frozen=True, eq=False, kw_only=True)
class Copy(Kernel):
    kind = "copy"
    src: Buffer = read()
    dst: Buffer = written()
    size: Any


@dataclass(frozen=True, eq=False, kw_only=True)
class Concat(Kernel):
    """``out`` seen as (outer, total); piece (buf, width, offset) fills columns offset:offset+width."""
    kind = "concat"
    pieces: tuple = read()
    out: Buffer = written()
    outer: Any
    total: Any


@dataclass(frozen=True, eq=False, kw_only=True)
class Slice(Kernel):
    """``out = x[...]`` with per-axis (start, step, count) in ``axes``."""
    kind = "slice"
    x: Buffer = read()
    out: Buffer = written()
    in_shape: tuple
    axes: list


@dataclass(frozen=True, eq=False, kw_only=True)
class SliceGrad(Kernel):
    """``out = 0; out[...] = g``: the gradient of a slice."""
    kind = "slice_grad"
    g: Buffer = read()
    out: Buffer = written()
    in_shape: tuple
    axes: list


@dataclass(frozen=True, eq=False, kw_only=True)
class Gather(Kernel):
    kind = "gather"
    table: Buffer = read()
    indices: Buffer = read()
    out: Buffer = written()
    rows: Any
    width: Any
    count: Any


@dataclass(frozen=True, eq=False, kw_only=True)
class ScatterAdd(Kernel):
    kind = "scatter_add"
    updates: Buffer = read()
    indices: Buffer = read()
    out: Buffer = written()
    rows: Any
    width: Any
    count: Any


@dataclass(frozen=True, eq=False, kw_only=True)
class OneHot(Kernel):
    kind = "one_hot"
    indices: Buffer = read()
    out: Buffer = written()
    count: Any
    depth: int


@dataclass(frozen=True, eq=False, kw_only=True)
class Random(Kernel):
    """``size`` draws from ``distribution`` keyed by the seed ``state`` and ``stream``."""
    kind = "random"
    state: Buffer = read()
    out: Buffer = written()
    size: Any
    distribution: str
    stream: int
    dtype: str


@dataclass(frozen=True, eq=False, kw_only=True)
class _Windows(Kernel):
    """The sliding-window geometry the window kernels share (see ``ir.ops.Window``): the input
    is (batch, *spatial, channels), the windows (batch, *out_spatial, *size, channels)."""
    batch: Any
    channels: Any
    spatial: tuple
    out_spatial: tuple
    size: tuple
    strides: tuple
    dilation: tuple
    pad_before: tuple
    pad_after: tuple
    dtype: str

    @staticmethod
    def geometry(window, x_shape):
        return dict(batch=x_shape[0], channels=x_shape[-1], spatial=window.spatial, out_spatial=window.out_spatial,
                    size=window.size, strides=window.strides, dilation=window.dilation,
                    pad_before=window.pad_before, pad_after=window.pad_after)


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowGather(_Windows):
    """``out[n, o, k, c] = x[n, o*strides + k*dilation - pad_before, c]``, or ``pad_value`` in the padding."""
    kind = "window_gather"
    lowers = ("WindowGather",)
    x: Buffer = read()
    out: Buffer = written()
    pad_value: float

    @classmethod
    def fields_from(cls, node, ins, out):
        return dict(x=ins[0], out=out, pad_value=node.op.pad_value, dtype=node.dtype,
                    **cls.geometry(node.op.window, node.inputs[0].shape))


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowScatter(_Windows):
    """``out = 0``, then every window element of ``g`` is added at the position of ``x`` that
    ``WindowGather`` read it from (elements from the padding are dropped)."""
    kind = "window_scatter"
    lowers = ("WindowScatter",)
    g: Buffer = read()
    out: Buffer = written()

    @classmethod
    def fields_from(cls, node, ins, out):
        return dict(g=ins[0], out=out, dtype=node.dtype, **cls.geometry(node.op.window, node.shape))


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowMax(_Windows):
    """``out[n, o, c]`` = the maximum of ``x`` over window ``o``'s positions inside the input."""
    kind = "window_max"
    lowers = ("WindowMax",)
    x: Buffer = read()
    out: Buffer = written()

    @classmethod
    def fields_from(cls, node, ins, out):
        return dict(x=ins[0], out=out, dtype=node.dtype, **cls.geometry(node.op.window, node.inputs[0].shape))


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowMaxGrad(_Windows):
    """``out = 0``, then ``g[n, o, c]`` is added where window ``o`` of ``x`` first holds its maximum."""
    kind = "window_max_grad"
    lowers = ("WindowMaxGrad",)
    x: Buffer = read()
    g: Buffer = read()
    out: Buffer = written()

    @classmethod
    def fields_from(cls, node, ins, out):
        return dict(x=ins[0], g=ins[1], out=out, dtype=node.dtype,
                    **cls.geometry(node.op.window, node.inputs[0].shape))


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowGemm(_Windows):
    """``c = windows(x) @ op(b)``, ``chunk`` samples at a time: the windows of a chunk go to
    ``scratch`` (sized to stay in cache) and are multiplied from there. Made by the program pass
    ``fuse_window_gemm`` from a window gather read only by one product."""
    kind = "window_gemm"
    x: Buffer = read()
    b: Buffer = read()
    c: Buffer = written()
    scratch: Buffer = written()
    pad_value: float
    chunk: int           # samples per chunk
    rows: int            # output positions per sample: the product's rows per sample
    k: Any
    n: Any
    tb: bool
    ldb: Any


@dataclass(frozen=True, eq=False, kw_only=True)
class Scan(Kernel):
    """``steps`` runs of ``body`` (the Program of one step, see ``ir.scan``). Before the loop each
    state's ``finals`` buffer takes its ``initial`` value and then holds the running state; a
    step reads its slice of each sequence (at the step's position, counted from the end when
    ``reverse``), the states and the parameters, writes its new states to ``next_states`` (copied
    into ``finals`` after the step) and each step output to its slice of ``stacked``. The body's
    temps are ``scratch``: temps of the enclosing program, live while the loop runs."""
    kind = "scan"
    sequences: tuple = read()
    initial: tuple = read()
    parameters: tuple = read()
    constants: tuple = read()
    finals: tuple = written()
    stacked: tuple = written()
    next_states: tuple = written()
    scratch: tuple = written()
    body: Any
    steps: Any
    reverse: bool


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowMaxArg(_Windows):
    """``WindowMax`` that also writes ``arg[n, o, c]``: the number (in row-major order over the window)
    of the first position holding the maximum, as ``WindowMaxGrad`` chooses it (int32). Made by the
    program pass ``pool_argmax_from_forward`` when the gradient of the same pooling follows."""
    kind = "window_max_arg"
    x: Buffer = read()
    out: Buffer = written()
    arg: Buffer = written()


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowMaxGradAt(_Windows):
    """``s = 0``, then ``g[n, o, c]`` is added at window ``o``'s position number ``arg[n, o, c]``:
    ``WindowMaxGrad`` with the positions the forward pass found (``WindowMaxArg``). ``outputs[i] =
    exprs[i]`` of ``s`` (``X[0]``) and of ``operands`` shaped as it (``X[1]`` …): ``s`` itself, or,
    when the windows tile the input (each element is written once), the elementwise kernel that
    followed (the activation's derivative; pass ``direct_pool_grad_epilogues``)."""
    kind = "window_max_grad_at"
    arg: Buffer = read()
    g: Buffer = read()
    operands: tuple = read()
    outputs: tuple = written()
    exprs: tuple

    @property
    def tiles(self):
        """Whether the windows tile the input: no overlap, no gap, no padding."""
        return all(st == k and d == 1 and b == 0 and a == 0 and o * st == s for s, o, k, st, d, b, a in
                   zip(self.spatial, self.out_spatial, self.size, self.strides, self.dilation, self.pad_before,
                       self.pad_after))


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowConv(_Windows):
    """``s[n, o, f] = sum over window position k and channel ch of x[n, o*strides + k*dilation -
    pad_before, ch] * w[k, ch, f]`` (zero padding), computed directly from ``x``: a convolution
    whose windows are too narrow (few channels) for a matrix product to pay off. ``block`` output
    positions along the last spatial axis are computed at a time, their ``n`` sums kept in
    registers. ``outputs[i] = exprs[i]`` of the sums (``X[0]``) and of per-channel ``operands``
    (``X[1]`` …, each of ``n`` values or one): the sums themselves, or the elementwise kernel that
    followed them (bias, activation). Made by the program passes ``direct_narrow_convolutions``
    (from a window gather and its product) and ``direct_conv_epilogues``."""
    kind = "window_conv"
    x: Buffer = read()
    w: Buffer = read()          # (window positions * channels, n), row-major
    operands: tuple = read()
    outputs: tuple = written()  # each (batch, *out_spatial, n)
    exprs: tuple
    n: int                      # output channels
    block: int


@dataclass(frozen=True, eq=False, kw_only=True)
class WindowConvFilterGrad(_Windows):
    """``dw[k, ch, f] = sum over samples n and output positions o of x[n, o*strides + k*dilation -
    pad_before, ch] * g[n, o, f]``: the kernel's gradient of a ``WindowConv`` (the windows' transposed
    product with ``g``), read straight from ``x``. ``block`` rows (k, ch) of ``dw`` are summed at a
    time in registers, over every output position of one sample."""
    kind = "window_conv_filter_grad"
    x: Buffer = read()
    g: Buffer = read()          # (batch, *out_spatial, n)
    dw: Buffer = written()      # (window positions * channels, n)
    n: int
    block: int


KINDS = (Elementwise, Gemm, Reduce, ArgMax, Softmax, Transpose, Copy, Concat, Slice, SliceGrad,
         Gather, ScatterAdd, OneHot, Random, WindowGather, WindowScatter, WindowMax, WindowMaxGrad,
         WindowGemm, Scan, WindowConv, WindowConvFilterGrad, WindowMaxArg, WindowMaxGradAt)

# The IR op names each kind lowers without a lowering method of its own.
LOWERINGS = {op: kind for kind in KINDS for op in kind.lowers}


@dataclass
class Program:
    name: str
    inputs: list
    outputs: list
    variables: list
    constants: list
    temps: list
    kernels: list
    regions: list = field(default_factory=list)   # (dtype, size in elements) of each temp region
    sizes: tuple = ()     # the size symbols after batch (named by the inputs' unknown axes), in order
