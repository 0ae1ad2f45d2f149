"""Geometric and intensity transforms of one image (a 3D array), as
``keras.preprocessing.image`` of Keras 2 (keras-preprocessing 1.1.x) computes them.

Keras builds one 3x3 matrix (rotation, then shift, then shear, then zoom, each multiplied on
the right), moves its origin to ``(h / 2 + 0.5, w / 2 + 0.5)`` and hands the top two rows to
``scipy.ndimage.affine_transform`` for every channel. ``_resample`` is that call in NumPy: an
output pixel ``o`` (row, column) reads the input at ``A @ o + b``. As scipy does, a coordinate
outside the image is first mapped back into it by ``fill_mode`` (except 'nearest', which
clamps the neighbours instead), then the value is interpolated between neighbours (order 1:
bilinear; order 0: nearest), a neighbour beyond the edge being taken by the same rule.
Two consequences of following scipy that users may not expect: 'wrap' repeats with period
``n - 1`` (the first and last pixel overlap), and 'constant' gives ``cval`` to any point whose
coordinate falls outside ``[0, n - 1]`` on either axis.

The matrix acts on array coordinates (first image axis, second image axis): ``tx`` moves along
rows and ``ty`` along columns, which is how ``ImageDataGenerator`` feeds them (height shift as
``tx``). The floating-point steps are those of Keras and of scipy (1.6 and later), so the values
are the same to the bit.
"""

import numpy as np

__all__ = ["flip_axis", "transform_matrix_offset_center", "apply_affine_transform",
           "random_rotation", "random_shift", "random_shear", "random_zoom",
           "apply_channel_shift", "random_channel_shift"]

FILL_MODES = ("constant", "nearest", "reflect", "wrap")
ORDERS = (0, 1)


def flip_axis(x, axis):
    """``x`` reversed along ``axis``."""
    x = np.asarray(x).swapaxes(axis, 0)
    x = x[::-1, ...]
    return x.swapaxes(0, axis)


def transform_matrix_offset_center(matrix, x, y):
    """``matrix`` moved so that it acts about ``(x / 2 + 0.5, y / 2 + 0.5)``: Keras's centre
    (keras-preprocessing 1.1.x), half a pixel past the geometric one."""
    o_x = float(x) / 2 + 0.5
    o_y = float(y) / 2 + 0.5
    offset_matrix = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset_matrix = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return np.dot(np.dot(offset_matrix, matrix), reset_matrix)


def check_fill_mode(fill_mode):
    if fill_mode not in FILL_MODES:
        raise ValueError(f"`fill_mode` must be one of {', '.join(map(repr, FILL_MODES))}; "
                         f"received: {fill_mode!r}")


def check_order(order):
    if isinstance(order, bool) or order not in ORDERS:
        raise ValueError(f"`order` (interpolation order) must be 0 (nearest) or 1 (bilinear); "
                         f"received: {order!r}")


