"""Your own layers: fill in every TODO, then grade them with

    python -m tinynet.exercises check my_layers.py
    python -m tinynet.exercises check my_layers.py --only Dense     # one at a time

The checker puts the weights into ``self.params`` (the same names and shapes as
tinynet's layers, in float64) before it calls ``forward``. ``backward`` gets
``grad_output = dL/d(output)``, must store ``dL/d(param)`` in ``self.grads`` under
the parameter's name, and return ``dL/d(input)``.

Write each backward on paper first: the shapes tell you where a transpose goes.
The solutions are tinynet's own layers (``tinynet/layers/``): read them after you
have tried.
"""

import numpy as np


class Dense:
    """y = x @ W + b, with x (N, D_in), W (D_in, units), b (units,)."""

    def __init__(self, units):
        self.units = units
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad_output):
        # TODO: self.grads["W"] = ...   (D_in, units)
        # TODO: self.grads["b"] = ...   (units,)
        # TODO: return dL/dx            (N, D_in)
        raise NotImplementedError("TODO: Dense.backward")


class ReLU:
    """y = max(x, 0), element-wise."""

    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, grad_output):
        # TODO: return dL/dx (where did the input pass through?)
        raise NotImplementedError("TODO: ReLU.backward")


class SoftmaxCrossEntropy:
    """Mean of -log softmax(logits)[label] over the batch; logits (N, K), labels (N,)."""

    def forward(self, logits, labels):
        # TODO: subtract each row's max first (exp(1000) overflows), then
        #       probabilities = exp / sum(exp); keep them and the labels for backward;
        #       return the mean of -log(probability of the true label)
        raise NotImplementedError("TODO: SoftmaxCrossEntropy.forward")

    def backward(self):
        # TODO: return dL/dlogits, shape (N, K)
        raise NotImplementedError("TODO: SoftmaxCrossEntropy.backward")


class Conv2D:
    """'valid' convolution, stride 1, on NHWC images: x (N, H, W, C), W (KH, KW, C, F)."""

    def __init__(self, filters, kernel_size):
        self.filters, self.kernel_size = filters, kernel_size
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.x = x
        kh, kw, _, f = self.params["W"].shape
        n, h, w, _ = x.shape
        out = np.empty((n, h - kh + 1, w - kw + 1, f))
        for i in range(h - kh + 1):
            for j in range(w - kw + 1):
                patch = x[:, i : i + kh, j : j + kw, :]  # (N, KH, KW, C)
                out[:, i, j, :] = np.tensordot(patch, self.params["W"], axes=3)
        return out + self.params["b"]

    def backward(self, grad_output):
        # grad_output: (N, OH, OW, F). Loop over the same (i, j) as forward:
        # TODO: self.grads["W"]  = the sum of each patch's contribution  (KH, KW, C, F)
        # TODO: self.grads["b"]   = grad_output summed over N, OH, OW
        # TODO: dL/dx: add each output's gradient back onto the patch it came from
        raise NotImplementedError("TODO: Conv2D.backward")


class MaxPool2D:
    """Max over non-overlapping pool x pool windows, channel by channel."""

    def __init__(self, pool_size=2):
        self.pool_size = pool_size
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.x = x
        p = self.pool_size
        n, h, w, c = x.shape
        oh, ow = h // p, w // p
        windows = x[:, : oh * p, : ow * p, :].reshape(n, oh, p, ow, p, c)
        return windows.max(axis=(2, 4))

    def backward(self, grad_output):
        # TODO: dL/dx has the shape of x; each window's gradient goes to the pixel that
        #       won the max, every other pixel gets 0.
        raise NotImplementedError("TODO: MaxPool2D.backward")
