"""The loading functions experiments call: MNIST, Fashion-MNIST, digits, Kaggle CSV."""

from __future__ import annotations

import os
import warnings

import numpy as np

from tinynet.datasets import idx, sources
from tinynet.datasets.dataset import Dataset
from tinynet.datasets.errors import DatasetError, DatasetNotFoundError, DatasetWarning
from tinynet.datasets.kaggle_csv import read_kaggle_csv

__all__ = [
    "CSV_TEST_FRACTION",
    "DIGITS_TEST_SIZE",
    "SPLIT_SEED",
    "DATASET_NAMES",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
]

PathLike = str | os.PathLike[str]
Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

SPLIT_SEED = 42
"""random_state of the fixed train/test splits of the digits and of a CSV."""
DIGITS_TEST_SIZE = 360
"""The 1,797 bundled digits split stratified into 1,437 train / 360 test images."""
CSV_TEST_FRACTION = 0.2
"""A labelled CSV without a separate test file is split stratified 80 % / 20 %."""

DATASET_NAMES = ("mnist", "fashion-mnist", "digits", "auto", "csv")
_ALIASES = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}


def _load_idx_dataset(name: str, data_dir: PathLike | None) -> Dataset:
    """Find, verify and read the four IDX files of ``sources.DATASETS[name]``."""
    spec = sources.DATASETS[name]
    location = sources.locate(spec, data_dir)
    arrays: dict[str, np.ndarray] = {}
    unverified: list[str] = []
    for known in spec.files:
        path = location.files[known.role]
        data = idx.read_bytes(path)
        if not sources.verify(spec, known, path, data, strict=location.strict):
            unverified.append(path.name)
        arrays[known.role] = idx.parse_idx(data, str(path), known.kind)
        del data

    for split in ("train", "test"):
        images_path = location.files[f"{split}_images"]
        labels_path = location.files[f"{split}_labels"]
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        idx.check_pair(images, labels, str(images_path), str(labels_path))
        if images.shape[1:] != spec.image_shape:
            raise DatasetError(
                f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, but "
                f"{spec.title} images are {spec.image_shape[0]}x{spec.image_shape[1]}. "
                "Is this the right dataset?"
            )
        if labels.max() >= len(spec.class_names):
            raise DatasetError(
                f"{labels_path}: found label {labels.max()}, but {spec.title} has classes "
                f"0..{len(spec.class_names) - 1} only. Is this the right dataset?"
            )

    if unverified:
        warnings.warn(
            f"{spec.title} files in {location.description} do not match the published "
            f"SHA-256 sums ({', '.join(unverified)}); loaded anyway because they are valid "
            "IDX files. Use the original files to verify them.",
            DatasetWarning,
            stacklevel=3,
        )
    return Dataset(
        name=spec.name,
        x_train=arrays["train_images"],
        y_train=arrays["train_labels"].astype(np.int64),
        x_test=arrays["test_images"],
        y_test=arrays["test_labels"].astype(np.int64),
        class_names=spec.class_names,
        image_shape=spec.image_shape,
        source=location.description,
    )


def _digits_dataset() -> Dataset:
    from sklearn.datasets import load_digits as sklearn_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # 0..16 -> 0..255
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=DIGITS_TEST_SIZE, random_state=SPLIT_SEED, stratify=labels
    )
    return Dataset(
        name="digits",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=tuple(str(digit) for digit in range(10)),
        image_shape=(8, 8),
        source="scikit-learn bundled digits",
    )


def _csv_dataset(path: PathLike, test_path: PathLike | None) -> Dataset:
    from sklearn.model_selection import train_test_split

    images, labels = read_kaggle_csv(path)
    if test_path is not None:
        x_train, y_train = images, labels
        x_test, y_test = read_kaggle_csv(test_path)
        if x_test.shape[1:] != x_train.shape[1:]:
            raise DatasetError(
                f"{test_path}: images are {x_test.shape[1]}x{x_test.shape[2]}, but those in "
                f"{path} are {x_train.shape[1]}x{x_train.shape[2]}."
            )
        source = f"{path} (train), {test_path} (test)"
    else:
        try:
            x_train, x_test, y_train, y_test = train_test_split(
                images,
                labels,
                test_size=CSV_TEST_FRACTION,
                random_state=SPLIT_SEED,
                stratify=labels,
            )
        except ValueError as exc:
            raise DatasetError(
                f"{path}: too few lines to split {CSV_TEST_FRACTION:.0%} off as a test set with "
                f"every class in both parts ({exc}). Add data or pass test_path."
            ) from exc
        source = f"{path} (stratified {1 - CSV_TEST_FRACTION:.0%}/{CSV_TEST_FRACTION:.0%} split)"
    num_classes = max(10, int(max(y_train.max(), y_test.max())) + 1)
    return Dataset(
        name="csv",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=tuple(str(label) for label in range(num_classes)),
        image_shape=x_train.shape[1:],
        source=source,
    )


