"""Loss functions."""

from __future__ import annotations

import numpy as np

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
        """Mean cross-entropy of the batch; remembers what ``backward`` needs."""
        logits = np.asarray(logits)
        if logits.ndim != 2:
            raise ValueError(
                f"SoftmaxCrossEntropy: logits must be (batch, classes), got shape {logits.shape}"
            )
        labels = check_labels(labels, logits.shape[0], logits.shape[1], "labels")
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(labels))
        log_likelihood = shifted[rows, labels] - np.log(sum_exp[:, 0])
        self._probs = exp / sum_exp
        self._labels = labels
        return float(-log_likelihood.mean())

    def backward(self) -> np.ndarray:
        """Gradient of the last ``forward`` loss with respect to the logits."""
        if self._probs is None:
            raise ValueError("SoftmaxCrossEntropy: backward() called before forward()")
        grad = self._probs.copy()
        grad[np.arange(len(self._labels)), self._labels] -= 1
        grad /= len(self._labels)
        return grad
