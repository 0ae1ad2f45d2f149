"""Image preprocessing (``keras.preprocessing.image`` of Keras 2, as keras-preprocessing 1.1.x):
``ImageDataGenerator`` with its array and directory iterators, the random transforms, and the
conversions between image files, Pillow images and arrays.

Everything is NumPy; Pillow is optional (``pip install symkeras[image]``) and needed only where
Keras needs it: reading and writing image files (``load_img``, ``save_img``,
``flow_from_directory``, ``save_to_dir``), ``array_to_img`` and brightness shifts. The geometric
transforms live in ``symkeras.preprocessing.affine`` and are re-exported here.

Randomness follows Keras: every draw comes from NumPy's global generator, and an iterator made
with ``seed`` reseeds it with ``seed + total_batches_seen`` before each batch.
"""

import io
import os
import threading
import warnings

import numpy as np

from symkeras import backend
from symkeras.preprocessing.affine import (  # noqa: F401  (the Keras 2 namespace)
    apply_affine_transform, apply_channel_shift, check_fill_mode, flip_axis,
    random_channel_shift, random_rotation, random_shear, random_shift, random_zoom,
    transform_matrix_offset_center)
from symkeras.utils.data_utils import Sequence

__all__ = ["ImageDataGenerator", "Iterator", "NumpyArrayIterator", "DirectoryIterator",
           "load_img", "save_img", "img_to_array", "array_to_img", "apply_brightness_shift",
           "random_brightness", "apply_affine_transform", "apply_channel_shift", "flip_axis",
           "random_channel_shift", "random_rotation", "random_shear", "random_shift",
           "random_zoom", "transform_matrix_offset_center"]

_DATA_FORMATS = ("channels_first", "channels_last")
_COLOR_MODES = ("grayscale", "rgb", "rgba")


# ----------------------------------------------------------------------------- Pillow
def _pil(use):
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


def _data_format(data_format):
    data_format = backend.image_data_format() if data_format is None else data_format
    if data_format not in _DATA_FORMATS:
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
    if color_mode not in _COLOR_MODES:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"; '
                         f'received: {color_mode!r}')
    image, _ = _pil("The use of `load_img`")
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
    data_format = _data_format(data_format)
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
    image, _ = _pil("The use of `array_to_img`")
    data_format = _data_format(data_format)
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
    _, enhance = _pil("Using brightness shifts")
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
class Iterator(Sequence):
    """Base of the image iterators: a ``Sequence`` of ``ceil(n / batch_size)`` batches that is
    also an endless Python iterator (``next()``), as in Keras 2.

    Subclasses implement ``_get_batches_of_transformed_samples(index_array)``.
    """

    white_list_formats = ('png', 'jpg', 'jpeg', 'bmp', 'ppm', 'tif', 'tiff')

    def __init__(self, n, batch_size, shuffle, seed):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer; received {batch_size!r}")
        self.n = n
        self.batch_size = int(batch_size)
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self.index_generator = self._flow_index()

    def _set_index_array(self):
        self.index_array = np.arange(self.n)
        if self.shuffle:
            self.index_array = np.random.permutation(self.n)

    def __getitem__(self, idx):
        if idx >= len(self):
            raise ValueError('Asked to retrieve element {idx}, but the Sequence has length '
                             '{length}'.format(idx=idx, length=len(self)))
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        index_array = self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(index_array)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        while True:
            if self.seed is not None:
                np.random.seed(self.seed + self.total_batches_seen)
            if self.batch_index == 0:
                self._set_index_array()
            current_index = (self.batch_index * self.batch_size) % self.n if self.n else 0
            if self.n > current_index + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            self.total_batches_seen += 1
            yield self.index_array[current_index:current_index + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self, *args, **kwargs):
        return self.next(*args, **kwargs)

    def next(self):
        """The next batch (the last batch of a pass may be smaller)."""
        with self.lock:
            index_array = next(self.index_generator)
        # The transforms run outside the lock, so that threads can share the work.
        return self._get_batches_of_transformed_samples(index_array)

    def _get_batches_of_transformed_samples(self, index_array):
        raise NotImplementedError

    def _save_batch(self, batch_x, index_array, hash_range):
        """Writes the transformed images of a batch to ``save_to_dir``, to look at them."""
        for i, j in enumerate(index_array):
            img = array_to_img(batch_x[i], self.data_format, scale=True)
            fname = '{prefix}_{index}_{hash}.{format}'.format(
                prefix=self.save_prefix, index=j, hash=np.random.randint(hash_range),
                format=self.save_format)
            img.save(os.path.join(self.save_to_dir, fname))


