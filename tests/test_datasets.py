"""Tests of tinynet.datasets: IDX reader, lookup order, cache, download, fallback.

No test touches the network or the user's cache: an autouse fixture points
XDG_CACHE_HOME at a temporary directory and sets TINYNET_OFFLINE=1, and the download
tests serve files from a local HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinynet.datasets import (
    Dataset,
    DatasetError,
    DatasetNotFoundError,
    DatasetWarning,
    cache_dir,
    flatten_images,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    parse_idx,
    read_idx,
    read_idx_pair,
    scale_images,
    sources,
    to_nhwc,
    train_validation_split,
)

# Class counts of the original MNIST files: part of what "verified" means.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
REPO = Path(__file__).resolve().parents[1]
GZ_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


# --- helpers ----------------------------------------------------------------------------


def idx_images(images: np.ndarray) -> bytes:
    """Encode uint8 images (N, rows, cols) as an IDX file."""
    n, rows, cols = images.shape
    header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, rows, cols))
    return header + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    """Encode uint8 labels (N,) as an IDX file."""
    return (2049).to_bytes(4, "big") + len(labels).to_bytes(4, "big") + labels.astype(
        np.uint8
    ).tobytes()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_arrays(n_train: int = 40, n_test: int = 20, side: int = 28, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }


def encode(arrays: dict) -> dict[str, bytes]:
    """Role -> IDX bytes (uncompressed)."""
    return {
        role: idx_images(a) if role.endswith("images") else idx_labels(a)
        for role, a in arrays.items()
    }


def write_set(directory: Path, arrays: dict, compress: bool = True, dotted: bool = False) -> dict:
    """Write the four IDX files; return role -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for role, data in encode(arrays).items():
        name = GZ_NAMES[role].removesuffix(".gz")
        if dotted:
            name = name.replace("-idx", ".idx")
        if compress:
            name, data = name + ".gz", gz(data)
        paths[role] = directory / name
        paths[role].write_bytes(data)
    return paths


def install_synthetic_mnist(monkeypatch, arrays: dict, mirrors: tuple[str, ...] = ()) -> dict:
    """Make the 'mnist' spec expect the gzip files of ``arrays``; return role -> gz bytes."""
    blobs = {role: gz(data) for role, data in encode(arrays).items()}
    files = tuple(
        sources.KnownFile(role, GZ_NAMES[role], sha256(blobs[role]), len(blobs[role]))
        for role in ROLES
    )
    spec = dataclasses.replace(sources.MNIST, files=files, mirrors=mirrors)
    monkeypatch.setitem(sources.DATASETS, "mnist", spec)
    return blobs


