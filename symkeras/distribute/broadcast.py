"""Every process starts from the root's weights: one broadcast per dtype of every model weight and
optimizer variable, after checking that all processes built the same model."""

import json

import numpy as np

from symkeras import backend as K
from symkeras.distribute import comm


def broadcast_variables(model, root_rank=0):
    """Copy the root's model weights (and its optimizer's variables, once built) to every process.

    ValueError on every process, before anything is sent, if the processes' models differ (number,
    shapes or dtypes of their weights): the first difference is named."""
    _check_root(root_rank)
    groups = [(model.weights, model.get_weights, model.set_weights)]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        groups.append((optimizer.weights, optimizer.get_weights, optimizer.set_weights))
    variables = [v for vs, _, _ in groups for v in vs]
    _check_same_everywhere(variables, root_rank)
    values = [get() for _, get, _ in groups]
    flat = [np.array(a, order="C") for vs in values for a in vs]      # copies, of any rank
    for dtype in sorted({a.dtype.str for a in flat}):              # one Bcast per dtype
        members = [a for a in flat if a.dtype.str == dtype]
        buffer = np.concatenate([a.reshape(-1) for a in members])
        comm.broadcast_in_place(buffer, root_rank)
        at = 0
        for a in members:
            a.reshape(-1)[...] = buffer[at:at + a.size]
            at += a.size
    at = 0
    for (vs, _, set_values), _ in zip(groups, values):
        set_values(flat[at:at + len(vs)])
        at += len(vs)


def _check_root(root_rank):
    if isinstance(root_rank, bool) or not isinstance(root_rank, (int, np.integer)):
        raise TypeError(f"root_rank must be an int, got {root_rank!r}")
    if not 0 <= root_rank < comm.size():
        raise ValueError(f"root_rank must be in [0, {comm.size()}), got {root_rank}")


def _check_same_everywhere(variables, root_rank):
    mine = [[v.name, list(K.int_shape(v)), str(np.dtype(v.dtype))] for v in variables]
    everyone = [json.loads(text) for text in comm.allgather_text(json.dumps(mine))]
    root = everyone[root_rank]
    for r, theirs in enumerate(everyone):
        problem = _first_difference(root, theirs)
        if problem is not None:
            raise ValueError(f"broadcast from rank {root_rank}: the model on rank {r} differs from the one on "
                             f"rank {root_rank}: {problem}. Every process must build the same model.")


def _first_difference(root, theirs):
    for i, (a, b) in enumerate(zip(root, theirs)):
        if a[1:] != b[1:]:
            return (f"weight {i} is {b[0]!r} {tuple(b[1])} {b[2]} there, {a[0]!r} {tuple(a[1])} {a[2]} on the root")
    if len(root) != len(theirs):
        return f"it has {len(theirs)} weights and optimizer variables, the root {len(root)}"
    return None
