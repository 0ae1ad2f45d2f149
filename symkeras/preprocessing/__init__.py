"""Data preprocessing of the Keras surface (``symkeras.preprocessing``): sequences, text
and images, as ``keras.preprocessing`` in Keras 2. Plain NumPy (Pillow for image files), run
before data reaches a model."""

from symkeras.preprocessing import sequence  # noqa: F401
from symkeras.preprocessing import text  # noqa: F401
from symkeras.preprocessing import image  # noqa: F401
