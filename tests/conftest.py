"""Shared fixtures: real MNIST found the way users find it, and small random data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tinynet.datasets import cache_dir

#: The copy CI keeps beside the checkout, ../shared/data/mnist: the last place looked at.
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def mnist_candidates() -> list[Path]:
    """Where the tests look for MNIST, in order: $TINYNET_DATA_DIR (or its mnist/), the
    cache, ../shared/data/mnist."""
    env = os.environ.get("TINYNET_DATA_DIR", "").strip()
    from_env = [Path(env).expanduser() / "mnist", Path(env).expanduser()] if env else []
    return [*from_env, cache_dir("mnist"), SHARED_MNIST]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The first directory holding the four original MNIST ``.gz`` files; skip if none."""
    candidates = mnist_candidates()
    for directory in candidates:
        if all((directory / name).is_file() for name in MNIST_FILES):
            return directory
    pytest.skip("real MNIST not found in " + ", ".join(map(str, candidates))
                + ": set TINYNET_DATA_DIR to a folder holding the four .gz files")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