def load_mnist(data_dir: PathLike | None = None) -> Arrays:
    """Load MNIST, like ``keras.datasets.mnist.load_data()``.

    Parameters
    ----------
    data_dir : str or path-like, optional
        A directory with the four IDX files (``train-images-idx3-ubyte.gz`` ...,
        gzip-compressed or not), or with an ``mnist`` sub-directory holding them. If
        omitted: ``$TINYNET_DATA_DIR``, then the cache, then a download into the cache.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 images ``(60000, 28, 28)`` and ``(10000, 28, 28)``; int64 labels 0..9.

    Raises
    ------
    DatasetNotFoundError
        If MNIST is nowhere to be found or downloaded; the message lists every place looked.
    DatasetError
        If a file is damaged or not what it should be. ``load_mnist`` never falls back to
        other data.
    """
    dataset = _load_idx_dataset("mnist", data_dir)
    return dataset.train, dataset.test


def load_fashion_mnist(data_dir: PathLike | None = None) -> Arrays:
    """Load Fashion-MNIST, like :func:`load_mnist` (sub-directory name ``fashion-mnist``)."""
    dataset = _load_idx_dataset("fashion-mnist", data_dir)
    return dataset.train, dataset.test


def load_digits() -> Arrays:
    """Load scikit-learn's bundled 8x8 digits, split like the other datasets.

    The 1,797 images are split stratified into 1,437 train / 360 test with
    ``random_state=42``, the same on every machine. Pixel values 0..16 are scaled to uint8
    0..255 (``round(x * 255 / 16)``) so all datasets share the same preprocessing.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 images ``(N, 8, 8)``; int64 labels 0..9.
    """
    dataset = _digits_dataset()
    return dataset.train, dataset.test


def load_dataset(
    name: str = "auto",
    data_dir: PathLike | None = None,
    *,
    path: PathLike | None = None,
    test_path: PathLike | None = None,
) -> Dataset:
    """Load a dataset by name: the one call experiments make.

    Parameters
    ----------
    name : {"auto", "mnist", "fashion-mnist", "digits", "csv"}
        ``"auto"`` is MNIST if it can be found or downloaded, otherwise scikit-learn's
        bundled digits with one warning (:class:`DatasetWarning`) that says how to get
        MNIST. ``"csv"`` is a Kaggle Digit Recognizer ``train.csv``.
    data_dir : str or path-like, optional
        Where the MNIST / Fashion-MNIST files are (see :func:`load_mnist`). For ``"csv"``
        it is used as ``path`` if ``path`` is not given.
    path : str or path-like, optional
        For ``"csv"``: the labelled CSV file, or a directory with ``train.csv``. Without
        ``test_path`` it is split stratified 80/20 with ``random_state=42``.
    test_path : str or path-like, optional
        For ``"csv"``: a labelled CSV used as the test set instead of a split.

    Returns
    -------
    Dataset
        With uint8 ``(N, H, W)`` images, int64 labels, class names, image shape, source.

    Raises
    ------
    DatasetError
        For an unknown name or bad data. ``"auto"`` falls back only when MNIST is *not
        found* (:class:`DatasetNotFoundError`); damaged MNIST files still raise.
    """
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key in ("mnist", "fashion-mnist"):
        return _load_idx_dataset(key, data_dir)
    if key == "digits":
        return _digits_dataset()
    if key == "csv":
        csv_path = path if path is not None else data_dir
        if csv_path is None:
            raise DatasetError(
                "load_dataset('csv') needs path= (or data_dir=): Kaggle's Digit Recognizer "
                "train.csv, or the directory holding it."
            )
        return _csv_dataset(csv_path, test_path)
    if key == "auto":
        try:
            return _load_idx_dataset("mnist", data_dir)
        except DatasetNotFoundError as exc:
            digits = _digits_dataset()
            headline = str(exc).splitlines()[0]
            warnings.warn(
                f"{headline} Using scikit-learn's bundled 8x8 digits instead "
                f"({len(digits.x_train):,} train / {len(digits.x_test):,} test images). "
                f"To use MNIST, pass --data-dir DIR (data_dir=DIR) or set "
                f"{sources.DATA_DIR_ENV}=DIR, DIR holding the four MNIST files, or run once "
                f"online with {sources.OFFLINE_ENV} unset to download them.",
                DatasetWarning,
                stacklevel=2,
            )
            return digits
    raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}.")
