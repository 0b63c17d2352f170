"""Loss functions."""

from __future__ import annotations

import numpy as np

from tinynet.layers.activations import log_softmax
from tinynet.validation import check_labels


class SoftmaxCrossEntropy:
    """Softmax followed by cross-entropy with integer labels, fused.

    For logits ``z`` (N, K) and labels ``y`` (N,) in ``[0, K)``::

        log p = z - logsumexp(z)            (row-wise; stable: subtract the row max first)
        L     = -mean_n log p[n, y_n]

    Fusing the two makes the gradient simple and exact::

        dL/dz = (softmax(z) - onehot(y)) / N

    This is Keras' ``sparse_categorical_crossentropy`` applied to a softmax output.
    """

    def __init__(self):
        self._probs = None
        self._labels = None

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Mean cross-entropy of the batch, after checking the logits and labels."""
        logits = np.asarray(logits)
        if logits.ndim != 2:
            raise ValueError(
                f"SoftmaxCrossEntropy: logits must be (batch, classes), got shape {logits.shape}"
            )
        return self._forward(logits, check_labels(labels, *logits.shape, "labels"))

    def _forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """The math, for callers that checked ``labels`` already (``Sequential.fit``)."""
        log_p = log_softmax(logits)
        self._probs, self._labels = np.exp(log_p), labels
        return float(-log_p[np.arange(len(labels)), labels].mean())

    def backward(self) -> np.ndarray:
        """Gradient of the last ``forward`` loss with respect to the logits."""
        if self._probs is None:
            raise ValueError("SoftmaxCrossEntropy: backward() called before forward()")
        grad = self._probs.copy()
        grad[np.arange(len(self._labels)), self._labels] -= 1
        return grad / len(self._labels)
