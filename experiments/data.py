"""The data of a run: load, split off a validation set, subsample in quick mode, scale.

Every model of a run sees exactly the same arrays, prepared once here:

1. load the dataset (:func:`tinynet.datasets.load_dataset`, or for ``"csv"``
   :func:`experiments.kaggle_csv.load_kaggle_csv`). ``"auto"`` is MNIST,
   or, when MNIST is nowhere to be found and no ``--data-dir`` was named, the 8x8
   digits, with the reason recorded so that every output can say so;
2. split its training images into train and validation, shuffled with the run's
   seed (scikit-learn's ``train_test_split``). The validation part is 10,000 images
   or 20% of the training images, whichever is smaller: MNIST's 60,000 become the
   reference studies' 50,000 / 10,000 split (seed 42); the 8x8 digits' 1,437 become
   1,150 / 287; Kaggle's ``train.csv`` (42,000 images, of which tinynet keeps 8,400
   as the test set) becomes 26,880 / 6,720;
3. in quick mode, keep a stratified subset of each part (at most
   :data:`QUICK_SIZES`); the test images stay in their original order and the
   first test image is always the dataset's first;
4. scale pixels to [0, 1] float32 and add the channel axis: ``(N, H, W, 1)``.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from experiments.kaggle_csv import load_kaggle_csv
from tinynet.datasets import (
    Dataset,
    DatasetNotFoundError,
    DatasetWarning,
    load_dataset,
    scale_images,
    to_nhwc,
    train_validation_split,
)

#: The reference studies' validation set size.
VALIDATION_SIZE = 10_000
#: Fraction of the training images used for validation when 10,000 would be too many.
VALIDATION_FRACTION = 0.2
#: Largest subsets kept by ``--quick``.
QUICK_SIZES = {"train": 2_000, "validation": 500, "test": 1_000}
#: How to get MNIST when a run had to do without it.
HOW_TO_GET_MNIST = (
    "to use MNIST, pass --data-dir DIR or set TINYNET_DATA_DIR=DIR (DIR holding the four "
    "MNIST files), or run once with internet access to download them"
)


@dataclass
class Data:
    """The arrays of a run and a JSON-able description of them.

    Attributes
    ----------
    x_train, x_val, x_test : numpy.ndarray
        float32 images in [0, 1], shape ``(N, H, W, 1)``.
    y_train, y_val, y_test : numpy.ndarray
        int64 labels, shape ``(N,)``.
    test_images : numpy.ndarray
        The test images as loaded, uint8 ``(N, H, W)``, for the figures.
    info : dict
        ``name``, ``source``, ``class_names``, ``image_shape`` (of one model input),
        ``n_train``, ``n_validation``, ``n_test``, ``quick``.
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_val: np.ndarray = field(repr=False)
    y_val: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    test_images: np.ndarray = field(repr=False)
    info: dict

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.info["image_shape"])

    @property
    def n_classes(self) -> int:
        return len(self.info["class_names"])


def validation_size(n_train: int) -> int:
    """How many of ``n_train`` training images become validation images."""
    return min(VALIDATION_SIZE, round(VALIDATION_FRACTION * n_train))


