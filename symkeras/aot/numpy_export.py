"""A model exported as a Python package that needs NumPy alone.

``export_numpy(model, directory, name, functions)`` writes ``directory/name/``:

- one generated module per function (``predict.py``, ``train_step.py``, ``test_step.py``): the
  very NumPy source symkeras runs, unchanged;
- ``weights.npz``: every variable the functions read or update (weights, optimizer state, random
  state), under the keys ``v0``, ``v1``, … (read with ``allow_pickle=False``);
- ``__init__.py``: a ``Model`` class holding those arrays, with ``predict(...)`` and, when exported,
  ``train_step(...)`` / ``test_step(...)``; each checks its inputs, allocates the outputs and the
  workspace, and calls the generated function. Training steps update the arrays in place.

No user string reaches the code: variables are numbered, names appear only in comments made
inert by ``codegen.names``, and shapes and dtypes are printed from the graph.
"""

import os

import numpy as np

from symkeras.codegen.names import python_comment
from symkeras.codegen.numpy.printer import print_expr
from symkeras.ir import dims
from symkeras.runtime.function import GeneratedFunction
from symkeras.utils.atomic_files import write_atomically

_KINDS = {"predict": "predict", "train": "train_step", "test": "test_step"}


def export_numpy(model, directory, name, functions=("predict",)):
    """Write the package ``directory/name`` and return its path (see the module docstring)."""
    functions = [functions] if isinstance(functions, str) else list(functions)
    if not functions or any(f not in _KINDS for f in functions):
        raise ValueError(f"export_numpy: functions must name 'predict', 'train' or 'test', got {functions!r}")
    if not name.isidentifier() or not name.isascii():
        raise ValueError(f"export_numpy: name must be a Python identifier, got {name!r}")
    built = {kind: GeneratedFunction(model.function_graph(kind), backend="numpy") for kind in functions}
    for kind, fn in built.items():
        if len(fn.sizes) != 1:
            raise NotImplementedError(f"export_numpy: the {kind} function has inputs with unknown sizes besides the "
                                      "batch; only the batch may be unknown in an exported model yet")
    storages = []                                # every variable once, in the order first met
    for fn in built.values():
        for storage in fn.storages:
            if all(storage is not s for s in storages):
                storages.append(storage)
    package = os.path.join(directory, name)
    os.makedirs(package, exist_ok=True)
    files = {f"{_KINDS[kind]}.py": fn.source for kind, fn in built.items()}
    files["__init__.py"] = _package_source(model, name, built, storages)
    for filename, text in files.items():
        write_atomically(os.path.join(package, filename), lambda f, text=text: f.write(text.encode("utf-8")))
    arrays = {f"v{i}": np.asarray(s.value) for i, s in enumerate(storages)}
    write_atomically(os.path.join(package, "weights.npz"), lambda f: np.savez(f, **arrays))
    return package


def _package_source(model, name, built, storages):
    lines = [f'"""{python_comment(model.name)}: exported by symkeras for NumPy alone. Do not edit.',
             "",
             "    from <this package> import Model",
             "    model = Model()                 # weights.npz beside this file, or Model(path)",
             ]
    for kind in built:
        lines.append(f"    model.{_KINDS[kind]}(*inputs)   # -> list of outputs")
    lines += ['"""', "", "import os", "", "import numpy as np", ""]
    lines += [f"from . import {_KINDS[kind]} as _{_KINDS[kind]}" for kind in built]
    lines += ["", "# The variables, numbered as in weights.npz:"]
    lines += [f"#   v{i}: {python_comment(s.name)} {tuple(np.shape(s.value))} {np.asarray(s.value).dtype}"
              for i, s in enumerate(storages)]
    lines += ["", "", "class Model:", "    def __init__(self, path=None):",
              "        path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), 'weights.npz')",
              "        with np.load(path, allow_pickle=False) as data:",
              f"            self.variables = [np.ascontiguousarray(data['v%d' % i]) for i in range({len(storages)})]"]
    for kind, fn in built.items():
        lines += [""] + _method(kind, fn, storages)
    lines += ["", "", "def _input(value, dtype, shape, position):",
              "    array = np.ascontiguousarray(value, dtype=dtype)",
              "    if array.ndim != len(shape) or any(d is not None and d != n for d, n in zip(shape, array.shape)):",
              "        raise ValueError('input %d: expected shape %s, got %s' % (position, shape, array.shape))",
              "    return array", ""]
    return "\n".join(lines)


def _method(kind, fn, storages):
    method = _KINDS[kind]
    indices = [next(i for i, s in enumerate(storages) if s is storage) for storage in fn.storages]
    inputs = [(str(spec.dtype), dims.to_keras(spec.shape)) for spec in fn.input_specs]
    outputs = [("(" + "".join(print_expr(d) + ", " for d in shape) + ")", dtype) for shape, dtype in fn.output_specs]
    lines = [f"    def {method}(self, *inputs):",
             f'        """{len(inputs)} input(s): ' + "; ".join(f"{dt} {shape}" for dt, shape in inputs)
             + f'. Returns {len(outputs)} output(s)."""',
             f"        if len(inputs) != {len(inputs)}:",
             f"            raise ValueError('{method}: expected {len(inputs)} inputs, got %d' % len(inputs))",
             f"        specs = {inputs!r}",
             "        arrays = [_input(v, dt, shape, i) for i, (v, (dt, shape)) in enumerate(zip(inputs, specs))]",
             "        batch = arrays[0].shape[0] if arrays else 1",
             "        if any(a.shape[0] != batch for a in arrays):",
             f"            raise ValueError('{method}: the inputs differ in batch size')",
             "        outputs = [" + ", ".join(f"np.empty({shape}, {dtype!r})" for shape, dtype in outputs) + "]",
             f"        buffer = np.empty(_{method}.workspace_bytes(batch), np.uint8)",
             f"        variables = [self.variables[i] for i in {indices!r}]",
             f"        _{method}.{fn.name}(batch, *arrays, *outputs, *variables,",
             f"            _{method}.workspace_views(batch, buffer))",
             "        return outputs"]
    return lines
