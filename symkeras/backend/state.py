"""The backend's process-wide state: the learning phase and the uids of ``get_uid``.

A model builds its train function with ``training=True`` and its other functions with False:
layers receive the flag as a Python bool, and each function is compiled for one phase. Outside
that, the phase is ``set_learning_phase``'s value, ``learning_phase_scope``'s, or else a scalar
int32 placeholder, ``keras_learning_phase``, that a function may take as an input (0 = test,
1 = train) and that reads as 0 (test) in a function that does not take it.
"""

import contextlib

from symkeras.ir import ops as O
from symkeras.ir import scalar
from symkeras.ir.graph import copy_node
from symkeras.ir.node import Node, toposort

_PHASE = {"placeholder": None, "value": None}
_SCOPED = []
_UIDS = {}
_MANUAL_INIT = [False]


def learning_phase():
    """The learning phase: 0 or 1 when set (``set_learning_phase``, ``learning_phase_scope``), else the
    placeholder ``keras_learning_phase``."""
    if _SCOPED:
        return _SCOPED[-1]
    if _PHASE["value"] is not None:
        return _PHASE["value"]
    if _PHASE["placeholder"] is None:
        _PHASE["placeholder"] = O.placeholder((), dtype="int32", name="keras_learning_phase")
    return _PHASE["placeholder"]


def _check_phase(value):
    if isinstance(value, Node) or value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1, got {value!r}")
    return int(value)


def set_learning_phase(value):
    """Fix the learning phase to 0 (test) or 1 (train) for the graphs built from now on."""
    _PHASE["value"] = _check_phase(value)


@contextlib.contextmanager
def learning_phase_scope(value):
    """Within the block, ``learning_phase()`` is ``value`` (0 or 1)."""
    _SCOPED.append(_check_phase(value))
    try:
        yield value
    finally:
        _SCOPED.pop()


def reset_learning_phase():
    """Back to the placeholder (a new one), as after ``K.clear_session()``."""
    _PHASE["placeholder"], _PHASE["value"] = None, None


def feed_default_phase(inputs, roots):
    """``roots`` with the learning-phase placeholder read as 0 (the test phase) where a function
    does not take it as an input."""
    phase = _PHASE["placeholder"]
    if phase is None or any(x is phase for x in inputs):
        return roots
    order = toposort(roots)
    if not any(n is phase for n in order):
        return roots
    memo = {id(phase): O.constant(0, dtype="int32")}
    choice = scalar.select(scalar.X[0], scalar.X[1], scalar.X[2])
    for n in order:
        if id(n) in memo:
            continue
        test_branch = n.inputs[2] if len(n.inputs) == 3 else None
        if (n.inputs and n.inputs[0] is phase and isinstance(n.op, O.Elemwise) and n.op.expr == choice
                and test_branch.shape == n.shape and test_branch.dtype == n.dtype):
            memo[id(n)] = memo[id(test_branch)]          # in_train_phase's switch: its test branch
        else:
            memo[id(n)] = copy_node(n, tuple(memo[id(x)] for x in n.inputs))
    return [memo[id(r)] for r in roots]


def get_uid(prefix=""):
    """1, 2, 3 ... per prefix (``reset_uids`` starts again)."""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]


def reset_uids():
    _UIDS.clear()


def manual_variable_initialization(value):
    """Accepted for compatibility: a variable holds its initial value from the moment it is made."""
    _MANUAL_INIT[0] = bool(value)
