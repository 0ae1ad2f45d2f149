"""Checks at the boundary of fit / evaluate / predict and the *_on_batch and *_generator methods.

1. Arguments: each argument's type and range, so a wrong value is a TypeError/ValueError that
   names it and says what was expected, raised before anything is built or trained.
2. Training data: NaN or infinity in ``x``, ``y``, ``sample_weight`` or ``class_weight`` is an
   error. Nothing downstream would notice: relu(NaN) is 0, so the loss stays finite while the
   weights fill with NaN. Array data is checked once per call, before the first step; generator
   and Sequence batches one by one. Predictions are not checked: NaN in gives NaN out.
"""

import math
import numbers

import numpy as np

from symkeras.callbacks import Callback, CallbackList

# Off only to measure what the finite checks cost (tools/bench_finite_check.py).
check_finite_data = True

# Elements per slice of a large array: a non-contiguous one is then copied a slice at a time.
_BLOCK = 1 << 18
_vdot = np.vdot


class NonFiniteDataError(ValueError):
    """NaN or infinity in training or evaluation data."""


# --------------------------------------------------------------------------- finite data
def _finite(block):
    # The sum of squares is finite if and only if every element is (NaN and inf never cancel
    # out), unless it overflows: then the elements decide. One BLAS dot, no temporary: a fraction
    # of the time of isfinite(block).all(), which matters on train_on_batch's short path.
    return math.isfinite(_vdot(block, block)) or bool(np.isfinite(block).all())


def _all_finite(array):
    if array.size <= _BLOCK:
        return _finite(array)
    rows = max(1, _BLOCK // (array.size // len(array)))
    return all(_finite(array[start:start + rows]) for start in range(0, len(array), rows))


def check_finite(arrays, argument, names):
    """NonFiniteDataError at the first NaN/inf of the float arrays in ``arrays`` (None entries and
    integer arrays are skipped). ``argument`` is the user's argument (``x``, ``y``,
    ``sample_weight``), ``names`` the model input or output name of each array."""
    if not check_finite_data:
        return
    for array in arrays:
        if array is not None and array.dtype.kind == "f" and not _all_finite(array):
            _raise_first_non_finite(arrays, argument, names)


def batch_is_finite(x, y):
    """Whether ``x`` and ``y`` hold no NaN or inf (or the check is off), with as little Python
    around it as possible: the short path of train_on_batch / test_on_batch asks on every call."""
    return not check_finite_data or (_finite(x) and _finite(y))


def _raise_first_non_finite(arrays, argument, names):
    for i, (array, name) in enumerate(zip(arrays, names)):
        if array is None or array.dtype.kind != "f" or _all_finite(array):
            continue
        where = tuple(int(k) for k in np.argwhere(~np.isfinite(array))[0])
        label = argument if len(arrays) == 1 else f"{argument}[{i}]"
        element = f", element {where}" if len(where) > 1 else ""
        raise NonFiniteDataError(
            f"`{label}` ({name!r}) contains {array[where]} at sample {where[0]}{element}: NaN and infinity "
            "cannot be trained on or scored (the weights would silently turn to NaN). Replace or drop "
            "those samples; np.isfinite finds them.")


def check_class_weight(table, name):
    """ValueError at the first class whose weight is NaN or infinite (``table``: class → float)."""
    if not check_finite_data:
        return
    for key, value in table.items():
        if not math.isfinite(value):
            where = f" for output {name!r}" if name is not None else ""
            raise NonFiniteDataError(f"`class_weight`{where}: the weight of class {key} is {value}; class "
                                     "weights must be finite numbers.")


# --------------------------------------------------------------------------- arguments
def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _integer(minimum, optional=False, meaning=""):
    """An int (Python or NumPy) of at least ``minimum``; None too when ``optional``."""
    kind = {0: "a non-negative integer", 1: "a positive integer"}[minimum]
    expected = f"{kind}{' or None' if optional else ''}{meaning}"

    def check(value):
        if value is None and optional:
            return None
        if not _is_integer(value):
            return TypeError, expected
        if value < minimum:
            return ValueError, expected
        return None

    return check


def _flag(value):
    if isinstance(value, (bool, np.bool_)) or (_is_integer(value) and value in (0, 1)):
        return None
    return TypeError, "True or False"


def _verbose(value):
    if isinstance(value, str):
        return None if value == "auto" else (ValueError, _VERBOSE)
    if isinstance(value, (bool, np.bool_)) or _is_integer(value):
        return None if value in (0, 1, 2) else (ValueError, _VERBOSE)
    return TypeError, _VERBOSE


_VERBOSE = "0 (silent), 1 (progress bar), 2 (one line per epoch) or 'auto'"


def _callbacks(value):
    if value is None or isinstance(value, CallbackList):
        return None
    expected = "a list of Callback instances"
    if not isinstance(value, (list, tuple)):
        return TypeError, expected
    for i, cb in enumerate(value):
        if isinstance(cb, type) and issubclass(cb, Callback):
            return TypeError, f"{expected}; item {i} is the class {cb.__name__}, not an instance: " \
                              f"{cb.__name__}(...)"
        if not isinstance(cb, Callback):
            return TypeError, f"{expected}; item {i} is {_show(cb)}"
    return None


def _validation_split(value):
    expected = "a float in [0, 1)"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return TypeError, expected
    return None if 0.0 <= value < 1.0 else (ValueError, expected)


def _validation_freq(value):
    # Keras raises ValueError for both a wrong type and a value below 1.
    if _is_integer(value):
        return None if value >= 1 else (ValueError, "an integer >= 1 (validate every that many epochs)")
    expected = "an integer >= 1 or a container of epoch numbers (e.g. a list)"
    try:
        if isinstance(value, str) or not all(_is_integer(e) for e in value):
            return ValueError, expected
    except TypeError:
        return ValueError, expected
    return None


def _shuffle(value):
    if isinstance(value, str):
        return None if value == "batch" else (ValueError, _SHUFFLE)
    return None if isinstance(value, (bool, np.bool_)) else (TypeError, _SHUFFLE)


_SHUFFLE = "True, False or 'batch'"


def _class_weight(value):
    if value is None or isinstance(value, (dict, list, tuple)):
        return None
    return TypeError, "a dict mapping class indices to weights (or, for several outputs, a dict by output " \
                      "name or a list of such dicts)"


_RULES = {
    "epochs": _integer(0, meaning=" (the index of the epoch to stop before)"),
    "initial_epoch": _integer(0),
    "batch_size": _integer(1, optional=True),
    "validation_batch_size": _integer(1, optional=True),
    "steps_per_epoch": _integer(1, optional=True),
    "validation_steps": _integer(1, optional=True),
    "steps": _integer(1, optional=True),
    "max_queue_size": _integer(1),
    "workers": _integer(0),
    "verbose": _verbose,
    "callbacks": _callbacks,
    "validation_split": _validation_split,
    "validation_freq": _validation_freq,
    "shuffle": _shuffle,
    "class_weight": _class_weight,
    "use_multiprocessing": _flag,
    "return_dict": _flag,
    "reset_metrics": _flag,
}


def _show(value):
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_arguments(method, **arguments):
    """TypeError/ValueError naming the first argument of ``method`` whose value is wrong."""
    for name, value in arguments.items():
        problem = _RULES[name](value)
        if problem is not None:
            error, expected = problem
            raise error(f"{method}: `{name}` must be {expected}, got {_show(value)}")
