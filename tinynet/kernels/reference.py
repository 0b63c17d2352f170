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
  ``di * pool_w + dj`` of the winning pixel inside its window (first wins on ties).
"""

from __future__ import annotations

import numpy as np


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


def maxpool_forward(x, pool_h, pool_w, stride, out_h, out_w):
    """Max over each ``pool_h x pool_w`` window of ``x`` (N, H, W, C).

    Returns ``(out, argmax)``, both of shape ``(N, out_h, out_w, C)``; ``argmax``
    (int32) is the flat offset ``di * pool_w + dj`` of the first maximum.
    """
    out = None
    for di in range(pool_h):
        for dj in range(pool_w):
            window = x[:, di : di + stride * out_h : stride, dj : dj + stride * out_w : stride, :]
            if out is None:
                out = window.copy()
                argmax = np.zeros(out.shape, dtype=np.int32)
            else:
                better = window > out  # strictly greater: the first maximum wins ties
                out[better] = window[better]
                argmax[better] = di * pool_w + dj
    return out, argmax


def maxpool_backward(grad_output, argmax, input_shape, pool_h, pool_w, stride):
    """Send each output gradient to the input pixel that won its window.

    Returns ``grad_input`` of shape ``input_shape``; pixels that won several
    (overlapping) windows receive the sum.
    """
    out_h, out_w = grad_output.shape[1:3]
    grad_input = np.zeros(input_shape, dtype=grad_output.dtype)
    for di in range(pool_h):
        for dj in range(pool_w):
            winners = argmax == di * pool_w + dj
            grad_input[
                :, di : di + stride * out_h : stride, dj : dj + stride * out_w : stride, :
            ] += np.where(winners, grad_output, 0)
    return grad_input


def relu_forward(x):
    """``max(x, 0)``, element-wise."""
    return np.maximum(x, 0)


def relu_backward(grad_output, output):
    """``grad_output`` where the ReLU's output is positive (its input was), else 0."""
    return np.where(output > 0, grad_output, 0)


def adam_update(param, grad, m, v, alpha, beta_1, beta_2, epsilon):
    """One Adam step, in place, in the dtype of ``param`` (see ``tinynet.optimizers.Adam``)::

    m += (1 - beta_1) * (g - m);  v += (1 - beta_2) * (g*g - v)
    param -= alpha * m / (sqrt(v) + epsilon)
    """
    one = param.dtype.type(1)
    m += (one - beta_1) * (grad - m)
    v += (one - beta_2) * (grad * grad - v)
    param -= (alpha * m) / (np.sqrt(v) + epsilon)
