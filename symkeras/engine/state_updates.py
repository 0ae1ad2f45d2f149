"""Updates that run in every function, not only in training: a stateful RNN keeps its states
between batches and between calls of fit, evaluate and predict alike (as tf-keras does).

While a function's graph is built (``collect``), such layers ``record`` (variable, value) pairs;
the function then applies them with its other updates.
"""

import contextlib
import threading

_local = threading.local()


@contextlib.contextmanager
def collect():
    """Collect the state updates recorded while the block builds a graph."""
    previous = getattr(_local, "sink", None)
    sink = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous


def record(pairs):
    """Record (variable, value) pairs for the function being built (outside one: dropped)."""
    sink = getattr(_local, "sink", None)
    if sink is not None:
        sink.extend(pairs)
