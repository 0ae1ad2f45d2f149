"""Per-call state of a generated function, so that concurrent calls share no memory.

A call takes a ``CallContext`` (its workspace, and for C its argument block) from the
function's ``ContextPool`` and gives it back when done. Taking and giving back are single
list operations, atomic without a lock, so a context is only ever used by one call at a time.
A function that updates variables has an exclusive pool of one context: its calls take turns.
"""

import math
import threading

import numpy as np

# Larger byte counts cannot be allocated, and would overflow the generated code's int64 size
# arithmetic: a batch needing more is refused before anything reaches generated code.
ADDRESSABLE_BYTES = 2 ** 62
# Idle workspace a function keeps, beyond that of the context used last.
RETAINED_BYTES = 64 << 20
_HANDLES_PER_CONTEXT = 4


class MemoryLayout:
    """The byte counts the sizes of a call need (workspace, outputs), computed in Python ints;
    ``sizes`` is ``(batch, *others)`` throughout."""

    def __init__(self, regions, outputs):
        self.regions = [(size_of, np.dtype(dtype).itemsize) for dtype, size_of in regions]
        self.outputs = [(shape_of, np.dtype(dtype).itemsize) for shape_of, dtype in outputs]

    def workspace_bytes(self, sizes):
        """Workspace bytes for ``sizes`` (64-byte aligned regions, plus 64 for aligning the
        start), after checking that it and the outputs can exist at all."""
        workspace = sum(-(-size_of(*sizes) * itemsize // 64) * 64 for size_of, itemsize in self.regions) + 64
        outputs = sum(math.prod(shape_of(*sizes)) * itemsize for shape_of, itemsize in self.outputs)
        if workspace + outputs > ADDRESSABLE_BYTES:
            raise MemoryError(f"{_describe(sizes)}: the outputs and workspace would take {outputs + workspace} "
                              f"bytes, more than can be allocated")
        return workspace


class CallContext:
    """A workspace buffer and what was prepared from it, per ``sizes``; ``args`` is the C
    argument block (None for NumPy), bound to the arrays ``variables`` of ``epoch``."""

    __slots__ = ("buffer", "nbytes", "handles", "args", "epoch", "variables")

    def __init__(self, args=None):
        self.buffer, self.nbytes, self.handles = None, 0, {}
        self.args, self.epoch, self.variables = args, None, ()


class ContextPool:
    """The idle contexts of one function, most recently used last.

    ``new_args()`` makes a context's argument block; ``prepare(sizes, buffer)`` the handle the
    generated code gets as its workspace; ``runtime_bytes(*sizes)`` the generated code's own
    count of workspace bytes (the buffer holds the larger of that and the layout's).
    """

    def __init__(self, layout, prepare, runtime_bytes, new_args=lambda: None, exclusive=False):
        self.layout, self._prepare, self._runtime_bytes, self._new_args = layout, prepare, runtime_bytes, new_args
        self.retained_bytes = RETAINED_BYTES
        self._idle = [CallContext(new_args())] if exclusive else []
        # Only an exclusive pool makes callers wait; the condition wakes them.
        self._turns = threading.Condition() if exclusive else None
        self._waiting = 0

    def acquire(self):
        try:
            return self._idle.pop()
        except IndexError:
            return CallContext(self._new_args()) if self._turns is None else self._wait_for_turn()

    def release(self, context):
        idle = self._idle
        idle.append(context)
        if len(idle) > 1:
            self._trim(context)
        elif self._waiting:
            with self._turns:
                self._turns.notify()

    def _wait_for_turn(self):
        with self._turns:
            self._waiting += 1
            try:
                while True:
                    try:
                        return self._idle.pop()
                    except IndexError:
                        # The timeout covers a release that looked before this caller counted itself.
                        self._turns.wait(0.01)
            finally:
                self._waiting -= 1

    def workspace(self, context, sizes):
        """The workspace handle of ``context`` for ``sizes``, allocating or shrinking its buffer."""
        handle = context.handles.get(sizes)
        if handle is not None:
            return handle
        needed = self.layout.workspace_bytes(sizes)        # MemoryError before anything is allocated
        needed = max(needed, int(self._runtime_bytes(*sizes)))
        oversized = context.nbytes > self.retained_bytes and needed < context.nbytes // 2
        if needed > context.nbytes or oversized:
            context.handles.clear()
            context.buffer, context.nbytes = None, 0        # the old buffer may go before the new one comes
            context.buffer = _allocate(needed, sizes)
            context.nbytes = needed
        if len(context.handles) >= _HANDLES_PER_CONTEXT:
            context.handles.pop(next(iter(context.handles)))
        handle = context.handles[sizes] = self._prepare(sizes, context.buffer)
        return handle

    def idle_bytes(self):
        """Workspace bytes held by the idle contexts."""
        return sum(c.nbytes for c in list(self._idle))

    def _trim(self, newest):
        """Drop the oldest idle contexts while they hold more than ``retained_bytes``; the one
        just used stays. Each is taken off the list atomically, so none is in use when dropped."""
        held = self.idle_bytes()
        while held > self.retained_bytes:
            try:
                oldest = self._idle.pop(0)
            except IndexError:
                return
            if oldest is newest:
                self._idle.append(oldest)
                return
            held -= oldest.nbytes


def _describe(sizes):
    batch, *others = sizes
    return f"batch size {batch}" + (f" (other sizes {tuple(others)})" if others else "")


def _allocate(nbytes, sizes):
    try:
        return np.empty(nbytes, dtype=np.uint8)
    except MemoryError:
        raise MemoryError(f"{_describe(sizes)}: cannot allocate its workspace of {nbytes} bytes") from None