def assert_same(dataset: Dataset, arrays: dict) -> None:
    np.testing.assert_array_equal(dataset.x_train, arrays["train_images"])
    np.testing.assert_array_equal(dataset.y_train, arrays["train_labels"])
    np.testing.assert_array_equal(dataset.x_test, arrays["test_images"])
    np.testing.assert_array_equal(dataset.y_test, arrays["test_labels"])


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No real cache, no network, no inherited settings."""
    for variable in ("TINYNET_DATA_DIR", "TINYNET_MNIST_MIRRORS", "TINYNET_FASHION_MNIST_MIRRORS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("TINYNET_OFFLINE", "1")


@pytest.fixture
def synthetic():
    return make_arrays()


def _serve(root: Path, handler_base: type, requests: list):
    class Handler(handler_base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_request(self, code="-", size="-"):
            requests.append((self.path, int(code) if str(code).isdigit() else code))

        def log_message(self, format, *args):  # keep test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server serving tmp_path/www; records (path, status) of each request."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list = []
    server, thread = _serve(root, http.server.SimpleHTTPRequestHandler, requests)
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{server.server_address[1]}/", root=root, requests=requests
    )
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def cache_files(tmp_path: Path) -> list[str]:
    directory = tmp_path / "xdg-cache" / "tinynet" / "mnist"
    return sorted(os.listdir(directory)) if directory.exists() else []


# --- the real MNIST files ---------------------------------------------------------------


@pytest.fixture(scope="module")
def real_mnist(mnist_dir) -> Dataset:
    return load_dataset("mnist", mnist_dir)


def test_real_mnist_shapes_dtypes_and_label_histogram(mnist_dir, real_mnist):
    ds = real_mnist
    assert ds.name == "mnist"
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (10000, 28, 28) and ds.x_test.dtype == np.uint8
    assert ds.y_train.shape == (60000,) and ds.y_train.dtype == np.int64
    assert ds.y_test.shape == (10000,) and ds.y_test.dtype == np.int64
    assert np.bincount(ds.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == MNIST_TEST_COUNTS
    assert ds.x_train.min() == 0 and ds.x_train.max() == 255
    assert ds.class_names == tuple("0123456789") and ds.image_shape == (28, 28)
    assert ds.source == str(mnist_dir)
    assert "60,000 train + 10,000 test" in ds.describe()
    assert ds.x_train.flags.writeable


def test_real_files_match_the_built_in_checksums(mnist_dir):
    sums = mnist_dir / "SHA256SUMS"  # in CI's copy; a user's copy may not have it
    lines = sums.read_text().splitlines() if sums.is_file() else []
    listed = dict(reversed(line.split()) for line in lines)
    for known in sources.MNIST.files:
        digest = sha256((mnist_dir / known.filename).read_bytes())
        assert digest == known.sha256 == listed.get(known.filename, digest)
        assert (mnist_dir / known.filename).stat().st_size == known.size


def test_load_mnist_returns_keras_style_tuples(mnist_dir, real_mnist):
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir)
    np.testing.assert_array_equal(x_train, real_mnist.x_train)
    np.testing.assert_array_equal(y_test, real_mnist.y_test)
    assert x_test.shape == (10000, 28, 28) and y_train.dtype == np.int64


def test_real_mnist_found_in_dataset_subdirectory_and_via_env(
    mnist_dir, monkeypatch, real_mnist, tmp_path
):
    (tmp_path / "mnist").symlink_to(mnist_dir)
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tmp_path))
    ds = load_dataset("mnist")  # TINYNET_DATA_DIR/mnist
    assert ds.source == str(tmp_path / "mnist")
    np.testing.assert_array_equal(ds.y_train, real_mnist.y_train)


def test_real_study_b_split_is_50k_10k(real_mnist):
    (x_tr, y_tr), (x_val, y_val) = train_validation_split(
        real_mnist.x_train, real_mnist.y_train, validation_size=10_000, seed=42
    )
    assert x_tr.shape == (50000, 28, 28) and x_val.shape == (10000, 28, 28)
    assert len(y_tr) == 50000 and len(y_val) == 10000


def test_recompressed_and_uncompressed_copies_are_verified_by_content(
    mnist_dir, tmp_path, real_mnist
):
    # Like Debian's packages: same IDX content, different compression.
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (copy / name).symlink_to(mnist_dir / name)
    raw = gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    (copy / "t10k-images.idx3-ubyte").write_bytes(raw)  # uncompressed, dotted spelling
    labels = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (copy / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels, 1, mtime=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # verified: no warning at all
        ds = load_dataset("mnist", copy)
    np.testing.assert_array_equal(ds.x_test, real_mnist.x_test)
    np.testing.assert_array_equal(ds.y_test, real_mnist.y_test)


def test_mnist_files_are_refused_as_fashion_mnist(mnist_dir):
    with pytest.raises(DatasetError, match="this is MNIST's train-images-idx3-ubyte.gz, not "
                       "Fashion-MNIST's") as info:
        load_fashion_mnist(mnist_dir)
    assert str(mnist_dir / "train-images-idx3-ubyte.gz") in str(info.value)


def test_swapped_real_files_are_refused(mnist_dir, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in GZ_NAMES.values():
        (copy / name).symlink_to(mnist_dir / name)
    (copy / "train-labels-idx1-ubyte.gz").unlink()
    (copy / "train-labels-idx1-ubyte.gz").symlink_to(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DatasetError, match="this is MNIST's t10k-labels-idx1-ubyte.gz, not "
                       "MNIST's train-labels-idx1-ubyte.gz"):
        load_mnist(copy)


def test_built_in_checksums_are_well_formed():
    for spec in sources.DATASETS.values():
        assert len(spec.files) == 4 and len(spec.class_names) == 10 and spec.mirrors
        for known in spec.files:
            assert len(known.sha256) == 64 and int(known.sha256, 16) >= 0
    assert sources.FASHION_MNIST.class_names[9] == "Ankle boot"
    assert sources.MNIST.file("test_labels").candidate_names == (
        "t10k-labels-idx1-ubyte.gz",
        "t10k-labels-idx1-ubyte",
        "t10k-labels.idx1-ubyte.gz",
        "t10k-labels.idx1-ubyte",
    )


# --- the IDX reader on synthetic files ----------------------------------------------------


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_read_idx_round_trip(tmp_path, compress):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    img, lab = tmp_path / "images", tmp_path / "labels"
    img.write_bytes(gz(idx_images(images)) if compress else idx_images(images))
    lab.write_bytes(gz(idx_labels(labels)) if compress else idx_labels(labels))
    got_images, got_labels = read_idx_pair(img, lab)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.dtype == np.uint8 and got_images.flags.writeable


def _bad_files() -> dict[str, tuple[bytes, str | None, str]]:
    images = idx_images(np.zeros((5, 28, 28), np.uint8))
    labels = idx_labels(np.zeros(5, np.uint8))
    return {
        "truncated data": (images[:-100], "images", "truncated: the header promises 5 images"),
        "truncated header": (images[:10], "images", "truncated header"),
        "wrong magic": (b"\x00\x00\x08\x04" + images[4:], None, "wrong magic number 2052"),
        "text file": (b"hello, world, not an idx file", None, "wrong magic number"),
        "extra bytes": (images + b"\x00" * 7, "images", "header counts disagree"),
        "count too small": (
            images[:4] + (4).to_bytes(4, "big") + images[8:], "images", "header counts disagree"
        ),
        "labels as images": (labels, "images", "this is a label file .magic 2049."),
        "images as labels": (images, "labels", "this is an image file .magic 2051."),
        "empty file": (b"", None, "only 0 bytes"),
        "zero count": (idx_labels(np.zeros(0, np.uint8)), "labels", "it is empty"),
    }


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("case", list(_bad_files()))
def test_bad_idx_files_raise_a_clear_error_naming_the_file(tmp_path, case, compress):
    data, kind, message = _bad_files()[case]
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gz(data) if compress else data)
    with pytest.raises(DatasetError, match=message) as info:
        read_idx(path, kind)
    assert str(path) in str(info.value)


def test_damaged_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gz(idx_labels(np.arange(1000) % 10))[:-30])
    with pytest.raises(DatasetError, match="gzip data is damaged or truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_images_and_labels_of_different_counts(tmp_path):
    img, lab = tmp_path / "img", tmp_path / "lab"
    img.write_bytes(idx_images(np.zeros((5, 2, 2), np.uint8)))
    lab.write_bytes(idx_labels(np.zeros(4, np.uint8)))
    with pytest.raises(DatasetError, match="has 5 images but .* has 4 labels"):
        read_idx_pair(img, lab)


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        read_idx(tmp_path / "nope.gz")
    with pytest.raises(DatasetError, match="is a directory"):
        read_idx(tmp_path)


_IDX_PREFIXES = st.sampled_from(
    [b"", b"\x00\x00\x08\x03", b"\x00\x00\x08\x01", b"\x00\x00\x08\x03\x00\x00\x00\x02",
     b"\x1f\x8b", b"\x1f\x8b\x08\x00"]
)


@settings(max_examples=300, deadline=None)
@given(prefix=_IDX_PREFIXES, body=st.binary(max_size=200), kind=st.sampled_from(
    [None, "images", "labels"]), compress=st.booleans())
def test_random_bytes_give_a_valid_array_or_dataset_error(prefix, body, kind, compress):
    data = prefix + body
    if compress:
        data = gz(data)
    try:
        array = parse_idx(data, "random.idx", kind)
    except DatasetError as exc:
        assert str(exc).startswith("random.idx: ")
    else:  # rare, but possible: the bytes happen to form a valid IDX file
        assert array.dtype == np.uint8 and array.ndim in (1, 3) and array.size > 0


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=100))
def test_random_bytes_files_on_disk_give_only_dataset_error(tmp_path, body):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(body)
    try:
        read_idx(path, "images")
    except DatasetError as exc:
        assert str(path) in str(exc)


# --- loading a directory ------------------------------------------------------------------


@pytest.mark.parametrize("compress,dotted", [(True, False), (False, False), (False, True),
                                             (True, True)])
def test_data_dir_with_synthetic_files_loads_with_one_unverified_warning(
    tmp_path, synthetic, compress, dotted
):
    write_set(tmp_path / "data", synthetic, compress=compress, dotted=dotted)
    with pytest.warns(DatasetWarning, match="do not match the published SHA-256") as record:
        ds = load_dataset("mnist", tmp_path / "data")
    assert len(record) == 1 and "\n" not in str(record[0].message)
    assert_same(ds, synthetic)
    assert ds.source == str(tmp_path / "data")


def test_data_dir_is_the_only_place_when_given(tmp_path, synthetic, monkeypatch):
    write_set(tmp_path / "env", synthetic)
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tmp_path / "env"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="not found in data_dir") as info:
        load_mnist(tmp_path / "empty")
    message = str(info.value)
    assert f"{tmp_path / 'empty'}: is empty" in message
    assert f"{tmp_path / 'empty' / 'mnist'}: does not exist" in message
    assert "train-images-idx3-ubyte.gz" in message


def test_data_dir_wins_over_env_and_env_over_cache(tmp_path, monkeypatch):
    first, second, third = make_arrays(seed=1), make_arrays(seed=2), make_arrays(seed=3)
    write_set(tmp_path / "arg", first)
    write_set(tmp_path / "env", second)
    write_set(cache_dir("mnist"), third)
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tmp_path / "env"))
    with pytest.warns(DatasetWarning):
        assert_same(load_dataset("mnist", tmp_path / "arg"), first)
    with pytest.warns(DatasetWarning):
        assert_same(load_dataset("mnist"), second)


def test_missing_nonexistent_or_file_data_dir(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(DatasetNotFoundError, match="is not a directory"):
        load_mnist(tmp_path / "a-file")


def test_unreadable_directory(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_listdir = os.listdir

    def listdir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)

    monkeypatch.setattr(sources.os, "listdir", listdir)
    with pytest.raises(DatasetError, match="cannot read the directory") as info:
        load_mnist(locked)
    assert str(locked) in str(info.value)


def test_incomplete_set_is_an_error_not_a_mix(tmp_path, synthetic):
    paths = write_set(tmp_path / "data", synthetic)
    paths["test_labels"].unlink()
    paths["test_images"].unlink()
    with pytest.raises(DatasetError, match="incomplete MNIST set: .* but not "
                       "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"):
        load_mnist(tmp_path / "data")


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_bad_file_in_data_dir_raises_and_returns_nothing(tmp_path, synthetic, compress):
    paths = write_set(tmp_path / "data", synthetic, compress=compress)
    data = encode(synthetic)["train_images"][:-1]
    paths["train_images"].write_bytes(gz(data) if compress else data)
    with pytest.raises(DatasetError, match="truncated") as info:
        load_mnist(tmp_path / "data")
    assert str(paths["train_images"]) in str(info.value)


def test_train_and_test_counts_must_agree(tmp_path, synthetic):
    paths = write_set(tmp_path / "data", synthetic)
    paths["train_labels"].write_bytes(gz(idx_labels(np.zeros(39, np.uint8))))
    with pytest.raises(DatasetError, match="has 40 images but .*train-labels.* has 39 labels"):
        load_mnist(tmp_path / "data")


def test_label_file_in_place_of_images(tmp_path, synthetic):
    paths = write_set(tmp_path / "data", synthetic)
    shutil.copy(paths["train_labels"], paths["train_images"])
    with pytest.raises(DatasetError, match="this is a label file"):
        load_mnist(tmp_path / "data")


def test_wrong_image_size_and_label_range(tmp_path):
    write_set(tmp_path / "small", make_arrays(side=8))
    with pytest.raises(DatasetError, match="images are 8x8, but MNIST images are 28x28"):
        load_mnist(tmp_path / "small")
    arrays = make_arrays()
    arrays["test_labels"][3] = 12
    write_set(tmp_path / "labels", arrays)
    with pytest.raises(DatasetError, match="found label 12"):
        load_mnist(tmp_path / "labels")


# --- cache --------------------------------------------------------------------------------


def test_cache_dir_respects_xdg_cache_home(tmp_path, monkeypatch):
    assert cache_dir("mnist") == tmp_path / "xdg-cache" / "tinynet" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("fashion-mnist") == tmp_path / "home" / ".cache" / "tinynet" / "fashion-mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored (XDG spec)
    assert cache_dir("mnist") == tmp_path / "home" / ".cache" / "tinynet" / "mnist"


def test_verified_cache_is_used_offline_without_warning(monkeypatch, synthetic):
    install_synthetic_mnist(monkeypatch, synthetic)
    cache = cache_dir("mnist")
    write_set(cache, synthetic)  # the same bytes as the known sums
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_dataset("mnist")
    assert ds.source == f"cache: {cache}"
    assert_same(ds, synthetic)


def test_corrupt_cache_file_is_reported_and_kept(monkeypatch, synthetic):
    blobs = install_synthetic_mnist(monkeypatch, synthetic)
    cache = cache_dir("mnist")
    write_set(cache, synthetic)
    damaged = cache / GZ_NAMES["test_images"]
    damaged.write_bytes(blobs["test_images"][:-10])
    with pytest.raises(DatasetError) as info:
        load_mnist()
    message = str(info.value)
    assert str(damaged) in message
    assert f"expected: {sources.DATASETS['mnist'].file('test_images').sha256}" in message
    assert f"found:    {sha256(blobs['test_images'][:-10])}" in message
    assert "Delete it and run again" in message and "data_dir" in message
    assert damaged.exists()  # never deleted behind the user's back


# --- download from a local server ---------------------------------------------------------


def test_download_into_cache_then_reuse_offline(tmp_path, monkeypatch, http_server, synthetic):
    blobs = install_synthetic_mnist(monkeypatch, synthetic)
    (http_server.root / "mnist").mkdir()
    for role, blob in blobs.items():
        (http_server.root / "mnist" / GZ_NAMES[role]).write_bytes(blob)
    monkeypatch.delenv("TINYNET_OFFLINE")
    mirrors = f"{http_server.url}missing/, {http_server.url}mnist/"  # the first one 404s
    monkeypatch.setenv("TINYNET_MNIST_MIRRORS", mirrors)

    ds = load_dataset("mnist")
    assert ds.source.startswith(f"download: {http_server.url}mnist/")
    assert_same(ds, synthetic)
    assert cache_files(tmp_path) == sorted(GZ_NAMES.values())  # no temp files left
    assert ("/missing/train-images-idx3-ubyte.gz", 404) in http_server.requests
    assert ("/mnist/train-images-idx3-ubyte.gz", 200) in http_server.requests

    monkeypatch.setenv("TINYNET_OFFLINE", "1")
    again = load_dataset("mnist")
    assert again.source.startswith("cache: ")
    assert_same(again, synthetic)


def test_partial_cache_downloads_only_the_missing_files(monkeypatch, http_server, synthetic):
    blobs = install_synthetic_mnist(monkeypatch, synthetic)
    cache = cache_dir("mnist")
    cache.mkdir(parents=True)
    (cache / GZ_NAMES["train_images"]).write_bytes(blobs["train_images"])
    for role in ROLES[1:]:
        (http_server.root / GZ_NAMES[role]).write_bytes(blobs[role])
    monkeypatch.delenv("TINYNET_OFFLINE")
    monkeypatch.setenv("TINYNET_MNIST_MIRRORS", http_server.url)
    assert_same(load_dataset("mnist"), synthetic)
    assert [path for path, _ in http_server.requests] == [
        "/" + GZ_NAMES[role] for role in ROLES[1:]
    ]


def test_corrupt_download_is_rejected_and_leaves_no_file(
    tmp_path, monkeypatch, http_server, synthetic
):
    blobs = install_synthetic_mnist(monkeypatch, synthetic)
    for role, blob in blobs.items():
        corrupt = bytearray(blob)
        corrupt[len(corrupt) // 2] ^= 0xFF
        (http_server.root / GZ_NAMES[role]).write_bytes(bytes(corrupt))
    dead = closed_port_url()
    monkeypatch.delenv("TINYNET_OFFLINE")
    monkeypatch.setenv("TINYNET_MNIST_MIRRORS", f"{http_server.url} {dead}")

    with pytest.raises(DatasetNotFoundError, match="the download failed") as info:
        load_mnist()
    message = str(info.value)
    expected = sources.DATASETS["mnist"].file("train_images").sha256
    assert f"download {http_server.url}train-images-idx3-ubyte.gz: rejected, SHA-256 mismatch " \
           f"(expected {expected}" in message
    assert f"download {dead}train-images-idx3-ubyte.gz: cannot connect" in message
    assert "TINYNET_DATA_DIR: not set" in message and "data_dir argument: not given" in message
    assert cache_files(tmp_path) == []

    with pytest.warns(DatasetWarning, match="MNIST not found, and the download failed"):
        ds = load_dataset("auto")
    assert ds.name == "digits"
    assert cache_files(tmp_path) == []


def test_download_timeout_is_short_and_reported(tmp_path, monkeypatch, synthetic):
    install_synthetic_mnist(monkeypatch, synthetic)
    release = threading.Event()

    class Silent(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            release.wait(5)

    server, thread = _serve(tmp_path, Silent, [])
    try:
        monkeypatch.setattr(sources, "DOWNLOAD_TIMEOUT", 0.2)
        monkeypatch.delenv("TINYNET_OFFLINE")
        monkeypatch.setenv("TINYNET_MNIST_MIRRORS", f"http://127.0.0.1:{server.server_address[1]}/")
        with pytest.raises(DatasetNotFoundError, match="no answer within 0.2 s"):
            load_mnist()
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()
    assert cache_files(tmp_path) == []


class Trickle(http.server.BaseHTTPRequestHandler):
    """A stalled mirror: announces a big file, then sends one byte every 0.5 s (for 20 s)."""

    release = threading.Event()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "60000")
        self.end_headers()
        for _ in range(40):
            if self.release.wait(0.5):
                return
            try:
                self.wfile.write(b"\x1f")
                self.wfile.flush()
            except OSError:  # the client gave up
                return

    def log_message(self, format, *args):
        pass


@pytest.fixture
def trickle_url():
    Trickle.release = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    Trickle.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def go_online(monkeypatch, mirrors: str) -> None:
    monkeypatch.delenv("TINYNET_OFFLINE")
    monkeypatch.setenv("TINYNET_MNIST_MIRRORS", mirrors)


def test_stalled_mirror_is_abandoned_at_the_deadline(tmp_path, monkeypatch, synthetic,
                                                       trickle_url):
    install_synthetic_mnist(monkeypatch, synthetic)
    monkeypatch.setattr(sources, "DOWNLOAD_TIMEOUT", 1.0)  # silence allowed: > 0.5 s
    monkeypatch.setattr(sources, "MIN_DOWNLOAD_RATE", 1e12)  # so the deadline is 1 s
    go_online(monkeypatch, trickle_url)
    started = time.monotonic()
    with pytest.raises(DatasetNotFoundError, match="deadline of 1 s passed with [1-3] bytes"):
        load_mnist()
    assert time.monotonic() - started < 3
    assert cache_files(tmp_path) == []


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "no-length"])
def test_oversized_download_is_cut_off_early(tmp_path, monkeypatch, synthetic, announce):
    install_synthetic_mnist(monkeypatch, synthetic)
    sent = []

    class Endless(http.server.SimpleHTTPRequestHandler):  # 200 MB of zeros
        def do_GET(self):
            sent.append(0)  # before the headers: the client may stop right after reading them
            self.send_response(200)
            if announce:
                self.send_header("Content-Length", str(200 << 20))
            self.end_headers()
            try:
                while sent[-1] < 200 << 20:
                    self.wfile.write(bytes(1 << 16))
                    sent[-1] += 1 << 16
            except OSError:
                pass

        def log_message(self, format, *args):
            pass

    server, thread = _serve(tmp_path, Endless, [])
    try:
        go_online(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}/")
        with pytest.raises(DatasetNotFoundError, match="cut off") as info:
            load_mnist()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert ("bytes announced" in str(info.value)) == announce
    assert len(sent) == 1 and sent[0] < 20 << 20
    assert cache_files(tmp_path) == []


def test_file_url_mirror(tmp_path, monkeypatch, synthetic):
    blobs = install_synthetic_mnist(monkeypatch, synthetic)
    (tmp_path / "mirror").mkdir()
    for role, blob in blobs.items():
        (tmp_path / "mirror" / GZ_NAMES[role]).write_bytes(blob)
    go_online(monkeypatch, (tmp_path / "mirror").as_uri())
    assert_same(load_dataset("mnist"), synthetic)
    assert cache_files(tmp_path) == sorted(GZ_NAMES.values())


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_killed_download_leaves_no_temporary_file(tmp_path, monkeypatch, http_server, synthetic,
                                                  trickle_url, signal_number):
    env = {**os.environ, "TINYNET_MNIST_MIRRORS": trickle_url, "PYTHONPATH": str(REPO)}
    del env["TINYNET_OFFLINE"]
    process = subprocess.Popen([sys.executable, "-c", "import tinynet.datasets as d; "
                                "d.load_mnist()"], env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):  # wait until the download has its temporary file
            if cache_files(tmp_path) or process.poll() is not None:
                break
            time.sleep(0.1)
        assert len(cache_files(tmp_path)) == 1, "the download never started"
        time.sleep(0.3)
        process.send_signal(signal_number)
        process.wait(20)
    finally:
        process.kill()
    if signal_number == signal.SIGINT:  # Ctrl-C: the temporary file is removed on the way out
        assert cache_files(tmp_path) == []
        return
    [left] = cache_files(tmp_path)  # kill -9 leaves it; the next download removes it when stale
    older = cache_dir("mnist") / ".t10k-images-idx3-ubyte.gz.0123abcd.tmp"  # tinynet 0.1's
    older.write_bytes(b"partial")
    stale = time.time() - 2 * sources.DOWNLOAD_TIMEOUT - 1
    for path in (cache_dir("mnist") / left, older):
        os.utime(path, (stale, stale))
    blobs = install_synthetic_mnist(monkeypatch, synthetic)
    for role, blob in blobs.items():
        (http_server.root / GZ_NAMES[role]).write_bytes(blob)
    go_online(monkeypatch, http_server.url)
    assert_same(load_dataset("mnist"), synthetic)
    assert cache_files(tmp_path) == sorted(GZ_NAMES.values())


def test_a_young_temporary_file_is_left_to_its_download(tmp_path, monkeypatch, http_server,
                                                        synthetic):
    blobs = install_synthetic_mnist(monkeypatch, synthetic)
    for role, blob in blobs.items():
        (http_server.root / GZ_NAMES[role]).write_bytes(blob)
    cache_dir("mnist").mkdir(parents=True)
    (cache_dir("mnist") / "tmpabcd1234").write_bytes(b"another process is writing this")
    go_online(monkeypatch, http_server.url)
    load_dataset("mnist")
    assert "tmpabcd1234" in cache_files(tmp_path)


# --- an explicit data location is never replaced -------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "auto", "digits"])
def test_missing_data_dir_is_an_error_whatever_the_dataset(tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning: an error
        with pytest.raises(DatasetError) as info:
            load_dataset(name, data_dir=tmp_path / "no-such-dir")
    assert str(tmp_path / "no-such-dir") in str(info.value)


def test_symlink_loop_is_a_clear_error(tmp_path, monkeypatch):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for name in ("mnist", "auto"):
        with pytest.raises(DatasetError, match="cannot read the directory .*symbolic links"):
            load_dataset(name, data_dir=loop)
    monkeypatch.setenv("TINYNET_DATA_DIR", str(loop))
    with pytest.raises(DatasetError, match=f"{loop}/mnist: cannot read the directory"):
        load_dataset("auto")


# --- offline fallback ---------------------------------------------------------------------


def test_load_mnist_offline_lists_every_place_and_never_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYNET_DATA_DIR", str(tmp_path / "usb"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist()
    message = str(info.value)
    for place in (
        "data_dir argument: not given",
        f"TINYNET_DATA_DIR {tmp_path / 'usb' / 'mnist'}: does not exist",
        f"TINYNET_DATA_DIR {tmp_path / 'usb'}: does not exist",
        f"cache {cache_dir('mnist')}: does not exist",
        "download: skipped because TINYNET_OFFLINE=1",
    ):
        assert place in message
    assert len(info.value.places) == 5
    assert "--data-dir" in message


def test_auto_falls_back_to_digits_with_one_warning_line():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ds = load_dataset("auto")
    assert len(record) == 1 and record[0].category is DatasetWarning
    message = str(record[0].message)
    assert "\n" not in message
    assert "bundled 8x8 digits" in message
    assert "--data-dir" in message and "TINYNET_DATA_DIR" in message
    assert "(download: skipped because TINYNET_OFFLINE=1)" in message  # the reason
    assert ds.name == "digits" and ds.source == "scikit-learn bundled digits"


def test_auto_loads_mnist_when_present(tmp_path, synthetic):
    write_set(tmp_path / "data" / "mnist", synthetic)
    with pytest.warns(DatasetWarning, match="published SHA-256"):
        ds = load_dataset("auto", tmp_path / "data")
    assert ds.name == "mnist"
    assert_same(ds, synthetic)


def test_auto_does_not_hide_damaged_mnist(tmp_path, synthetic):
    paths = write_set(tmp_path / "data", synthetic)
    paths["test_labels"].write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x14\x01")
    with pytest.raises(DatasetError, match="truncated"):
        load_dataset("auto", tmp_path / "data")


# --- digits, names, Dataset ---------------------------------------------------------------


def test_digits_split_is_deterministic_stratified_and_scaled():
    from sklearn.datasets import load_digits as sklearn_digits

    (x_train, y_train), (x_test, y_test) = load_digits()
    (x_train2, _), (x_test2, y_test2) = load_digits()
    np.testing.assert_array_equal(x_train, x_train2)
    np.testing.assert_array_equal(y_test, y_test2)
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert x_train.max() == 255 and x_train.min() == 0
    assert np.bincount(y_test).min() >= 35 and np.bincount(y_test).max() <= 37
    original = np.sort(sklearn_digits().images.reshape(1797, -1), axis=0)
    restored = np.concatenate([x_train, x_test]).reshape(1797, -1).astype(float) * 16 / 255
    np.testing.assert_allclose(np.sort(restored, axis=0), original, atol=16 / 255 / 2)


def test_dataset_names_and_aliases(tmp_path, synthetic):
    write_set(tmp_path / "fashion-mnist", synthetic)
    for name in ("fashion-mnist", "Fashion_MNIST", "fashion"):
        with pytest.warns(DatasetWarning):
            ds = load_dataset(name, tmp_path)
        assert ds.name == "fashion-mnist" and ds.class_names[0] == "T-shirt/top"
    assert load_dataset("DIGITS").name == "digits"
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'; choose one of"):
        load_dataset("cifar")


def test_dataset_checks_its_arrays():
    x = np.zeros((2, 3, 3), np.uint8)
    y = np.array([0, 1])
    good = Dataset("toy", x, y, x, y, ("a", "b"), (3, 3), "test")
    assert good.num_classes == 2 and good.train[0] is x
    assert "toy: 2 train + 2 test images of 3x3, 2 classes, from test" == str(good)
    with pytest.raises(DatasetError, match="labels must be in 0..1"):
        Dataset("toy", x, np.array([0, 2]), x, y, ("a", "b"), (3, 3), "test")
    with pytest.raises(DatasetError, match="images must be uint8"):
        Dataset("toy", x.astype(np.float32), y, x, y, ("a", "b"), (3, 3), "test")
    with pytest.raises(DatasetError, match="labels must be int64"):
        Dataset("toy", x, y[:1], x, y, ("a", "b"), (3, 3), "test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        good.name = "other"


# --- preprocessing ------------------------------------------------------------------------


def test_scale_reshape_flatten():
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    scaled = scale_images(x)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [[[0.0, 1.0], [0.2, 0.4]]], rtol=1e-6)
    with pytest.raises(TypeError, match="already scaled"):
        scale_images(scaled)
    nhwc = to_nhwc(x)
    assert nhwc.shape == (1, 2, 2, 1) and np.shares_memory(nhwc, x)
    assert to_nhwc(nhwc) is nhwc
    assert flatten_images(x).shape == (1, 4) and flatten_images(nhwc).shape == (1, 4)
    with pytest.raises(ValueError, match="expects images of shape"):
        to_nhwc(np.zeros(4))


def test_train_validation_split_sizes_seed_and_stratify():
    x = np.arange(1000)
    y = np.repeat(np.arange(10), 100)
    (x_tr, y_tr), (x_val, y_val) = train_validation_split(x, y, validation_size=200, seed=42)
    assert len(x_tr) == 800 and len(x_val) == 200
    assert sorted(np.concatenate([x_tr, x_val]).tolist()) == x.tolist()  # a partition
    np.testing.assert_array_equal(y_tr, y[x_tr])
    (_, _), (x_val2, _) = train_validation_split(x, y, validation_size=200, seed=42)
    (_, _), (x_val3, _) = train_validation_split(x, y, validation_size=200, seed=7)
    np.testing.assert_array_equal(x_val, x_val2)
    assert not np.array_equal(np.sort(x_val), np.sort(x_val3))
    (_, _), (_, y_val) = train_validation_split(x, y, validation_size=0.1, stratify=True)
    assert np.bincount(y_val).tolist() == [10] * 10
    for bad in (0, 1000, 1.5, 0.0, True, "10"):
        with pytest.raises(ValueError, match="validation_size"):
            train_validation_split(x, y, validation_size=bad)
    with pytest.raises(ValueError, match="1,000 samples but y has 999"):
        train_validation_split(x, y[:-1])
