"""Graph rewrites, grouped in named phases. Each pass maps a FunctionGraph to a new one.

The pipeline is data: ``PIPELINE`` can be printed, and any pass switched off by name
with ``SYMKERAS_DISABLE_PASSES=cse,fuse_elementwise`` (for debugging a miscompile). The same
plumbing (``run_pipeline``, ``describe``, ``required``) runs codegen's program passes.

Every pass rewrites through ``FunctionGraph.rebuild``: a node it builds in place of another takes
that node's scope, so each kernel still names the layer it comes from.
"""

import os
import warnings

from symkeras.ir.passes.cse import cse
from symkeras.ir.passes.fold import inline_constants, remove_identities, remove_stop_gradient
from symkeras.ir.passes.fuse import fuse_elementwise
from symkeras.ir.passes.gemm import fold_transposes
from symkeras.ir.passes.scan import prune_scan_outputs

PIPELINE = (
    ("lower", (remove_stop_gradient,)),
    ("simplify", (inline_constants, remove_identities, cse, prune_scan_outputs)),
    ("gemm", (fold_transposes,)),
    ("fuse", (fuse_elementwise, cse)),
)


def disabled_passes():
    return {p.strip() for p in os.environ.get("SYMKERAS_DISABLE_PASSES", "").split(",") if p.strip()}


def pass_names(pipeline):
    return {p.__name__ for _, passes in pipeline for p in passes}


def check_disabled(*pipelines):
    """ValueError if SYMKERAS_DISABLE_PASSES names a pass none of ``pipelines`` has (a typo would
    otherwise switch nothing off, silently)."""
    known = set().union(*(pass_names(p) for p in pipelines))
    unknown = sorted(disabled_passes() - known)
    if unknown:
        raise ValueError(f"SYMKERAS_DISABLE_PASSES: no pass named {', '.join(map(repr, unknown))}; "
                         f"the passes are {', '.join(sorted(known))}")


def required(rewrite):
    """Mark a pass the compiler cannot do without: it runs even when named in SYMKERAS_DISABLE_PASSES."""
    rewrite.required = True
    return rewrite


def is_required(rewrite):
    return getattr(rewrite, "required", False)


def run_pipeline(pipeline, value, log=None):
    """Run every enabled pass of ``pipeline`` ((phase, passes), ...) on ``value`` in order;
    ``log(phase, pass_name, value)`` sees each result."""
    off = disabled_passes()
    for phase, passes in pipeline:
        for p in passes:
            if p.__name__ in off:
                if not is_required(p):
                    continue
                warnings.warn(f"SYMKERAS_DISABLE_PASSES: {p.__name__} is required and cannot be switched off",
                              stacklevel=2)
            value = p(value)
            if log is not None:
                log(phase, p.__name__, value)
    return value


def describe(pipeline):
    """One line per phase: ``phase: pass, pass (required)``."""
    return "\n".join(f"{phase}: " + ", ".join(p.__name__ + (" (required)" if is_required(p) else "")
                                             for p in passes) for phase, passes in pipeline)


def optimize(graph, log=None):
    """Run every enabled graph pass in order; ``log(phase, pass_name, graph)`` sees each result."""
    return run_pipeline(PIPELINE, graph, log)


def describe_pipeline():
    return describe(PIPELINE)
