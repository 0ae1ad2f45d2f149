"""symkeras: the Keras functional-model API, compiled to readable NumPy and C."""

from symkeras.version import __version__  # noqa: F401
from symkeras import backend  # noqa: F401
