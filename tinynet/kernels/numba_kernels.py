"""Numba kernels: the same functions as :mod:`tinynet.kernels.reference`, compiled.

The image kernels loop over the batch with ``prange`` (every sample writes only
its own slice of the output, so the threads never touch the same memory); 2x2
max pooling, im2col, col2im and the element-wise kernels run on one thread unless
the array is very large (see PARALLEL_SIZE), and the loss (a few numbers per
image) always does. Every kernel is cached on disk (``cache=True``), so
only the first process ever pays for compilation. Read the reference first: it is
the definition; this is the speed.

Threads: NumPy's BLAS (OpenBLAS) keeps its threads spinning for a while after
each matrix product. Numba's default OpenMP layer spins too, and on a small
machine the two fight over the cores (a CNN step was measured 3x slower). The
simple ``workqueue`` layer does not spin, so it is chosen here unless the user
picked a layer with ``NUMBA_THREADING_LAYER``.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit, prange
from threadpoolctl import ThreadpoolController

from tinynet.kernels import reference, winograd

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"


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


@njit(cache=True)
def _im2col_one_channel_3x3(x, stride, pad_top, pad_left, out_h, out_w, cols):
    # One channel, 3x3: a patch row is 9 single numbers, too short for the loops above.
    # Each image is copied into a zero-padded frame first, so that the 9 numbers of a
    # row are read without bounds checks and written one after the other.
    n, h, w = x.shape[0], x.shape[1], x.shape[2]
    frame = np.zeros(((out_h - 1) * stride + 3, (out_w - 1) * stride + 3), dtype=x.dtype)
    rows_in, cols_in = min(h, len(frame) - pad_top), min(w, frame.shape[1] - pad_left)
    for b in range(n):
        for y in range(rows_in):
            for xx in range(cols_in):
                frame[pad_top + y, pad_left + xx] = x[b, y, xx, 0]
        for oh in range(out_h):
            top, middle, bottom = frame[oh * stride], frame[oh * stride + 1], frame[oh * stride + 2]
            for ow in range(out_w):
                row, left = (b * out_h + oh) * out_w + ow, ow * stride
                cols[row, 0], cols[row, 1], cols[row, 2] = top[left], top[left + 1], top[left + 2]
                cols[row, 3], cols[row, 4] = middle[left], middle[left + 1]
                cols[row, 5], cols[row, 6] = middle[left + 2], bottom[left]
                cols[row, 7], cols[row, 8] = bottom[left + 1], bottom[left + 2]
    return cols


#: Image pixels per run of col2im's innermost loops (see _col2im_into). Numba reads it
#: when it compiles the kernel: changing it later changes nothing.
COL2IM_RUN = 4


@njit(parallel=True, cache=True)
def _col2im_into(cols, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, image):
    # Gather form, one image row y at a time: each kernel row i that reaches y brings
    # the patch row oh = (y + pad_top - i) / stride, and each kernel column j adds a run
    # of windows ow, entry (i, j), onto the pixels ow * stride + j - pad_left. Every pixel
    # receives its entries in (i, j) order, the order the reference adds them in. The
    # pixels go COL2IM_RUN at a time, so that the j loop reads nearby patch rows together
    # (32x28x28x64: 6.2 ms against 8.2 with whole image rows, 7.1 with a pixel at a time).
    n, h, w, c = image.shape
    zero = image.dtype.type(0)  # as in _adam_update_element: not a Python 0
    for b in prange(n):
        for y in range(h):
            for xx in range(w):
                for ch in range(c):
                    image[b, y, xx, ch] = zero
            for i in range(kernel_h):
                t = y + pad_top - i
                if t < 0 or t % stride != 0 or t // stride >= out_h:
                    continue
                first_row = (b * out_h + t // stride) * out_w
                for run_start in range(0, w, COL2IM_RUN):
                    run_stop = min(run_start + COL2IM_RUN, w)
                    for j in range(kernel_w):
                        # the windows whose column j lands in [run_start, run_stop)
                        first_ow = max(0, -((j - pad_left - run_start) // stride))
                        stop_ow = min(out_w, (run_stop - 1 + pad_left - j) // stride + 1)
                        base = (i * kernel_w + j) * c
                        for ow in range(first_ow, stop_ow):
                            pixel_x = ow * stride + j - pad_left
                            for ch in range(c):
                                image[b, y, pixel_x, ch] += cols[first_row + ow, base + ch]
    return image


@njit(inline="always")
def _wins(value, best):
    # The reference's argmax: a later pixel wins only when strictly greater (the first
    # maximum wins ties), and NaN counts as the largest, so the first NaN wins. Bitwise
    # operators instead of `and`/`or`: no branches, so the channel loop vectorizes.
    return (value > best) | ((value != value) & (best == best))


@njit(parallel=True, cache=True)
def _maxpool_forward_into(x, pool_h, pool_w, stride, out, argmax):
    # Channels innermost, and select instead of branch: vectorizes, and random
    # data cannot make the branch predictor miss.
    n, out_h, out_w, c = out.shape
    for b in prange(n):
        for oh in range(out_h):
            for ow in range(out_w):
                best, winner = out[b, oh, ow], argmax[b, oh, ow]
                first = x[b, oh * stride, ow * stride]
                for ch in range(c):
                    best[ch] = first[ch]
                    winner[ch] = 0
                for k in range(1, pool_h * pool_w):
                    pixel = x[b, oh * stride + k // pool_w, ow * stride + k % pool_w]
                    for ch in range(c):
                        better = _wins(pixel[ch], best[ch])
                        winner[ch] = k if better else winner[ch]
                        best[ch] = pixel[ch] if better else best[ch]
    return out, argmax


@njit(inline="always")
def _maxpool_2x2_image(x, out, argmax, b):
    # pool == stride == 2, the usual case: the four pixels of a window are loaded
    # into registers and compared there, one pass over x with no window loop and no
    # read-back of out and argmax (about 3x faster than the general loop above).
    _, out_h, out_w, c = out.shape
    for oh in range(out_h):
        top, bottom = x[b, 2 * oh], x[b, 2 * oh + 1]
        for ow in range(out_w):
            p0, p1 = top[2 * ow], top[2 * ow + 1]
            p2, p3 = bottom[2 * ow], bottom[2 * ow + 1]
            best, winner = out[b, oh, ow], argmax[b, oh, ow]
            for ch in range(c):
                value, k = p0[ch], 0
                if _wins(p1[ch], value):
                    value, k = p1[ch], 1
                if _wins(p2[ch], value):
                    value, k = p2[ch], 2
                if _wins(p3[ch], value):
                    value, k = p3[ch], 3
                best[ch], winner[ch] = value, k


@njit(cache=True)
def _maxpool_2x2_forward_serial(x, out, argmax):
    for b in range(x.shape[0]):
        _maxpool_2x2_image(x, out, argmax, b)
    return out, argmax


@njit(parallel=True, cache=True)
def _maxpool_2x2_forward_parallel(x, out, argmax):
    for b in prange(x.shape[0]):
        _maxpool_2x2_image(x, out, argmax, b)
    return out, argmax


@njit(inline="always")
def _maxpool_2x2_backward_image(grad_output, argmax, grad_input, b):
    # pool == stride == 2: the image written row after row, each pixel's channels from
    # its window's gradient where its offset won. The offset is compared as argmax's
    # int32: as a Python int it widened the loop to int64, half the vector lanes (on
    # 32x14x14x32, 37 us instead of 52 for the general loop below).
    _, out_h, out_w, c = grad_output.shape
    h, w = grad_input.shape[1:3]
    zero = grad_input.dtype.type(0)
    for y in range(2 * out_h):
        row, g_row, won_row = grad_input[b, y], grad_output[b, y // 2], argmax[b, y // 2]
        for x in range(2 * out_w):
            pixel, g, won = row[x], g_row[x // 2], won_row[x // 2]
            k = won.dtype.type(2 * (y % 2) + x % 2)
            for ch in range(c):
                pixel[ch] = zero + g[ch] if won[ch] == k else zero  # -0.0 becomes 0.0
        for x in range(2 * out_w, w):  # an odd width: the last column is in no window
            row[x] = 0
    for y in range(2 * out_h, h):
        grad_input[b, y] = 0


@njit(inline="always")
def _maxpool_backward_image(grad_output, argmax, pool, stride, grad_input, b):
    _, out_h, out_w, c = grad_output.shape
    h, w = grad_input.shape[1:3]
    if pool == stride == 2:
        _maxpool_2x2_backward_image(grad_output, argmax, grad_input, b)
        return
    if stride != pool:  # overlapping windows: a pixel may win several, so add up
        grad_input[b] = 0
        for oh in range(out_h):
            for ow in range(out_w):
                for ch in range(c):
                    k = argmax[b, oh, ow, ch]
                    y, x = oh * stride + k // pool, ow * stride + k % pool
                    grad_input[b, y, x, ch] += grad_output[b, oh, ow, ch]
        return
    # Windows tile the image: every pixel is written once, its gradient or 0. The
    # reference adds the gradient to zeros, which turns -0.0 into 0.0: so does zero + g.
    zero = grad_input.dtype.type(0)
    for y in range(out_h * pool, h):
        grad_input[b, y] = 0
    for oh in range(out_h):
        for ow in range(out_w):
            for k in range(pool * pool):
                y, x = oh * pool + k // pool, ow * pool + k % pool
                for ch in range(c):
                    won = argmax[b, oh, ow, ch] == k
                    grad_input[b, y, x, ch] = zero + grad_output[b, oh, ow, ch] if won else zero
        for x in range(out_w * pool, w):
            for di in range(pool):
                grad_input[b, oh * pool + di, x] = 0


@njit(cache=True)
def _maxpool_backward_serial(grad_output, argmax, pool, stride, grad_input):
    for b in range(grad_output.shape[0]):
        _maxpool_backward_image(grad_output, argmax, pool, stride, grad_input, b)
    return grad_input


@njit(parallel=True, cache=True)
def _maxpool_backward_parallel(grad_output, argmax, pool, stride, grad_input):
    for b in prange(grad_output.shape[0]):
        _maxpool_backward_image(grad_output, argmax, pool, stride, grad_input, b)
    return grad_input


@njit(inline="always")
def _taps_inside(out_index, stride, pad, kernel, size):
    # Where the window of output row/column `out_index` starts in the image, and the
    # range of kernel taps that land inside it: the border then needs no per-tap test.
    start = out_index * stride - pad
    return start, max(0, -start), min(kernel, size - start)


@njit(inline="always")
def _whole_windows(stride, pad, kernel, size, out_size):
    # The output rows (or columns) whose window lies wholly inside the image.
    return (pad + stride - 1) // stride, min(out_size, (size - kernel + pad) // stride + 1)


@njit(inline="always")
def _unrolled_windows(geometry, image_shape):
    # Where the unrolled 3x3 stride-1 forms apply: the output rows and columns whose
    # window lies wholly inside the image; empty ranges for any other kernel.
    kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w = geometry
    if not (kernel_h == kernel_w == 3 and stride == 1):
        return 0, 0, 0, 0
    row_first, row_stop = _whole_windows(stride, pad_top, kernel_h, image_shape[1], out_h)
    col_first, col_stop = _whole_windows(stride, pad_left, kernel_w, image_shape[2], out_w)
    return row_first, row_stop, col_first, col_stop


@njit(inline="always")
def _conv_one_channel_pixel(image, oh, ow, weights, bias, geometry, pixel):
    # Any window: the taps inside the image in (i, j) order, then the bias.
    kernel_h, kernel_w, stride, pad_top, pad_left, _, _ = geometry
    top, i_first, i_stop = _taps_inside(oh, stride, pad_top, kernel_h, image.shape[0])
    left, j_first, j_stop = _taps_inside(ow, stride, pad_left, kernel_w, image.shape[1])
    pixel[:] = 0
    for i in range(i_first, i_stop):
        for j in range(j_first, j_stop):
            value, tap = image[top + i, left + j], weights[i * kernel_w + j]
            for f in range(pixel.size):
                pixel[f] += value * tap[f]
    for f in range(pixel.size):
        pixel[f] += bias[f]


@njit(inline="always")
def _conv_3x3_pixel(image, top, left, weights, bias, pixel):
    # A 3x3 window wholly inside the image: the nine inputs are loaded once, and each
    # output is one expression (the same additions, in the same order, as above), so its
    # sum stays in a register instead of going back to memory after every tap.
    r0, r1, r2 = image[top], image[top + 1], image[top + 2]
    a0, a1, a2 = r0[left], r0[left + 1], r0[left + 2]
    a3, a4, a5 = r1[left], r1[left + 1], r1[left + 2]
    a6, a7, a8 = r2[left], r2[left + 1], r2[left + 2]
    for f in range(pixel.size):
        total = a0 * weights[0, f] + a1 * weights[1, f] + a2 * weights[2, f]
        total += a3 * weights[3, f] + a4 * weights[4, f] + a5 * weights[5, f]
        total += a6 * weights[6, f] + a7 * weights[7, f] + a8 * weights[8, f]
        pixel[f] = total + bias[f]


@njit(parallel=True, cache=True)
def _conv2d_one_channel_into(image, weights, bias, geometry, y):
    # Direct loop for C == 1: im2col would write KH*KW numbers per pixel for a GEMM too
    # thin to be anything but memory-bound. image: (N, H, W); weights: (KH*KW, F). The
    # loop over F is innermost and contiguous, so it vectorizes. 3x3 stride-1 windows
    # inside the image (all but a one-pixel frame for 'same') take the unrolled form.
    _, _, _, pad_top, pad_left, out_h, out_w = geometry
    row_first, row_stop, col_first, col_stop = _unrolled_windows(geometry, image.shape)
    for b in prange(image.shape[0]):
        for oh in range(out_h):
            inner_row = row_first <= oh < row_stop
            for ow in range(out_w):
                pixel = y[b, oh, ow]
                if inner_row and col_first <= ow < col_stop:
                    _conv_3x3_pixel(image[b], oh - pad_top, ow - pad_left, weights, bias, pixel)
                else:
                    _conv_one_channel_pixel(image[b], oh, ow, weights, bias, geometry, pixel)
    return y


@njit(inline="always")
def _weights_one_channel_pixel(image, oh, ow, g, geometry, partial):
    # Any window: dW[tap] += x[tap's input pixel] * g, taps inside the image; db += g.
    kernel_h, kernel_w, stride, pad_top, pad_left, _, _ = geometry
    top, i_first, i_stop = _taps_inside(oh, stride, pad_top, kernel_h, image.shape[0])
    left, j_first, j_stop = _taps_inside(ow, stride, pad_left, kernel_w, image.shape[1])
    bias = partial[kernel_h * kernel_w]
    for f in range(g.size):
        bias[f] += g[f]
    for i in range(i_first, i_stop):
        for j in range(j_first, j_stop):
            value, tap = image[top + i, left + j], partial[i * kernel_w + j]
            for f in range(g.size):
                tap[f] += value * g[f]


@njit(inline="always")
def _weights_3x3_pair(image, top, left, g_left, g_right, partial):
    # Two neighbouring 3x3 windows wholly inside the image, one kernel row at a time:
    # each tap's row of dW is read and written once for both pixels instead of twice.
    bias = partial[9]
    for f in range(g_left.size):
        bias[f] += g_left[f] + g_right[f]
    for i in range(3):
        row = image[top + i]
        v0, v1, v2, v3 = row[left], row[left + 1], row[left + 2], row[left + 3]
        t0, t1, t2 = partial[3 * i], partial[3 * i + 1], partial[3 * i + 2]
        for f in range(g_left.size):
            t0[f] += v0 * g_left[f] + v1 * g_right[f]
            t1[f] += v1 * g_left[f] + v2 * g_right[f]
            t2[f] += v2 * g_left[f] + v3 * g_right[f]


@njit(parallel=True, cache=True)
def _conv2d_one_channel_weights(image, grad_output, geometry, per_image):
    # dL/dW and dL/db for C == 1, one partial sum per image (each thread owns its images,
    # and each image is added up in one fixed order: the same bits every run). The bias
    # is the weight of an input that is always 1: its sum is the last row of per_image,
    # added in the same pass over grad_output (NumPy's g.sum(axis=0) was a second pass,
    # slower than this whole kernel).
    _, _, _, pad_top, pad_left, out_h, out_w = geometry
    row_first, row_stop, col_first, col_stop = _unrolled_windows(geometry, image.shape)
    for b in prange(image.shape[0]):
        partial = per_image[b]
        partial[:] = 0
        for oh in range(out_h):
            inner_row = row_first <= oh < row_stop
            ow = 0
            while ow < out_w:
                g = grad_output[b, oh]
                if inner_row and col_first <= ow and ow + 1 < col_stop:
                    top, left = oh - pad_top, ow - pad_left
                    _weights_3x3_pair(image[b], top, left, g[ow], g[ow + 1], partial)
                    ow += 2
                else:
                    _weights_one_channel_pixel(image[b], oh, ow, g[ow], geometry, partial)
                    ow += 1
    return per_image


# Element-wise kernels (and 2x2 max pooling above), each in two versions around one
# inlined body. In training they run on one thread: a pass bound by memory gains little
# from a second core, and here the second core is not free, as BLAS's threads spin on it
# between matrix products. Measured on 2 cores, training steps alternating between the
# two settings in one process (median ms): cnn batch 32 15.97 with threads from 524,288
# numbers, 14.76 with one thread; dcnn 55.66 vs 54.73; cnn batch 128 74.48 vs 73.06; dcnn
# batch 128 209.8 vs 208.0 (its largest map: 6.4 million numbers). Alone, too, one thread
# was faster on cnn's 32x28x28x64 map (ReLU 0.46 vs 0.65 ms, max pooling 0.61 vs 0.79 ms)
# and on Adam's 627,200 dense weights (0.58 vs 0.77 ms). Larger arrays do gain from
# threads when timed alone (Adam on 2,000,000 numbers: 930 vs 650 us): a trade-off, tuned
# on the zoo's models, so threads start at PARALLEL_SIZE numbers, above every array they
# have at batch 128; larger arrays up to it run on one thread, slower than they could.
PARALLEL_SIZE = 1 << 23


@njit(inline="always")
def _relu_forward_element(i, x, out):
    out[i] = 0 if x[i] <= 0 else x[i]  # NaN <= 0 is False: NaN passes, as in np.maximum


@njit(cache=True)
def _relu_forward_serial(x, out):
    for i in range(x.size):
        _relu_forward_element(i, x, out)


@njit(parallel=True, cache=True)
def _relu_forward_parallel(x, out):
    for i in prange(x.size):
        _relu_forward_element(i, x, out)


@njit(inline="always")
def _relu_backward_element(i, grad_output, output, grad_input):
    grad_input[i] = grad_output[i] if output[i] > 0 else 0


@njit(cache=True)
def _relu_backward_serial(grad_output, output, grad_input):
    for i in range(grad_output.size):
        _relu_backward_element(i, grad_output, output, grad_input)


@njit(parallel=True, cache=True)
def _relu_backward_parallel(grad_output, output, grad_input):
    for i in prange(grad_output.size):
        _relu_backward_element(i, grad_output, output, grad_input)


@njit(inline="always")
def _adam_update_element(i, param, grad, m, v, alpha, beta_1, beta_2, epsilon, tiny):
    zero, one = param.dtype.type(0), param.dtype.type(1)  # not a Python 0: no float64
    g = grad[i]
    new_m = m[i] + (one - beta_1) * (g - m[i])
    new_v = v[i] + (one - beta_2) * (g * g - v[i])
    new_m = zero if abs(new_m) < tiny else new_m  # as reference.flush_denormals
    new_v = zero if abs(new_v) < tiny else new_v
    m[i], v[i] = new_m, new_v
    param[i] -= (alpha * new_m) / (np.sqrt(new_v) + epsilon)


# Numba's default error model checks every division for zero (to raise ZeroDivisionError),
# and that branch stops LLVM from vectorizing the loop: 5x slower. NumPy's model (the
# reference's: x / 0 is inf) lets it vectorize; prange loops use it already.
@njit(cache=True, error_model="numpy")
def _adam_update_serial(param, grad, m, v, alpha, beta_1, beta_2, epsilon, tiny):
    for i in range(param.size):
        _adam_update_element(i, param, grad, m, v, alpha, beta_1, beta_2, epsilon, tiny)


@njit(parallel=True, cache=True)
def _adam_update_parallel(param, grad, m, v, alpha, beta_1, beta_2, epsilon, tiny):
    for i in prange(param.size):
        _adam_update_element(i, param, grad, m, v, alpha, beta_1, beta_2, epsilon, tiny)


@njit(cache=True, error_model="numpy")
def _softmax_cross_entropy_into(logits, labels, probs):
    # Row by row: the maximum, p = exp(z - max) / sum, and the row's loss
    # log(sum) - (z[label] - max) = -log p[label], added up in float64.
    n, classes = logits.shape
    zero = logits.dtype.type(0)
    total = 0.0
    for row in range(n):
        if not 0 <= labels[row] < classes:  # as the reference's IndexError, not a stray read
            raise IndexError("softmax_cross_entropy: a label is not a class index")
        top = logits[row, 0]
        for k in range(1, classes):
            top = max(top, logits[row, k])
        exp_sum = zero
        for k in range(classes):
            probs[row, k] = np.exp(logits[row, k] - top)
            exp_sum += probs[row, k]
        for k in range(classes):
            probs[row, k] /= exp_sum
        total += np.log(exp_sum) - (logits[row, labels[row]] - top)
    return total / n


@njit(cache=True)
def _softmax_cross_entropy_backward_into(probs, labels, share, grad):
    n, classes = probs.shape
    for row in range(n):
        if not 0 <= labels[row] < classes:
            raise IndexError("softmax_cross_entropy_backward: a label is not a class index")
        for k in range(classes):
            grad[row, k] = probs[row, k] * share
        grad[row, labels[row]] -= share
    return grad


def im2col(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out=None):
    """Numba version of :func:`tinynet.kernels.reference.im2col`."""
    n, _, _, c = x.shape
    if out is None:
        out = np.empty((n * out_h * out_w, kernel_h * kernel_w * c), dtype=x.dtype)
    if c == 1 and kernel_h == kernel_w == 3:
        return _im2col_one_channel_3x3(x, stride, pad_top, pad_left, out_h, out_w, out)
    if c == 1:
        # Other one-channel kernels: NumPy's strided copies (one per kernel tap, as in the
        # reference) beat the loops above over rows of KH*KW single numbers.
        return reference.im2col(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out)
    # One thread below PARALLEL_SIZE numbers, as the element-wise kernels. As the
    # benchmark's kernel table times it (between its reference and a copy), on cnn's
    # 32x14x14x32 map: 0.38-0.45 ms, against 0.49-0.51 with threads; on dcnn's
    # 32x28x28x64 map (14 million numbers) threads won, 4.4-6.0 against 6.3-6.4 ms.
    unfold = _im2col_into if out.size >= PARALLEL_SIZE else _im2col_serial
    return unfold(x, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out)


def col2im(
    cols, input_shape, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out=None
):
    """Numba version of :func:`tinynet.kernels.reference.col2im`."""
    if out is None:
        out = np.empty(input_shape, dtype=cols.dtype)
    # Threads from PARALLEL_SIZE numbers of cols, as im2col. Below it, one thread was
    # faster (32x14x14x32: 0.34-0.42 ms against 0.63-0.69 with threads).
    fold = _col2im_into if cols.size >= PARALLEL_SIZE else _col2im_serial
    return fold(cols, kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w, out)


def maxpool2d_forward(x, pool, stride):
    """Numba version of :func:`tinynet.kernels.reference.maxpool2d_forward`."""
    n, h, w, c = x.shape
    shape = (n, (h - pool) // stride + 1, (w - pool) // stride + 1, c)
    out = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape, dtype=np.int32)
    if pool == stride == 2:
        two_by_two = _maxpool_2x2_forward_parallel if x.size >= PARALLEL_SIZE else (
            _maxpool_2x2_forward_serial)  # see PARALLEL_SIZE
        return two_by_two(np.ascontiguousarray(x), out, argmax)
    return _maxpool_forward_into(x, pool, pool, stride, out, argmax)


def maxpool2d_backward(grad_output, argmax, input_shape, pool, stride):
    """Numba version of :func:`tinynet.kernels.reference.maxpool2d_backward`."""
    grad_input = np.empty(input_shape, dtype=grad_output.dtype)
    grad_output = np.ascontiguousarray(grad_output)
    parallel = grad_input.size >= PARALLEL_SIZE
    backward = _maxpool_backward_parallel if parallel else _maxpool_backward_serial
    return backward(grad_output, argmax, pool, stride, grad_input)


def relu_forward(x):
    """Numba version of :func:`tinynet.kernels.reference.relu_forward` (one pass, no mask)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    relu = _relu_forward_parallel if x.size >= PARALLEL_SIZE else _relu_forward_serial
    relu(x.reshape(-1), out.reshape(-1))
    return out


