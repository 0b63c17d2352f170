"""Inverted dropout."""

from __future__ import annotations

from tinynet.layers.base import Layer


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
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self._mask = None

    def forward(self, x, training=False):
        x = self._check_input(x)
        if not training or self.rate == 0.0:
            self._mask = 1  # identity: backward passes the gradient through
            return x
        keep = self.rng.random(x.shape, dtype=self.dtype) >= self.rate
        self._mask = keep * self.dtype.type(1.0 / (1.0 - self.rate))
        return x * self._mask

    def backward(self, grad_output):
        self._check_grad(grad_output, self._mask)
        return grad_output * self._mask

    def get_config(self):
        return {"rate": self.rate, "name": self.name}
