"""Numerical gradient checks: compare every analytic gradient with central differences.

For a function ``f`` and a small step ``eps``, the central difference

    df/dθ_i ≈ (f(θ + eps e_i) - f(θ - eps e_i)) / (2 eps)

is accurate to ``O(eps²)``. In float64 with ``eps = 1e-6`` a correct backward
pass agrees with it to about 1e-8 or better; a wrong one is off by far more. The
error reported is the relative error of the whole gradient array,

    ||analytic - numeric|| / max(||analytic|| + ||numeric||, tiny),

which, unlike an element-wise ratio, is not thrown off by entries that are
exactly zero (dead ReLUs, pixels no pooling window picked).

Random layers (Dropout) are checked with their random draws held fixed: the
state of every layer's generator is restored before each forward pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinynet.layers import Layer
from tinynet.losses import SoftmaxCrossEntropy


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``||a - n|| / max(||a|| + ||n||, 1e-30)``."""
    scale = max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-30)
    return float(np.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of ``f()`` with respect to ``array`` (perturbed in place)."""
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        flat_grad[i] = (plus - minus) / (2 * eps)
    return grad


def _require_float64(layers: list[Layer], x: np.ndarray) -> None:
    if x.dtype != np.float64 or any(layer.dtype != np.float64 for layer in layers):
        raise ValueError(
            "gradient checks need float64 inputs and layers (float32 rounding swamps the "
            "differences); build with dtype='float64'"
        )


def _frozen_randomness(layers: list[Layer]) -> Callable[[], None]:
    """Return a function that puts every layer's generator back to its current state."""
    states = [(layer.rng, layer.rng.bit_generator.state) for layer in layers]

    def restore():
        for rng, state in states:
            rng.bit_generator.state = state

    return restore


def check_layer(
    layer: Layer, x: np.ndarray, training: bool = True, eps: float = 1e-6, seed: int = 0
) -> dict[str, float]:
    """Check ``layer.backward`` against central differences.

    Uses the scalar ``f(x, θ) = sum(forward(x) * G)`` for a fixed random ``G``, whose
    gradient is exactly what ``backward(G)`` must return (for ``x``) and store in
    ``layer.grads`` (for each parameter θ).

    Returns
    -------
    dict
        Relative error per gradient: ``"input"`` and one entry per parameter name.
    """
    if not layer.built:
        layer.build(x.shape[1:], dtype=x.dtype, rng=np.random.default_rng(seed))
    _require_float64([layer], x)
    x = x.copy()
    restore = _frozen_randomness([layer])
    restore()
    upstream = np.random.default_rng(seed).standard_normal((x.shape[0],) + layer.output_shape)

    def f() -> float:
        restore()
        return float(np.sum(layer.forward(x, training=training) * upstream))

    f()
    analytic = {"input": layer.backward(upstream).copy()}
    analytic.update({key: grad.copy() for key, grad in layer.grads.items()})
    errors = {"input": relative_error(analytic["input"], numerical_gradient(f, x, eps))}
    for key, param in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_gradient(f, param, eps))
    return errors


def check_model(
    model, x: np.ndarray, y: np.ndarray, training: bool = True, eps: float = 1e-6
) -> dict[str, float]:
    """Check a whole model end to end: gradients of the mean cross-entropy loss.

    Returns relative errors for ``"input"`` and every parameter, keyed
    ``"<layer name>.<param name>"``.
    """
    _require_float64(model.layers, x)
    x = x.copy()
    loss = SoftmaxCrossEntropy()
    restore = _frozen_randomness(model.layers)

    def f() -> float:
        restore()
        return loss.forward(model.forward(x, training=training), y)

    f()
    analytic = {"input": model.backward(loss.backward()).copy()}
    analytic.update(
        {
            f"{layer.name}.{key}": layer.grads[key].copy()
            for layer in model.layers
            for key in layer.params
        }
    )
    errors = {"input": relative_error(analytic["input"], numerical_gradient(f, x, eps))}
    for layer in model.layers:
        for key, param in layer.params.items():
            name = f"{layer.name}.{key}"
            errors[name] = relative_error(analytic[name], numerical_gradient(f, param, eps))
    return errors
