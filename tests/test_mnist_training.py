"""Slow: a small MLP trained on real MNIST reaches the accuracy the studies report."""

import pytest

from tinynet import Sequential
from tinynet.layers import Dense, Flatten, ReLU
from tinynet.optimizers import Adam


@pytest.mark.slow
def test_mlp_reaches_97_percent_on_mnist(mnist_dir):
    from tinynet.datasets import load_mnist, scale_images, to_nhwc

    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir)
    x_train, x_test = to_nhwc(scale_images(x_train)), to_nhwc(scale_images(x_test))
    model = Sequential([Flatten(), Dense(300), ReLU(), Dense(10)], input_shape=(28, 28, 1),
                       seed=0)
    history = model.fit(x_train, y_train, epochs=5, batch_size=32, optimizer=Adam(1e-3),
                        verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test)
    print(f"MNIST 784-300-10, 5 epochs: test accuracy {accuracy:.4f}, loss {loss:.4f}, "
          f"epoch times {[round(t, 2) for t in history.epoch_times]}")
    assert history.history["accuracy"][-1] > 0.98
    assert accuracy >= 0.97
