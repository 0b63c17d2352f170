"""Inverted dropout."""

from __future__ import annotations

from tinynet.layers.base import Layer
from tinynet.validation import check_number


class Dropout(Layer):
    """Inverted dropout: during training, zero each input with probability ``rate``.

    Forward (training)::

        m = (u >= rate) / (1 - rate),  u ~ U[0, 1) drawn per element
        y = x * m                                                  any shape (N, ...)

    The survivors are scaled by ``1 / (1 - rate)`` so that ``E[y] = x``; at
    inference (``training=False``) the layer is the identity. Backward::

        dL/dx = g * m          (training)         dL/dx = g          (inference)

    The mask is drawn from the layer's generator ``self.rng``, which the model
    seeds, so training is reproducible.
    """

    def __init__(self, rate: float, name=None):
        super().__init__(name)
        self.rate = check_number(rate, "Dropout: rate", 0.0, 1.0, high_open=True)
        self._mask = None

    def _forward(self, x, training):
        if not training or self.rate == 0.0:
            self._mask = 1  # identity: backward passes the gradient through
            return x
        keep = self.rng.random(x.shape, dtype=self.dtype) >= self.rate
        self._mask = keep * self.dtype.type(1.0 / (1.0 - self.rate))
        return x * self._mask

    def _backward(self, g):
        return g * self._mask

    def get_config(self):
        return {"rate": self.rate, "name": self.name}
