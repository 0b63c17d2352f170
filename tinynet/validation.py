"""Checks on user input, shared by layers, losses and models.

Each raises ``ValueError`` with a message that names the argument, says what was
expected and what was found, and, where it helps, what to do about it.
"""

from __future__ import annotations

import numbers

import numpy as np


def check_float_dtype(dtype, what: str = "dtype") -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"{what} {dtype!r} is not a NumPy dtype") from error
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{what} must be float32 or float64, got {dtype}")
    return dtype


def check_positive_int(value, what: str) -> int:
    """Return ``value`` as an int if it is an integer >= 1, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    return int(value)


def check_number(value, what: str, low: float, high: float, *, low_open=False, high_open=False):
    """Return ``value`` as a float if it is a finite real number in the given interval, else raise.

    The interval is ``[low, high]``; ``low_open`` / ``high_open`` exclude an end, so that
    ``check_number(beta, "beta_1", 0, 1, high_open=True)`` accepts ``[0, 1)``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{what} must be a finite real number, got {value!r}")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        if high == np.inf:
            interval = f"{'>' if low_open else '>='} {low:g}"
        else:
            interval = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{what} must be {interval}, got {value!r}")
    return float(value)


def check_features(x, expected_shape: tuple[int, ...], dtype: np.dtype, what: str = "x"):
    """Check a batch of inputs once, at the door of ``fit``/``evaluate``/``predict``.

    ``x`` must be a floating-point array of shape ``(N,) + expected_shape`` with
    ``N >= 1`` and only finite values. Returns it cast to ``dtype``.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        hint = (
            " (scale images first, e.g. x.astype('float32') / 255)" if x.dtype.kind in "ui" else ""
        )
        raise ValueError(f"{what} must hold floating-point numbers, got dtype {x.dtype}{hint}")
    if x.shape[1:] != tuple(expected_shape):
        raise ValueError(
            f"{what} has shape {x.shape}, but the model expects (batch,) + {tuple(expected_shape)}"
        )
    if x.shape[0] < 1:
        raise ValueError(f"{what} is empty (shape {x.shape}); pass at least one sample")
    if not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(
            f"{what} contains {bad} NaN or infinite values; clean or impute them first"
        )
    return x.astype(dtype, copy=False)


def check_labels(y, n_samples: int, n_classes: int, what: str = "y") -> np.ndarray:
    """Check integer class labels: 1-D, one per sample, each in ``[0, n_classes)``.

    Returns them as an ``int64`` array.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"{what} must be a 1-D array of integer class labels, got shape {y.shape}"
            + (" (one-hot labels? pass y.argmax(axis=1))" if y.ndim == 2 else "")
        )
    if len(y) != n_samples:
        raise ValueError(f"{what} has {len(y)} labels but there are {n_samples} samples")
    if y.dtype.kind not in "ui":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"{what} must hold integer class labels, got dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{what} has labels in [{y.min()}, {y.max()}], outside [0, {n_classes}) "
            f"for a model with {n_classes} outputs"
        )
    return y.astype(np.int64, copy=False)
