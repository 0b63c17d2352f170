"""Max pooling."""

from __future__ import annotations

from tinynet import kernels
from tinynet.layers.base import Layer


class MaxPool2D(Layer):
    """Max pooling over ``pool x pool`` windows of NHWC images, channel by channel.

    Shapes: x (N, H, W, C) -> y (N, OH, OW, C), ``OH = (H - pool) // stride + 1``
    (rows and columns that do not fill a window are dropped, as Keras' "valid").

    Forward::

        y[n, i, j, c] = max over (di, dj) of x[n, i*stride + di, j*stride + dj, c]

    remembering which ``(di, dj)`` won (the first one, on ties). Backward: the max
    passes its input straight through, so each gradient goes to its winner::

        dL/dx[n, i*stride + di*, j*stride + dj*, c] += g[n, i, j, c]     (0 elsewhere)

    Parameters
    ----------
    pool_size : int
        Window height and width.
    stride : int, optional
        Step between windows; defaults to ``pool_size`` (non-overlapping windows).
    """

    def __init__(self, pool_size=2, stride=None, name=None):
        super().__init__(name)
        stride = pool_size if stride is None else stride
        for what, value in (("pool_size", pool_size), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"MaxPool2D: {what} must be a positive integer, got {value!r}")
        self.pool_size, self.stride = pool_size, stride
        self._argmax = None

    def _build(self):
        if len(self.input_shape) != 3:
            raise ValueError(
                f"layer {self.name!r} (MaxPool2D) needs NHWC input (batch, height, width, "
                f"channels), got per-sample shape {self.input_shape}"
            )
        h, w, c = self.input_shape
        if h < self.pool_size or w < self.pool_size:
            raise ValueError(
                f"layer {self.name!r} (MaxPool2D): a {self.pool_size}x{self.pool_size} window "
                f"does not fit a {h}x{w} input"
            )
        self._out_h = (h - self.pool_size) // self.stride + 1
        self._out_w = (w - self.pool_size) // self.stride + 1
        return (self._out_h, self._out_w, c)

    def forward(self, x, training=False):
        x = self._check_input(x)
        y, self._argmax = kernels.maxpool_forward(
            x, self.pool_size, self.pool_size, self.stride, self._out_h, self._out_w
        )
        return y

    def backward(self, grad_output):
        self._check_grad(grad_output, self._argmax)
        shape = (grad_output.shape[0],) + self.input_shape
        return kernels.maxpool_backward(
            grad_output, self._argmax, shape, self.pool_size, self.pool_size, self.stride
        )

    def get_config(self):
        return {"pool_size": self.pool_size, "stride": self.stride, "name": self.name}
