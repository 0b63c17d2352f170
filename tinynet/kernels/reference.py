"""Plain-NumPy reference kernels: the readable definition of every hot loop.

Each function here has a Numba twin in :mod:`tinynet.kernels.numba_kernels` that
computes exactly the same thing, only faster. The tests compare the two, and
``TINYNET_KERNELS=numpy`` runs the whole library on these references.

Layout conventions (shared by both implementations)
---------------------------------------------------
* Images are NHWC: ``x[n, row, col, channel]``.
* ``im2col`` turns every receptive field into one row of a matrix:
  row ``(n, oh, ow)`` holds the ``kernel_h x kernel_w x C`` patch whose top-left
  corner is input pixel ``(oh * stride - pad_top, ow * stride - pad_left)``,
  flattened in ``(i, j, c)`` order, so that a Conv2D weight of shape
  ``(kernel_h, kernel_w, C, F)`` reshaped to ``(kernel_h * kernel_w * C, F)``
  multiplies it directly. Pixels that fall in the padding are zero.
* ``col2im`` is the adjoint of ``im2col``: it adds every patch back onto the
  pixels it came from (overlapping patches add up).
* Max-pool ``argmax`` stores, per output element, the flat offset
  ``di * pool + dj`` of the winning pixel inside its window (first wins on ties).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class ConvGeometry(NamedTuple):
    """Where a convolution's windows sit: enough to unfold an image into patches.

    Computed once by ``Conv2D`` when it is built; unpacks into the last seven
    arguments of :func:`im2col` and :func:`col2im`.
    """

    kernel_h: int
    kernel_w: int
    stride: int
    pad_top: int
    pad_left: int
    out_h: int
    out_w: int


def _padded_size(out_size: int, kernel: int, stride: int, pad_before: int, size: int) -> int:
    """Size of a zero-padded canvas that holds the image and every window."""
    return max((out_size - 1) * stride + kernel, pad_before + size)


def im2col(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out=None):
    """Unfold receptive fields of ``x`` (N, H, W, C) into rows.

    Returns ``cols`` of shape ``(N * out_h * out_w, kernel_h * kernel_w * C)``;
    written into ``out`` when given.
    """
    n, h, w, c = x.shape
    padded = np.zeros(
        (
            n,
            _padded_size(out_h, kernel_h, stride, pad_top, h),
            _padded_size(out_w, kernel_w, stride, pad_left, w),
            c,
        ),
        dtype=x.dtype,
    )
    padded[:, pad_top : pad_top + h, pad_left : pad_left + w, :] = x
    cols = np.empty((n, out_h, out_w, kernel_h, kernel_w, c), dtype=x.dtype)
    for i in range(kernel_h):
        for j in range(kernel_w):
            # All output positions at once see input pixel (oh*stride + i, ow*stride + j).
            cols[:, :, :, i, j, :] = padded[
                :, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :
            ]
    cols = cols.reshape(n * out_h * out_w, kernel_h * kernel_w * c)
    if out is None:
        return cols
    out[...] = cols
    return out


def col2im(
    cols, input_shape, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out=None
):
    """Add the rows of ``cols`` back onto an image of shape ``input_shape`` (N, H, W, C).

    The adjoint of :func:`im2col`: contributions of overlapping patches are summed
    (in ``(i, j)`` order), those that land in the padding are dropped.
    """
    n, h, w, c = input_shape
    padded = np.zeros(
        (
            n,
            _padded_size(out_h, kernel_h, stride, pad_top, h),
            _padded_size(out_w, kernel_w, stride, pad_left, w),
            c,
        ),
        dtype=cols.dtype,
    )
    patches = cols.reshape(n, out_h, out_w, kernel_h, kernel_w, c)
    for i in range(kernel_h):
        for j in range(kernel_w):
            padded[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :] += (
                patches[:, :, :, i, j, :]
            )
    image = padded[:, pad_top : pad_top + h, pad_left : pad_left + w, :]
    if out is None:
        return np.ascontiguousarray(image)
    out[...] = image
    return out


def conv2d_forward(x, weights, bias, geometry: ConvGeometry):
    """Convolution of ``x`` (N, H, W, C) with ``weights`` (KH, KW, C, F), plus ``bias`` (F,).

    ``y = im2col(x) @ W.reshape(KH*KW*C, F) + b``, returned as (N, OH, OW, F).
    """
    n, filters = x.shape[0], weights.shape[-1]
    y = im2col(x, *geometry) @ weights.reshape(-1, filters) + bias
    return y.reshape(n, geometry.out_h, geometry.out_w, filters)


def conv2d_backward_weights(x, grad_output, geometry: ConvGeometry):
    """Gradients of a convolution's weights and bias: ``(im2col(x).T @ g, g.sum(0))``.

    ``grad_output`` is ``dL/dy`` (N, OH, OW, F); returns ``dL/dW`` (KH, KW, C, F) and
    ``dL/db`` (F,).
    """
    filters = grad_output.shape[-1]
    g = grad_output.reshape(-1, filters)
    weight_shape = (geometry.kernel_h, geometry.kernel_w, x.shape[-1], filters)
    return (im2col(x, *geometry).T @ g).reshape(weight_shape), g.sum(axis=0)


def conv2d_backward_data(grad_output, weights, geometry: ConvGeometry, input_shape):
    """Gradient of a convolution's input: ``col2im(g @ W.reshape(KH*KW*C, F).T)``.

    Every patch entry's gradient is added back onto the pixel it was copied from;
    returns ``dL/dx`` of shape ``input_shape`` (N, H, W, C).
    """
    filters = weights.shape[-1]
    grad_cols = grad_output.reshape(-1, filters) @ weights.reshape(-1, filters).T
    return col2im(grad_cols, input_shape, *geometry)


def pooling_windows(x, pool: int, stride: int):
    """Every ``pool x pool`` window of ``x`` (N, H, W, C), flattened: (N, OH, OW, C, pool*pool).

    Window entry ``k = di * pool + dj`` is pixel ``(i*stride + di, j*stride + dj)``.
    """
    n, _, _, c = x.shape
    windows = sliding_window_view(x, (pool, pool), axis=(1, 2))[:, ::stride, ::stride]
    return windows.reshape(n, windows.shape[1], windows.shape[2], c, pool * pool)


def maxpool2d_forward(x, pool: int, stride: int):
    """Max over each window of ``x`` (N, H, W, C); returns ``(y, argmax)``, (N, OH, OW, C).

    ``argmax`` (int32) is the window entry ``di * pool + dj`` of the first maximum.
    """
    windows = pooling_windows(x, pool, stride)
    argmax = windows.argmax(axis=-1)
    y = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
    return y, argmax.astype(np.int32)


def maxpool2d_backward(grad_output, argmax, input_shape, pool: int, stride: int):
    """Send each output gradient to the pixel that won its window (sums where windows overlap)."""
    out_h, out_w = grad_output.shape[1:3]
    grad_input = np.zeros(input_shape, dtype=grad_output.dtype)
    for k in range(pool * pool):
        di, dj = divmod(k, pool)
        grad_input[
            :, di : di + stride * out_h : stride, dj : dj + stride * out_w : stride, :
        ] += np.where(argmax == k, grad_output, 0)
    return grad_input


def log_softmax(x):
    """``log(softmax(x))`` over the last axis, stable::

        log_softmax(x) = (x - max(x)) - log(sum(exp(x - max(x))))

    (subtracting the row maximum changes nothing mathematically and prevents overflow).
    """
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of ``softmax(logits)`` (N, K) against integer ``labels`` (N,).

    Returns ``(loss, probs)``: ``-mean_n log p[n, labels[n]]`` as a float, and the
    softmax ``p`` that :func:`softmax_cross_entropy_backward` needs.
    """
    log_p = log_softmax(logits)
    return float(-log_p[np.arange(len(labels)), labels].mean()), np.exp(log_p)


