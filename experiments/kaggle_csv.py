"""Kaggle's Digit Recognizer ``train.csv``: study A's own data (``--data-path train.csv``).

The file has a header ``label,pixel0,...,pixel783`` (or ``pixel1..pixel784``), then one
image per line; it may be gzip-compressed (recognised by its content). Kaggle's
``test.csv`` has no labels, so the study's test set is cut out of ``train.csv``:
:func:`load_kaggle_csv` splits it stratified 80/20 with ``random_state=42`` (42,000
images: 33,600 train / 8,400 test). It lives here, beside the studies, and not in
:mod:`tinynet.datasets`, because only the studies read it: it is a study's input, not a
dataset tinynet knows, finds, downloads or verifies.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from tinynet.datasets import Dataset, DatasetError, train_validation_split
from tinynet.datasets.sources import decompress, read_bytes

SPLIT_SEED = 42  # random_state of the train/test split
TEST_FRACTION = 0.2  # a CSV without a test file: 80 % / 20 % (the study's source says so)
_CSV = "expected a header 'label,pixel0,...,pixel783' and one image per line"


def _image_side(path: Path, columns: list[str]) -> int:
    """Check a CSV header; return the side of the square images its pixel columns make."""
    pixels = [column for column in columns if column != "label"]
    numbers = [int(c[5:]) for c in pixels if re.fullmatch(r"pixel\d+", c)]
    first = 0 if 0 in numbers else 1
    missing = sorted(set(range(first, max(numbers, default=0) + 1)) - set(numbers))
    checks = [  # (failed, what is wrong), the first failure is reported
        (columns.count("label") > 1, "the header has more than one 'label' column"),
        ("label" not in columns, f"missing the 'label' column ({_CSV}). Kaggle's test.csv has "
         "no labels: use train.csv"),
        (len(numbers) < len(pixels), "unexpected column(s) " + ", ".join(
            repr(c) for c in pixels if not re.fullmatch(r"pixel\d+", c)) + f" ({_CSV})"),
        (not pixels, f"no pixel columns ({_CSV})"),
        (missing, f"missing column(s) {', '.join(f'pixel{n}' for n in missing[:5])}"
         f"{' ...' if len(missing) > 5 else ''} ({_CSV})"),
        (numbers != list(range(first, first + len(numbers))),
         "pixel columns are duplicated or out of order"),
        (math.isqrt(len(pixels)) ** 2 != len(pixels), f"{len(pixels)} pixel columns do not make "
         "a square image; Kaggle's train.csv has 784 (pixel0..pixel783, 28x28). Is one missing?"),
    ]
    problem = next((message for failed, message in checks if failed), None)
    if problem:
        raise DatasetError(f"{path}: {problem}.")
    return math.isqrt(len(pixels))


def _first_bad_line(columns: list[str], lines: list[str], reason: str) -> str:
    """Scan the CSV's data lines slowly, to name the first bad line and column exactly."""
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if len(values := line.split(",")) != len(columns):
            return f"line {number}: {len(values)} values, but the header has {len(columns)} columns"
        for column, value in zip(columns, values, strict=True):
            if not re.fullmatch(r"\s*[+-]?\d+\s*", value):
                return (f"line {number}, column '{column}': {value!r} is not an integer (a "
                        "missing or non-numeric value)")
    return f"cannot parse the values ({reason})"


def read_kaggle_csv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a labelled Kaggle Digit Recognizer ``train.csv`` (or ``.csv.gz``, or a directory
    holding it): uint8 images ``(N, 28, 28)`` (whatever square the pixel columns make) and
    int64 labels ``(N,)``. A missing, empty or unreadable file, a missing column, or a
    missing, non-numeric or out-of-range value is a :class:`~tinynet.datasets.DatasetError`
    naming the file, line and column.
    """
    path = Path(path)
    if path.is_dir():
        path = next((p for p in (path / "train.csv", path / "train.csv.gz") if p.is_file()),
                    path / "train.csv")
    try:
        lines = decompress(read_bytes(path), str(path)).decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not a text CSV file ({exc.reason}).") from exc
    if not lines or not lines[0].strip():
        raise DatasetError(f"{path}: the file is empty ({_CSV}).")
    columns = [column.strip() for column in lines[0].split(",")]
    side = _image_side(path, columns)
    if not any(line.strip() for line in lines[1:]):
        raise DatasetError(f"{path}: the header is there but there are no data lines.")
    try:
        table = np.loadtxt(lines[1:], delimiter=",", dtype=np.int64, ndmin=2)
        if table.shape[1] != len(columns):
            raise ValueError(f"{table.shape[1]} values per line")
    except (ValueError, OverflowError) as exc:
        raise DatasetError(f"{path}, {_first_bad_line(columns, lines, str(exc))}. Fix or "
                           "remove the line.") from exc
    label = columns.index("label")
    if (bad := np.argwhere((table < 0) | (table > 255))).size:
        row, column = bad[0]
        raise DatasetError(f"{path}, data row {row + 1}: {'label' if column == label else 'pixel'}"
                           f" value {table[row, column]} is outside 0..255.")
    pixels = np.delete(table, label, axis=1).astype(np.uint8)
    return pixels.reshape(len(table), side, side), table[:, label].copy()


def load_kaggle_csv(path: str | os.PathLike[str],
                    test_path: str | os.PathLike[str] | None = None) -> Dataset:
    """The :class:`~tinynet.datasets.Dataset` named ``"csv"`` of a labelled ``train.csv``
    (see :func:`read_kaggle_csv`): split stratified 80/20 with ``random_state=42`` into
    train and test, unless a labelled ``test_path`` gives the test set (of the same image
    size). Classes are the digits ``"0"``..``"9"``, more if a label is higher.
    """
    x_train, y_train = read_kaggle_csv(path)
    if test_path is not None:
        x_test, y_test = read_kaggle_csv(test_path)
        source = f"{path} (train), {test_path} (test)"
    else:
        try:
            (x_train, y_train), (x_test, y_test) = train_validation_split(
                x_train, y_train, TEST_FRACTION, SPLIT_SEED, stratify=True)
        except ValueError as exc:
            raise DatasetError(f"{path}: too few lines to split {TEST_FRACTION:.0%} off as a "
                               f"test set with every class in both parts ({exc}). Add data or "
                               "pass test_path.") from exc
        source = f"{path} (stratified 80%/20% split)"
    classes = tuple(map(str, range(max(10, int(max(y_train.max(), y_test.max())) + 1))))
    return Dataset("csv", x_train, y_train, x_test, y_test, classes, x_train.shape[1:], source)