def _compose(theta, tx, ty, shear, zx, zy):
    """Keras's 3x3 transform, or None when every parameter is the identity."""
    transform_matrix = None
    if theta != 0:
        theta = np.deg2rad(theta)
        transform_matrix = np.array([[np.cos(theta), -np.sin(theta), 0],
                                     [np.sin(theta), np.cos(theta), 0],
                                     [0, 0, 1]])
    steps = []
    if tx != 0 or ty != 0:
        steps.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        shear = np.deg2rad(shear)
        steps.append(np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        steps.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    for step in steps:
        transform_matrix = step if transform_matrix is None else np.dot(transform_matrix, step)
    return transform_matrix


def _map_coordinate(c, n, mode):
    """scipy.ndimage's mapping of coordinates outside ``[0, n - 1]``; -1 marks 'constant'."""
    c = c.copy()
    low, high = c < 0, c > n - 1
    if mode == "constant":
        c[low | high] = -1.0
    elif mode == "nearest":
        pass                           # the neighbours are clamped instead (_neighbour_index)
    elif n <= 1:
        c[low | high] = 0.0
    elif mode == "reflect":
        sz2 = 2 * n
        lo = c[low]
        lo = np.where(lo < -sz2, sz2 * np.trunc(-lo / sz2) + lo, lo)
        # (a coordinate just below 0 must not map to -1, the 'constant' mark)
        c[low] = np.where(lo < -n, lo + sz2, np.where(lo > -1e-15, 1e-15, -lo) - 1)
        hi = c[high]
        hi = hi - sz2 * np.trunc(hi / sz2)
        c[high] = np.where(hi >= n, sz2 - hi - 1, hi)
    else:  # wrap: period n - 1, the first and last pixels overlap
        sz = n - 1
        lo = c[low]
        c[low] = lo + sz * (np.trunc(-lo / sz) + 1)
        hi = c[high]
        c[high] = hi - sz * np.trunc(hi / sz)
    return c


def _neighbour_index(idx, n, mode):
    """A neighbour index beyond the edge: reflected about the image border for 'reflect'
    (``d c b a | a b c d``), otherwise mirrored about the edge pixel. Only 'reflect' ever reads
    such a neighbour with a non-zero weight."""
    if n <= 1:
        return np.zeros_like(idx)
    if mode == "nearest":
        return np.clip(idx, 0, n - 1)
    if mode == "reflect":
        m = idx % (2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m)
    s2 = 2 * n - 2
    neg = idx < 0
    m = np.where(neg, s2 * (-idx // s2) + idx, idx)
    m = np.where(neg, np.where(m <= 1 - n, m + s2, -m), m)
    big = m >= n
    m = np.where(big, m - s2 * (m // s2), m)
    return np.where(big & (m >= n), s2 - m, m)


def _taps(c, n, order, mode):
    """Per output point along one axis: the input indices read and their weights."""
    if order == 1:
        start = np.floor(c)
        first = 1.0 - (c - start)
        weights = (first, 1.0 - first)      # scipy makes the weights sum to exactly 1
    else:
        start = np.floor(c + 0.5)
        weights = (None,)
    start = start.astype(np.int64)
    indices = tuple(_neighbour_index(start + k, n, mode) for k in range(order + 1))
    return indices, weights


def _resample(image, matrix, offset, order, mode, cval):
    """``scipy.ndimage.affine_transform(image, matrix, offset, order, mode=mode, cval=cval)``
    of one 2D image, for orders 0 and 1; the result has the dtype of ``image``."""
    rows, cols = image.shape
    r, c = np.indices(image.shape, dtype=np.float64)
    coords = [(offset[0] + r * matrix[0, 0]) + c * matrix[0, 1],   # scipy's order of sums
              (offset[1] + r * matrix[1, 0]) + c * matrix[1, 1]]
    mapped = [_map_coordinate(coords[0], rows, mode), _map_coordinate(coords[1], cols, mode)]
    inside = (mapped[0] > -1.0) & (mapped[1] > -1.0) | (mode == "nearest")
    # Points that fall outside take cval; give them any valid coordinate meanwhile.
    mapped = [np.where(inside, m, 0.0) for m in mapped]
    (idx_r, w_r), (idx_c, w_c) = _taps(mapped[0], rows, order, mode), _taps(mapped[1], cols, order, mode)
    source = image.astype(np.float64)
    total = np.zeros(image.shape)
    for ir, wr in zip(idx_r, w_r):       # summed in scipy's order: last axis fastest
        for ic, wc in zip(idx_c, w_c):
            value = source[ir, ic]
            if order:
                value = value * wr * wc
            total = total + value
    total = np.where(inside, total, float(cval))
    return _cast(total, image.dtype)


def _cast(values, dtype):
    """scipy's store of a computed value into an array of ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.trunc(values) != 0             # a C cast to unsigned char
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        if dtype.kind == "u":
            values = np.where(values > 0, values + 0.5, 0.0)
        else:
            values = np.where(values > 0, values + 0.5, values - 0.5)
        return np.trunc(np.clip(values, info.min, info.max)).astype(dtype)
    return values.astype(dtype)


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=0, col_axis=1,
                           channel_axis=2, fill_mode='nearest', cval=0., order=1):
    """Applies the affine transformation given by its parameters to one image.

    # Arguments
        x: 3D numpy array, a single image with a channel axis.
        theta: rotation angle in degrees.
        tx, ty: shifts along the first and second image axis, in pixels.
        shear: shear angle in degrees.
        zx, zy: zoom along the first and second image axis (above 1 shrinks the content).
        row_axis, col_axis, channel_axis: the axes of ``x``.
        fill_mode: one of 'constant', 'nearest', 'reflect', 'wrap'.
        cval: value of points outside the image when ``fill_mode='constant'``.
        order: interpolation order, 0 (nearest) or 1 (bilinear).

    # Returns
        The transformed image (same shape and dtype), or ``x`` itself when nothing moves.
    """
    check_fill_mode(fill_mode)
    check_order(order)
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"`x` must be a single image of rank 3; received shape {x.shape}")
    transform_matrix = _compose(theta, tx, ty, shear, zx, zy)
    if transform_matrix is None:
        return x
    h, w = x.shape[row_axis], x.shape[col_axis]
    transform_matrix = transform_matrix_offset_center(transform_matrix, h, w)
    x = np.rollaxis(x, channel_axis, 0)
    final_affine_matrix = transform_matrix[:2, :2]
    final_offset = transform_matrix[:2, 2]
    channel_images = [_resample(x_channel, final_affine_matrix, final_offset, order, fill_mode, cval)
                      for x_channel in x]
    x = np.stack(channel_images, axis=0)
    return np.rollaxis(x, 0, channel_axis + 1)


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode='nearest', cval=0.,
                    interpolation_order=1):
    """``x`` rotated by an angle drawn uniformly from ``[-rg, rg)`` degrees."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode='nearest', cval=0.,
                 interpolation_order=1):
    """``x`` shifted by fractions of its height (drawn from ``[-hrg, hrg)``, first) and of its
    width (from ``[-wrg, wrg)``)."""
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode='nearest', cval=0.,
                 interpolation_order=1):
    """``x`` sheared by an angle drawn from ``[-intensity, intensity)`` degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode='nearest', cval=0.,
                interpolation_order=1):
    """``x`` zoomed by two factors drawn from ``[zoom_range[0], zoom_range[1])`` (one per axis)."""
    if not hasattr(zoom_range, "__len__") or len(zoom_range) != 2:
        raise ValueError('`zoom_range` should be a tuple or list of two floats. '
                         'Received: %s' % (zoom_range,))
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def apply_channel_shift(x, intensity, channel_axis=0):
    """``intensity`` added to every channel, clipped to the image's own minimum and maximum."""
    x = np.rollaxis(np.asarray(x), channel_axis, 0)
    min_x, max_x = np.min(x), np.max(x)
    channel_images = [np.clip(x_channel + intensity, min_x, max_x) for x_channel in x]
    x = np.stack(channel_images, axis=0)
    return np.rollaxis(x, 0, channel_axis + 1)


def random_channel_shift(x, intensity_range, channel_axis=0):
    """A channel shift by an intensity drawn from ``[-intensity_range, intensity_range)``."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)
