"""Weight initializers. Each takes ``(shape, rng, dtype)`` and returns a new array.

Fans follow Keras: for a Dense weight ``(D_in, D_out)`` they are ``D_in`` and
``D_out``; for a Conv2D weight ``(KH, KW, C_in, C_out)`` they are
``KH * KW * C_in`` and ``KH * KW * C_out``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a Dense or Conv2D weight shape."""
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype) -> np.ndarray:
    """Glorot/Xavier uniform: U(-limit, limit), ``limit = sqrt(6 / (fan_in + fan_out))``.

    Keeps the variance of activations and gradients roughly equal across layers
    (Keras' default for Dense and Conv2D).
    """
    fan_in, fan_out = compute_fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype) -> np.ndarray:
    """He/Kaiming uniform: U(-limit, limit), ``limit = sqrt(6 / fan_in)``; suits ReLU."""
    fan_in, _ = compute_fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype) -> np.ndarray:
    """He/Kaiming normal: N(0, 2 / fan_in); suits ReLU."""
    fan_in, _ = compute_fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(dtype)


def zeros(shape: tuple[int, ...], rng: np.random.Generator, dtype) -> np.ndarray:
    """All zeros (Keras' default for biases)."""
    return np.zeros(shape, dtype=dtype)


INITIALIZERS: dict[str, Callable] = {
    "glorot_uniform": glorot_uniform,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
}


def get(name: str) -> Callable:
    """Look up an initializer by name, with a clear error for unknown names."""
    if name not in INITIALIZERS:
        raise ValueError(f"unknown initializer {name!r}; choose one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[name]
