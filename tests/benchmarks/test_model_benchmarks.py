"""Layer and model benchmarks: each layer's forward and backward on the shapes the
zoo's CNN produces, and one full training step (forward, loss, backward, Adam) of
every zoo model, at batch 32. Run with ``pytest tests/benchmarks --benchmark-only``.
"""

import numpy as np
import pytest

from experiments import zoo
from tinynet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from tinynet.losses import SoftmaxCrossEntropy
from tinynet.optimizers import Adam

BATCH = 32
# (layer factory, per-sample input shape): the layers of the cnn, in order.
LAYERS = {
    "conv2d-28x28x1-64": (lambda: Conv2D(64, 3, padding="same"), (28, 28, 1)),
    "relu-28x28x64": (ReLU, (28, 28, 64)),
    "maxpool-28x28x64": (lambda: MaxPool2D(2), (28, 28, 64)),
    "conv2d-14x14x64-32": (lambda: Conv2D(32, 3, padding="same"), (14, 14, 64)),
    "flatten-7x7x32": (Flatten, (7, 7, 32)),
    "dense-1568-400": (lambda: Dense(400), (1568,)),
    "dropout-400": (lambda: Dropout(0.25), (400,)),
}


def built_layer(name):
    factory, shape = LAYERS[name]
    layer = factory()
    layer.build(shape, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).random((BATCH,) + shape, dtype=np.float32)
    return layer, x


@pytest.mark.parametrize("name", LAYERS)
def test_layer_forward(benchmark, name):
    layer, x = built_layer(name)
    y = benchmark(layer.forward, x, True)
    assert y.shape == (BATCH,) + layer.output_shape


@pytest.mark.parametrize("name", LAYERS)
def test_layer_backward(benchmark, name):
    layer, x = built_layer(name)
    y = layer.forward(x, training=True)
    grad = benchmark(layer.backward, np.ones_like(y))
    assert grad.shape == x.shape


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_training_step(benchmark, name):
    model = zoo.build(name, (28, 28, 1), 10, seed=0)
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)
    loss, optimizer = SoftmaxCrossEntropy(), Adam()
    params, grads = model.parameters()

    def step():
        value = loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward(), grad_input=False)
        optimizer.step(params, grads)
        return value

    assert np.isfinite(benchmark(step))
