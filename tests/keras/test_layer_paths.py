"""Keras 2 scripts import layers from their modules (``keras.layers.convolutional`` …) as well as
from ``keras.layers``: every such path names the same class."""

import importlib

import pytest

import symkeras.layers

KERAS2_MODULES = {
    "core": ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector", "Lambda",
             "ActivityRegularization", "Masking", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"],
    "convolutional": ["Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D",
                      "SeparableConv1D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose",
                      "Conv3DTranspose", "Deconvolution2D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
                      "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D"],
    "pooling": ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
                "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
                "GlobalAveragePooling2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "GlobalMaxPool2D"],
    "normalization": ["BatchNormalization", "LayerNormalization"],
    "embeddings": ["Embedding"],
    "noise": ["GaussianNoise", "GaussianDropout", "AlphaDropout"],
    "advanced_activations": ["LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "ReLU"],
    "merge": ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"],
    "wrappers": ["Wrapper", "TimeDistributed", "Bidirectional"],
}


@pytest.mark.parametrize("module", sorted(KERAS2_MODULES))
def test_keras2_module_paths_name_the_same_classes(module):
    imported = importlib.import_module(f"symkeras.layers.{module}")
    for name in KERAS2_MODULES[module]:
        assert getattr(imported, name) is getattr(symkeras.layers, name), f"symkeras.layers.{module}.{name}"


def test_keras2_aliases_are_the_same_classes():
    layers = symkeras.layers
    assert layers.Convolution2D is layers.Conv2D and layers.Deconvolution2D is layers.Conv2DTranspose
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
