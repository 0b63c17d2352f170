"""Winograd's minimal filtering F(m x m, 3x3): a 3x3 convolution with fewer multiplications.

A 3x3 convolution with stride 1 computes each m x m block of its output from the
(m + 2) x (m + 2) block of input under it. Done directly, that is 9 m^2 multiplications
per pair of input and output channels. Winograd's algorithm (Lavin & Gray, 2016) needs
(m + 2)^2::

    Y = A^T [ (G w G^T) * (B^T d B) ] A      d: an input tile, w: the 3x3 kernel,
                                             Y: the output tile, *: element by element

``B^T``, ``G`` and ``A^T`` are constant matrices (:data:`F_2X2` and :data:`F_4X4` below),
so the transforms are a few additions and multiplications by small constants. Summed
over the input channels, the element-wise product becomes one matrix product for each
entry ``p`` of the transformed tiles::

    V[p] = (B^T d B)[p]   for every tile     (tiles, C)   the input, transformed
    U[p] = (G w G^T)[p]   for every channel  (C, F)       the kernel, transformed
    M[p] = V[p] @ U[p]                       (tiles, F)
    y    = A^T M A + b    for every tile                  back to m x m outputs

F(2x2, 3x3) is the one to read first: its matrices hold only 0, 1, -1 and 1/2, and it
needs 16 multiplications where the direct form needs 36 (2.25x fewer). tinynet's kernels
use F(4x4, 3x3): 36 where the direct form needs 144 (4x fewer), and its tiles overlap
less, so the transformed tiles take 36/16 numbers per pixel instead of 16/4: 1.8x less
memory to write and read than F(2x2, 3x3).

Training needs the weight gradient too, and it is again one product per ``p``.
``Y = A^T M A`` is linear in ``M``, so each tile's output gradient ``dY`` (m x m) becomes
``Z = A dY A^T``, and::

    dL/dU[p] = V[p].T @ Z[p]                 (C, F)       summed over the tiles
    dL/dw    = G^T (dL/dU) G                 (3, 3, C, F)

The input gradient needs nothing new: with stride 1 it is a convolution of ``dY`` with
the kernel turned by 180 degrees (:func:`tinynet.kernels.numba_kernels.conv2d_backward_data`).

Rounding: the transforms add numbers of every size, and F(4x4, 3x3)'s constants (up to 8
in ``A^T``, 1/24 in ``G``) make it add more of them. In float32, on 2 to 32 random
64-channel images, its convolution differed from float64 im2col's by 4-9e-6 of the
largest output; F(2x2, 3x3)'s by 2-3e-7 (the tests bound both at 2e-5).

The functions ending in ``_reference`` are the readable form, in NumPy, for either
transform; :func:`input_tiles`, :func:`output_tiles` and :func:`gradient_tiles` are
F(4x4, 3x3)'s three transforms compiled.
:func:`tinynet.kernels.numba_kernels.conv2d_forward` runs them one chunk of the batch at a
time, so that the transformed tiles stay in the cache between the transforms and the
products.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import sliding_window_view


class Transform(NamedTuple):
    """The three matrices of F(m x m, 3x3): ``B_T`` (t, t), ``G`` (t, 3), ``A_T`` (m, t),
    with input tiles of t = m + 2 pixels a side."""

    B_T: np.ndarray
    G: np.ndarray
    A_T: np.ndarray

    @property
    def m(self) -> int:
        """Output tile side."""
        return self.A_T.shape[0]

    @property
    def t(self) -> int:
        """Input tile side, m + 2."""
        return self.B_T.shape[0]


F_2X2 = Transform(
    B_T=np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64),
    G=np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64),
    A_T=np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64),
)

# Interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray's F(4x4, 3x3)).
F_4X4 = Transform(
    B_T=np.array(
        [
            [4, 0, -5, 0, 1, 0],
            [0, -4, -4, 1, 1, 0],
            [0, 4, -4, -1, 1, 0],
            [0, -2, -1, 2, 1, 0],
            [0, 2, -1, -2, 1, 0],
            [0, 4, 0, -5, 0, 1],
        ],
        dtype=np.float64,
    ),
    G=np.array(
        [
            [1 / 4, 0, 0],
            [-1 / 6, -1 / 6, -1 / 6],
            [-1 / 6, 1 / 6, -1 / 6],
            [1 / 24, 1 / 12, 1 / 6],
            [1 / 24, -1 / 12, 1 / 6],
            [0, 0, 1],
        ],
        dtype=np.float64,
    ),
    A_T=np.array(
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
        dtype=np.float64,
    ),
)

#: Numbers in one transformed tile of the compiled transform, F(4x4, 3x3): 6 x 6.
TILE_ENTRIES = F_4X4.t**2

#: Winograd saves multiplications in proportion to C*F per tile and spends additions in
#: proportion to C + F (the two transforms), so it pays for many channels in and out:
#: from a harmonic mean 2CF/(C+F) of MIN_CHANNELS. Measured on whole training steps (2
#: cores, float32, F(4x4, 3x3), medians per second, two or three processes each), with
#: cnn's 64->32 and dcnn's 64->32 and 32->32 layers on Winograd (32) or on im2col (64):
#: cnn at batch 32 15.3-15.6 against 16.9-17.2 ms, at batch 128 51.9-53.3 against
#: 61.0-64.0; dcnn at batch 32 56.5-56.6 against 58.0-58.5, at batch 128 208-212 against
#: 229-234. The first layers (one channel in) keep their direct loop.
MIN_CHANNELS = 32


def applies(geometry, channels: int, filters: int) -> bool:
    """Whether a convolution of ``channels`` into ``filters`` should use Winograd."""
    if (geometry.kernel_h, geometry.kernel_w, geometry.stride) != (3, 3, 1):
        return False
    return 2 * channels * filters >= MIN_CHANNELS * (channels + filters)


def tile_counts(geometry, m: int = F_4X4.m) -> tuple[int, int]:
    """m x m output tiles down and across (the last ones may stick out of the output)."""
    return -(-geometry.out_h // m), -(-geometry.out_w // m)


# --- the readable form ----------------------------------------------------------------------


def transform_weights(weights: np.ndarray, transform: Transform = F_4X4) -> np.ndarray:
    """``U = G w G^T`` for every channel pair: (3, 3, C, F) -> (t*t, C, F).

    Two matrix products over all channel pairs at once (an einsum takes 7x longer), in
    float64 (G holds fractions such as 1/6); returned in the weights' dtype.
    """
    g, t = transform.G, transform.t
    w = weights.astype(np.float64).reshape(3, 3, -1)  # (3, 3, C*F)
    g_w = (g @ w.reshape(3, -1)).reshape(t, 3, -1)  # G w: (t, 3, C*F)
    u = g @ g_w  # (G w) G^T, row by row of G w: (t, t, C*F)
    return np.ascontiguousarray(u.reshape(t * t, *weights.shape[2:]), weights.dtype)


def input_tiles_reference(x: np.ndarray, geometry, transform: Transform = F_4X4) -> np.ndarray:
    """``V = B^T d B`` of every t x t input tile of ``x`` (N, H, W, C): (t*t, tiles, C).

    Tile ``(i, j)`` of image ``n`` is number ``(n * tiles_h + i) * tiles_w + j``; its
    corner is input pixel ``(m*i - pad_top, m*j - pad_left)``, and pixels outside the
    image are zero.
    """
    n, h, w, c = x.shape
    m, t = transform.m, transform.t
    tiles_h, tiles_w = tile_counts(geometry, m)
    top, left = geometry.pad_top, geometry.pad_left
    rows, cols = max(m * tiles_h + 2, top + h), max(m * tiles_w + 2, left + w)
    canvas = np.zeros((n, rows, cols, c), dtype=x.dtype)  # the image on zeros
    canvas[:, top : top + h, left : left + w] = x
    windows = sliding_window_view(canvas, (t, t), axis=(1, 2))  # a t x t window at every pixel
    tiles = windows[:, : m * tiles_h : m, : m * tiles_w : m]  # every m-th one: the tiles
    b_t = transform.B_T.astype(x.dtype)
    v = np.einsum("ai,nrscij,bj->abnrsc", b_t, tiles, b_t)  # r, s: the tile's row and column
    return v.reshape(t * t, n * tiles_h * tiles_w, c)


def output_tiles_reference(
    products: np.ndarray, bias: np.ndarray, geometry, n: int, transform: Transform = F_4X4
) -> np.ndarray:
    """``y = A^T M A + b`` of every tile of the products ``M`` (t*t, tiles, F):
    (N, out_h, out_w, F)."""
    m, t = transform.m, transform.t
    tiles_h, tiles_w = tile_counts(geometry, m)
    a_t = transform.A_T.astype(products.dtype)
    filters = products.shape[-1]
    by_tile = products.reshape(t, t, n, tiles_h, tiles_w, filters)  # (a, b, n, r, s, f)
    y = np.einsum("pa,abnrsf,qb->nrpsqf", a_t, by_tile, a_t)
    y = y.reshape(n, m * tiles_h, m * tiles_w, filters)  # rows r, p and columns s, q
    return y[:, : geometry.out_h, : geometry.out_w] + bias


def conv2d_forward_reference(x, weights, bias, geometry, transform: Transform = F_4X4):
    """:func:`tinynet.kernels.reference.conv2d_forward` for a 3x3 stride-1 kernel, by Winograd."""
    u = transform_weights(weights, transform)
    products = input_tiles_reference(x, geometry, transform) @ u  # (t*t, tiles, F)
    return output_tiles_reference(products, bias, geometry, len(x), transform)


def gradient_tiles_reference(
    grad_output: np.ndarray, geometry, transform: Transform = F_4X4
) -> np.ndarray:
    """``Z = A dY A^T`` of every m x m tile of ``grad_output`` (N, out_h, out_w, F):
    (t*t, tiles, F).

    Outputs of the last tiles that stick out of the image have no gradient: zero.
    """
    n, out_h, out_w, filters = grad_output.shape
    m, t = transform.m, transform.t
    tiles_h, tiles_w = tile_counts(geometry, m)
    g = np.zeros((n, m * tiles_h, m * tiles_w, filters), dtype=grad_output.dtype)
    g[:, :out_h, :out_w] = grad_output
    a_t = transform.A_T.astype(g.dtype)
    g = g.reshape(n, tiles_h, m, tiles_w, m, filters)  # (n, r, p, s, q, f)
    z = np.einsum("pa,nrpsqf,qb->abnrsf", a_t, g, a_t)
    return z.reshape(t * t, n * tiles_h * tiles_w, filters)


def weight_gradient(grad_u: np.ndarray, transform: Transform = F_4X4) -> np.ndarray:
    """``dL/dw = G^T (dL/dU) G`` for every channel pair: (t*t, C, F) -> (3, 3, C, F).

    Two matrix products in float64, like :func:`transform_weights`.
    """
    g, t = transform.G, transform.t
    grad = grad_u.astype(np.float64).reshape(t, -1)  # (t, t*C*F)
    gt_grad = (g.T @ grad).reshape(3, t, -1)  # G^T dU: (3, t, C*F)
    dw = g.T @ gt_grad  # (G^T dU) G, row by row: (3, 3, C*F)
    return dw.reshape(3, 3, *grad_u.shape[1:]).astype(grad_u.dtype)


def conv2d_backward_weights_reference(
    x, grad_output, geometry, transform: Transform = F_4X4
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`tinynet.kernels.reference.conv2d_backward_weights` by Winograd: ``(dW, db)``."""
    v = input_tiles_reference(x, geometry, transform)  # (t*t, tiles, C)
    z = gradient_tiles_reference(grad_output, geometry, transform)  # (t*t, tiles, F)
    grad_u = v.transpose(0, 2, 1) @ z  # (t*t, C, F): summed over the tiles
    return weight_gradient(grad_u, transform), grad_output.sum(axis=(0, 1, 2))


