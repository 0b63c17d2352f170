"""Dense (fully connected) layer."""

from __future__ import annotations

import numpy as np

from tinynet import initializers
from tinynet.layers.base import Layer
from tinynet.validation import check_positive_int


class Dense(Layer):
    """Fully connected layer: every output is a weighted sum of every input.

    Forward::

        y = x @ W + b                      x (N, D_in), W (D_in, D_out), b (D_out,), y (N, D_out)

    Backward, given ``g = dL/dy`` of shape (N, D_out)::

        dL/dW = x.T @ g                    (D_in, D_out)
        dL/db = g.sum(axis=0)              (D_out,)
        dL/dx = g @ W.T                    (N, D_in)

    Parameters
    ----------
    units : int
        Output features ``D_out``.
    kernel_initializer : str
        How to draw ``W`` (``"glorot_uniform"``, Keras' default, or ``"he_uniform"``,
        ``"he_normal"``); ``b`` starts at zero.
    """

    def __init__(self, units: int, kernel_initializer: str = "glorot_uniform", name=None):
        super().__init__(name)
        self.units = check_positive_int(units, "Dense: units")
        initializers.get(kernel_initializer)  # fail early on a typo
        self.kernel_initializer = kernel_initializer
        self._x = None

    def _build(self):
        self._require_input_rank(1, "(batch, features)", "; put a Flatten() in front of it")
        shape = (self.input_shape[0], self.units)
        self.params["W"] = initializers.get(self.kernel_initializer)(shape, self.rng, self.dtype)
        self.params["b"] = np.zeros(self.units, dtype=self.dtype)
        return (self.units,)

    def _forward(self, x, training):
        self._x = x
        return x @ self.params["W"] + self.params["b"]

    def _parameter_gradients(self, g):
        self.grads["W"] = self._x.T @ g
        self.grads["b"] = g.sum(axis=0)

    def _backward(self, g):
        return g @ self.params["W"].T

    def get_config(self):
        return {
            "units": self.units,
            "kernel_initializer": self.kernel_initializer,
            "name": self.name,
        }