def relu_backward(grad_output, output):
    """Numba version of :func:`tinynet.kernels.reference.relu_backward`."""
    grad_output = np.ascontiguousarray(grad_output)
    grad_input = np.empty_like(grad_output)
    parallel = grad_output.size >= PARALLEL_SIZE
    relu = _relu_backward_parallel if parallel else _relu_backward_serial
    relu(grad_output.reshape(-1), np.ascontiguousarray(output).reshape(-1), grad_input.reshape(-1))
    return grad_input


def softmax_cross_entropy(logits, labels):
    """Numba version of :func:`tinynet.kernels.reference.softmax_cross_entropy`: one pass
    per row instead of a dozen NumPy calls on a (batch, classes) array (11 against 41 us
    with the backward, at 128x10)."""
    logits = np.ascontiguousarray(logits, dtype=np.result_type(logits.dtype, np.float32))
    probs = np.empty_like(logits)
    return float(_softmax_cross_entropy_into(logits, labels, probs)), probs


def softmax_cross_entropy_backward(probs, labels):
    """Numba version of :func:`tinynet.kernels.reference.softmax_cross_entropy_backward`."""
    share = probs.dtype.type(1 / max(len(labels), 1))  # 1/N, in the dtype of probs
    return _softmax_cross_entropy_backward_into(probs, labels, share, np.empty_like(probs))


