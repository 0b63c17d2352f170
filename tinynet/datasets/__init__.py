"""Datasets for tinynet: MNIST that loads anywhere, verified, cached, with an offline fallback.

``load_dataset("auto")`` gives a :class:`Dataset` (MNIST, or the bundled digits offline);
``load_mnist``, ``load_fashion_mnist`` and ``load_digits`` return Keras-style arrays
``(x_train, y_train), (x_test, y_test)``. The loaders are here; ``dataset`` holds the record,
its errors and array helpers, ``sources`` the IDX format, files, lookup and downloads.
"""

from __future__ import annotations

import warnings

import numpy as np

from tinynet.datasets import sources
from tinynet.datasets.dataset import (
    Arrays,
    Dataset,
    DatasetError,
    DatasetNotFoundError,
    DatasetWarning,
    flatten_images,
    scale_images,
    to_nhwc,
    train_validation_split,
)
from tinynet.datasets.sources import PathLike, cache_dir, parse_idx, read_idx, read_idx_pair

__all__ = ["DATASET_NAMES", "Dataset", "DatasetError", "DatasetNotFoundError", "DatasetWarning",
           "cache_dir", "flatten_images", "load_dataset", "load_digits", "load_fashion_mnist",
           "load_mnist", "parse_idx", "read_idx", "read_idx_pair", "scale_images", "to_nhwc",
           "train_validation_split"]

DATASET_NAMES = ("mnist", "fashion-mnist", "digits", "auto")
_ALIASES = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}


def _load_idx_dataset(name: str, data_dir: PathLike | None) -> Dataset:
    """Find, verify and read the four IDX files of ``sources.DATASETS[name]``."""
    spec = sources.DATASETS[name]
    files, description, strict = sources.locate(spec, data_dir)
    unverified = [files[known.role].name for known in spec.files
                  if not sources.verify(spec, known, files[known.role], strict)]
    arrays = []
    for split in ("train", "test"):
        images_path, labels_path = files[f"{split}_images"], files[f"{split}_labels"]
        images, labels = read_idx_pair(images_path, labels_path)
        if images.shape[1:] != spec.image_shape:
            raise DatasetError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
                               f"but {spec.title} images are 28x28. Is this the right dataset?")
        if labels.max() >= len(spec.class_names):
            raise DatasetError(f"{labels_path}: found label {labels.max()}, but {spec.title} has "
                               "classes 0..9 only. Is this the right dataset?")
        arrays += [images, labels.astype(np.int64)]
    if unverified:
        warnings.warn(f"{spec.title} files in {description} do not match the published SHA-256 "
                      f"sums ({', '.join(unverified)}); loaded anyway because they are valid IDX "
                      "files. Use the original files to verify them.", DatasetWarning, stacklevel=3)
    return Dataset(spec.name, *arrays, spec.class_names, spec.image_shape, description)


def load_mnist(data_dir: PathLike | None = None) -> Arrays:
    """Load MNIST like ``keras.datasets.mnist.load_data()``: uint8 images ``(60000, 28, 28)``
    and ``(10000, 28, 28)``, int64 labels 0..9, as ``(x_train, y_train), (x_test, y_test)``.
    ``data_dir`` and the errors: see :func:`load_dataset`; never falls back to other data.
    """
    dataset = load_dataset("mnist", data_dir)
    return dataset.train, dataset.test


def load_fashion_mnist(data_dir: PathLike | None = None) -> Arrays:
    """Load Fashion-MNIST, like :func:`load_mnist` (sub-directory name ``fashion-mnist``)."""
    dataset = load_dataset("fashion-mnist", data_dir)
    return dataset.train, dataset.test


def load_digits() -> Arrays:
    """Load scikit-learn's 1,797 8x8 digits: 1,437 train / 360 test (stratified,
    ``random_state=42``), pixels 0..16 scaled to uint8 0..255 (``round(x * 255 / 16)``)."""
    dataset = load_dataset("digits")
    return dataset.train, dataset.test


def load_dataset(name: str = "auto", data_dir: PathLike | None = None) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : {"auto", "mnist", "fashion-mnist", "digits"}
        ``"auto"``: MNIST if it can be found or downloaded, otherwise scikit-learn's digits
        with one :class:`DatasetWarning` giving the reason and how to get MNIST.
    data_dir : str or path-like, optional
        The directory holding the four IDX files (gzip-compressed or not) or a ``<name>``
        sub-directory that does: then the only place looked at (else ``$TINYNET_DATA_DIR``,
        the cache, a download), never replaced: ``"auto"`` must find MNIST there and
        ``"digits"`` refuses it.

    Raises
    ------
    DatasetError
        Bad data, an unknown name, or :class:`DatasetNotFoundError` listing every place
        looked at (``"auto"`` falls back on this one only, and only without ``data_dir``).
    """
    key = _ALIASES.get(key := name.strip().lower().replace("_", "-"), key)
    if key in ("mnist", "fashion-mnist") or (key == "auto" and data_dir is not None):
        return _load_idx_dataset("mnist" if key == "auto" else key, data_dir)
    if key == "digits" and data_dir is not None:
        raise DatasetError(f"data_dir {data_dir}: the digits come with scikit-learn and read no "
                           "files. Drop data_dir (--data-dir), or choose mnist.")
    if key == "digits":
        from sklearn.datasets import load_digits as sklearn_digits

        bunch = sklearn_digits()
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # 0..16 -> 0..255
        train, test = train_validation_split(images, bunch.target.astype(np.int64), 360,
                                             seed=42, stratify=True)  # 1,437 / 360
        return Dataset("digits", *train, *test, tuple("0123456789"), (8, 8),
                       "scikit-learn bundled digits")
    if key != "auto":
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}.")
    try:
        return _load_idx_dataset("mnist", None)
    except DatasetNotFoundError as exc:
        digits = load_dataset("digits")
        headline, *_, how_to_get = str(exc).splitlines()
        reasons = "; ".join(place for place in exc.places if place.startswith("download"))
        warnings.warn(f"{headline.rstrip('.')} ({reasons}). Using scikit-learn's bundled 8x8 "
                      f"digits instead ({len(digits.x_train):,} train / {len(digits.x_test):,} "
                      f"test images). {how_to_get}", DatasetWarning, stacklevel=2)
        return digits
