"""Embedding: integer indices to rows of a trainable table."""

import operator

from symkeras import backend as K
from symkeras import constraints, initializers, regularizers
from symkeras.engine.base_layer import Layer


def _positive_int(value):
    try:
        return not isinstance(value, bool) and operator.index(value) > 0
    except TypeError:
        return False


class Embedding(Layer):
    """``embeddings[inputs]``: an input of shape (batch, ...) gives (batch, ..., output_dim).

    Float inputs are cast to int32 as tf-keras does; indices outside [0, input_dim) are refused
    before the generated code runs. ``mask_zero`` makes index 0 padding: the output's mask is
    ``inputs != 0``, which the layers after it carry, consume (GlobalAveragePooling1D, recurrent
    layers) and which weighs the loss of a sequence output.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 activity_regularizer=None, embeddings_constraint=None, mask_zero=False, input_length=None,
                 **kwargs):
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs and input_length is not None:
            lengths = input_length if isinstance(input_length, (list, tuple)) else [input_length]
            kwargs["input_shape"] = tuple(lengths)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not (_positive_int(input_dim) and _positive_int(output_dim)):
            raise ValueError("Both `input_dim` and `output_dim` should be positive, found input_dim "
                             f"{input_dim} and output_dim {output_dim}")
        if input_length is not None and not all(
                _positive_int(n) for n in (input_length if isinstance(input_length, (list, tuple))
                                           else [input_length])):
            raise ValueError(f"`input_length` must be a positive int or a list of them, got {input_length!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.input_length = input_length

    def build(self, input_shape):
        self._check_input_length(input_shape)
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def _check_input_length(self, input_shape):
        if self.input_length is None:
            return
        lengths = list(self.input_length) if isinstance(self.input_length, (list, tuple)) else [self.input_length]
        given = list(input_shape)[1:]
        if len(lengths) != len(given) or any(a is not None and b is not None and a != b
                                             for a, b in zip(lengths, given)):
            raise ValueError(f'"input_length" is {self.input_length}, but received input has shape '
                             f"{tuple(input_shape)}")

    def call(self, inputs):
        if inputs.dtype not in ("int32", "int64"):
            inputs = K.cast(inputs, "int32")
        return K.gather(self.embeddings, inputs)

    def compute_mask(self, inputs, mask=None):
        """True where the index is not 0 (padding), when ``mask_zero``; else None."""
        if not self.mask_zero:
            return None
        return K.cast(K.not_equal(inputs, 0), "bool")

    def compute_output_shape(self, input_shape):
        self._check_input_length(input_shape)
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            embeddings_initializer=initializers.serialize(self.embeddings_initializer),
            embeddings_regularizer=regularizers.serialize(self.embeddings_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            embeddings_constraint=constraints.serialize(self.embeddings_constraint),
            mask_zero=self.mask_zero,
            input_length=self.input_length,
        )
        return config
