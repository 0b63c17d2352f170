"""The :class:`Dataset` record and its errors, and the helpers that prepare its arrays."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # two (x, y) pairs


class DatasetError(ValueError):
    """A data file or directory is missing, damaged or not what it claims to be (named)."""


class DatasetNotFoundError(DatasetError):
    """The dataset is nowhere looked at and could not be downloaded; ``places`` lists each
    place looked at and what was there. The only error ``load_dataset("auto")`` falls back
    on: damaged files raise a plain :class:`DatasetError`, other data would hide them."""

    def __init__(self, message: str, places: list[str] | None = None) -> None:
        super().__init__(message)
        self.places = list(places or [])


class DatasetWarning(UserWarning):
    """Data was loaded, but not quite as asked: unverified files, or the fallback digits."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test image classification dataset, checked on construction: uint8 images
    ``(N, H, W)`` with ``image_shape = (H, W)`` and int64 labels ``(N,)`` indexing
    ``class_names``, else a :class:`DatasetError`. ``source`` says where the data came from
    (a directory, ``"cache: ..."``, ``"download: ..."``, ``"scikit-learn bundled digits"``)."""

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
        for split, x, y in (("train", *self.train), ("test", *self.test)):
            where = f"{self.name} ({self.source}), {split} set"
            if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != self.image_shape:
                raise DatasetError(f"{where}: images must be uint8 of shape (N, "
                                   f"{', '.join(map(str, self.image_shape))}), got {x.dtype} "
                                   f"{x.shape}.")
            if y.dtype != np.int64 or y.shape != (len(x),):
                raise DatasetError(f"{where}: labels must be int64 of shape ({len(x)},), got "
                                   f"{y.dtype} {y.shape}.")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise DatasetError(f"{where}: labels must be in 0..{self.num_classes - 1}, "
                                   f"found {y.min()}..{y.max()}.")

    num_classes = property(lambda self: len(self.class_names), doc="The number of classes.")
    train = property(lambda self: (self.x_train, self.y_train), doc="``(x_train, y_train)``")
    test = property(lambda self: (self.x_test, self.y_test), doc="``(x_test, y_test)``")

    def describe(self) -> str:
        """One line for reports, e.g. ``mnist: 60,000 train + 10,000 test images ...``."""
        height, width = self.image_shape
        return (f"{self.name}: {len(self.x_train):,} train + {len(self.x_test):,} test images "
                f"of {height}x{width}, {self.num_classes} classes, from {self.source}")

    __str__ = describe


def scale_images(x: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 to float32 in ``[0, 1]``. Other dtypes are a ``TypeError``: they
    are probably scaled already, and scaling twice would silently shrink every pixel."""
    if (x := np.asarray(x)).dtype != np.uint8:
        raise TypeError(f"scale_images expects uint8 pixels 0..255, got {x.dtype}; "
                        "are the images already scaled?")
    return np.divide(x, 255, dtype=np.float32)


def to_nhwc(x: np.ndarray) -> np.ndarray:
    """Add a channel axis: ``(N, H, W)`` to ``(N, H, W, 1)``, a view; ``(N, H, W, 1)`` as is."""
    if (x := np.asarray(x)).ndim == 4 and x.shape[-1] == 1:
        return x
    if x.ndim != 3:
        raise ValueError(f"to_nhwc expects images of shape (N, H, W), got {x.shape}")
    return x[..., np.newaxis]


def flatten_images(x: np.ndarray) -> np.ndarray:
    """Flatten each image to a row: ``(N, H, W[, C])`` to ``(N, H*W*C)``."""
    if (x := np.asarray(x)).ndim < 2:
        raise ValueError(f"flatten_images expects a batch of images, got shape {x.shape}")
    return x.reshape(len(x), -1)


def train_validation_split(x: np.ndarray, y: np.ndarray, validation_size: int | float = 10_000,
                           seed: int = 42, stratify: bool = False) -> Arrays:
    """Split off a validation set: ``(x_train, y_train), (x_val, y_val)``, copies.

    scikit-learn's shuffled ``train_test_split`` with ``random_state=seed``, the same on
    every machine: ``validation_size=10_000, seed=42`` turns MNIST's 60,000 training images
    into the studies' 50,000 / 10,000. ``validation_size`` is a count (1 .. len(x) - 1) or a
    fraction in (0, 1); ``stratify`` keeps the class proportions of ``y`` in both parts.
    """
    from sklearn.model_selection import train_test_split  # imported late: sklearn is slow

    x, y, size = np.asarray(x), np.asarray(y), validation_size
    if len(x) != len(y):
        raise ValueError(f"x has {len(x):,} samples but y has {len(y):,} labels")
    limit = 1 if isinstance(size, (float, np.floating)) else len(x)
    if isinstance(size, bool) or not isinstance(size, numbers.Real) or not 0 < size < limit:
        raise ValueError(f"validation_size must be a count from 1 to {len(x) - 1:,} or a "
                         f"fraction in (0, 1), got {size!r}")
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=float(size) if limit == 1 else int(size), random_state=seed,
        stratify=y if stratify else None)
    return (x_train, y_train), (x_val, y_val)
