"""Datasets for tinynet: MNIST that loads anywhere, verified, cached, with an offline fallback.

``load_dataset("auto")`` gives a :class:`Dataset` (MNIST, or the bundled digits offline);
``load_mnist``, ``load_fashion_mnist`` and ``load_digits`` return Keras-style arrays
``(x_train, y_train), (x_test, y_test)``. Modules: ``dataset`` (the record, its errors,
array helpers), ``formats`` (IDX and Kaggle CSV), ``sources`` (lookup, checksums, pooch
downloads), ``loaders``.
"""

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
from tinynet.datasets.loaders import (
                                      DATASET_NAMES,
                                      load_dataset,
                                      load_digits,
                                      load_fashion_mnist,
                                      load_mnist,
)
from tinynet.datasets.sources import cache_dir

__all__ = ["DATASET_NAMES", "Dataset", "DatasetError", "DatasetNotFoundError", "DatasetWarning",
           "cache_dir", "flatten_images", "load_dataset", "load_digits", "load_fashion_mnist",
           "load_mnist", "parse_idx", "read_idx", "read_idx_pair", "read_kaggle_csv",
           "scale_images", "to_nhwc", "train_validation_split"]
