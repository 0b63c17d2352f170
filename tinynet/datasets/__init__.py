"""Datasets for tinynet: MNIST that loads anywhere, verified, cached, with an offline fallback.

The one call experiments make::

    from tinynet.datasets import load_dataset, scale_images, train_validation_split

    ds = load_dataset("auto", data_dir=None)        # MNIST, or bundled digits if offline
    (x_train, y_train), (x_val, y_val) = train_validation_split(
        ds.x_train, ds.y_train, validation_size=10_000, seed=42)
    print(ds.describe())                            # which data the run used

Keras-style loaders return ``(x_train, y_train), (x_test, y_test)`` with uint8 images
``(N, H, W)`` and int64 labels: :func:`load_mnist`, :func:`load_fashion_mnist`,
:func:`load_digits`.

Where MNIST / Fashion-MNIST files are looked for, in order: the ``data_dir`` argument
(then the only place), ``$TINYNET_DATA_DIR``, the cache ``~/.cache/tinynet/<name>``
(``$XDG_CACHE_HOME`` respected), and a verified download into the cache unless
``TINYNET_OFFLINE=1``. Every problem raises :class:`DatasetError` naming the file.
"""

from tinynet.datasets.dataset import Dataset
from tinynet.datasets.errors import DatasetError, DatasetNotFoundError, DatasetWarning
from tinynet.datasets.idx import parse_idx, read_idx, read_idx_pair
from tinynet.datasets.kaggle_csv import read_kaggle_csv
from tinynet.datasets.loaders import (
    DATASET_NAMES,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
)
from tinynet.datasets.preprocessing import (
    flatten_images,
    scale_images,
    to_nhwc,
    train_validation_split,
)
from tinynet.datasets.sources import cache_dir

__all__ = [
    "DATASET_NAMES",
    "Dataset",
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetWarning",
    "cache_dir",
    "flatten_images",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "parse_idx",
    "read_idx",
    "read_idx_pair",
    "read_kaggle_csv",
    "scale_images",
    "to_nhwc",
    "train_validation_split",
]
