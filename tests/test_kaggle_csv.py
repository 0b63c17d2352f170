"""Tests of experiments.kaggle_csv: Kaggle's Digit Recognizer train.csv, study A's own data."""

from __future__ import annotations

import gzip
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.kaggle_csv import load_kaggle_csv, read_kaggle_csv
from tinynet.datasets import DatasetError


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def write_csv(path: Path, rows: int = 50, header: list[str] | None = None, first: int = 0,
              compress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    labels = np.arange(rows) % 10
    pixels = rng.integers(0, 256, (rows, 784))
    header = header or ["label"] + [f"pixel{i}" for i in range(first, first + 784)]
    lines = [",".join(header)] + [
        ",".join(map(str, [label, *row])) for label, row in zip(labels, pixels, strict=True)
    ]
    text = "\n".join(lines) + "\n"
    path.write_bytes(gz(text.encode()) if compress else text.encode())
    return pixels.reshape(rows, 28, 28).astype(np.uint8), labels


@pytest.mark.parametrize("compress,first", [(False, 0), (True, 0), (False, 1)])
def test_kaggle_csv_reads_and_splits(tmp_path, compress, first):
    images, labels = write_csv(tmp_path / "train.csv", compress=compress, first=first)
    x, y = read_kaggle_csv(tmp_path / "train.csv")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert x.dtype == np.uint8 and y.dtype == np.int64
    ds = load_kaggle_csv(tmp_path)  # a directory holding train.csv
    assert ds.name == "csv" and ds.image_shape == (28, 28)
    assert len(ds.x_train) == 40 and len(ds.x_test) == 10
    assert np.bincount(ds.y_test).tolist() == [1] * 10
    assert "stratified 80%/20% split" in ds.source


def test_kaggle_csv_with_separate_test_file(tmp_path):
    write_csv(tmp_path / "train.csv")
    test_images, _ = write_csv(tmp_path / "test-labelled.csv", rows=12)
    ds = load_kaggle_csv(tmp_path / "train.csv", test_path=tmp_path / "test-labelled.csv")
    assert len(ds.x_train) == 50
    np.testing.assert_array_equal(ds.x_test, test_images)


def _replace_line(path: Path, line_number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[line_number - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda p: p.write_text(""), "the file is empty"),
        (lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), "no data lines"),
        (lambda p: _replace_line(p, 1, ",".join(f"pixel{i}" for i in range(785))),
         "missing the 'label' column"),
        (lambda p: _replace_line(p, 1, ",".join(["label"] + [f"pixel{i}" for i in range(784)
                                                            if i != 5] + ["pixel999"])),
         "missing column.s. pixel5"),
        (lambda p: _replace_line(p, 1, ",".join(["label", "id"] + [f"pixel{i}"
                                                                  for i in range(783)])),
         "unexpected column.s. 'id'"),
        (lambda p: _replace_line(p, 4, "3," + "abc," + ",".join(["0"] * 783)),
         "line 4, column 'pixel0': 'abc' is not an integer"),
        (lambda p: _replace_line(p, 5, "3,," + ",".join(["0"] * 783)),
         "line 5, column 'pixel0': '' is not an integer"),
        (lambda p: _replace_line(p, 6, "3," + ",".join(["0"] * 700)),
         "line 6: 701 values, but the header has 785 columns"),
        (lambda p: _replace_line(p, 3, "3,300," + ",".join(["0"] * 783)),
         "data row 2: pixel value 300 is outside 0..255"),
    ],
    ids=["empty", "header-only", "no-label", "missing-pixel", "extra-column", "non-numeric",
         "missing-value", "short-line", "out-of-range"],
)
def test_bad_csv_files_raise_a_clear_error(tmp_path, damage, message):
    path = tmp_path / "train.csv"
    write_csv(path, rows=10)
    damage(path)
    with pytest.raises(DatasetError, match=message) as info:
        load_kaggle_csv(path)
    assert str(path) in str(info.value)


def test_csv_header_without_the_last_pixel_column(tmp_path):
    path = tmp_path / "train.csv"
    write_csv(path, rows=10)
    lines = [",".join(line.split(",")[:-1]) for line in path.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="783 pixel columns do not make a square image"):
        read_kaggle_csv(path)


def test_csv_missing_path(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        read_kaggle_csv(tmp_path / "train.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a named location is never replaced: an error
        with pytest.raises(DatasetError, match="file not found") as info:
            load_kaggle_csv(tmp_path / "no-such-dir")
    assert str(tmp_path / "no-such-dir") in str(info.value)


def test_csv_too_small_to_split(tmp_path):
    write_csv(tmp_path / "train.csv", rows=12)  # 10 classes: no room for 20 % of each
    with pytest.raises(DatasetError, match="too few lines to split 20% off") as info:
        load_kaggle_csv(tmp_path / "train.csv")
    assert str(tmp_path / "train.csv") in str(info.value)


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=300))
def test_random_bytes_as_csv_give_only_dataset_error(body):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "train.csv"
        path.write_bytes(b"label,pixel0,pixel1,pixel2,pixel3\n" + body)
        try:
            images, labels = read_kaggle_csv(path)
        except DatasetError as exc:
            assert str(path) in str(exc)
        else:
            assert images.shape[1:] == (2, 2) and len(images) == len(labels)