def adam_update(param, grad, m, v, alpha, beta_1, beta_2, epsilon):
    """Numba version of :func:`tinynet.kernels.reference.adam_update` (one pass, no temporaries)."""
    update = _adam_update_parallel if param.size >= PARALLEL_SIZE else _adam_update_serial
    # The smallest normal number, found here: np.finfo inside the loop stops LLVM from
    # vectorizing it (8x slower).
    tiny = param.dtype.type(np.finfo(param.dtype).tiny)
    update(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1),
           alpha, beta_1, beta_2, epsilon, tiny)  # fmt: skip


# --- convolutions: im2col and col2im one chunk of the batch at a time -------------------
#
# The batch is cut into chunks whose patch matrix fits in the cache, and each chunk is
# unfolded (im2col), multiplied and folded back (col2im) before the next one. By default
# one thread walks the chunks and BLAS uses its own threads for each product: on a quiet
# 2-core machine that was faster than WORKERS = 2 threads sharing the chunks with a
# one-thread BLAS each (ms per training step, same session, WORKERS 1 vs 2: cnn batch 32
# 22 vs 29, dcnn batch 32 72 vs 107, cnn batch 128 72 vs 93, dcnn batch 128 261 vs 289).
# Sharing the chunks was the better choice on a machine kept busy by other work.

