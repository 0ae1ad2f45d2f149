"""Process-wide settings: default float type, fuzz factor, backend choice."""

import os

_FLOATX = "float32"
_EPSILON = 1e-7
BACKENDS = ("c", "numpy")


def floatx():
    return _FLOATX


def set_floatx(value):
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"floatx: expected 'float32' or 'float64', got {value!r}")
    _FLOATX = str(value)


def epsilon():
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def requested_backend(backend=None):
    """The backend asked for: argument > $SYMKERAS_BACKEND > 'c'."""
    choice = backend if backend is not None else os.environ.get("SYMKERAS_BACKEND", "c")
    choice = str(choice).lower()
    if choice not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {choice!r}")
    return choice


def profile_enabled():
    """SYMKERAS_PROFILE=1: generated functions time each of their kernels (``GeneratedFunction.profile``)."""
    return os.environ.get("SYMKERAS_PROFILE", "").lower() in ("1", "true", "yes")


def debug_level():
    try:
        return int(os.environ.get("SYMKERAS_DEBUG", "0"))
    except ValueError:
        return 0
