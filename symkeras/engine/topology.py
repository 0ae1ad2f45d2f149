"""Keras 2.2's ``keras.engine.topology``: the graph classes under their old module path, so that
``from keras.engine.topology import Layer`` keeps working."""

from symkeras.engine.base_layer import InputSpec, Layer  # noqa: F401
from symkeras.engine.base_layer import LayerNode as Node  # noqa: F401
from symkeras.engine.input_layer import Input, InputLayer  # noqa: F401
from symkeras.engine.network import Network  # noqa: F401
from symkeras.utils.layer_utils import get_source_inputs  # noqa: F401