#: Bytes of patch matrix per chunk: small enough to stay in the cache between im2col
#: writing it and the GEMM reading it (a quarter less CPU time than one big patch
#: matrix for dcnn's 64->64 layer, measured before it ran on Winograd), and never the
#: whole batch's (memory).
CHUNK_BYTES = 4 << 20

#: Threads that share the chunks, each with a one-thread BLAS; 1: the chunks one after
#: the other, BLAS with its own threads (the default, see above); None: Numba's thread
#: count at the time of the call (``numba.get_num_threads()``).
WORKERS: int | None = 1

# Serial copies, for the chunk threads, and for the one walker too: between two BLAS
# products the parallel im2col was slower (dcnn's 64->64 forward at batch 32, before
# Winograd: 15.1 vs 13.5 ms), as BLAS's threads still spin on the cores it wants. Not
# cached on disk: Numba's cache is keyed by the function's name and line, so a cached
# copy would share (and could load) the parallel version's machine code, and two threads
# launching a parallel loop at once abort the process under the workqueue threading layer.
_im2col_serial = njit(cache=False, nogil=True)(_im2col_into.py_func)
_col2im_serial = njit(cache=False, nogil=True)(_col2im_into.py_func)
_workspaces: dict[tuple, np.ndarray] = {}
_pool: dict = {}  # thread pools by size, and the BLAS thread controller


