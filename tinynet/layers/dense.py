"""Dense (fully connected) layer."""

from __future__ import annotations

import numpy as np

from tinynet import initializers
from tinynet.layers.base import Layer


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
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense: units must be an integer >= 1, got {units!r}")
        self.units = units
        self.kernel_initializer = kernel_initializer
        initializers.get(kernel_initializer)  # fail early on a typo
        self._x = None

    def _build(self):
        if len(self.input_shape) != 1:
            raise ValueError(
                f"layer {self.name!r} (Dense) needs (batch, features) input, got per-sample "
                f"shape {self.input_shape}; put a Flatten() in front of it"
            )
        shape = (self.input_shape[0], self.units)
        self.params["W"] = initializers.get(self.kernel_initializer)(shape, self.rng, self.dtype)
        self.params["b"] = np.zeros(self.units, dtype=self.dtype)
        return (self.units,)

    def forward(self, x, training=False):
        self._x = self._check_input(x)
        return self._x @ self.params["W"] + self.params["b"]

    def backward(self, grad_output):
        self._check_grad(grad_output, self._x)
        np.matmul(self._x.T, grad_output, out=self.grads["W"])
        np.sum(grad_output, axis=0, out=self.grads["b"])
        if not self.needs_grad_input:
            return None
        return grad_output @ self.params["W"].T

    def get_config(self):
        return {
            "units": self.units,
            "kernel_initializer": self.kernel_initializer,
            "name": self.name,
        }
