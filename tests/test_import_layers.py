"""Imports run one way: ir → codegen → runtime → backend → Keras objects → engine → layers/models.

The graph is read from the source with `ast`, not from `sys.modules`, so it shows what a module needs
at import time: top-level `import`/`from` statements only. Imports inside functions and under
`if TYPE_CHECKING:` are not edges; an import of a symkeras module inside a function says why in a
comment (it breaks a cycle, or keeps an upward lookup out of import time).
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "symkeras"

# Keras's own shape: models re-exports saving.load_model, and load_model rebuilds the model through
# models.model_from_json.
ALLOWED_CYCLES = [
    frozenset({"symkeras.engine.saving", "symkeras.models"}),
]

# Rooms from left to right; a module may import its own room and rooms to its left.
# "settings" (config, session, version) import no symkeras module; utils (registries, Progbar,
# Sequence, atomic files) need nothing of the backend.
ROOMS = ["settings", "ir", "codegen", "runtime", "utils", "backend", "keras_objects", "engine", "layers_models"]


def _room(module):
    parts = module.split(".")
    if len(parts) == 1:
        return None                                   # the package's own __init__ imports the backend
    top = parts[1]
    if top in ("config", "session", "version"):
        return "settings"
    if top in ("ir", "codegen", "runtime", "utils", "backend", "engine"):
        return top
    if top in ("layers", "models", "wrappers"):           # wrappers build models: the top room
        return "layers_models"
    return "keras_objects"                            # activations, losses, optimizers, metrics, …


def _module_files():
    base = os.path.join(ROOT, PACKAGE)
    for folder, _, files in os.walk(base):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if relative[-1] == "__init__":
                relative = relative[:-1]
            yield ".".join(relative), path


def _is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level_imports(tree):
    """Import statements that run when the module is imported: the module body, and the bodies of
    top-level `if`/`try` blocks, but nothing inside a function, a class method, or `if TYPE_CHECKING`."""
    pending = list(tree.body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement
        elif isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                pending.extend(statement.body)
            pending.extend(statement.orelse)
        elif isinstance(statement, ast.Try):
            pending.extend(statement.body + statement.orelse + statement.finalbody)
            for handler in statement.handlers:
                pending.extend(handler.body)
        elif isinstance(statement, ast.ClassDef):
            pending.extend(s for s in statement.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _import_graph():
    modules = dict(_module_files())
    graph = {}
    for module, path in modules.items():
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
        is_package = path.endswith("__init__.py")
        targets = set()
        for statement in _top_level_imports(tree):
            if isinstance(statement, ast.Import):
                names = [alias.name for alias in statement.names]
            else:
                if statement.level:
                    anchor = module.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[:len(anchor) - statement.level + 1]
                    base = ".".join(anchor + ([statement.module] if statement.module else []))
                else:
                    base = statement.module
                # `from pkg import name` imports pkg.name when that is a module, else pkg itself.
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                         for alias in statement.names]
            for name in names:
                # `import a.b.c` runs a, a.b and a.b.c: the edge goes to the deepest module we know.
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module and name.split(".")[0] == PACKAGE:
                    targets.add(name)
        graph[module] = targets
    return graph


def _strongly_connected(graph):
    """Tarjan's algorithm: the groups of modules that import one another, directly or around a loop."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [group for group in groups if len(group) > 1]


def import_cycles():
    return _strongly_connected(_import_graph())


def test_no_import_cycle_but_the_keras_one():
    unexpected = [sorted(group) for group in import_cycles() if group not in ALLOWED_CYCLES]
    assert not unexpected, f"modules that import one another at import time: {unexpected}"


def test_each_room_imports_only_rooms_to_its_left():
    wrong = []
    for module, targets in _import_graph().items():
        room = _room(module)
        if room is None:
            continue
        for target in targets:
            target_room = _room(target)
            if target_room is not None and ROOMS.index(target_room) > ROOMS.index(room):
                if frozenset({module, target}) not in ALLOWED_CYCLES:
                    wrong.append(f"{module} ({room}) imports {target} ({target_room})")
    assert not wrong, "imports against the pipeline:\n" + "\n".join(sorted(wrong))


def test_an_import_inside_a_function_says_why():
    silent = []
    for module, path in _module_files():
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        lines = source.splitlines()
        for function in ast.walk(ast.parse(source, filename=path)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for statement in ast.walk(function):
                if isinstance(statement, ast.Import):
                    names = [alias.name for alias in statement.names]
                elif isinstance(statement, ast.ImportFrom) and not statement.level:
                    names = [statement.module or ""]
                else:
                    continue
                if not any(name.split(".")[0] == PACKAGE for name in names):
                    continue
                line, above = lines[statement.lineno - 1], lines[statement.lineno - 2].strip()
                if "#" not in line and not above.startswith("#"):
                    silent.append(f"{module}:{statement.lineno}: {line.strip()}")
    assert not silent, "imports inside functions without a comment saying why:\n" + "\n".join(silent)


def test_node_imports_nothing_of_the_ir_above_it():
    """Node's Python operators live in build.py: node.py imports, even inside functions, only dims."""
    path = os.path.join(ROOT, PACKAGE, "ir", "node.py")
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=path)
    imported = set()
    for statement in ast.walk(tree):
        if isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith(PACKAGE):
            imported |= {f"{statement.module}.{alias.name}" for alias in statement.names}
        elif isinstance(statement, ast.Import):
            imported |= {alias.name for alias in statement.names if alias.name.startswith(PACKAGE)}
    assert imported <= {"symkeras.ir.dims"}, sorted(imported)


def test_the_walk_sees_the_package():
    graph = _import_graph()
    assert "symkeras.ir.node" in graph and "symkeras.backend" in graph
    assert "symkeras.ir.node" in graph["symkeras.ir.ops"]


if __name__ == "__main__":
    for group in import_cycles():
        print(sorted(group))
