"""Data preprocessing of the Keras surface (``symkeras.preprocessing``): sequences and text,
as ``keras.preprocessing`` in Keras 2. Plain NumPy, run before data reaches a model."""

from symkeras.preprocessing import sequence  # noqa: F401
from symkeras.preprocessing import text  # noqa: F401
from symkeras.preprocessing import image  # noqa: F401
