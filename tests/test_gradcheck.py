"""Every analytic gradient against central differences, in float64."""

import numpy as np
import pytest

from tinynet import Sequential
from tinynet.gradcheck import check_layer, check_model, numerical_gradient, relative_error
from tinynet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Softmax
from tinynet.losses import SoftmaxCrossEntropy

TOLERANCE = 1e-6


def assert_gradients_ok(errors: dict[str, float]) -> None:
    assert errors, "nothing was checked"
    bad = {name: err for name, err in errors.items() if not err < TOLERANCE}
    assert not bad, f"relative gradient errors above {TOLERANCE}: {bad}"


def away_from_zero(rng, shape, margin=0.05):
    """Random values with |x| >= margin, so ReLU's kink is never crossed by eps."""
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + margin, x - margin)


def distinct_values(rng, shape):
    """A permutation of well-separated values: no ties inside any pooling window."""
    return rng.permutation(np.prod(shape)).reshape(shape) / 7.0


def test_dense(rng):
    errors = check_layer(Dense(6), rng.standard_normal((4, 9)))
    assert set(errors) == {"input", "W", "b"}
    assert_gradients_ok(errors)


def test_relu(rng):
    assert_gradients_ok(check_layer(ReLU(), away_from_zero(rng, (3, 4, 5, 2))))


def test_softmax(rng):
    assert_gradients_ok(check_layer(Softmax(), rng.standard_normal((5, 7))))


def test_dropout_with_its_mask_held_fixed(rng):
    layer = Dropout(0.4)
    layer.build((11,), dtype="float64", rng=np.random.default_rng(3))
    x = rng.standard_normal((6, 11))
    assert np.count_nonzero(layer.forward(x, training=True) == 0) > 0, "no unit was dropped"
    assert_gradients_ok(check_layer(layer, x, training=True))
    assert_gradients_ok(check_layer(layer, x, training=False))


def test_flatten(rng):
    assert_gradients_ok(check_layer(Flatten(), rng.standard_normal((2, 3, 4, 5))))


@pytest.mark.parametrize(
    "filters, kernel_size, stride, padding, shape",
    [
        (4, 3, 1, "same", (2, 6, 6, 1)),
        (3, 3, 1, "valid", (2, 7, 6, 2)),
        (5, 3, 2, "same", (2, 7, 7, 3)),  # odd size, stride 2: Keras' uneven padding
        (2, 3, 2, "valid", (3, 8, 7, 2)),
        (3, (2, 3), 1, "same", (1, 5, 6, 4)),  # non-square kernel, even height
        (2, 1, 1, "valid", (2, 4, 4, 3)),
    ],
)
def test_conv2d(rng, filters, kernel_size, stride, padding, shape):
    layer = Conv2D(filters, kernel_size, stride=stride, padding=padding)
    assert_gradients_ok(check_layer(layer, rng.standard_normal(shape)))


@pytest.mark.parametrize("pool_size, stride, shape", [(2, None, (2, 6, 6, 3)),
                                                      (2, None, (2, 7, 5, 2)),
                                                      (3, 2, (1, 7, 7, 2))])
def test_maxpool2d(rng, pool_size, stride, shape):
    layer = MaxPool2D(pool_size, stride)
    assert_gradients_ok(check_layer(layer, distinct_values(rng, shape)))


def test_softmax_cross_entropy(rng):
    logits = rng.standard_normal((6, 5)) * 3
    labels = np.array([0, 4, 2, 2, 1, 3])
    loss = SoftmaxCrossEntropy()

    def f():
        return loss.forward(logits, labels)

    f()
    analytic = loss.backward()
    assert relative_error(analytic, numerical_gradient(f, logits)) < TOLERANCE


def test_small_cnn_end_to_end(rng):
    model = Sequential(
        [Conv2D(3, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(4, 3, stride=2, padding="same"),
         ReLU(), Flatten(), Dense(8), ReLU(), Dropout(0.25), Dense(5)],
        input_shape=(8, 8, 2), seed=0, dtype="float64",
    )
    x = rng.standard_normal((3, 8, 8, 2))
    errors = check_model(model, x, np.array([0, 4, 2]))
    assert len(errors) == 1 + 2 * 4  # input, and W and b of 2 convs and 2 denses
    assert_gradients_ok(errors)


def test_a_wrong_gradient_is_caught(rng):
    """The check itself must be able to fail."""

    class BrokenReLU(ReLU):
        def backward(self, grad_output):
            return super().backward(grad_output) * 1.01

    errors = check_layer(BrokenReLU(), away_from_zero(rng, (3, 5)))
    assert errors["input"] > 1e-3


def test_float32_is_refused(rng):
    layer = Dense(3)
    layer.build((4,), dtype="float32")
    with pytest.raises(ValueError, match="float64"):
        check_layer(layer, rng.standard_normal((2, 4)).astype(np.float32))