def workspace(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A scratch array kept between calls (one per thread, name, shape and dtype)."""
    key = (threading.get_ident(), name, shape, np.dtype(dtype))
    buffer = _workspaces.get(key)
    if buffer is None:
        buffer = _workspaces[key] = np.empty(shape, dtype=dtype)
    return buffer


def _map_chunks(work, n: int, bytes_per_image: int) -> list:
    """``[work(chunk) for chunk in chunks of the batch]``, in WORKERS threads.

    A chunk is a slice of the batch whose scratch arrays (``bytes_per_image`` per image)
    take about CHUNK_BYTES.
    """
    per_chunk = max(1, CHUNK_BYTES // bytes_per_image)
    chunks = [slice(start, min(start + per_chunk, n)) for start in range(0, n, per_chunk)]
    workers = WORKERS or numba.get_num_threads()
    if workers == 1 or len(chunks) == 1:
        return [work(chunk) for chunk in chunks]
    if workers not in _pool:
        _pool[workers] = ThreadPoolExecutor(workers, thread_name_prefix="tinynet-conv")
    if "blas" not in _pool:
        _pool["blas"] = ThreadpoolController()
    with _pool["blas"].limit(limits=1, user_api="blas"):
        return list(_pool[workers].map(work, chunks))


def _patches(x, geometry, chunk, patch_size):
    """im2col of the images ``x[chunk]`` into this thread's patch workspace."""
    rows = (chunk.stop - chunk.start) * geometry.out_h * geometry.out_w
    cols = workspace("cols", (rows, patch_size), x.dtype)
    return _im2col_serial(x[chunk], *geometry, cols)


def _patch_bytes(geometry, patch_size: int, itemsize: int) -> int:
    """Bytes of im2col patch matrix per image."""
    return geometry.out_h * geometry.out_w * patch_size * itemsize


def conv2d_forward(x, weights, bias, geometry):
    """Numba version of :func:`tinynet.kernels.reference.conv2d_forward`, chunk by chunk.

    One-channel input (a network's first layer on grey images) takes a direct loop; a 3x3
    kernel with stride 1 and many channels in and out takes Winograd's F(4x4, 3x3)
    (:mod:`tinynet.kernels.winograd`); the rest im2col and a matrix product.
    """
    n, filters = x.shape[0], weights.shape[-1]
    patch_size = weights.size // filters
    y = np.empty((n, geometry.out_h, geometry.out_w, filters), dtype=x.dtype)
    if x.shape[-1] == 1:
        image, taps = np.ascontiguousarray(x).reshape(x.shape[:3]), weights.reshape(-1, filters)
        return _conv2d_one_channel_into(image, taps, bias, tuple(geometry), y)
    if winograd.applies(geometry, x.shape[-1], filters):
        return _conv2d_winograd(np.ascontiguousarray(x), weights, bias, geometry, y)

    def forward(chunk):
        cols = _patches(x, geometry, chunk, patch_size)
        y_chunk = y[chunk].reshape(-1, filters)
        np.matmul(cols, weights.reshape(-1, filters), out=y_chunk)
        y_chunk += bias

    _map_chunks(forward, n, _patch_bytes(geometry, patch_size, x.itemsize))
    return y


def _input_tiles(x, geometry, chunk):
    """Winograd's input tiles of the images ``x[chunk]`` in this thread's workspace, as
    :func:`tinynet.kernels.winograd.input_tiles` returns them: (36, tiles, C)."""
    tiles = (chunk.stop - chunk.start) * math.prod(winograd.tile_counts(geometry))
    v = workspace("winograd_v", (tiles, winograd.TILE_ENTRIES, x.shape[-1]), x.dtype)
    return winograd.input_tiles(x[chunk], geometry, out=v)


def _tile_bytes(geometry, channels: int, itemsize: int) -> int:
    """Bytes of Winograd input tiles per image (CHUNK_BYTES of them per chunk was best
    here too: 0.5 to 8 MiB tried)."""
    return math.prod(winograd.tile_counts(geometry)) * winograd.TILE_ENTRIES * channels * itemsize


def _conv2d_winograd(x, weights, bias, geometry, y):
    """:func:`tinynet.kernels.winograd.conv2d_forward_reference`, chunk by chunk, into ``y``."""
    u = winograd.transform_weights(weights)  # (36, C, F)

    def forward(chunk):
        v = _input_tiles(x, geometry, chunk)  # (36, tiles, C)
        shape = (v.shape[1], winograd.TILE_ENTRIES, u.shape[-1])
        products = workspace("winograd_m", shape, x.dtype).transpose(1, 0, 2)  # tile by tile
        np.matmul(v, u, out=products)  # the 36 products M[p] = V[p] @ U[p]
        winograd.output_tiles(products, bias, geometry, chunk.stop - chunk.start, out=y[chunk])

    _map_chunks(forward, len(x), _tile_bytes(geometry, x.shape[-1], x.itemsize))
    return y


def conv2d_backward_weights(x, grad_output, geometry):
    """Numba version of :func:`tinynet.kernels.reference.conv2d_backward_weights`."""
    n, filters = x.shape[0], grad_output.shape[-1]
    patch_size = geometry.kernel_h * geometry.kernel_w * x.shape[-1]
    weight_shape = (geometry.kernel_h, geometry.kernel_w, x.shape[-1], filters)
    if x.shape[-1] == 1:
        per_image = np.empty((n, patch_size + 1, filters), dtype=x.dtype)  # + the bias
        image = np.ascontiguousarray(x).reshape(x.shape[:3])
        grad_output = np.ascontiguousarray(grad_output)
        sums = _conv2d_one_channel_weights(image, grad_output, tuple(geometry), per_image).sum(0)
        return sums[:-1].reshape(weight_shape), sums[-1]
    if winograd.applies(geometry, x.shape[-1], filters):
        x, grad_output = np.ascontiguousarray(x), np.ascontiguousarray(grad_output)
        grad_u, grad_bias = _sum_in_order(_winograd_weight_partials(x, grad_output, geometry))
        return winograd.weight_gradient(grad_u), grad_bias

    def partial_sums(chunk):
        cols = _patches(x, geometry, chunk, patch_size)
        g = grad_output[chunk].reshape(-1, filters)
        return cols.T @ g, _bias_gradient(g)

    partials = _map_chunks(partial_sums, n, _patch_bytes(geometry, patch_size, x.itemsize))
    grad_weights, grad_bias = _sum_in_order(partials)
    return grad_weights.reshape(weight_shape), grad_bias


def _bias_gradient(g):
    """``g.sum(axis=0)`` as a product with ones: a BLAS pass over ``g`` while it is in the
    cache (NumPy's sum is a slower loop over 64-number rows)."""
    return np.ones(len(g), dtype=g.dtype) @ g


def _sum_in_order(partials: list) -> tuple:
    """The chunks' partial ``(weight, bias)`` gradients added up in chunk order, whichever
    thread finished first: the same bits every run."""
    grad_weights, grad_bias = partials[0]
    for weights_part, bias_part in partials[1:]:
        grad_weights += weights_part
        grad_bias += bias_part
    return grad_weights, grad_bias


def _winograd_weight_partials(x, grad_output, geometry) -> list:
    """Per chunk, ``dL/dU`` (36, C, F) and the bias gradient of
    :func:`tinynet.kernels.winograd.conv2d_backward_weights_reference`."""
    filters = grad_output.shape[-1]

    def partial_sums(chunk):
        v = _input_tiles(x, geometry, chunk)  # (36, tiles, C)
        z = workspace("winograd_z", (v.shape[1], winograd.TILE_ENTRIES, filters), x.dtype)
        z = winograd.gradient_tiles(grad_output[chunk], geometry, out=z)  # (36, tiles, F)
        grad_u = np.matmul(v.transpose(0, 2, 1), z)  # the 36 products V[p].T @ Z[p]
        return grad_u, _bias_gradient(grad_output[chunk].reshape(-1, filters))

    return _map_chunks(partial_sums, len(x), _tile_bytes(geometry, x.shape[-1], x.itemsize))


def conv2d_backward_data(grad_output, weights, geometry, input_shape):
    """Numba version of :func:`tinynet.kernels.reference.conv2d_backward_data`.

    With stride 1, the input gradient is itself a convolution: of ``g`` (padded by
    ``KH - 1 - pad_top`` rows and ``KW - 1 - pad_left`` columns) with the kernel turned
    by 180 degrees and its two channel axes swapped::

        dL/dx[y, x, c] = sum over i, j, f of g[y + pad_top - i, x + pad_left - j, f] W[i, j, c, f]
                       = conv2d_forward(g, W[::-1, ::-1].transpose(0, 1, 3, 2))

    One im2col of ``g`` and one matrix product per chunk, instead of a product that
    writes KH*KW numbers per input pixel and a col2im that adds them back up.
    """
    if geometry.stride == 1:
        kernel_h, kernel_w = geometry.kernel_h, geometry.kernel_w
        turned = np.ascontiguousarray(weights[::-1, ::-1].transpose(0, 1, 3, 2))
        full = reference.ConvGeometry(
            kernel_h, kernel_w, 1, kernel_h - 1 - geometry.pad_top,
            kernel_w - 1 - geometry.pad_left, input_shape[1], input_shape[2],
        )  # fmt: skip
        no_bias = np.zeros(input_shape[-1], dtype=grad_output.dtype)
        return conv2d_forward(grad_output, turned, no_bias, full)
    filters = weights.shape[-1]
    patch_size = weights.size // filters
    grad_input = np.empty(input_shape, dtype=grad_output.dtype)

    def backward(chunk):
        rows = (chunk.stop - chunk.start) * geometry.out_h * geometry.out_w
        grad_cols = workspace("grad_cols", (rows, patch_size), grad_output.dtype)
        g = grad_output[chunk].reshape(-1, filters)
        np.matmul(g, weights.reshape(-1, filters).T, out=grad_cols)
        _col2im_serial(grad_cols, *geometry, grad_input[chunk])

    patch_bytes = _patch_bytes(geometry, patch_size, grad_output.itemsize)
    _map_chunks(backward, input_shape[0], patch_bytes)
    return grad_input

