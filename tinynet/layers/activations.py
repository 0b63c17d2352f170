"""Element-wise and row-wise activations: ReLU and Softmax."""

from __future__ import annotations

import numpy as np

from tinynet import kernels
from tinynet.layers.base import Layer


class ReLU(Layer):
    """Rectified linear unit, element-wise.

    Forward:  ``y = max(x, 0)``                       any shape (N, ...)
    Backward: ``dL/dx = g * (x > 0) = g * (y > 0)``   same shape

    (At exactly ``x == 0`` the derivative is taken to be 0, as in every framework.)
    The layer keeps ``y`` for the backward pass: ``y > 0`` exactly where ``x > 0``.
    Both passes are one-line kernels (``kernels.relu_forward``/``relu_backward``),
    compiled so that each is a single pass over memory.
    """

    def __init__(self, name=None):
        super().__init__(name)
        self._output = None

    def forward(self, x, training=False):
        x = self._check_input(x)
        self._output = kernels.relu_forward(x)
        return self._output

    def backward(self, grad_output):
        self._check_grad(grad_output, self._output)
        return kernels.relu_backward(grad_output, self._output)


class Softmax(Layer):
    """Softmax over the last axis: turns scores into probabilities.

    Forward::

        s_k = exp(x_k - max(x)) / sum_j exp(x_j - max(x))       x, s (N, K)

    (subtracting the row maximum changes nothing mathematically and prevents
    overflow). Backward, with the Jacobian ``ds_k/dx_j = s_k (delta_kj - s_j)``::

        dL/dx = s * (g - sum_k(g_k s_k))                           (N, K)

    For training, leave it out: ``SoftmaxCrossEntropy`` applies the softmax
    itself, in a form that is both faster and more accurate.
    """

    def __init__(self, name=None):
        super().__init__(name)
        self._s = None

    def _build(self):
        if len(self.input_shape) != 1:
            raise ValueError(
                f"layer {self.name!r} (Softmax) needs (batch, classes) input, "
                f"got per-sample shape {self.input_shape}"
            )
        return self.input_shape

    def forward(self, x, training=False):
        x = self._check_input(x)
        self._s = softmax(x)
        return self._s

    def backward(self, grad_output):
        self._check_grad(grad_output, self._s)
        s = self._s
        return s * (grad_output - np.sum(grad_output * s, axis=1, keepdims=True))


def softmax(x: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