class NumpyArrayIterator(Iterator):
    """Batches ``(x, y[, sample_weight])`` of augmented images from arrays.

    ``x`` is a rank-4 array, or a tuple ``(images, other)`` where ``other`` (an array or a list
    of arrays) goes to the model unchanged beside the images.
    """

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix='', save_format='png', subset=None, ignore_class_split=False,
                 dtype=None):
        self.dtype = backend.floatx() if dtype is None else dtype
        data_format = _data_format(data_format)
        if isinstance(x, (tuple, list)):
            x_misc = [np.asarray(xx) for xx in x[1]] if isinstance(x[1], list) else [np.asarray(x[1])]
            x = x[0]
            for xx in x_misc:
                if len(x) != len(xx):
                    raise ValueError('All of the arrays in `x` should have the same length. '
                                     'Found a pair with: len(x[0]) = %s, len(x[?]) = %s'
                                     % (len(x), len(xx)))
        else:
            x_misc = []
        if y is not None and len(x) != len(y):
            raise ValueError('`x` (images tensor) and `y` (labels) should have the same length. '
                             'Found: x.shape = %s, y.shape = %s'
                             % (np.asarray(x).shape, np.asarray(y).shape))
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError('`x` (images tensor) and `sample_weight` should have the same '
                             'length. Found: x.shape = %s, sample_weight.shape = %s'
                             % (np.asarray(x).shape, np.asarray(sample_weight).shape))
        if subset is not None:
            x, y, sample_weight, x_misc = self._subset(
                subset, x, y, sample_weight, x_misc, image_data_generator._validation_split,
                ignore_class_split)
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = x_misc
        if self.x.ndim != 4:
            raise ValueError('Input data `x` in `NumpyArrayIterator` should have rank 4. '
                             f'You passed an array with shape {self.x.shape}')
        channels_axis = 3 if data_format == 'channels_last' else 1
        if self.x.shape[channels_axis] not in {1, 3, 4}:
            warnings.warn(
                'NumpyArrayIterator is set to use the data format convention "%s" (channels on '
                'axis %d), i.e. expected either 1, 3, or 4 channels on axis %d. However, it was '
                'passed an array with shape %s (%d channels).'
                % (data_format, channels_axis, channels_axis, self.x.shape,
                   self.x.shape[channels_axis]))
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    @staticmethod
    def _subset(subset, x, y, sample_weight, x_misc, validation_split, ignore_class_split):
        """The first ``validation_split`` of the samples is 'validation', the rest 'training'."""
        if subset not in ('training', 'validation'):
            raise ValueError(f'Invalid subset name: {subset!r}; expected "training" or '
                             '"validation".')
        split_idx = int(len(x) * validation_split)
        if (y is not None and not ignore_class_split
                and not np.array_equal(np.unique(y[:split_idx]), np.unique(y[split_idx:]))):
            raise ValueError('Training and validation subsets have different number of classes '
                             'after the split. If your numpy arrays are sorted by the label, you '
                             'might want to shuffle them.')
        part = slice(None, split_idx) if subset == 'validation' else slice(split_idx, None)
        return (x[part], None if y is None else y[part],
                None if sample_weight is None else sample_weight[part],
                [np.asarray(xx[part]) for xx in x_misc])

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            x = self.x[j]
            params = self.image_data_generator.get_random_transform(x.shape)
            x = self.image_data_generator.apply_transform(x.astype(self.dtype), params)
            batch_x[i] = self.image_data_generator.standardize(x)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, 10 ** 4)
        batch_x_miscs = [xx[index_array] for xx in self.x_misc]
        output = (batch_x if not batch_x_miscs else [batch_x] + batch_x_miscs,)
        if self.y is None:
            return output[0]
        output += (self.y[index_array],)
        if self.sample_weight is not None:
            output += (self.sample_weight[index_array],)
        return output


def _iter_valid_files(directory, white_list_formats, follow_links):
    """(root, file name) of every image file under ``directory``, in sorted order."""
    walk = sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0])
    for root, _, files in walk:
        for fname in sorted(files):
            if fname.lower().endswith('.tiff'):
                warnings.warn('Using ".tiff" files with multiple bands will cause distortion. '
                              'Please verify your output.')
            if fname.lower().endswith(white_list_formats):
                yield root, fname


