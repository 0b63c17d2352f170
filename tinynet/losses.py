"""Loss functions."""

from __future__ import annotations

import numpy as np

from tinynet import kernels
from tinynet.validation import check_labels


class SoftmaxCrossEntropy:
    """Softmax followed by cross-entropy with integer labels, fused.

    For logits ``z`` (N, K) and labels ``y`` (N,) in ``[0, K)``::

        log p = z - logsumexp(z)            (row-wise; stable: subtract the row max first)
        L     = -mean_n log p[n, y_n]

    Fusing the two makes the gradient simple and exact::

        dL/dz = (softmax(z) - onehot(y)) / N

    This is Keras' ``sparse_categorical_crossentropy`` applied to a softmax output.
    Both lines run as kernels, ``tinynet.kernels.softmax_cross_entropy`` and its
    ``_backward``: their NumPy reference is the formula above with
    ``tinynet.kernels.reference.log_softmax``; the Numba version computes the same
    softmax in one pass per row.
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
        loss, self._probs = kernels.softmax_cross_entropy(logits, labels)
        self._labels = labels
        return loss

    def backward(self) -> np.ndarray:
        """Gradient of the last ``forward`` loss with respect to the logits."""
        if self._probs is None:
            raise ValueError("SoftmaxCrossEntropy: backward() called before forward()")
        return kernels.softmax_cross_entropy_backward(self._probs, self._labels)
