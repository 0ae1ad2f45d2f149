"""symkeras: the Keras functional-model API, compiled to readable NumPy and C."""

__version__ = "0.1.0"

from symkeras import backend  # noqa: E402,F401