def _list_valid_filenames_in_directory(directory, white_list_formats, split, class_indices,
                                       follow_links):
    """Class indices and paths (relative to the parent of ``directory``) of the images in one
    class folder; ``split`` (fractions ``(start, stop)``) keeps a slice of each folder."""
    dirname = os.path.basename(directory)
    valid_files = list(_iter_valid_files(directory, white_list_formats, follow_links))
    if split:
        num_files = len(valid_files)
        valid_files = valid_files[int(split[0] * num_files):int(split[1] * num_files)]
    classes, filenames = [], []
    for root, fname in valid_files:
        classes.append(class_indices[dirname])
        absolute_path = os.path.join(root, fname)
        filenames.append(os.path.join(dirname, os.path.relpath(absolute_path, directory)))
    return classes, filenames


class DirectoryIterator(Iterator):
    """Batches of augmented images read from ``directory``, one subfolder per class.

    Attributes ``filenames`` (relative to ``directory``), ``classes`` (the class index of each
    file, int32), ``class_indices`` (class name → index), ``num_classes`` and ``samples``.
    """

    allowed_class_modes = {'categorical', 'binary', 'sparse', 'input', None}

    def __init__(self, directory, image_data_generator, target_size=(256, 256), color_mode='rgb',
                 classes=None, class_mode='categorical', batch_size=32, shuffle=True, seed=None,
                 data_format=None, save_to_dir=None, save_prefix='', save_format='png',
                 follow_links=False, subset=None, interpolation='nearest', dtype=None):
        _pil("Reading images from a directory")
        if color_mode not in _COLOR_MODES:
            raise ValueError(f'Invalid color mode: {color_mode!r}; expected "rgb", "rgba", or '
                             '"grayscale".')
        if class_mode not in self.allowed_class_modes:
            raise ValueError('Invalid class_mode: {}; expected one of: {}'.format(
                class_mode, self.allowed_class_modes))
        if not os.path.isdir(directory):
            raise ValueError(f"`directory` {directory!r} is not a directory")
        self.directory = directory
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        self.color_mode = color_mode
        self.data_format = _data_format(data_format)
        channels = {'rgba': 4, 'rgb': 3, 'grayscale': 1}[color_mode]
        self.image_shape = (self.target_size + (channels,) if self.data_format == 'channels_last'
                            else (channels,) + self.target_size)
        self.class_mode = class_mode
        self.dtype = backend.floatx() if dtype is None else dtype
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self.interpolation = interpolation
        self.subset = subset
        self.split = self._split(subset)

        if not classes:
            classes = [subdir for subdir in sorted(os.listdir(directory))
                       if os.path.isdir(os.path.join(directory, subdir))]
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        labels, self.filenames = [], []
        for subdir in classes:
            found, filenames = _list_valid_filenames_in_directory(
                os.path.join(directory, subdir), self.white_list_formats, self.split,
                self.class_indices, follow_links)
            labels += found
            self.filenames += filenames
        self.samples = len(self.filenames)
        self.classes = np.array(labels, dtype='int32')
        print('Found %d images belonging to %d classes.' % (self.samples, self.num_classes))
        self.filepaths = [os.path.join(directory, fname) for fname in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _split(self, subset):
        if subset is None:
            return None
        validation_split = self.image_data_generator._validation_split
        if subset == 'validation':
            return (0, validation_split)
        if subset == 'training':
            return (validation_split, 1)
        raise ValueError(f'Invalid subset name: {subset!r}; expected "training" or "validation"')

    @property
    def labels(self):
        return self.classes

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, j in enumerate(index_array):
            img = load_img(self.filepaths[j], color_mode=self.color_mode,
                           target_size=self.target_size, interpolation=self.interpolation)
            x = img_to_array(img, data_format=self.data_format, dtype=self.dtype)
            img.close()
            if self.image_data_generator:
                params = self.image_data_generator.get_random_transform(x.shape)
                x = self.image_data_generator.apply_transform(x, params)
                x = self.image_data_generator.standardize(x)
            batch_x[i] = x
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, 10 ** 7)
        if self.class_mode == 'input':
            return batch_x, batch_x.copy()
        if self.class_mode in {'binary', 'sparse'}:
            return batch_x, self.classes[index_array].astype(self.dtype)
        if self.class_mode == 'categorical':
            batch_y = np.zeros((len(batch_x), len(self.class_indices)), dtype=self.dtype)
            batch_y[np.arange(len(batch_x)), self.classes[index_array]] = 1.
            return batch_x, batch_y
        return batch_x


