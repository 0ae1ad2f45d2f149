"""The backend-neutral program: buffers and kernels.

``schedule.lower`` turns an optimised FunctionGraph into a ``Program``: an ordered list
of kernels reading and writing named buffers. Each backend renders the same Program
with its own templates, so the NumPy and C versions of a function agree line by line.
Sizes are ints or SymPy expressions in ``batch``.
"""

from dataclasses import dataclass, field
from typing import Any

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
        return dims.to_keras(self.shape)


@dataclass(eq=False)
class Kernel:
    kind: str
    scope: str
    reads: list
    writes: list
    attrs: dict = field(default_factory=dict)

    def __getattr__(self, item):
        try:
            return self.__dict__["attrs"][item]
        except KeyError:
            raise AttributeError(item) from None


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
