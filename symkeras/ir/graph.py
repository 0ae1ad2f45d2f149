"""A function to generate: its inputs, outputs and variable updates, as one graph."""

from symkeras.ir import dims
from symkeras.ir import ops as O
from symkeras.ir.build import broadcast_to, ew
from symkeras.ir.node import Node, scope_of, toposort
from symkeras.ir.scalar import X


class FunctionGraph:
    """Inputs (placeholders), outputs, and updates (``Assign`` nodes).

    ``output_names`` (one per output, e.g. a model's ``metrics_names``) name the outputs in the
    generated code; without them they are ``out0``, ``out1`` …"""

    def __init__(self, inputs, outputs, updates=(), name="function", output_names=None):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.output_names = None if output_names is None else [str(n) for n in output_names]
        if self.output_names is not None and len(self.output_names) != len(self.outputs):
            raise ValueError(f"output_names: expected {len(self.outputs)} names, one per output, "
                             f"got {len(self.output_names)}")
        self.assigns = [u if isinstance(u.op, O.Assign) else None for u in updates]
        if any(a is None for a in self.assigns):
            raise TypeError("updates: expected Assign nodes")
        self.name = name
        for x in self.inputs:
            if not isinstance(x.op, O.Placeholder):
                raise TypeError(f"inputs: expected placeholders, got {x!r}")
        self._check_connected()

    @classmethod
    def from_pairs(cls, inputs, outputs, updates, name="function", output_names=None):
        assigns = []
        for var, value in updates:
            if value.dtype != var.dtype:
                value = ew(X[0], value, dtype=var.dtype)
            if value.shape != var.shape:
                value = broadcast_to(value, var.shape)
            assigns.append(O.Assign()(var, value))
        return cls(inputs, outputs, assigns, name, output_names)

    @property
    def roots(self):
        return self.outputs + self.assigns

    def nodes(self):
        return toposort(self.roots)

    def variables(self):
        """Variable nodes read or written, in a stable order."""
        seen, out = set(), []
        for n in self.nodes():
            if isinstance(n.op, O.Variable) and n.op.uid not in seen:
                seen.add(n.op.uid)
                out.append(n)
        return out

    def _check_connected(self):
        given = {id(x) for x in self.inputs}
        for n in self.nodes():
            if isinstance(n.op, O.Placeholder) and id(n) not in given:
                raise ValueError(f"graph disconnected: placeholder {n.name!r} is needed to compute the "
                                 f"outputs but is not among the inputs {[x.name for x in self.inputs]}")

    def rebuild(self, replace):
        """A new graph where every node is ``replace(node, new_inputs)`` bottom-up.

        Nodes that ``replace`` builds take the scope of the node they replace, so no rewrite loses
        the layer a kernel comes from (a node it returns as it is keeps its own)."""
        memo = {}
        for n in self.nodes():
            new_inputs = tuple(memo[id(x)] for x in n.inputs)
            with scope_of(n):
                memo[id(n)] = replace(n, new_inputs)
        graph = FunctionGraph.__new__(FunctionGraph)
        graph.inputs = [memo.get(id(x), x) for x in self.inputs]
        graph.outputs = [memo[id(x)] for x in self.outputs]
        graph.assigns = [memo[id(x)] for x in self.assigns]
        graph.name = self.name
        graph.output_names = self.output_names
        return graph

    def describe(self):
        """A readable listing of the graph (for SYMKERAS_DEBUG)."""
        names, lines = {}, []
        for i, n in enumerate(self.nodes()):
            names[id(n)] = f"%{i}"
            args = ", ".join(names[id(x)] for x in n.inputs)
            lines.append(f"%{i} = {n.op!r}({args}) : {dims.to_keras(n.shape)} {n.dtype}"
                         + (f"  # {n.scope}" if n.scope else ""))
        return "\n".join(lines)


def copy_node(node, inputs):
    """The same op applied to new inputs (or the node itself if nothing changed)."""
    if all(a is b for a, b in zip(inputs, node.inputs)):
        return node
    with scope_of(node):
        return Node(node.op, inputs, name=node.name)
