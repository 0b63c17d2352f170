"""Datasets for tinynet: MNIST that loads anywhere, verified, cached, with an offline fallback.

``load_dataset("auto")`` gives a :class:`Dataset` (MNIST, or the bundled digits offline);
``load_mnist``, ``load_fashion_mnist`` and ``load_digits`` return Keras-style arrays
``(x_train, y_train), (x_test, y_test)``. The loaders are here; the modules are ``dataset``
(the record, its errors, array helpers), ``formats`` (IDX, Kaggle CSV) and ``sources``
(lookup, checksums, downloads).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from tinynet.datasets import formats, sources
from tinynet.datasets.dataset import (
    Dataset,
    DatasetError,
    DatasetNotFoundError,
    DatasetWarning,
    flatten_images,
    scale_images,
    to_nhwc,
    train_validation_split,
)
from tinynet.datasets.formats import parse_idx, read_idx, read_idx_pair, read_kaggle_csv
from tinynet.datasets.sources import cache_dir

__all__ = ["DATASET_NAMES", "Dataset", "DatasetError", "DatasetNotFoundError", "DatasetWarning",
           "cache_dir", "flatten_images", "load_dataset", "load_digits", "load_fashion_mnist",
           "load_mnist", "parse_idx", "read_idx", "read_idx_pair", "read_kaggle_csv",
           "scale_images", "to_nhwc", "train_validation_split"]

PathLike = str | os.PathLike[str]
Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
SPLIT_SEED = 42  # random_state of the fixed train/test splits of the digits and of a CSV
DIGITS_TEST_SIZE = 360  # the 1,797 digits: 1,437 train / 360 test, stratified
CSV_TEST_FRACTION = 0.2  # a CSV without a test file: 80 % / 20 % (the source says so)
DATASET_NAMES = ("mnist", "fashion-mnist", "digits", "auto", "csv")
_ALIASES = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}


def _load_idx_dataset(name: str, data_dir: PathLike | None) -> Dataset:
    """Find, verify and read the four IDX files of ``sources.DATASETS[name]``."""
    spec = sources.DATASETS[name]
    files, description, strict = sources.locate(spec, data_dir)
    arrays, unverified = {}, []
    for known in spec.files:
        data = formats.read_bytes(path := files[known.role])
        if not sources.verify(spec, known, path, data, strict):
            unverified.append(path.name)
        arrays[known.role] = formats.parse_idx(data, str(path), known.role.split("_")[1])
    for split in ("train", "test"):
        (images, images_path), (labels, labels_path) = (
            (arrays[f"{split}_{kind}"], files[f"{split}_{kind}"]) for kind in ("images", "labels"))
        formats.check_pair(images, labels, str(images_path), str(labels_path))
        if images.shape[1:] != spec.image_shape:
            raise DatasetError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
                               f"but {spec.title} images are 28x28. Is this the right dataset?")
        if labels.max() >= len(spec.class_names):
            raise DatasetError(f"{labels_path}: found label {labels.max()}, but {spec.title} has "
                               "classes 0..9 only. Is this the right dataset?")
    if unverified:
        warnings.warn(f"{spec.title} files in {description} do not match the published SHA-256 "
                      f"sums ({', '.join(unverified)}); loaded anyway because they are valid IDX "
                      "files. Use the original files to verify them.", DatasetWarning, stacklevel=3)
    return Dataset(spec.name, arrays["train_images"], arrays["train_labels"].astype(np.int64),
                   arrays["test_images"], arrays["test_labels"].astype(np.int64),
                   spec.class_names, spec.image_shape, description)


def _digits_dataset(name: str, source: str, train: tuple[np.ndarray, np.ndarray],
                    test: tuple[np.ndarray, np.ndarray] | float) -> Dataset:
    """A :class:`Dataset` of digit classes (at least ten) from ``train`` and ``test`` arrays,
    or from ``train`` split stratified with ``SPLIT_SEED``, ``test`` a test size."""
    if not isinstance(test, tuple):
        from sklearn.model_selection import train_test_split  # imported late: sklearn is slow

        try:
            x_train, x_test, y_train, y_test = train_test_split(
                *train, test_size=test, random_state=SPLIT_SEED, stratify=train[1])
        except ValueError as exc:
            raise DatasetError(f"{source}: too few lines to split {test:.0%} off as a test set "
                               f"with every class in both parts ({exc}). Add data or pass "
                               "test_path.") from exc
        train, test = (x_train, y_train), (x_test, y_test)
    classes = tuple(map(str, range(max(10, int(max(train[1].max(), test[1].max())) + 1))))
    return Dataset(name, *train, *test, classes, train[0].shape[1:], source)


def load_mnist(data_dir: PathLike | None = None) -> Arrays:
    """Load MNIST like ``keras.datasets.mnist.load_data()``: uint8 images ``(60000, 28, 28)``
    and ``(10000, 28, 28)``, int64 labels 0..9, as ``(x_train, y_train), (x_test, y_test)``.

    ``data_dir`` (holding the four IDX files, gzip or not, or an ``mnist`` sub-directory that
    does) is then the only place looked at; else ``$TINYNET_DATA_DIR``, the cache, a download.
    Raises :class:`DatasetNotFoundError` listing every place looked at, or
    :class:`DatasetError` for a damaged file; never falls back to other data.
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


