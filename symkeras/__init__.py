"""symkeras: the Keras functional-model API, compiled to readable NumPy and C.

``import symkeras as keras`` gives Keras 2's namespace: the submodules (``keras.layers``,
``keras.utils``, ``keras.datasets``, ...) and ``Input``, ``Model``, ``Sequential``. Each loads on
first use (PEP 562 ``__getattr__``), so ``import symkeras`` stays cheap: SymPy and the backend load
with the first layer or ``K`` call, and ``keras.datasets`` or ``keras.utils`` never need them.
"""

import importlib

from symkeras.version import __version__  # noqa: F401

_SUBMODULES = ("activations", "backend", "callbacks", "constraints", "datasets", "engine", "initializers",
               "layers", "losses", "metrics", "models", "optimizers", "preprocessing", "regularizers", "utils",
               "wrappers")
# Keras 2 also puts these at the top: keras.Input, keras.Model, keras.Sequential.
_TOP_LEVEL = {"Input": "symkeras.engine.input_layer", "Model": "symkeras.engine.training",
              "Sequential": "symkeras.models"}


def __getattr__(name):
    if name in _TOP_LEVEL:
        value = getattr(importlib.import_module(_TOP_LEVEL[name]), name)
        globals()[name] = value
        return value
    if name.startswith("_"):           # dunder probes (inspect, pickle) are never submodules
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Any submodule by name: the Keras ones above, and the compiler's own (ir, codegen, config, ...).
    full = f"{__name__}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as error:
        if error.name != full:       # the submodule exists but something it imports is missing
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | set(_TOP_LEVEL))
