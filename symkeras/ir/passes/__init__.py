"""Graph rewrites, grouped in named phases. Each pass maps a FunctionGraph to a new one.

The pipeline is data: ``PIPELINE`` can be printed, and any pass switched off by name
with ``SYMKERAS_DISABLE_PASSES=cse,fuse_elementwise`` (for debugging a miscompile).

Every pass rewrites through ``FunctionGraph.rebuild``: a node it builds in place of another takes
that node's scope, so each kernel still names the layer it comes from.
"""

import os

from symkeras.ir.passes.cse import cse
from symkeras.ir.passes.fold import inline_constants, remove_identities, remove_stop_gradient
from symkeras.ir.passes.fuse import fuse_elementwise
from symkeras.ir.passes.gemm import fold_transposes

PIPELINE = (
    ("lower", (remove_stop_gradient,)),
    ("simplify", (inline_constants, remove_identities, cse)),
    ("gemm", (fold_transposes,)),
    ("fuse", (fuse_elementwise, cse)),
)


def disabled_passes():
    return {p.strip() for p in os.environ.get("SYMKERAS_DISABLE_PASSES", "").split(",") if p.strip()}


def optimize(graph, log=None):
    """Run every enabled pass in order; ``log(phase, pass_name, graph)`` sees each result."""
    off = disabled_passes()
    for phase, passes in PIPELINE:
        for p in passes:
            if p.__name__ in off:
                continue
            graph = p(graph)
            if log is not None:
                log(phase, p.__name__, graph)
    return graph


def describe_pipeline():
    return "\n".join(f"{phase}: " + ", ".join(p.__name__ for p in passes) for phase, passes in PIPELINE)
