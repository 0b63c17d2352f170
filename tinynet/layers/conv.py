"""2-D convolution via im2col: the convolution as one matrix product."""

from __future__ import annotations

import numpy as np

from tinynet import initializers, kernels
from tinynet.layers.base import Layer
from tinynet.validation import check_positive_int


def conv_output_size(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """Output length and padding before it, along one axis, as Keras computes them.

    ``"valid"``: no padding, ``out = (size - kernel) // stride + 1``.
    ``"same"``: ``out = ceil(size / stride)``, padded with
    ``max((out - 1) * stride + kernel - size, 0)`` zeros in total; when that total is
    odd the extra zero goes after (bottom/right). Returns ``(out, pad_before)``.
    """
    if padding == "valid":
        return (size - kernel) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every framework) on NHWC images.

    Shapes: x (N, H, W, C), W (KH, KW, C, F), b (F,), y (N, OH, OW, F).

    Forward, with ``cols = im2col(x)`` of shape (N*OH*OW, KH*KW*C), one row per
    output pixel holding the patch it sees::

        y = (cols @ W.reshape(KH*KW*C, F) + b).reshape(N, OH, OW, F)

    Backward, with ``g = dL/dy`` reshaped to (N*OH*OW, F)::

        dL/dW    = (cols.T @ g).reshape(KH, KW, C, F)
        dL/db    = g.sum(axis=0)
        dL/dcols = g @ W.reshape(KH*KW*C, F).T
        dL/dx    = col2im(dL/dcols)        (each patch entry added back to its pixel)

    The three kernels that compute this (``tinynet.kernels.conv2d_forward``,
    ``conv2d_backward_weights``, ``conv2d_backward_data``) are these lines in
    ``kernels/reference.py``; the fast ones unfold a few images at a time, so that
    ``cols`` (KH*KW times the input) stays in the cache and is never stored, and run 3x3
    stride-1 kernels with many channels on Winograd's F(4x4, 3x3), 4x fewer
    multiplications (``kernels/winograd.py``).

    Parameters
    ----------
    filters : int
        Output channels ``F``.
    kernel_size : int or (int, int)
        ``(KH, KW)``.
    stride : int
        Step between patches, both axes.
    padding : {"valid", "same"}
        ``"same"`` pads with zeros so that ``OH = ceil(H / stride)`` (Keras' rule).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        stride=1,
        padding="valid",
        kernel_initializer="glorot_uniform",
        name=None,
    ):
        super().__init__(name)
        kernel_size = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
        self.filters = check_positive_int(filters, "Conv2D: filters")
        self.kernel_size = tuple(check_positive_int(k, "Conv2D: kernel_size") for k in kernel_size)
        self.stride = check_positive_int(stride, "Conv2D: stride")
        if padding not in ("valid", "same"):
            raise ValueError(f"Conv2D: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding
        initializers.get(kernel_initializer)  # fail early on a typo
        self.kernel_initializer = kernel_initializer
        self._x = None

    def _build(self):
        self._require_input_rank(3, "NHWC (batch, height, width, channels)")
        h, w, c = self.input_shape
        kh, kw = self.kernel_size
        out_h, pad_top = conv_output_size(h, kh, self.stride, self.padding)
        out_w, pad_left = conv_output_size(w, kw, self.stride, self.padding)
        if out_h < 1 or out_w < 1:
            raise ValueError(
                f"layer {self.name!r} (Conv2D): a {kh}x{kw} kernel does not fit a {h}x{w} input "
                "with padding='valid'; use padding='same' or a smaller kernel"
            )
        self._geometry = kernels.ConvGeometry(kh, kw, self.stride, pad_top, pad_left, out_h, out_w)
        self.params["W"] = initializers.get(self.kernel_initializer)(
            (kh, kw, c, self.filters), self.rng, self.dtype
        )
        self.params["b"] = np.zeros(self.filters, dtype=self.dtype)
        return (out_h, out_w, self.filters)

    def _forward(self, x, training):
        self._x = x
        return kernels.conv2d_forward(x, self.params["W"], self.params["b"], self._geometry)

    def _parameter_gradients(self, g):
        self.grads["W"], self.grads["b"] = kernels.conv2d_backward_weights(
            self._x, g, self._geometry
        )

    def _backward(self, g):
        return kernels.conv2d_backward_data(g, self.params["W"], self._geometry, self._x.shape)

    def get_config(self):
        return {
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "stride": self.stride,
            "padding": self.padding,
            "kernel_initializer": self.kernel_initializer,
            "name": self.name,
        }
