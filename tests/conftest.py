"""Shared fixtures: where the shared MNIST files live, and small random data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

#: ../shared/data/mnist beside the checkout (present in CI and on developer machines).
MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST files not found in {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
