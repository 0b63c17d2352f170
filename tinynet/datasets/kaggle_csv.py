"""Read Kaggle's Digit Recognizer CSV (``train.csv``).

The file has a header line ``label,pixel0,pixel1,...,pixel783`` and then one image per
line: the label, then the 28 x 28 = 784 pixel values 0..255, row by row. Kaggle's
Fashion-MNIST CSV, which numbers its pixels from 1 (``pixel1..pixel784``), reads too.
The file may be gzip-compressed (``train.csv.gz``).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import re
import warnings
import zlib
from pathlib import Path
from typing import TextIO

import numpy as np

from tinynet.datasets import idx
from tinynet.datasets.errors import DatasetError

__all__ = ["read_kaggle_csv"]

_PIXEL_COLUMN = re.compile(r"pixel(\d+)")
_FORMAT = "a header 'label,pixel0,...,pixel783' and one image per line"


def _open_text(path: Path) -> TextIO:
    with path.open("rb") as raw:
        compressed = idx.is_gzip(raw.read(2))
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")


def _check_columns(columns: list[str], path: Path) -> tuple[int, int]:
    """Check the header; return the image ``(height, width)``."""
    if columns.count("label") != 1:
        if "label" in columns:
            raise DatasetError(f"{path}: the header has more than one 'label' column.")
        raise DatasetError(
            f"{path}: missing the 'label' column (expected {_FORMAT}). Kaggle's test.csv has "
            "no labels: use train.csv."
        )
    pixels = [column for column in columns if column != "label"]
    unexpected = [column for column in pixels if not _PIXEL_COLUMN.fullmatch(column)]
    if unexpected:
        shown = ", ".join(repr(column) for column in unexpected[:5])
        raise DatasetError(f"{path}: unexpected column(s) {shown} (expected {_FORMAT}).")
    if not pixels:
        raise DatasetError(f"{path}: no pixel columns (expected {_FORMAT}).")
    first = 1 if "pixel0" not in pixels else 0
    indices = [int(_PIXEL_COLUMN.fullmatch(column).group(1)) for column in pixels]
    missing = sorted(set(range(first, max(indices) + 1)) - set(indices))
    if missing:
        shown = ", ".join(f"pixel{i}" for i in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DatasetError(f"{path}: missing column(s) {shown} (expected {_FORMAT}).")
    if indices != list(range(first, first + len(indices))):
        raise DatasetError(f"{path}: pixel columns are duplicated or out of order.")
    side = math.isqrt(len(pixels))
    if side * side != len(pixels):
        raise DatasetError(
            f"{path}: {len(pixels)} pixel columns do not make a square image; Kaggle's "
            f"train.csv has 784 (pixel0..pixel783, 28x28). Is a column missing?"
        )
    return side, side


def _find_bad_value(path: Path, columns: list[str], numpy_message: str) -> DatasetError:
    """Re-read the file slowly to report the first bad line and column exactly."""
    with _open_text(path) as stream:
        reader = csv.reader(stream)
        next(reader, None)
        for row in reader:
            if not row:
                continue
            line = reader.line_num
            if len(row) != len(columns):
                return DatasetError(
                    f"{path}, line {line}: {len(row)} values, but the header has "
                    f"{len(columns)} columns. Fix or remove the line."
                )
            for column, value in zip(columns, row, strict=True):
                try:
                    int(value)
                except ValueError:
                    return DatasetError(
                        f"{path}, line {line}, column '{column}': {value!r} is not an integer "
                        "(a missing or non-numeric value). Fix or remove the line."
                    )
    return DatasetError(f"{path}: cannot parse the values ({numpy_message}).")


def _check_range(path: Path, name: str, values: np.ndarray, low: int, high: int) -> None:
    bad = np.flatnonzero((values < low) | (values > high))
    if bad.size:
        row = bad[0] // (values.shape[1] if values.ndim == 2 else 1)
        value = values.reshape(-1)[bad[0]]
        raise DatasetError(
            f"{path}, data row {row + 1}: {name} value {value} is outside {low}..{high}."
        )


def read_kaggle_csv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a labelled Digit Recognizer CSV.

    Parameters
    ----------
    path : str or path-like
        ``train.csv`` (or ``train.csv.gz``), or a directory holding ``train.csv``.

    Returns
    -------
    images : numpy.ndarray
        uint8, ``(N, 28, 28)`` (or whatever square size the pixel columns make).
    labels : numpy.ndarray
        int64, ``(N,)``.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable, empty, lacks columns, or holds a missing,
        non-numeric or out-of-range value; the message names the file, line and column.
    """
    path = Path(path)
    if path.is_dir():
        candidates = [path / "train.csv", path / "train.csv.gz"]
        path = next((p for p in candidates if p.is_file()), candidates[0])
    if not path.is_file():
        raise DatasetError(
            f"{path}: file not found. Pass the path of Kaggle's Digit Recognizer train.csv."
        )
    try:
        with _open_text(path) as stream:
            header = stream.readline()
            if not header.strip():
                raise DatasetError(f"{path}: the file is empty (expected {_FORMAT}).")
            columns = [column.strip() for column in next(csv.reader([header]))]
            height, width = _check_columns(columns, path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
                try:
                    table = np.loadtxt(
                        stream, delimiter=",", dtype=np.int32, ndmin=2, quotechar='"'
                    )
                except UnicodeDecodeError:
                    raise
                except ValueError as exc:
                    numpy_error: ValueError | None = exc
                else:
                    numpy_error = None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not a text CSV file ({exc.reason}).") from exc
    except (OSError, EOFError, zlib.error, io.UnsupportedOperation) as exc:
        raise DatasetError(f"{path}: cannot read the file ({exc}).") from exc
    if numpy_error is not None:
        raise _find_bad_value(path, columns, str(numpy_error).split(";")[0]) from numpy_error

    if table.size == 0:
        raise DatasetError(f"{path}: the header is there but there are no data lines.")
    if table.shape[1] != len(columns):
        raise DatasetError(
            f"{path}: the lines have {table.shape[1]} values, but the header has "
            f"{len(columns)} columns."
        )
    label_index = columns.index("label")
    labels = table[:, label_index]
    pixels = table[:, 1:] if label_index == 0 else np.delete(table, label_index, axis=1)
    _check_range(path, "label", labels, 0, 255)
    _check_range(path, "pixel", pixels, 0, 255)
    images = pixels.astype(np.uint8).reshape(len(pixels), height, width)
    return images, labels.astype(np.int64)
