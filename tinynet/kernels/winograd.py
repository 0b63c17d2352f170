"""Winograd's minimal filtering F(2x2, 3x3): a 3x3 convolution with 2.25x fewer multiplications.

A 3x3 convolution with stride 1 computes each 2x2 block of its output from the 4x4 block
of input under it. Done directly, that is 2*2*3*3 = 36 multiplications per pair of input
and output channels. Winograd's algorithm (Lavin & Gray, 2016) needs 4*4 = 16::

    Y = A^T [ (G w G^T) * (B^T d B) ] A      d: a 4x4 input tile, w: the 3x3 kernel,
                                             Y: the 2x2 output tile, *: element by element

The constant matrices ``B^T``, ``G`` and ``A^T`` below hold only 0, 1, -1 and 1/2, so the
transforms are additions. Summed over the input channels, the element-wise product
becomes 16 matrix products, one for each entry ``p`` of the 4x4 transformed tiles::

    V[p] = (B^T d B)[p]   for every tile     (tiles, C)   the input, transformed
    U[p] = (G w G^T)[p]   for every channel  (C, F)       the kernel, transformed
    M[p] = V[p] @ U[p]                       (tiles, F)
    y    = A^T M A + b    for every tile                  back to 2x2 outputs

Training needs the weight gradient too, and it is again 16 products. ``Y = A^T M A`` is
linear in ``M``, so each tile's output gradient ``dY`` (2x2) becomes ``Z = A dY A^T``
(4x4), and::

    dL/dU[p] = V[p].T @ Z[p]                 (C, F)       summed over the tiles
    dL/dw    = G^T (dL/dU) G                 (3, 3, C, F)

The input gradient needs nothing new: with stride 1 it is a convolution of ``dY`` with
the kernel turned by 180 degrees (:func:`tinynet.kernels.numba_kernels.conv2d_backward_data`).

The 16 products multiply (tiles x C) by (C x F): 16 * (H*W/4) * C * F multiplications
against im2col's 9 * H*W * C * F. In float32 the transforms add up to 16 numbers and halve
some, so the result differs from im2col's by a few units in the last place of the
largest output (the tests bound it).

:func:`conv2d_forward_reference` is the readable form, in NumPy; :func:`input_tiles`
and :func:`output_tiles` are the same two transforms compiled (beside their references
``input_tiles_reference`` and ``output_tiles_reference``).
:func:`tinynet.kernels.numba_kernels.conv2d_forward` runs them one chunk of the batch at a
time, so that the transformed tiles stay in the cache between the transforms and the
products.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import sliding_window_view

B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)

#: Winograd saves multiplications in proportion to C*F per tile and spends additions in
#: proportion to C + F (the two transforms), so it pays for many channels in and out:
#: from a harmonic mean 2CF/(C+F) of MIN_CHANNELS. Measured on whole training steps (2
#: cores, float32, against im2col): on dcnn's 64->64 layer, dcnn's steps took 15-17%
#: less time; on cnn's 64->32 layer too, cnn's steps took 15-18% more, although that
#: convolution alone (forward or input gradient) was faster.
MIN_CHANNELS = 64


def applies(geometry, channels: int, filters: int) -> bool:
    """Whether a convolution of ``channels`` into ``filters`` should use F(2x2, 3x3)."""
    if (geometry.kernel_h, geometry.kernel_w, geometry.stride) != (3, 3, 1):
        return False
    return 2 * channels * filters >= MIN_CHANNELS * (channels + filters)


def tile_counts(geometry) -> tuple[int, int]:
    """2x2 output tiles down and across (the last ones may stick out of the output)."""
    return -(-geometry.out_h // 2), -(-geometry.out_w // 2)


# --- the readable form ----------------------------------------------------------------------


def transform_weights(weights: np.ndarray) -> np.ndarray:
    """``U = G w G^T`` for every channel pair: (3, 3, C, F) -> (16, C, F)."""
    g = G.astype(weights.dtype)
    u = np.einsum("ai,ijcf,bj->abcf", g, weights, g)
    return np.ascontiguousarray(u.reshape(16, *weights.shape[2:]))


def input_tiles_reference(x: np.ndarray, geometry) -> np.ndarray:
    """``V = B^T d B`` of every 4x4 input tile of ``x`` (N, H, W, C): (16, tiles, C).

    Tile ``(t, s)`` of image ``n`` is number ``(n * tiles_h + t) * tiles_w + s``; its
    corner is input pixel ``(2t - pad_top, 2s - pad_left)``, and pixels outside the
    image are zero.
    """
    n, h, w, c = x.shape
    tiles_h, tiles_w = tile_counts(geometry)
    top, left = geometry.pad_top, geometry.pad_left
    rows, cols = max(2 * tiles_h + 2, top + h), max(2 * tiles_w + 2, left + w)
    canvas = np.zeros((n, rows, cols, c), dtype=x.dtype)  # the image on zeros
    canvas[:, top : top + h, left : left + w] = x
    windows = sliding_window_view(canvas, (4, 4), axis=(1, 2))  # a 4x4 window at every pixel
    tiles = windows[:, : 2 * tiles_h : 2, : 2 * tiles_w : 2]  # every second one: the tiles
    b_t = B_T.astype(x.dtype)
    v = np.einsum("ai,ntscij,bj->abntsc", b_t, tiles, b_t)  # t, s: the tile's row and column
    return v.reshape(16, n * tiles_h * tiles_w, c)


def output_tiles_reference(m: np.ndarray, bias: np.ndarray, geometry, n: int) -> np.ndarray:
    """``y = A^T M A + b`` of every tile of ``m`` (16, tiles, F): (N, out_h, out_w, F)."""
    tiles_h, tiles_w = tile_counts(geometry)
    a_t = A_T.astype(m.dtype)
    filters = m.shape[-1]
    y = np.einsum("pa,abntsf,qb->ntpsqf", a_t, m.reshape(4, 4, n, tiles_h, tiles_w, filters), a_t)
    y = y.reshape(n, 2 * tiles_h, 2 * tiles_w, filters)  # rows t, p and columns s, q in order
    return y[:, : geometry.out_h, : geometry.out_w] + bias


def conv2d_forward_reference(x, weights, bias, geometry) -> np.ndarray:
    """:func:`tinynet.kernels.reference.conv2d_forward` for a 3x3 stride-1 kernel, by Winograd."""
    m = input_tiles_reference(x, geometry) @ transform_weights(weights)  # (16, tiles, F)
    return output_tiles_reference(m, bias, geometry, len(x))


def gradient_tiles_reference(grad_output: np.ndarray, geometry) -> np.ndarray:
    """``Z = A dY A^T`` of every 2x2 tile of ``grad_output`` (N, out_h, out_w, F): (16, tiles, F).

    Outputs of the last tiles that stick out of the image have no gradient: zero.
    """
    n, out_h, out_w, filters = grad_output.shape
    tiles_h, tiles_w = tile_counts(geometry)
    g = np.zeros((n, 2 * tiles_h, 2 * tiles_w, filters), dtype=grad_output.dtype)
    g[:, :out_h, :out_w] = grad_output
    a_t = A_T.astype(g.dtype)
    g = g.reshape(n, tiles_h, 2, tiles_w, 2, filters)  # (n, t, p, s, q, f)
    z = np.einsum("pa,ntpsqf,qb->abntsf", a_t, g, a_t)
    return z.reshape(16, n * tiles_h * tiles_w, filters)


def weight_gradient(grad_u: np.ndarray) -> np.ndarray:
    """``dL/dw = G^T (dL/dU) G`` for every channel pair: (16, C, F) -> (3, 3, C, F)."""
    g = G.astype(grad_u.dtype)
    return np.einsum("ai,abcf,bj->ijcf", g, grad_u.reshape(4, 4, *grad_u.shape[1:]), g)


def conv2d_backward_weights_reference(x, grad_output, geometry) -> tuple[np.ndarray, np.ndarray]:
    """:func:`tinynet.kernels.reference.conv2d_backward_weights` by Winograd: ``(dW, db)``."""
    v = input_tiles_reference(x, geometry)  # (16, tiles, C)
    z = gradient_tiles_reference(grad_output, geometry)  # (16, tiles, F)
    grad_u = v.transpose(0, 2, 1) @ z  # (16, C, F): summed over the tiles
    return weight_gradient(grad_u), grad_output.sum(axis=(0, 1, 2))


# --- the same transforms, compiled -----------------------------------------------------------


def input_tiles(x: np.ndarray, geometry) -> np.ndarray:
    """Numba version of :func:`input_tiles_reference`."""
    tiles_h, tiles_w = tile_counts(geometry)
    v = np.empty((16, len(x) * tiles_h * tiles_w, x.shape[-1]), dtype=x.dtype)
    return input_tiles_into(np.ascontiguousarray(x), geometry.pad_top, geometry.pad_left,
                            tiles_h, tiles_w, v)  # fmt: skip


def output_tiles(m: np.ndarray, bias: np.ndarray, geometry, n: int) -> np.ndarray:
    """Numba version of :func:`output_tiles_reference`."""
    tiles_h, tiles_w = tile_counts(geometry)
    y = np.empty((n, geometry.out_h, geometry.out_w, m.shape[-1]), dtype=m.dtype)
    return output_tiles_into(np.ascontiguousarray(m), bias, tiles_h, tiles_w, y)


def gradient_tiles(grad_output: np.ndarray, geometry) -> np.ndarray:
    """Numba version of :func:`gradient_tiles_reference`."""
    tiles_h, tiles_w = tile_counts(geometry)
    z = np.empty((16, len(grad_output) * tiles_h * tiles_w, grad_output.shape[-1]),
                 dtype=grad_output.dtype)  # fmt: skip
    return gradient_tiles_into(np.ascontiguousarray(grad_output), tiles_h, tiles_w, z)


# One tile at a time; the innermost loops run along the channels, which are contiguous in
# both the images (NHWC) and the tiles, so they vectorize. Serial and nogil, like the
# im2col copies: the chunks of the batch decide the threads.


@njit(cache=True, nogil=True)
def input_tiles_into(x, pad_top, pad_left, tiles_h, tiles_w, v):
    """:func:`input_tiles_reference` of ``x`` into ``v`` (16, tiles, C)."""
    n, h, w, c = x.shape
    d = np.empty((4, 4, c), dtype=x.dtype)  # one tile, turned into B^T d in place
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                tile = (b * tiles_h + ti) * tiles_w + tj
                for i in range(4):
                    row = 2 * ti + i - pad_top
                    for j in range(4):
                        col = 2 * tj + j - pad_left
                        if 0 <= row < h and 0 <= col < w:
                            for ch in range(c):
                                d[i, j, ch] = x[b, row, col, ch]
                        else:  # padding
                            for ch in range(c):
                                d[i, j, ch] = 0
                for j in range(4):  # B^T d: each column's four rows combined
                    for ch in range(c):
                        d0, d1, d2, d3 = d[0, j, ch], d[1, j, ch], d[2, j, ch], d[3, j, ch]
                        d[0, j, ch] = d0 - d2
                        d[1, j, ch] = d1 + d2
                        d[2, j, ch] = d2 - d1
                        d[3, j, ch] = d1 - d3
                for i in range(4):  # (B^T d) B: each row's four columns combined
                    for ch in range(c):
                        e0, e1, e2, e3 = d[i, 0, ch], d[i, 1, ch], d[i, 2, ch], d[i, 3, ch]
                        v[4 * i, tile, ch] = e0 - e2
                        v[4 * i + 1, tile, ch] = e1 + e2
                        v[4 * i + 2, tile, ch] = e2 - e1
                        v[4 * i + 3, tile, ch] = e1 - e3
    return v


@njit(cache=True, nogil=True)
def output_tiles_into(m, bias, tiles_h, tiles_w, y):
    """:func:`output_tiles_reference` of ``m`` (16, tiles, F) into ``y`` (N, out_h, out_w, F)."""
    n, out_h, out_w, f = y.shape
    r = np.empty((2, 4, f), dtype=m.dtype)  # A^T M: two rows of four
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                tile = (b * tiles_h + ti) * tiles_w + tj
                for j in range(4):
                    for ch in range(f):
                        m0, m1 = m[j, tile, ch], m[4 + j, tile, ch]
                        m2, m3 = m[8 + j, tile, ch], m[12 + j, tile, ch]
                        r[0, j, ch] = m0 + m1 + m2
                        r[1, j, ch] = m1 - m2 - m3
                for i in range(2):  # (A^T M) A: the two outputs of each row, plus the bias
                    row, col = 2 * ti + i, 2 * tj
                    if row < out_h:
                        for ch in range(f):
                            y[b, row, col, ch] = r[i, 0, ch] + r[i, 1, ch] + r[i, 2, ch] + bias[ch]
                        if col + 1 < out_w:
                            for ch in range(f):
                                right = r[i, 1, ch] - r[i, 2, ch] - r[i, 3, ch]
                                y[b, row, col + 1, ch] = right + bias[ch]
    return y


@njit(inline="always")
def _spread(z, first, tile, ch, a, b):
    """One row of ``Z = (A dY) A^T`` from the row ``(a, b)`` of ``A dY``."""
    z[first, tile, ch] = a
    z[first + 1, tile, ch] = a + b
    z[first + 2, tile, ch] = a - b
    z[first + 3, tile, ch] = -b


@njit(cache=True, nogil=True)
def gradient_tiles_into(grad_output, tiles_h, tiles_w, z):
    """:func:`gradient_tiles_reference` of ``grad_output`` into ``z`` (16, tiles, F)."""
    n, out_h, out_w, f = grad_output.shape
    g = np.empty((2, 2, f), dtype=grad_output.dtype)  # one tile of dY, zero where outside
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                tile = (b * tiles_h + ti) * tiles_w + tj
                for i in range(2):
                    for j in range(2):
                        row, col = 2 * ti + i, 2 * tj + j
                        if row < out_h and col < out_w:
                            for ch in range(f):
                                g[i, j, ch] = grad_output[b, row, col, ch]
                        else:
                            for ch in range(f):
                                g[i, j, ch] = 0
                # A dY: four rows of two, (g0, g0 + g1, g0 - g1, -g1) from dY's rows g0, g1;
                # then (A dY) A^T: each of those rows (a, b) spread to (a, a + b, a - b, -b).
                for ch in range(f):
                    _spread(z, 0, tile, ch, g[0, 0, ch], g[0, 1, ch])
                for ch in range(f):
                    _spread(z, 4, tile, ch, g[0, 0, ch] + g[1, 0, ch], g[0, 1, ch] + g[1, 1, ch])
                for ch in range(f):
                    _spread(z, 8, tile, ch, g[0, 0, ch] - g[1, 0, ch], g[0, 1, ch] - g[1, 1, ch])
                for ch in range(f):
                    _spread(z, 12, tile, ch, -g[1, 0, ch], -g[1, 1, ch])
    return z
