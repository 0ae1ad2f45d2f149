"""The Keras engine (``keras.engine``): layers, inputs, the functional graph and training.

It exports what Keras 2.2's ``keras.engine`` did (``Layer``, ``InputSpec``, ``Input``,
``InputLayer``, ``get_source_inputs``, ``Model``) and resolves its submodules by name
(``keras.engine.topology``, ``keras.engine.training``). Everything loads on first use, so
importing one engine module (``base_layer`` for a layer) never pulls in the training loop.
"""

import importlib

_EXPORTS = {"Layer": "base_layer", "InputSpec": "base_layer", "Input": "input_layer", "InputLayer": "input_layer",
            "get_source_inputs": "topology", "Network": "network", "Model": "training"}


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    if name.startswith("_"):           # dunder probes (inspect, pickle) are never submodules
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    full = f"{__name__}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as error:
        if error.name != full:
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
