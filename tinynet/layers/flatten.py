"""Flatten: images to feature vectors."""

from __future__ import annotations

import math

from tinynet.layers.base import Layer


class Flatten(Layer):
    """Reshape each sample to one vector, keeping the batch axis.

    Forward:  ``y = x.reshape(N, -1)``          (N, d1, d2, ...) -> (N, d1*d2*...)
    Backward: ``dL/dx = g.reshape(x.shape)``    (nothing to compute: a reshape is a view)
    """

    def _build(self):
        return (math.prod(self.input_shape),)

    def _forward(self, x, training):
        return x.reshape(x.shape[0], -1)

    def _backward(self, g):
        return g.reshape((g.shape[0],) + self.input_shape)
