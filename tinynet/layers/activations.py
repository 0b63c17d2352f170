"""Element-wise and row-wise activations: ReLU and Softmax (and the softmax itself)."""

from __future__ import annotations

import numpy as np

from tinynet import kernels
from tinynet.kernels.reference import log_softmax
from tinynet.layers.base import Layer


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, ``exp(x_k) / sum_j exp(x_j)``, as ``exp(log_softmax(x))``."""
    return np.exp(log_softmax(x))


class ReLU(Layer):
    """Rectified linear unit, element-wise.

    Forward:  ``y = max(x, 0)``                       any shape (N, ...)
    Backward: ``dL/dx = g * (x > 0) = g * (y > 0)``   same shape

    (At exactly ``x == 0`` the derivative is taken to be 0, as in every framework.)
    The layer keeps its output ``y`` for the backward pass (``y > 0`` exactly where
    ``x > 0``), not a separate mask. The kernels ``tinynet.kernels.relu_forward`` and
    ``relu_backward`` compute each line in one pass over memory.
    """

    def __init__(self, name=None):
        super().__init__(name)
        self._y = None

    def _forward(self, x, training):
        self._y = kernels.relu_forward(x)
        return self._y

    def _backward(self, g):
        return kernels.relu_backward(g, self._y)


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
        self._require_input_rank(1, "(batch, classes)")
        return self.input_shape

    def _forward(self, x, training):
        self._s = softmax(x)
        return self._s

    def _backward(self, g):
        s = self._s
        return s * (g - np.sum(g * s, axis=1, keepdims=True))
