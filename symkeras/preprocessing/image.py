"""Image preprocessing (``keras.preprocessing.image`` of Keras 2, as keras-preprocessing 1.1.x):
``ImageDataGenerator`` with its array and directory iterators, the random transforms, and the
conversions between image files, Pillow images and arrays. The file conversions live in
``image_files``, the iterators in ``image_iterators``; all are re-exported here.

Everything is NumPy; Pillow is optional (``pip install symkeras[image]``) and needed only where
Keras needs it: reading and writing image files (``load_img``, ``save_img``,
``flow_from_directory``, ``save_to_dir``), ``array_to_img`` and brightness shifts. The geometric
transforms live in ``symkeras.preprocessing.affine`` and are re-exported here.

Randomness follows Keras: every draw comes from NumPy's global generator, and an iterator made
with ``seed`` reseeds it with ``seed + total_batches_seen`` before each batch.
"""

import warnings

import numpy as np

from symkeras import backend
from symkeras.preprocessing.affine import (  # noqa: F401  (the Keras 2 namespace)
    apply_affine_transform, apply_channel_shift, check_fill_mode, flip_axis,
    random_channel_shift, random_rotation, random_shear, random_shift, random_zoom,
    transform_matrix_offset_center)
from symkeras.preprocessing.image_files import (  # noqa: F401  (the Keras 2 namespace)
    DATA_FORMATS, apply_brightness_shift, array_to_img, img_to_array, load_img,
    random_brightness, save_img)
from symkeras.preprocessing.image_iterators import DirectoryIterator, Iterator, NumpyArrayIterator  # noqa: F401

__all__ = ["ImageDataGenerator", "Iterator", "NumpyArrayIterator", "DirectoryIterator",
           "load_img", "save_img", "img_to_array", "array_to_img", "apply_brightness_shift",
           "random_brightness", "apply_affine_transform", "apply_channel_shift", "flip_axis",
           "random_channel_shift", "random_rotation", "random_shear", "random_shift",
           "random_zoom", "transform_matrix_offset_center"]


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
        if data_format not in DATA_FORMATS:
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
