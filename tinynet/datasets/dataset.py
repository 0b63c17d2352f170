"""The :class:`Dataset` record: arrays plus what a report needs to say which data it used."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinynet.datasets.errors import DatasetError

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test image classification dataset.

    Attributes
    ----------
    name : str
        ``"mnist"``, ``"fashion-mnist"``, ``"digits"`` or ``"csv"``.
    x_train, x_test : numpy.ndarray
        uint8 images, shape ``(N, H, W)``, pixel values 0..255.
    y_train, y_test : numpy.ndarray
        int64 class indices, shape ``(N,)``, each in ``0 .. len(class_names) - 1``.
    class_names : tuple of str
        The name of each class, indexed by label.
    image_shape : tuple of int
        ``(H, W)``.
    source : str
        Where the data came from: a directory, ``"cache: ..."``, ``"download: ..."``,
        ``"scikit-learn bundled digits"`` or a CSV path.

    Raises
    ------
    DatasetError
        On construction, if the arrays do not fit together (dtype, shape, counts, labels).
    """

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    class_names: tuple[str, ...]
    image_shape: tuple[int, int]
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "image_shape", tuple(int(n) for n in self.image_shape))
        for split, x, y in (
            ("train", self.x_train, self.y_train),
            ("test", self.x_test, self.y_test),
        ):
            self._check_split(split, x, y)

    def _check_split(self, split: str, x: np.ndarray, y: np.ndarray) -> None:
        where = f"{self.name} ({self.source}), {split} set"
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != self.image_shape:
            raise DatasetError(
                f"{where}: images must be uint8 of shape (N, {self.image_shape[0]}, "
                f"{self.image_shape[1]}), got {x.dtype} {x.shape}."
            )
        if y.dtype != np.int64 or y.ndim != 1 or len(y) != len(x):
            raise DatasetError(
                f"{where}: labels must be int64 of shape ({len(x)},), got {y.dtype} {y.shape}."
            )
        if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
            raise DatasetError(
                f"{where}: labels must be in 0..{self.num_classes - 1}, found {y.min()}..{y.max()}."
            )

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.class_names)

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x_train, y_train)``."""
        return self.x_train, self.y_train

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x_test, y_test)``."""
        return self.x_test, self.y_test

    def describe(self) -> str:
        """One line for reports, e.g. ``mnist: 60,000 train + 10,000 test images ...``."""
        height, width = self.image_shape
        return (
            f"{self.name}: {len(self.x_train):,} train + {len(self.x_test):,} test images "
            f"of {height}x{width}, {self.num_classes} classes, from {self.source}"
        )

    def __str__(self) -> str:
        return self.describe()