def stratified_subset(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a class-stratified random subset of ``size`` labels of ``y``.

    The subset always starts with sample 0 (swapped in for a sample of its class),
    so the first test image of a quick run is the dataset's first, as in the studies'
    example prediction. All indices if ``size >= len(y)``.
    """
    if size >= len(y):
        return np.arange(len(y))
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=size, stratify=y, random_state=seed
    )
    if 0 not in keep:
        keep[np.flatnonzero(y[keep] == y[0])[0]] = 0
    return np.sort(keep)


def _fallback_reason(error: DatasetNotFoundError) -> str:
    """Why MNIST could not be had, in one line: the download's failure if there was one."""
    downloads = [place for place in getattr(error, "places", []) if place.startswith("download")]
    if not downloads:
        return str(error).splitlines()[0]
    others = len(downloads) - 1
    return downloads[0] + (f"; {others} more attempt(s) failed too" if others else "")


def _load_dataset(
    dataset: str, data_dir: Path | None, data_path: Path | None
) -> tuple[Dataset, str | None]:
    """The dataset asked for, and why MNIST was replaced (None if it was not).

    ``"auto"`` falls back to the 8x8 digits only when MNIST is nowhere to be found
    and no ``data_dir`` was given: a location the user named is never replaced.
    """
    if dataset == "csv":
        return load_kaggle_csv(data_path), None
    if dataset != "auto":
        return load_dataset(dataset, data_dir=data_dir), None
    if data_dir is not None:
        return load_dataset("mnist", data_dir=data_dir), None
    try:
        return load_dataset("mnist"), None
    except DatasetNotFoundError as error:
        return load_dataset("digits"), _fallback_reason(error)


def load(
    dataset: str,
    data_dir: Path | None,
    seed: int,
    quick: bool,
    data_path: Path | None = None,
) -> Data:
    """Load and prepare the data of a run (see the module docstring).

    Parameters
    ----------
    dataset : {"auto", "mnist", "fashion-mnist", "digits", "csv"}
        ``"auto"``: MNIST if it can be found or downloaded, else the 8x8 digits (with
        the reason in ``info["fallback"]``); never a fallback when ``data_dir`` is given.
    data_dir : Path or None
        Folder with the IDX files, or None for tinynet's search path and cache.
    seed : int
        Seed of the validation split and of the quick-mode subsets.
    quick : bool
        Keep at most :data:`QUICK_SIZES` images of each part.
    data_path : Path or None
        For ``"csv"``: Kaggle's Digit Recognizer ``train.csv`` (split 80/20 into train
        and test by :func:`experiments.kaggle_csv.load_kaggle_csv`).

    Raises
    ------
    tinynet.datasets.DatasetError
        If the dataset cannot be loaded.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DatasetWarning)
        ds, fallback = _load_dataset(dataset, data_dir, data_path)
    notes = [str(w.message) for w in caught if issubclass(w.category, DatasetWarning)]
    replaced = [] if fallback is None else [
        f"MNIST is not available ({fallback}), so this run uses scikit-learn's 8x8 digits "
        f"instead; {HOW_TO_GET_MNIST}."
    ]  # fmt: skip
    for note in replaced + notes:  # loud: the run is not on the data the user may think
        print(f"\n*** WARNING: {note}\n", file=sys.stderr)
    (x_train, y_train), (x_val, y_val) = train_validation_split(
        ds.x_train, ds.y_train, validation_size=validation_size(len(ds.y_train)), seed=seed
    )
    x_test, y_test = ds.x_test, ds.y_test
    if quick:
        parts = {
            "train": (x_train, y_train),
            "validation": (x_val, y_val),
            "test": (x_test, y_test),
        }
        for part, (x, y) in parts.items():
            keep = stratified_subset(y, QUICK_SIZES[part], seed)
            parts[part] = (x[keep], y[keep])
        (x_train, y_train), (x_val, y_val), (x_test, y_test) = parts.values()

    def prepare(x: np.ndarray) -> np.ndarray:
        return to_nhwc(scale_images(x))

    info = {
        "name": ds.name,
        "requested": dataset,
        "source": ds.source,
        "class_names": [str(name) for name in ds.class_names],
        "image_shape": [*ds.image_shape, 1],
        "n_train": len(y_train),
        "n_validation": len(y_val),
        "n_test": len(y_test),
        "quick": quick,
        "warnings": notes,
        "fallback": fallback,
    }
    return Data(
        prepare(x_train), y_train.astype(np.int64), prepare(x_val), y_val.astype(np.int64),
        prepare(x_test), y_test.astype(np.int64), np.asarray(x_test), info,
    )  # fmt: skip


def describe(info: dict, sizes: bool = True, folder: bool = True) -> str:
    """Which data a run used and where it came from, in one line.

    For example ``"digits (scikit-learn bundled digits): 1,150 train / 287 validation /
    360 test images of 8x8"``; ``sizes=False`` keeps only the name, source and whether
    the run was on quick subsets (for figure titles); ``folder=False`` leaves out a
    source that is a folder of this machine (for the README, read on other machines).
    """
    local = any(separator in info["source"] for separator in "/\\")  # a path names a folder
    text = info["name"] if local and not folder else f"{info['name']} ({info['source']})"
    if sizes:
        h, w = info["image_shape"][:2]
        text += (
            f": {info['n_train']:,} train / {info['n_validation']:,} validation / "
            f"{info['n_test']:,} test images of {h}x{w}"
        )
    return text + (", quick subsets" if info.get("quick") else "")
