"""Constructor arguments of layers and optimizers: what is accepted, and the errors for the rest."""

import math

import numpy as np
import pytest

from tinynet import Sequential, losses
from tinynet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from tinynet.optimizers import SGD, Adam


def test_numpy_integers_are_accepted_everywhere():
    assert Dense(np.int64(4)).units == 4
    assert MaxPool2D(np.int64(2), stride=np.int32(1)).get_config()["stride"] == 1
    conv = Conv2D(np.int64(4), np.int64(3), stride=np.int16(2))
    assert (conv.filters, conv.kernel_size, conv.stride) == (4, (3, 3), 2)
    assert all(type(v) is int for v in (conv.filters, conv.stride, *conv.kernel_size))


@pytest.mark.parametrize(
    "make, what",
    [
        (lambda: Dense(2.0), "Dense: units"),
        (lambda: Dense(True), "Dense: units"),
        (lambda: MaxPool2D(0), "MaxPool2D: pool_size"),
        (lambda: MaxPool2D(2, stride="1"), "MaxPool2D: stride"),
        (lambda: Conv2D(4, (3, 0)), "Conv2D: kernel_size"),
        (lambda: Conv2D(-1, 3), "Conv2D: filters"),
    ],
)
def test_positive_integers_share_one_check(make, what):
    with pytest.raises(ValueError, match=f"{what} must be an integer >= 1"):
        make()


@pytest.mark.parametrize(
    "make, what",
    [
        (lambda: Adam(float("inf")), "Adam: learning_rate must be a finite real number"),
        (lambda: Adam(float("nan")), "Adam: learning_rate must be a finite real number"),
        (lambda: Adam("0.1"), "Adam: learning_rate must be a finite real number, got '0.1'"),
        (lambda: Adam(-1e-3), "Adam: learning_rate must be > 0"),
        (lambda: Adam(beta_1=1), r"Adam: beta_1 must be in \[0, 1\), got 1"),
        (lambda: Adam(beta_2=2), r"Adam: beta_2 must be in \[0, 1\), got 2"),
        (lambda: Adam(beta_2=-0.5), r"Adam: beta_2 must be in \[0, 1\)"),
        (lambda: Adam(epsilon=0), "Adam: epsilon must be > 0"),
        (lambda: Adam(epsilon=None), "Adam: epsilon must be a finite real number"),
        (lambda: SGD(float("inf")), "SGD: learning_rate must be a finite real number"),
        (lambda: SGD("0.1"), "SGD: learning_rate must be a finite real number"),
        (lambda: SGD(momentum=1), r"SGD: momentum must be in \[0, 1\), got 1"),
        (lambda: SGD(momentum=math.nan), "SGD: momentum must be a finite real number"),
    ],
)
def test_optimizers_refuse_bad_hyper_parameters(make, what):
    with pytest.raises(ValueError, match=what):
        make()


def test_optimizers_accept_numpy_scalars():
    adam = Adam(np.float32(0.01), beta_1=np.float64(0.5))
    assert (adam.learning_rate, adam.beta_1) == (pytest.approx(0.01), 0.5)
    assert SGD(0.1, momentum=np.float32(0.5)).momentum == 0.5


@pytest.mark.parametrize("rate", ["a", None, float("nan"), 1.0, -0.1])
def test_dropout_refuses_a_bad_rate_naming_it(rate):
    with pytest.raises(ValueError, match="Dropout: rate must be"):
        Dropout(rate)


def test_fit_checks_the_labels_once_not_on_every_batch(monkeypatch):
    calls = []

    def counting_check(*args, **kwargs):
        calls.append(args)
        return check(*args, **kwargs)

    check = losses.check_labels
    monkeypatch.setattr(losses, "check_labels", counting_check)
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 3, 3, 1)), rng.integers(0, 2, 40)
    model = Sequential([Flatten(), Dense(2)], (3, 3, 1), seed=0)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert calls == []
    losses.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), [0, 2])  # the public call checks
    assert len(calls) == 1