def softmax_cross_entropy_backward(probs, labels):
    """``dL/dlogits = (probs - onehot(labels)) / N``."""
    grad = probs.copy()
    grad[np.arange(len(labels)), labels] -= 1
    return grad / len(labels)


def relu_forward(x):
    """``max(x, 0)``, element-wise."""
    return np.maximum(x, 0)


def relu_backward(grad_output, output):
    """``grad_output`` where the ReLU's output is positive (its input was), else 0."""
    return np.where(output > 0, grad_output, 0)


def adam_update(param, grad, m, v, alpha, beta_1, beta_2, epsilon):
    """One Adam step, in place, in the dtype of ``param`` (see ``tinynet.optimizers.Adam``)::

    m += (1 - beta_1) * (g - m);  v += (1 - beta_2) * (g*g - v);  flush_denormals(m, v)
    param -= alpha * m / (sqrt(v) + epsilon)
    """
    one = param.dtype.type(1)
    m += (one - beta_1) * (grad - m)
    v += (one - beta_2) * (grad * grad - v)
    flush_denormals(m, v)
    param -= (alpha * m) / (np.sqrt(v) + epsilon)


def flush_denormals(*arrays):
    """Set the denormal numbers in ``arrays`` to zero, in place.

    Denormal numbers are the nonzero ones below the dtype's smallest normal number,
    ``np.finfo(dtype).tiny`` (1.2e-38 in float32). NaN stays NaN.

    Adam's moments need it. When a weight's gradient becomes 0 for good (a ReLU unit
    that stopped firing), its moments shrink by a constant factor each step, into the
    denormal range, and stay there: rounding stops ``m`` a few units above zero. Some
    processors divide denormals and take their square roots in a slow path, and Adam's
    update does both (course chapter 5 times it). With Keras' defaults, zero instead of
    a denormal ``m`` changes no float32 parameter above about 3e-27 in magnitude (the
    skipped step ``alpha * m / (sqrt(v) + epsilon)`` is below 1.2e-34), and zero instead
    of a denormal ``v`` changes nothing (its square root is below 1.1e-19, far below
    ``epsilon``).
    """
    for a in arrays:
        a[np.abs(a) < np.finfo(a.dtype).tiny] = 0