# ----------------------------------------------------------------------------- the generator
def _shift_draw(shift_range, size):
    """One shift in pixels (Keras's rule): an int or a list draws one of its values with a random
    sign, a float draws uniformly in ``[-range, range)``; ranges below 1 are fractions of
    ``size``."""
    if isinstance(shift_range, (float, np.floating)):
        shift = np.random.uniform(-shift_range, shift_range)
    else:
        shift = np.random.choice(shift_range)
        shift *= np.random.choice([-1, 1])
    if np.max(shift_range) < 1:
        shift *= size
    return shift


def _shift_is_set(shift_range):
    """Keras's truth test of a shift range (a list is set when it is not empty)."""
    return len(shift_range) > 0 if np.ndim(shift_range) == 1 else bool(shift_range)


def _check_shift_range(name, value):
    if isinstance(value, (str, bytes, dict)) or not (
            np.isscalar(value) or np.ndim(value) == 1):
        raise TypeError(f"`{name}` must be a float, an int or a 1-D array-like; received {value!r}")
    if np.ndim(value) == 1 and len(value) == 0:
        raise ValueError(f"`{name}` must not be empty")


class ImageDataGenerator:
    """Generates batches of image data with real-time augmentation (Keras 2).

    Per image, in this order: a random affine transform (rotation, shifts, shear, zoom) with
    ``fill_mode``, a channel shift, flips and a brightness shift (``apply_transform``); then
    ``preprocessing_function``, ``rescale``, sample-wise and feature-wise centring and scaling
    and ZCA whitening (``standardize``). Feature-wise statistics come from ``fit``.

    # Arguments
        featurewise_center, samplewise_center: subtract the dataset's per-channel mean / each
            image's mean.
        featurewise_std_normalization, samplewise_std_normalization: divide by the dataset's
            per-channel std / each image's std (plus 1e-6).
        zca_whitening, zca_epsilon: ZCA whitening of the flattened images, and its epsilon.
        rotation_range: degrees; the angle is drawn from ``[-rotation_range, rotation_range)``.
        width_shift_range, height_shift_range: float (fraction of the size if below 1, else
            pixels), int (whole pixels ``0 .. range-1`` with a random sign) or 1-D array-like.
        brightness_range: two floats, the range of Pillow brightness factors.
        shear_range: degrees of shear (counter-clockwise).
        zoom_range: float ``z`` (meaning ``[1 - z, 1 + z]``) or ``[lower, upper]``.
        channel_shift_range: range of the intensity added to all channels.
        fill_mode: 'constant', 'nearest', 'reflect' or 'wrap'; ``cval`` for 'constant'.
        horizontal_flip, vertical_flip: flip half of the images.
        rescale: factor multiplying the data (None or 0: none), after the transforms.
        preprocessing_function: function of one image (rank 3) returning an image of the
            same shape, run before ``rescale``.
        data_format: 'channels_last' or 'channels_first'; default ``K.image_data_format()``.
        validation_split: fraction of the data for ``subset='validation'``, in (0, 1).
        interpolation_order: 1 (bilinear) or 0 (nearest) for the affine transforms.
        dtype: dtype of the generated arrays; default ``K.floatx()``.
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0, width_shift_range=0.,
                 height_shift_range=0., brightness_range=None, shear_range=0., zoom_range=0.,
                 channel_shift_range=0., fill_mode='nearest', cval=0., horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        data_format = backend.image_data_format() if data_format is None else data_format
        if data_format not in _DATA_FORMATS:
            raise ValueError('`data_format` should be `"channels_last"` (channel after row and '
                             'column) or `"channels_first"` (channel before row and column). '
                             'Received: %s' % (data_format,))
        check_fill_mode(fill_mode)
        if isinstance(interpolation_order, bool) or interpolation_order not in (0, 1):
            raise ValueError('`interpolation_order` must be 0 (nearest) or 1 (bilinear); '
                             f'received: {interpolation_order!r}')
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError('`preprocessing_function` must be callable; received '
                            f'{preprocessing_function!r}')
        _check_shift_range('width_shift_range', width_shift_range)
        _check_shift_range('height_shift_range', height_shift_range)
        if validation_split and not 0 < validation_split < 1:
            raise ValueError('`validation_split` must be strictly between 0 and 1. '
                             ' Received: %s' % (validation_split,))
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.channel_shift_range = channel_shift_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = backend.floatx() if dtype is None else dtype
        self.interpolation_order = interpolation_order
        self.data_format = data_format
        if data_format == 'channels_first':
            self.channel_axis, self.row_axis, self.col_axis = 1, 2, 3
        else:
            self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2
        self._validation_split = validation_split
        self.mean = None
        self.std = None
        self.principal_components = None
        self.zoom_range = self._zoom_range(zoom_range)
        self._resolve_normalization(zca_whitening, featurewise_center,
                                    featurewise_std_normalization, samplewise_center,
                                    samplewise_std_normalization)
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list))
                                             or len(brightness_range) != 2):
            raise ValueError('`brightness_range should be tuple or list of two floats. '
                             'Received: %s' % (brightness_range,))
        self.brightness_range = brightness_range

    @staticmethod
    def _zoom_range(zoom_range):
        if isinstance(zoom_range, (float, int)) and not isinstance(zoom_range, bool):
            return [1 - zoom_range, 1 + zoom_range]
        if isinstance(zoom_range, (tuple, list)) and len(zoom_range) == 2:
            return [zoom_range[0], zoom_range[1]]
        raise ValueError('`zoom_range` should be a float or a tuple or list of two floats. '
                         'Received: %s' % (zoom_range,))

    def _resolve_normalization(self, zca_whitening, featurewise_center,
                               featurewise_std_normalization, samplewise_center,
                               samplewise_std_normalization):
        """Keras's implications between the normalisation flags, each with its warning."""
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn('This ImageDataGenerator specifies `zca_whitening`, which '
                              'overrides setting of `featurewise_center`.')
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn('This ImageDataGenerator specifies `zca_whitening` which '
                              'overrides setting of`featurewise_std_normalization`.')
        if featurewise_std_normalization and not featurewise_center:
            self.featurewise_center = True
            warnings.warn('This ImageDataGenerator specifies `featurewise_std_normalization`, '
                          'which overrides setting of `featurewise_center`.')
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            warnings.warn('This ImageDataGenerator specifies `samplewise_std_normalization`, '
                          'which overrides setting of `samplewise_center`.')

    @property
    def zca_whitening_matrix(self):
        """The ZCA matrix (tf-keras's name for ``principal_components``)."""
        return self.principal_components

    # -- iterators
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix='', save_format='png', subset=None,
             ignore_class_split=False):
        """A ``NumpyArrayIterator`` of ``(x, y)`` (or ``(x, y, sample_weight)``, or ``x`` alone
        when ``y`` is None) batches of augmented images."""
        return NumpyArrayIterator(
            x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
            seed=seed, data_format=self.data_format, save_to_dir=save_to_dir,
            save_prefix=save_prefix, save_format=save_format, subset=subset,
            ignore_class_split=ignore_class_split, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode='rgb',
                            classes=None, class_mode='categorical', batch_size=32, shuffle=True,
                            seed=None, save_to_dir=None, save_prefix='', save_format='png',
                            follow_links=False, subset=None, interpolation='nearest'):
        """A ``DirectoryIterator`` over ``directory`` (one subfolder per class; classes in
        alphanumeric order unless ``classes`` is given). Needs Pillow."""
        return DirectoryIterator(
            directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
            class_mode=class_mode, data_format=self.data_format, batch_size=batch_size,
            shuffle=shuffle, seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, follow_links=follow_links, subset=subset,
            interpolation=interpolation, dtype=self.dtype)

    # -- per image
    def standardize(self, x):
        """Applies the normalisation to ``x`` (an image or a batch) in place, and returns it."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= (np.std(x, keepdims=True) + 1e-6)
        if self.featurewise_center:
            if self.mean is not None:
                x -= self.mean
            else:
                self._warn_not_fit('featurewise_center')
        if self.featurewise_std_normalization:
            if self.std is not None:
                x /= (self.std + 1e-6)
            else:
                self._warn_not_fit('featurewise_std_normalization')
        if self.zca_whitening:
            if self.principal_components is not None:
                flatx = np.reshape(x, (-1, np.prod(x.shape[-3:])))
                x = np.reshape(np.dot(flatx, self.principal_components), x.shape)
            else:
                self._warn_not_fit('zca_whitening')
        return x

    @staticmethod
    def _warn_not_fit(flag):
        warnings.warn(f"This ImageDataGenerator specifies `{flag}`, but it hasn't been fit on "
                      "any training data. Fit it first by calling `.fit(numpy_data)`.")

    def get_random_transform(self, img_shape, seed=None):
        """A dict of random transform parameters for an image of ``img_shape``: 'theta', 'tx'
        (rows), 'ty' (columns), 'shear', 'zx', 'zy', 'flip_horizontal', 'flip_vertical',
        'channel_shift_intensity', 'brightness'."""
        img_row_axis = self.row_axis - 1
        img_col_axis = self.col_axis - 1
        if seed is not None:
            np.random.seed(seed)
        theta = np.random.uniform(-self.rotation_range, self.rotation_range) \
            if self.rotation_range else 0
        tx = _shift_draw(self.height_shift_range, img_shape[img_row_axis]) \
            if _shift_is_set(self.height_shift_range) else 0
        ty = _shift_draw(self.width_shift_range, img_shape[img_col_axis]) \
            if _shift_is_set(self.width_shift_range) else 0
        shear = np.random.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        channel_shift_intensity = None
        if self.channel_shift_range != 0:
            channel_shift_intensity = np.random.uniform(-self.channel_shift_range,
                                                        self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = np.random.uniform(self.brightness_range[0], self.brightness_range[1])
        return {'theta': theta, 'tx': tx, 'ty': ty, 'shear': shear, 'zx': zx, 'zy': zy,
                'flip_horizontal': flip_horizontal, 'flip_vertical': flip_vertical,
                'channel_shift_intensity': channel_shift_intensity, 'brightness': brightness}

    def apply_transform(self, x, transform_parameters):
        """``x`` (one image) transformed by the given parameters (missing ones: identity)."""
        img_row_axis = self.row_axis - 1
        img_col_axis = self.col_axis - 1
        img_channel_axis = self.channel_axis - 1
        params = transform_parameters
        x = apply_affine_transform(
            x, params.get('theta', 0), params.get('tx', 0), params.get('ty', 0),
            params.get('shear', 0), params.get('zx', 1), params.get('zy', 1),
            row_axis=img_row_axis, col_axis=img_col_axis, channel_axis=img_channel_axis,
            fill_mode=self.fill_mode, cval=self.cval, order=self.interpolation_order)
        if params.get('channel_shift_intensity') is not None:
            x = apply_channel_shift(x, params['channel_shift_intensity'], img_channel_axis)
        if params.get('flip_horizontal', False):
            x = flip_axis(x, img_col_axis)
        if params.get('flip_vertical', False):
            x = flip_axis(x, img_row_axis)
        if params.get('brightness') is not None:
            # Pillow sees the image channels last, whatever the generator's data_format.
            x = np.moveaxis(x, img_channel_axis, -1)
            x = apply_brightness_shift(x, params['brightness'])
            x = np.moveaxis(x, -1, img_channel_axis)
        return x

    def random_transform(self, x, seed=None):
        """``x`` (one image) under a random transform."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    # -- statistics
    def fit(self, x, augment=False, rounds=1, seed=None):
        """Computes the feature-wise mean, std and ZCA matrix that ``standardize`` uses, from
        the rank-4 array ``x`` (after ``rescale``; with ``augment``, from ``rounds`` randomly
        transformed copies of it)."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError('Input to `.fit()` should have rank 4. Got array with shape: '
                             + str(x.shape))
        if x.shape[self.channel_axis] not in {1, 3, 4}:
            warnings.warn(
                'Expected input to be images (as Numpy array) following the data format '
                'convention "%s" (channels on axis %d), i.e. expected either 1, 3 or 4 channels '
                'on axis %d. However, it was passed an array with shape %s (%d channels).'
                % (self.data_format, self.channel_axis, self.channel_axis, x.shape,
                   x.shape[self.channel_axis]))
        if seed is not None:
            np.random.seed(seed)
        x = np.copy(x)
        if self.rescale:
            x *= self.rescale
        if augment:
            ax = np.zeros((rounds * x.shape[0],) + x.shape[1:], dtype=self.dtype)
            for r in range(rounds):
                for i in range(x.shape[0]):
                    ax[i + r * x.shape[0]] = self.random_transform(x[i])
            x = ax
        broadcast_shape = [1, 1, 1]
        broadcast_shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=(0, self.row_axis, self.col_axis)),
                                   broadcast_shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=(0, self.row_axis, self.col_axis)),
                                  broadcast_shape)
            x /= (self.std + 1e-6)
        if self.zca_whitening:
            flat_x = np.reshape(x, (x.shape[0], x.shape[1] * x.shape[2] * x.shape[3]))
            sigma = np.dot(flat_x.T, flat_x) / flat_x.shape[0]
            u, s, _ = np.linalg.svd(sigma)
            s_inv = 1. / np.sqrt(s[np.newaxis] + self.zca_epsilon)
            self.principal_components = (u * s_inv).dot(u.T)
