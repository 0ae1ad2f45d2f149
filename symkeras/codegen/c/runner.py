"""Call a built C function: bind NumPy arrays to its argument block through cffi."""

from symkeras.codegen.c import build
from symkeras.codegen.c.render import CTYPES
from symkeras.ir.ops import VariableStorage


class CRunner:
    """Runs one ``CSource`` (built through the on-disk cache) on the variables' arrays."""

    def __init__(self, code, storages):
        built = build.build_module(code.source, code.cdef)
        self.path, self.compiled = built.source_path, built.compiled
        self.ffi, lib = built.ffi, built.lib
        self.fn = getattr(lib, code.symbol)
        self.args_type = f"{code.args_type} *"
        self.workspace_bytes = getattr(lib, code.workspace_symbol)
        self.size_fields = code.size_fields
        roles = {"input": [], "output": [], "variable": []}
        for field, role, dtype in code.fields:
            roles[role].append((field, CTYPES[dtype] + "[]"))
        self.input_fields, self.output_fields = roles["input"], roles["output"]
        self.storages = storages
        self.variable_fields = roles["variable"]
        self._profile = getattr(lib, code.profile_symbol) if code.profile_symbol else None
        self.kernel_labels = code.kernel_labels

    def profile(self):
        """Seconds spent in each kernel over all calls so far, or None when built without profiling."""
        if self._profile is None:
            return None
        return self.ffi.unpack(self._profile(), len(self.kernel_labels))

    def new_args(self):
        return self.ffi.new(self.args_type)

    def prepare(self, sizes, buffer):
        """The workspace pointer: the buffer's first 64-byte aligned address."""
        return self.ffi.from_buffer("char[]", buffer[(-buffer.ctypes.data) % 64:])

    def _bind_variables(self, context):
        """Point the context's args at the variables' arrays (they are updated in place), and
        hold them: an array replaced meanwhile stays valid until the next call re-binds."""
        epoch = VariableStorage.epoch                   # read first: a later change re-binds again
        arrays = [storage.value for storage in self.storages]
        for (field, ctype), storage, arr in zip(self.variable_fields, self.storages, arrays):
            if not arr.flags.c_contiguous or not arr.flags.writeable:
                raise ValueError(f"variable {storage.name!r}: its array must be C-contiguous and writeable")
            setattr(context.args, field, self.ffi.from_buffer(ctype, arr))
        context.variables, context.epoch = arrays, epoch

    def run(self, context, sizes, inputs, outputs, workspace):
        if context.epoch != VariableStorage.epoch:
            self._bind_variables(context)
        args, from_buffer = context.args, self.ffi.from_buffer
        args.batch = sizes[0]
        for field, size in zip(self.size_fields, sizes[1:]):
            setattr(args, field, size)
        for (field, ctype), arr in zip(self.input_fields, inputs):
            setattr(args, field, from_buffer(ctype, arr))
        for (field, ctype), arr in zip(self.output_fields, outputs):
            setattr(args, field, from_buffer(ctype, arr))
        self.fn(args, workspace)
