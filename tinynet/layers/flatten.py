"""Flatten: images to feature vectors."""

from __future__ import annotations

import math

from tinynet.layers.base import Layer


class Flatten(Layer):
    """Reshape each sample to one vector, keeping the batch axis.

    Forward:  ``y = x.reshape(N, -1)``          (N, d1, d2, ...) -> (N, d1*d2*...)
    Backward: ``dL/dx = g.reshape(x.shape)``    (nothing to compute: a reshape is a view)
    """

    def __init__(self, name=None):
        super().__init__(name)
        self._input_batch_shape = None

    def _build(self):
        return (math.prod(self.input_shape),)

    def forward(self, x, training=False):
        x = self._check_input(x)
        self._input_batch_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output):
        self._check_grad(grad_output, self._input_batch_shape)
        return grad_output.reshape(self._input_batch_shape)
