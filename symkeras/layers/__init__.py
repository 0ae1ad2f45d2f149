"""Keras layers (``symkeras.layers`` as ``keras.layers``)."""

from symkeras.engine.base_layer import InputSpec, Layer  # noqa: F401
from symkeras.engine.input_layer import Input, InputLayer  # noqa: F401
from symkeras.layers.advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU  # noqa: F401
from symkeras.layers.core import Activation, Dense, Dropout, Flatten, Lambda, Masking, Reshape  # noqa: F401
from symkeras.layers.convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D,  # noqa: F401
                                           Conv3DTranspose, Convolution1D, Convolution1DTranspose, Convolution2D,
                                           Convolution2DTranspose, Convolution3D, Convolution3DTranspose,
                                           Deconvolution2D, Deconvolution3D, DepthwiseConv1D, DepthwiseConv2D,
                                           SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
                                           SeparableConvolution2D)
from symkeras.layers.bidirectional import Bidirectional  # noqa: F401
from symkeras.layers.convolutional_recurrent import ConvLSTM2D, ConvLSTM2DCell  # noqa: F401
from symkeras.layers.embeddings import Embedding  # noqa: F401
from symkeras.layers.recurrent import (GRU, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell,  # noqa: F401
                                      StackedRNNCells)
from symkeras.layers.normalization import BatchNormalization, LayerNormalization  # noqa: F401
from symkeras.layers.core import (ActivityRegularization, Permute, RepeatVector, SpatialDropout1D,  # noqa: F401
                                  SpatialDropout2D, SpatialDropout3D)
from symkeras.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise  # noqa: F401
from symkeras.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,  # noqa: F401
                                   Subtract, add, average, concatenate, dot, maximum, minimum,
                                   multiply, subtract)
from symkeras.layers.pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D,  # noqa: F401
                                     AvgPool2D, AvgPool3D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                                     GlobalAveragePooling3D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D,
                                     GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D, GlobalMaxPooling1D,
                                     GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D,
                                     MaxPooling1D, MaxPooling2D, MaxPooling3D)
from symkeras.layers.wrappers import TimeDistributed, Wrapper  # noqa: F401
from symkeras.layers.reshaping import (Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D,  # noqa: F401
                                       UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
from symkeras.utils.generic_utils import deserialize_keras_object, serialize_keras_object


def _layer_classes():
    from symkeras import models       # models imports this package (Sequential's config names its layers)
    registry = {k: v for k, v in globals().items() if isinstance(v, type) and issubclass(v, Layer)}
    # tf-keras writes functional models as "Functional"; Keras 2 as "Model".
    registry.update(Model=models.Model, Functional=models.Model, Sequential=models.Sequential)
    return registry


def serialize(layer):
    """``{'class_name': ..., 'config': layer.get_config()}``."""
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A new layer (or model) from ``{'class_name', 'config'}``; ValueError for unknown classes."""
    return deserialize_keras_object(config, module_objects=_layer_classes(), custom_objects=custom_objects,
                                    printable_module_name="layer")
