"""Max pooling."""

from __future__ import annotations

import numpy as np

from tinynet import kernels
from tinynet.layers.base import Layer
from tinynet.validation import check_positive_int


def max_pool(x: np.ndarray, pool: int) -> np.ndarray:
    """Max pooling over non-overlapping ``pool x pool`` windows, in NumPy.

    Crop ``x`` (N, H, W, C) to whole windows, give each window its own two axes,
    and take the maximum over them: (N, H // pool, W // pool, C).
    """
    n, h, w, c = x.shape
    out_h, out_w = h // pool, w // pool
    windows = x[:, : out_h * pool, : out_w * pool].reshape(n, out_h, pool, out_w, pool, c)
    return windows.max(axis=(2, 4))


class MaxPool2D(Layer):
    """Max pooling over ``pool x pool`` windows of NHWC images, channel by channel.

    Shapes: x (N, H, W, C) -> y (N, OH, OW, C), ``OH = (H - pool) // stride + 1``
    (rows and columns that do not fill a window are dropped, as Keras' "valid").

    Forward::

        y[n, i, j, c] = max over (di, dj) of x[n, i*stride + di, j*stride + dj, c]

    remembering which ``(di, dj)`` won (the first one, on ties). Backward: the max
    passes its input straight through, so each gradient goes to its winner::

        dL/dx[n, i*stride + di*, j*stride + dj*, c] += g[n, i, j, c]     (0 elsewhere)

    For non-overlapping windows (``stride == pool``) the forward pass is two lines
    of NumPy, :func:`max_pool` below; the kernel the layer runs
    (``tinynet.kernels.maxpool2d_forward``) computes the same numbers in one pass,
    together with the winners that the backward pass needs.

    Parameters
    ----------
    pool_size : int
        Window height and width.
    stride : int, optional
        Step between windows; defaults to ``pool_size`` (non-overlapping windows).
    """

    def __init__(self, pool_size=2, stride=None, name=None):
        super().__init__(name)
        self.pool_size = check_positive_int(pool_size, "MaxPool2D: pool_size")
        self.stride = self.pool_size if stride is None else check_positive_int(
            stride, "MaxPool2D: stride"
        )
        self._argmax = None

    def _build(self):
        self._require_input_rank(3, "NHWC (batch, height, width, channels)")
        h, w, c = self.input_shape
        if h < self.pool_size or w < self.pool_size:
            raise ValueError(
                f"layer {self.name!r} (MaxPool2D): a {self.pool_size}x{self.pool_size} window "
                f"does not fit a {h}x{w} input"
            )
        out_h = (h - self.pool_size) // self.stride + 1
        out_w = (w - self.pool_size) // self.stride + 1
        return (out_h, out_w, c)

    def _forward(self, x, training):
        y, self._argmax = kernels.maxpool2d_forward(x, self.pool_size, self.stride)
        return y

    def _backward(self, g):
        return kernels.maxpool2d_backward(
            g, self._argmax, (g.shape[0],) + self.input_shape, self.pool_size, self.stride
        )

    def get_config(self):
        return {"pool_size": self.pool_size, "stride": self.stride, "name": self.name}