def load_dataset(name: str = "auto", data_dir: PathLike | None = None, *,
                 path: PathLike | None = None, test_path: PathLike | None = None) -> Dataset:
    """Load a dataset by name: the one call the studies make.

    Parameters
    ----------
    name : {"auto", "mnist", "fashion-mnist", "digits", "csv"}
        ``"auto"``: MNIST if it can be found or downloaded, otherwise scikit-learn's digits
        with one :class:`DatasetWarning` giving the reason and how to get MNIST.
        ``"csv"``: a Kaggle Digit Recognizer ``train.csv``.
    data_dir : str or path-like, optional
        Where the MNIST / Fashion-MNIST files are (see :func:`load_mnist`). An explicit
        location is never replaced: with ``"auto"`` it must hold MNIST, ``"digits"``
        refuses it, ``"csv"`` uses it as ``path`` if that is not given.
    path, test_path : str or path-like, optional
        For ``"csv"``: the labelled CSV (or a directory holding ``train.csv``), split
        stratified 80/20 with ``random_state=42`` unless a labelled ``test_path`` is given.

    Raises
    ------
    DatasetError
        For an unknown name, bad data, or a ``data_dir`` that does not hold the dataset.
        ``"auto"`` falls back only when MNIST is *not found* (:class:`DatasetNotFoundError`)
        and no ``data_dir`` was given; damaged MNIST files still raise.
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
        return _digits_dataset("digits", "scikit-learn bundled digits",
                               (images, bunch.target.astype(np.int64)), DIGITS_TEST_SIZE)
    if key == "csv" and (path := path if path is not None else data_dir) is None:
        raise DatasetError("load_dataset('csv') needs path= (or data_dir=): Kaggle's Digit "
                           "Recognizer train.csv, or the directory holding it.")
    if key == "csv" and test_path is None:
        return _digits_dataset("csv", f"{path} (stratified 80%/20% split)",
                               formats.read_kaggle_csv(path), CSV_TEST_FRACTION)
    if key == "csv":  # a test set of other image sizes is refused by Dataset
        return _digits_dataset("csv", f"{path} (train), {test_path} (test)",
                               formats.read_kaggle_csv(path), formats.read_kaggle_csv(test_path))
    if key != "auto":
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}.")
    try:
        return _load_idx_dataset("mnist", None)
    except DatasetNotFoundError as exc:
        digits = load_dataset("digits")
        reasons = "; ".join(place for place in exc.places if place.startswith("download"))
        warnings.warn(
            f"{str(exc).splitlines()[0].rstrip('.')} ({reasons}). Using scikit-learn's bundled "
            f"8x8 digits instead ({len(digits.x_train):,} train / {len(digits.x_test):,} test "
            f"images). To use MNIST, pass --data-dir DIR (data_dir=DIR) or set "
            f"{sources.DATA_DIR_ENV}=DIR, DIR holding the four MNIST files, or run once online "
            f"with {sources.OFFLINE_ENV} unset to download them.", DatasetWarning, stacklevel=2)
        return digits
