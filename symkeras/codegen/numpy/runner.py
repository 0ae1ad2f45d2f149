"""Run a rendered NumPy module: the source rendered in this process, executed in a fresh module."""

import hashlib
import linecache
import os
import types

import numpy as np

from symkeras.codegen import cache, names


class NumPyRunner:
    def __init__(self, code, storages):
        self.path, module, self.compiled = _load_python_module(code.source, code.symbol)
        self.fn = getattr(module, code.symbol)
        self.storages = storages
        self.workspace_bytes, self._views = module.workspace_bytes, module.workspace_views
        self._profile = getattr(module, "_sk_profile_seconds", None)
        self.kernel_labels = code.kernel_labels

    def profile(self):
        """Seconds spent in each kernel over all calls so far, or None when built without profiling."""
        return None if self._profile is None else list(self._profile)

    @staticmethod
    def new_args():
        return None

    def prepare(self, sizes, buffer):
        return self._views(*sizes, buffer)

    def run(self, context, sizes, inputs, outputs, workspace):
        # NumPy evaluates both branches of np.where: its warnings there are not the user's business
        # (the C backend computes the same values silently).
        with np.errstate(all="ignore"):
            self.fn(*sizes, *inputs, *outputs, *[s.value for s in self.storages], workspace)


def _load_python_module(source, name):
    digest = hashlib.sha256(source.encode()).hexdigest()
    folder = os.path.join(cache.cache_root(), "numpy")
    os.makedirs(folder, exist_ok=True)
    # The name only makes the file easier to spot: bounded, so no name is too long for a path.
    path = os.path.join(folder, f"{names.identifier(name)[:40]}_{digest[:20]}.py")
    written = not os.path.exists(path) or _read(path) != source
    if written:
        cache.write_atomic(path, source)
    # What runs is the source rendered here, never the file read back (and no bytecode is cached).
    module = types.ModuleType(f"symkeras_generated_{digest[:20]}")
    module.__file__ = path
    linecache.cache[path] = (len(source), None, source.splitlines(keepends=True), path)
    exec(compile(source, path, "exec"), module.__dict__)
    return path, module, written


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
