"""Data for the course notebooks: MNIST when it can be found, else the bundled 8x8 digits.

Every notebook starts with ``data = coursedata.load(...)`` and says which dataset it got.
MNIST is looked for where tinynet always looks (``TINYNET_DATA_DIR``, the cache, a
download unless ``TINYNET_OFFLINE=1``); without it, scikit-learn's 1,797 bundled digits
(8x8 pixels) are used, so every notebook runs offline. ``TINYNET_COURSE_QUICK=1`` makes
the notebooks do even less work (fewer epochs, smaller timings): the CI uses it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from tinynet.datasets import DatasetWarning, load_dataset, scale_images, to_nhwc

#: ``TINYNET_COURSE_QUICK=1``: do the least work that still shows the point.
QUICK = os.environ.get("TINYNET_COURSE_QUICK", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class CourseData:
    """Float32 NHWC images in [0, 1] and int64 labels, split train / validation / test."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.x_train.shape[1:]

    @property
    def is_mnist(self) -> bool:
        return self.name == "mnist"

    def describe(self) -> str:
        h, w, _ = self.image_shape
        return (
            f"{self.name} ({self.source}), {h}x{w} images: {len(self.x_train):,} train / "
            f"{len(self.x_val):,} validation / {len(self.x_test):,} test"
        )


def _subset(x, y, size, seed):
    """At most ``size`` samples, stratified, so every digit keeps its share."""
    if size >= len(x):
        return x, y
    x, _, y, _ = train_test_split(x, y, train_size=size, stratify=y, random_state=seed)
    return x, y


def load(max_train: int = 5000, max_val: int = 1000, max_test: int = 1000, seed: int = 0):
    """MNIST (or the digits) cut to at most these sizes; prints which one it is.

    The validation set is carved out of the training images (20% of them for the
    digits, ``max_val`` for MNIST); the test set is the dataset's own.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DatasetWarning)
        dataset = load_dataset("auto")
    for warning in caught:
        print(f"note: {warning.message}")
    x = to_nhwc(scale_images(dataset.x_train))
    val_size = min(max_val, len(x) // 5)
    x_train, x_val, y_train, y_val = train_test_split(
        x, dataset.y_train, test_size=val_size, stratify=dataset.y_train, random_state=seed
    )
    data = CourseData(
        dataset.name,
        dataset.source,
        *_subset(x_train, y_train, max_train, seed),
        x_val,
        y_val,
        *_subset(to_nhwc(scale_images(dataset.x_test)), dataset.y_test, max_test, seed),
    )
    print(f"using {data.describe()}")
    return data
