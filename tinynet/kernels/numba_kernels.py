"""Numba kernels: the same functions as :mod:`tinynet.kernels.reference`, compiled.

Each kernel loops over the batch with ``prange`` (every sample writes only its
own slice of the output, so the threads never touch the same memory) and is
cached on disk (``cache=True``), so only the first process ever pays for
compilation. Read the reference first: it is the definition; this is the speed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _im2col_into(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, cols):
    n, h, w, c = x.shape
    for b in prange(n):
        for oh in range(out_h):
            for ow in range(out_w):
                row = (b * out_h + oh) * out_w + ow
                for i in range(kernel_h):
                    y = oh * stride + i - pad_top
                    for j in range(kernel_w):
                        xx = ow * stride + j - pad_left
                        base = (i * kernel_w + j) * c
                        if 0 <= y < h and 0 <= xx < w:
                            for ch in range(c):
                                cols[row, base + ch] = x[b, y, xx, ch]
                        else:
                            for ch in range(c):
                                cols[row, base + ch] = 0
    return cols


@njit(parallel=True, cache=True)
def _col2im_into(cols, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, image):
    # Gather form: each input pixel sums the patch entries that came from it, in
    # (i, j) order, which is the order the reference adds them in.
    n, h, w, c = image.shape
    for b in prange(n):
        for y in range(h):
            for xx in range(w):
                for ch in range(c):
                    image[b, y, xx, ch] = 0
                for i in range(kernel_h):
                    t = y + pad_top - i
                    if t < 0 or t % stride != 0 or t // stride >= out_h:
                        continue
                    oh = t // stride
                    for j in range(kernel_w):
                        u = xx + pad_left - j
                        if u < 0 or u % stride != 0 or u // stride >= out_w:
                            continue
                        row = (b * out_h + oh) * out_w + u // stride
                        base = (i * kernel_w + j) * c
                        for ch in range(c):
                            image[b, y, xx, ch] += cols[row, base + ch]
    return image


@njit(parallel=True, cache=True)
def _maxpool_forward_into(x, pool_h, pool_w, stride, out, argmax):
    n, out_h, out_w, c = out.shape
    for b in prange(n):
        for oh in range(out_h):
            for ow in range(out_w):
                y0 = oh * stride
                x0 = ow * stride
                for ch in range(c):
                    out[b, oh, ow, ch] = x[b, y0, x0, ch]
                    argmax[b, oh, ow, ch] = 0
                for di in range(pool_h):
                    for dj in range(pool_w):
                        k = di * pool_w + dj
                        for ch in range(c):
                            v = x[b, y0 + di, x0 + dj, ch]
                            if v > out[b, oh, ow, ch]:
                                out[b, oh, ow, ch] = v
                                argmax[b, oh, ow, ch] = k
    return out, argmax


@njit(parallel=True, cache=True)
def _maxpool_backward_into(grad_output, argmax, pool_w, stride, grad_input):
    n, out_h, out_w, c = grad_output.shape
    for b in prange(n):
        grad_input[b] = 0
        for oh in range(out_h):
            for ow in range(out_w):
                for ch in range(c):
                    k = argmax[b, oh, ow, ch]
                    y = oh * stride + k // pool_w
                    xx = ow * stride + k % pool_w
                    grad_input[b, y, xx, ch] += grad_output[b, oh, ow, ch]
    return grad_input


def im2col(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out=None):
    """Numba version of :func:`tinynet.kernels.reference.im2col`."""
    n, _, _, c = x.shape
    if out is None:
        out = np.empty((n * out_h * out_w, kernel_h * kernel_w * c), dtype=x.dtype)
    return _im2col_into(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out)


def col2im(
    cols, input_shape, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out=None
):
    """Numba version of :func:`tinynet.kernels.reference.col2im`."""
    if out is None:
        out = np.empty(input_shape, dtype=cols.dtype)
    return _col2im_into(cols, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out)


def maxpool_forward(x, pool_h, pool_w, stride, out_h, out_w):
    """Numba version of :func:`tinynet.kernels.reference.maxpool_forward`."""
    shape = (x.shape[0], out_h, out_w, x.shape[3])
    out = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape, dtype=np.int32)
    return _maxpool_forward_into(x, pool_h, pool_w, stride, out, argmax)


def maxpool_backward(grad_output, argmax, input_shape, pool_h, pool_w, stride):
    """Numba version of :func:`tinynet.kernels.reference.maxpool_backward`."""
    grad_input = np.empty(input_shape, dtype=grad_output.dtype)
    return _maxpool_backward_into(grad_output, argmax, pool_w, stride, grad_input)
