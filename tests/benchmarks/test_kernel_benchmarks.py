"""Kernel benchmarks: each Numba kernel beside its NumPy reference, on the shapes
the zoo's CNNs really produce (batch 32 and 128).

    pytest tests/benchmarks --benchmark-only                    # run them
    pytest tests/benchmarks --benchmark-only --benchmark-autosave
    pytest-benchmark compare                                    # compare saved runs

The default ``pytest`` run skips them (``--benchmark-skip`` in pyproject.toml).
"""

import numpy as np
import pytest

from tinynet.kernels import numba_kernels, reference
from tinynet.layers.conv import conv_output_size

IMPLEMENTATIONS = {"numba": numba_kernels, "numpy": reference}
# (batch, height, width, channels) entering a 3x3 "same" convolution in cnn / dcnn
CONV_INPUTS = [(32, 28, 28, 1), (32, 28, 28, 64), (32, 14, 14, 64), (128, 14, 14, 64)]
POOL_INPUTS = [(32, 28, 28, 64), (128, 28, 28, 64), (32, 14, 14, 32)]


def conv_args(shape):
    _, h, w, _ = shape
    out_h, pad_top = conv_output_size(h, 3, 1, "same")
    out_w, pad_left = conv_output_size(w, 3, 1, "same")
    return 3, 3, 1, pad_top, pad_left, out_h, out_w


@pytest.mark.parametrize("shape", CONV_INPUTS, ids=str)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_im2col(benchmark, implementation, shape):
    kernels = IMPLEMENTATIONS[implementation]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    args = conv_args(shape)
    out = np.empty((shape[0] * args[5] * args[6], 9 * shape[3]), np.float32)
    cols = benchmark(kernels.im2col, x, *args, out=out)
    assert cols.shape == out.shape


@pytest.mark.parametrize("shape", CONV_INPUTS, ids=str)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_col2im(benchmark, implementation, shape):
    kernels = IMPLEMENTATIONS[implementation]
    args = conv_args(shape)
    cols = np.random.default_rng(0).random((shape[0] * args[5] * args[6], 9 * shape[3]),
                                           dtype=np.float32)
    image = benchmark(kernels.col2im, cols, shape, *args)
    assert image.shape == shape


@pytest.mark.parametrize("shape", POOL_INPUTS, ids=str)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_maxpool_forward(benchmark, implementation, shape):
    kernels = IMPLEMENTATIONS[implementation]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    out, _ = benchmark(kernels.maxpool_forward, x, 2, 2, 2, shape[1] // 2, shape[2] // 2)
    assert out.shape == (shape[0], shape[1] // 2, shape[2] // 2, shape[3])


@pytest.mark.parametrize("shape", POOL_INPUTS, ids=str)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_maxpool_backward(benchmark, implementation, shape):
    kernels = IMPLEMENTATIONS[implementation]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    out, argmax = reference.maxpool_forward(x, 2, 2, 2, shape[1] // 2, shape[2] // 2)
    grad = benchmark(kernels.maxpool_backward, out, argmax, shape, 2, 2, 2)
    assert grad.shape == shape


@pytest.mark.parametrize("size", [400 * 100, 784 * 400], ids=str)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_adam_update(benchmark, implementation, size):
    kernels = IMPLEMENTATIONS[implementation]
    rng = np.random.default_rng(0)
    param, grad = rng.random(size, dtype=np.float32), rng.random(size, dtype=np.float32)
    m, v = np.zeros_like(param), np.zeros_like(param)
    scalars = [np.float32(s) for s in (1e-3, 0.9, 0.999, 1e-7)]
    benchmark(kernels.adam_update, param, grad, m, v, *scalars)
    assert np.isfinite(param).all()


@pytest.mark.parametrize("shape", POOL_INPUTS, ids=str)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_relu_forward_and_backward(benchmark, implementation, shape):
    kernels = IMPLEMENTATIONS[implementation]
    rng = np.random.default_rng(0)
    x, grad = rng.standard_normal(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)

    def both():
        output = kernels.relu_forward(x)
        return kernels.relu_backward(grad, output)

    assert benchmark(both).shape == shape
