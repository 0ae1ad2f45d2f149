"""The argument checks and length arithmetic the convolution, pooling and reshaping layers share
(tf-keras's ``conv_utils``)."""

import numbers

from symkeras import backend as K


def normalize_tuple(value, n, name, allow_zero=False):
    """An int, or ``n`` ints, as a tuple of ``n`` ints, each positive (or >= 0 with ``allow_zero``)."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received: {value}"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message) from None
        if len(values) != n:
            raise ValueError(message)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise ValueError(f"{message} including element {v} of type {type(v)}")
        values = tuple(int(v) for v in values)
    bad = {v for v in values if v < 0 or (v == 0 and not allow_zero)}
    if bad:
        raise ValueError(f"{message} including {bad} that does not satisfy the requirement "
                         f"`{'>= 0' if allow_zero else '> 0'}`.")
    return values


def normalize_padding(value, allow_causal=False):
    """'valid' or 'same' (or 'causal' where the layer allows it), whatever the case."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in (("valid", "same", "causal") if allow_causal else ("valid", "same")):
        choices = '"valid", "same" (or "causal", only for `Conv1D` and `SeparableConv1D`)' if allow_causal \
            else '"valid", "same"'
        raise ValueError(f"The `padding` argument must be one of {choices}. Received: {value}")
    return padding


def normalize_data_format(value):
    """'channels_last' or 'channels_first'; None reads ``K.image_data_format()``."""
    value = K.image_data_format() if value is None else value
    if not isinstance(value, str) or value.lower() not in ("channels_first", "channels_last"):
        raise ValueError('The `data_format` argument must be one of "channels_first", "channels_last". '
                         f"Received: {value}")
    return value.lower()


def conv_output_length(length, size, padding, stride, dilation=1):
    """The output length of a convolution or pooling window over ``length`` (None stays None)."""
    if length is None:
        return None
    span = (size - 1) * dilation + 1
    length = length - span + 1 if padding == "valid" else length
    return (length + stride - 1) // stride


def deconv_output_length(length, size, padding, output_padding=None, stride=1, dilation=1):
    """tf-keras's length of a transposed convolution's output (``output_padding`` None: inferred)."""
    span = (size - 1) * dilation + 1
    if output_padding is None:
        return length * stride + (max(span - stride, 0) if padding == "valid" else 0)
    pad = span // 2 if padding == "same" else 0
    return (length - 1) * stride + span - 2 * pad + output_padding
