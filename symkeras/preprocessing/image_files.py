"""Image files and arrays (part of ``keras.preprocessing.image``): ``load_img``, ``save_img``,
``img_to_array``, ``array_to_img`` and the brightness shifts, which go through Pillow. Pillow is
optional (``pip install symkeras[image]``): without it these raise an ImportError saying so."""

import io
import warnings

import numpy as np

from symkeras import backend

DATA_FORMATS = ("channels_first", "channels_last")
COLOR_MODES = ("grayscale", "rgb", "rgba")


# ----------------------------------------------------------------------------- Pillow
def pillow(use):
    """``PIL.Image`` and ``PIL.ImageEnhance``, or an ImportError saying how to get them."""
    try:
        from PIL import Image, ImageEnhance
    except ImportError:
        raise ImportError(f"Could not import PIL.Image. {use} requires Pillow, an optional "
                          "dependency of symkeras: pip install symkeras[image] "
                          "(or pip install Pillow).") from None
    return Image, ImageEnhance


def _interpolation_methods(image):
    """Keras's names of Pillow's resampling filters, in Keras's order."""
    filters = getattr(image, "Resampling", image)
    methods = {"nearest": filters.NEAREST, "bilinear": filters.BILINEAR, "bicubic": filters.BICUBIC}
    for name in ("hamming", "box", "lanczos"):
        if hasattr(filters, name.upper()):
            methods[name] = getattr(filters, name.upper())
    return methods


def data_format_or_default(data_format):
    data_format = backend.image_data_format() if data_format is None else data_format
    if data_format not in DATA_FORMATS:
        raise ValueError(f"Unknown data_format: {data_format!r}; expected 'channels_first' or "
                         "'channels_last'")
    return data_format


def load_img(path, grayscale=False, color_mode='rgb', target_size=None, interpolation='nearest'):
    """Loads an image file into a Pillow image.

    # Arguments
        path: path of the image file.
        grayscale: deprecated, use ``color_mode="grayscale"``.
        color_mode: one of "grayscale", "rgb", "rgba"; the image is converted to it.
        target_size: None (the file's size) or ``(img_height, img_width)``.
        interpolation: Pillow filter used to resize: "nearest", "bilinear", "bicubic", and
            where Pillow has them "hamming", "box", "lanczos".
    """
    if grayscale is True:
        warnings.warn('grayscale is deprecated. Please use color_mode = "grayscale"')
        color_mode = 'grayscale'
    if color_mode not in COLOR_MODES:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"; '
                         f'received: {color_mode!r}')
    image, _ = pillow("The use of `load_img`")
    with open(path, 'rb') as f:
        img = image.open(io.BytesIO(f.read()))
    if color_mode == 'grayscale':
        # 8-, 16- and 32-bit grayscale stay as they are; anything else becomes 8-bit grayscale.
        if img.mode not in ('L', 'I;16', 'I'):
            img = img.convert('L')
    elif color_mode == 'rgba':
        if img.mode != 'RGBA':
            img = img.convert('RGBA')
    elif img.mode != 'RGB':
        img = img.convert('RGB')
    if target_size is not None:
        width_height_tuple = (target_size[1], target_size[0])
        if img.size != width_height_tuple:
            methods = _interpolation_methods(image)
            if interpolation not in methods:
                raise ValueError('Invalid interpolation method {} specified. Supported methods '
                                 'are {}'.format(interpolation, ", ".join(methods.keys())))
            img = img.resize(width_height_tuple, methods[interpolation])
    return img


def img_to_array(img, data_format=None, dtype=None):
    """A Pillow image (or anything ``np.asarray`` reads) as a 3D array of ``dtype``."""
    data_format = data_format_or_default(data_format)
    x = np.asarray(img, dtype=backend.floatx() if dtype is None else dtype)
    if x.ndim == 3:
        if data_format == 'channels_first':
            x = x.transpose(2, 0, 1)
    elif x.ndim == 2:
        x = x.reshape((1,) + x.shape if data_format == 'channels_first' else x.shape + (1,))
    else:
        raise ValueError(f'Unsupported image shape: {x.shape}')
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3D array as a Pillow image: 1 channel gives mode "L" ("I" above 255), 3 "RGB",
    4 "RGBA". With ``scale``, values are shifted and scaled to span ``[0, 255]``."""
    image, _ = pillow("The use of `array_to_img`")
    data_format = data_format_or_default(data_format)
    x = np.asarray(x, dtype=backend.floatx() if dtype is None else dtype)
    if x.ndim != 3:
        raise ValueError('Expected image array to have rank 3 (single image). '
                         f'Got array with shape: {x.shape}')
    if data_format == 'channels_first':
        x = x.transpose(1, 2, 0)
    if scale:
        x = x + max(-np.min(x), 0)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    channels = x.shape[2]
    if channels == 4:
        return image.fromarray(x.astype('uint8'), 'RGBA')
    if channels == 3:
        return image.fromarray(x.astype('uint8'), 'RGB')
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype('int32'), 'I')   # 32-bit grayscale
        return image.fromarray(x[:, :, 0].astype('uint8'), 'L')
    raise ValueError(f'Unsupported channel number: {channels}')


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves a 3D array as an image file (``file_format`` from the name when None)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == 'RGBA' and file_format in ('jpg', 'jpeg'):
        warnings.warn('The JPG format does not support RGBA images, converting to RGB.')
        img = img.convert('RGB')
    img.save(path, format=file_format, **kwargs)


def apply_brightness_shift(x, brightness, scale=True):
    """``x`` (channels last) through Pillow's ``ImageEnhance.Brightness(brightness)``.

    With ``scale`` the image is first stretched to ``[0, 255]`` and stays there (Keras 2);
    without it, an image outside ``[0, 255]`` is stretched for Pillow and brought back."""
    _, enhance = pillow("Using brightness shifts")
    x_min, x_max = np.min(x), np.max(x)
    local_scale = (x_min < 0) or (x_max > 255)
    img = array_to_img(x, data_format='channels_last', scale=local_scale or scale)
    img = enhance.Brightness(img).enhance(brightness)
    x = img_to_array(img, data_format='channels_last')
    if not scale and local_scale:
        x = x / 255 * (x_max - x_min) + x_min
    return x


def random_brightness(x, brightness_range, scale=True):
    """A brightness shift by a factor drawn from ``[brightness_range[0], brightness_range[1])``."""
    if not hasattr(brightness_range, "__len__") or len(brightness_range) != 2:
        raise ValueError('`brightness_range should be tuple or list of two floats. '
                         'Received: %s' % (brightness_range,))
    u = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, u, scale)


# ----------------------------------------------------------------------------- iterators