# --- F(4x4, 3x3)'s transforms, compiled -------------------------------------------------


def input_tiles(x: np.ndarray, geometry, out: np.ndarray | None = None) -> np.ndarray:
    """Numba version of :func:`input_tiles_reference` (F(4x4, 3x3)).

    The tiles are stored tile by tile, in ``out`` (tiles, 36, C) if given, and returned
    as the reference returns them: a (36, tiles, C) view.
    """
    tiles_h, tiles_w = tile_counts(geometry)
    if out is None:
        out = np.empty((len(x) * tiles_h * tiles_w, TILE_ENTRIES, x.shape[-1]), dtype=x.dtype)
    input_tiles_into(np.ascontiguousarray(x), geometry.pad_top, geometry.pad_left,
                     tiles_h, tiles_w, out)  # fmt: skip
    return out.transpose(1, 0, 2)


def output_tiles(
    products: np.ndarray, bias: np.ndarray, geometry, n: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Numba version of :func:`output_tiles_reference` (F(4x4, 3x3)), into ``out`` if given.

    ``products`` (36, tiles, F) is read tile by tile: a view of an array stored that way
    (as :func:`input_tiles` returns) is not copied.
    """
    tiles_h, tiles_w = tile_counts(geometry)
    if out is None:
        out = np.empty((n, geometry.out_h, geometry.out_w, products.shape[-1]), products.dtype)
    by_tile = np.ascontiguousarray(products.transpose(1, 0, 2))
    return output_tiles_into(by_tile, bias, tiles_h, tiles_w, out)


def gradient_tiles(
    grad_output: np.ndarray, geometry, out: np.ndarray | None = None
) -> np.ndarray:
    """Numba version of :func:`gradient_tiles_reference` (F(4x4, 3x3)), stored tile by tile
    like :func:`input_tiles`: in ``out`` (tiles, 36, F) if given, returned as (36, tiles, F)."""
    tiles_h, tiles_w = tile_counts(geometry)
    if out is None:
        tiles = len(grad_output) * tiles_h * tiles_w
        out = np.empty((tiles, TILE_ENTRIES, grad_output.shape[-1]), dtype=grad_output.dtype)
    gradient_tiles_into(np.ascontiguousarray(grad_output), tiles_h, tiles_w, out)
    return out.transpose(1, 0, 2)


# F(4x4, 3x3)'s matrices as formulas, one row of a tile at a time. The constants 2, 4, 5
# and 8 are numbers of the arrays' dtype, as a bare 4 would turn float32 arithmetic into
# float64.


@njit(inline="always")
def _constants(a):
    """2, 4, 5 and 8 in the dtype of the array ``a`` (``a.dtype.type``, as the other
    kernels make their constants)."""
    number = a.dtype.type
    return number(2), number(4), number(5), number(8)


@njit(inline="always")
def _b_t(d0, d1, d2, d3, d4, d5, two, four, five):
    """``B^T d`` for six numbers ``d`` (a row or a column of a tile)."""
    return (four * d0 - five * d2 + d4,
            d3 + d4 - four * (d1 + d2),
            four * (d1 - d2) - d3 + d4,
            two * (d3 - d1) - d2 + d4,
            two * (d1 - d3) - d2 + d4,
            four * d1 - five * d3 + d5)  # fmt: skip


@njit(inline="always")
def _a_t(m0, m1, m2, m3, m4, m5, two, four, eight):
    """``A^T m`` for six numbers ``m``: four outputs."""
    return (m0 + m1 + m2 + m3 + m4,
            m1 - m2 + two * (m3 - m4),
            m1 + m2 + four * (m3 + m4),
            m1 - m2 + eight * (m3 - m4) + m5)  # fmt: skip


@njit(inline="always")
def _a(g0, g1, g2, g3, two, four, eight):
    """``A g`` for four numbers ``g``: six."""
    return (g0,
            g0 + g1 + g2 + g3,
            g0 - g1 + g2 - g3,
            g0 + two * g1 + four * g2 + eight * g3,
            g0 - two * g1 + four * g2 - eight * g3,
            g3)  # fmt: skip


# One tile at a time; the innermost loops run along the channels, which are contiguous in
# both the images (NHWC) and the tiles, so they vectorize. Serial and nogil, like the
# im2col copies: the chunks of the batch decide the threads.


@njit(cache=True, nogil=True)
def input_tiles_into(x, pad_top, pad_left, tiles_h, tiles_w, v):
    """:func:`input_tiles_reference` of ``x`` into ``v``, stored tile by tile: (tiles, 36, C)."""
    n, h, w, c = x.shape
    two, four, five, _ = _constants(x)
    # Each image is first copied onto a canvas of zeros, as in the reference, and each
    # tile's rows are read straight from it: 17-20% faster than copying every tile's 36
    # pixels out, each checked against the image's edges (kernel table, 2026-12-05).
    canvas = np.zeros((4 * tiles_h + 2, 4 * tiles_w + 2, c), dtype=x.dtype)
    # The image fits whenever the geometry is this convolution's; min() keeps one that is
    # not from writing past the canvas (Numba does not check indices).
    rows, cols = min(h, len(canvas) - pad_top), min(w, canvas.shape[1] - pad_left)
    e = np.empty((6, 6, c), dtype=x.dtype)  # d B, turned: e[j, i] = (d B)[i, j]
    for b in range(n):
        for y in range(rows):
            for xx in range(cols):
                for ch in range(c):
                    canvas[pad_top + y, pad_left + xx, ch] = x[b, y, xx, ch]
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                tile = (b * tiles_h + ti) * tiles_w + tj
                left = 4 * tj  # the tile's first column on the canvas
                for i in range(6):  # d B: each row's six columns combined
                    row = canvas[4 * ti + i]
                    for ch in range(c):
                        e[0, i, ch], e[1, i, ch], e[2, i, ch], e[3, i, ch], e[4, i, ch], \
                            e[5, i, ch] = _b_t(row[left, ch], row[left + 1, ch], row[left + 2, ch],
                                               row[left + 3, ch], row[left + 4, ch],
                                               row[left + 5, ch], two, four, five)  # fmt: skip
                for j in range(6):  # B^T (d B): each column's six rows combined
                    for ch in range(c):
                        v0, v1, v2, v3, v4, v5 = _b_t(e[j, 0, ch], e[j, 1, ch], e[j, 2, ch],
                                                      e[j, 3, ch], e[j, 4, ch], e[j, 5, ch],
                                                      two, four, five)  # fmt: skip
                        v[tile, j, ch] = v0
                        v[tile, 6 + j, ch] = v1
                        v[tile, 12 + j, ch] = v2
                        v[tile, 18 + j, ch] = v3
                        v[tile, 24 + j, ch] = v4
                        v[tile, 30 + j, ch] = v5
    return v


@njit(cache=True, nogil=True)
def output_tiles_into(m, bias, tiles_h, tiles_w, y):
    """:func:`output_tiles_reference` of ``m`` (tiles, 36, F) into ``y`` (N, out_h, out_w, F)."""
    n, out_h, out_w, f = y.shape
    two, four, _, eight = _constants(m)
    products = np.empty((36, f), dtype=m.dtype)  # one tile's M
    r = np.empty((4, 6, f), dtype=m.dtype)  # A^T M: four rows of six
    out = np.empty((4, 4, f), dtype=m.dtype)  # A^T M A: the tile's outputs
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                tile = (b * tiles_h + ti) * tiles_w + tj
                # The tile's 36 products, first copied out in the order they are stored:
                # the columns below read them six rows apart, which took 10-30% longer
                # straight from m (kernel table, 2026-12-05).
                for k in range(36):
                    for ch in range(f):
                        products[k, ch] = m[tile, k, ch]
                for j in range(6):  # A^T M: each column's six rows to four
                    for ch in range(f):
                        r[0, j, ch], r[1, j, ch], r[2, j, ch], r[3, j, ch] = _a_t(
                            products[j, ch], products[6 + j, ch], products[12 + j, ch],
                            products[18 + j, ch], products[24 + j, ch], products[30 + j, ch],
                            two, four, eight)  # fmt: skip
                for i in range(4):  # (A^T M) A: each row's six columns to four
                    for ch in range(f):
                        out[i, 0, ch], out[i, 1, ch], out[i, 2, ch], out[i, 3, ch] = _a_t(
                            r[i, 0, ch], r[i, 1, ch], r[i, 2, ch], r[i, 3, ch], r[i, 4, ch],
                            r[i, 5, ch], two, four, eight)  # fmt: skip
                # plus the bias, where the tile is inside the image
                for i in range(min(4, out_h - 4 * ti)):
                    for j in range(min(4, out_w - 4 * tj)):
                        for ch in range(f):
                            y[b, 4 * ti + i, 4 * tj + j, ch] = out[i, j, ch] + bias[ch]
    return y


@njit(cache=True, nogil=True)
def gradient_tiles_into(grad_output, tiles_h, tiles_w, z):
    """:func:`gradient_tiles_reference` of ``grad_output`` into ``z`` (tiles, 36, F)."""
    n, out_h, out_w, f = grad_output.shape
    two, four, _, eight = _constants(grad_output)
    g = np.empty((4, 4, f), dtype=grad_output.dtype)  # one tile of dY, zero where outside
    a = np.empty((6, 4, f), dtype=grad_output.dtype)  # A dY: six rows of four
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                tile = (b * tiles_h + ti) * tiles_w + tj
                for i in range(4):
                    for j in range(4):
                        row, col = 4 * ti + i, 4 * tj + j
                        if row < out_h and col < out_w:
                            for ch in range(f):
                                g[i, j, ch] = grad_output[b, row, col, ch]
                        else:
                            for ch in range(f):
                                g[i, j, ch] = 0
                for j in range(4):  # A dY: each column's four rows spread to six
                    for ch in range(f):
                        a[0, j, ch], a[1, j, ch], a[2, j, ch], a[3, j, ch], a[4, j, ch], \
                            a[5, j, ch] = _a(g[0, j, ch], g[1, j, ch], g[2, j, ch],
                                             g[3, j, ch], two, four, eight)  # fmt: skip
                for i in range(6):  # (A dY) A^T: each row's four columns spread to six
                    first = 6 * i  # the row's first entry in the tile
                    for ch in range(f):
                        z0, z1, z2, z3, z4, z5 = _a(a[i, 0, ch], a[i, 1, ch], a[i, 2, ch],
                                                    a[i, 3, ch], two, four, eight)  # fmt: skip
                        z[tile, first, ch] = z0
                        z[tile, first + 1, ch] = z1
                        z[tile, first + 2, ch] = z2
                        z[tile, first + 3, ch] = z3
                        z[tile, first + 4, ch] = z4
                        z[tile, first + 5, ch] = z5
    return z
