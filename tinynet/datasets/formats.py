"""The two file formats: IDX (MNIST, Fashion-MNIST) and Kaggle's Digit Recognizer CSV.

An IDX file is a 4-byte magic number (2051 images, 2049 labels: ``00 00 08 03`` / ``00 00 08
01``, unsigned bytes in 3 or 1 dimensions), the size of each dimension (count, rows, cols) as
big-endian 32-bit integers, then the values, one byte each, row by row. It is valid only if
its size is exactly that: a truncated file or a wrong header is refused, never returned half
filled. The CSV has a header ``label,pixel0,...,pixel783`` (or ``pixel1..pixel784``), then
one image per line. Either may be gzip-compressed, recognised by its content (``1f 8b``).
"""

from __future__ import annotations

import gzip
import math
import os
import re
import zlib
from pathlib import Path
from typing import Literal

import numpy as np

from tinynet.datasets.dataset import DatasetError

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
Kind = Literal["images", "labels"]
_KIND = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
_A_FILE = {"images": "an image file (magic 2051)", "labels": "a label file (magic 2049)"}
_CSV = "expected a header 'label,pixel0,...,pixel783' and one image per line"


def is_gzip(data: bytes) -> bool:
    """True if ``data`` starts with the gzip signature ``1f 8b``."""
    return data[:2] == b"\x1f\x8b"


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """A whole file; a missing or unreadable one is a :class:`DatasetError` naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise DatasetError(f"{path}: file not found.") from exc
    except IsADirectoryError as exc:
        raise DatasetError(f"{path}: is a directory, expected a data file.") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the file ({exc.strerror or exc}).") from exc


def decompress(data: bytes, name: str, advice: str = "") -> bytes:
    """``data`` gunzipped if it is gzip, else itself; damaged gzip is a DatasetError."""
    try:
        return gzip.decompress(data) if is_gzip(data) else data
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{name}: the gzip data is damaged or truncated ({exc}).{advice}") \
            from exc


def parse_idx(data: bytes, name: str = "<bytes>", kind: Kind | None = None) -> np.ndarray:
    """Parse an IDX file's content (gzip-compressed or not) into a writable uint8 array,
    ``(count, rows, cols)`` for images or ``(count,)`` for labels.

    ``name`` is used in messages; ``kind``, if given, is what the file must hold. Whatever the
    bytes, the only error is a :class:`DatasetError` naming the file and the problem.
    """
    advice = (" Use an original MNIST/Fashion-MNIST IDX file (gzip-compressed or not); if this "
              "copy was downloaded or copied, fetch it again.")
    content = decompress(data, name, advice)

    def refuse(problem: str) -> DatasetError:
        return DatasetError(f"{name}: {problem}.{advice}")

    if len(content) < 4:
        raise refuse(f"only {len(content)} bytes long; an IDX file starts with a 4-byte magic "
                     "number")
    magic = int.from_bytes(content[:4], "big")
    if magic not in _KIND:
        raise refuse(f"wrong magic number {magic} (0x{magic:08x}): an MNIST IDX file starts with"
                     f" {IMAGES_MAGIC} (images) or {LABELS_MAGIC} (labels), so this is not an "
                     "IDX file of unsigned bytes, or it is damaged")
    if kind is not None and _KIND[magic] != kind:
        raise refuse(f"this is {_A_FILE[_KIND[magic]]} but {_A_FILE[kind]} was expected: were "
                     "the files swapped?")
    header = 8 if magic == LABELS_MAGIC else 16
    if len(content) < header:
        raise refuse(f"truncated header: {len(content)} bytes, an IDX {_KIND[magic]} header has "
                     f"{header}")
    shape = tuple(int.from_bytes(content[i : i + 4], "big") for i in range(4, header, 4))
    what = f"{shape[0]:,} images of {shape[1]}x{shape[2]}" if len(shape) == 3 else \
        f"{shape[0]:,} labels"
    expected = header + math.prod(shape)
    if 0 in shape:
        raise refuse(f"the header says the file holds {what}: it is empty")
    if len(content) < expected:
        raise refuse(f"truncated: the header promises {what}, {expected:,} bytes in all, but the"
                     f" file has only {len(content):,} bytes")
    if len(content) > expected:
        raise refuse(f"the header counts disagree with the file size: {what} take {expected:,} "
                     f"bytes, but the file has {len(content):,}")
    return np.frombuffer(content, np.uint8, offset=header).reshape(shape).copy()


def read_idx(path: str | os.PathLike[str], kind: Kind | None = None) -> np.ndarray:
    """Read one IDX file, gzip-compressed or not (see :func:`parse_idx`)."""
    return parse_idx(read_bytes(path), str(path), kind)


def check_pair(images: np.ndarray, labels: np.ndarray, images_name: str, labels_name: str) -> None:
    """Raise :class:`DatasetError` unless there is exactly one label per image."""
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_name} has {len(images):,} images but {labels_name} has {len(labels):,} "
            "labels: the two files must come from the same set (both 'train' or both 't10k'). "
            "Replace the mismatched file.")


def read_idx_pair(images_path: str | os.PathLike[str],
                  labels_path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read an image file and its label file (uint8 arrays), checking that counts agree."""
    images, labels = read_idx(images_path, "images"), read_idx(labels_path, "labels")
    check_pair(images, labels, str(images_path), str(labels_path))
    return images, labels


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
    missing, non-numeric or out-of-range value is a :class:`DatasetError` naming the file,
    line and column.
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
