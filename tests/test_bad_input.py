"""Bad input gets a clear ValueError that names what was wrong, never a deep NumPy error."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet import Sequential
from tinynet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Softmax
from tinynet.losses import SoftmaxCrossEntropy
from tinynet.model import TrainingDivergedError
from tinynet.optimizers import SGD, Adam


@pytest.fixture
def model():
    return Sequential([Flatten(), Dense(8), ReLU(), Dense(3)], input_shape=(4, 4, 1), seed=0)


@pytest.fixture
def data(rng):
    return rng.random((10, 4, 4, 1)).astype(np.float32), rng.integers(0, 3, 10)


def test_wrong_input_shape_names_both_shapes(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"shape \(10, 4, 4\).*expects \(batch,\) \+ \(4, 4, 1\)"):
        model.fit(x[..., 0], y, verbose=0)
    with pytest.raises(ValueError, match=r"x has shape \(10, 5, 4, 1\)"):
        model.predict(np.zeros((10, 5, 4, 1), np.float32))


def test_a_layer_names_itself_and_the_shapes():
    layer = Dense(3, name="hidden")
    layer.build((5,))
    with pytest.raises(ValueError, match=r"'hidden' \(Dense\) expects input of shape \(batch,\) "
                                         r"\+ \(5,\), got \(2, 6\)"):
        layer.forward(np.zeros((2, 6), np.float32))
    with pytest.raises(ValueError, match="put a Flatten"):
        Sequential([Dense(3)], input_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="NHWC"):
        Sequential([Conv2D(2, 3)], input_shape=(16,))
    with pytest.raises(ValueError, match="does not fit"):
        Sequential([Conv2D(2, 5)], input_shape=(3, 3, 1))
    with pytest.raises(ValueError, match="does not fit"):
        Sequential([MaxPool2D(4)], input_shape=(3, 3, 1))


def test_non_floating_inputs_are_refused_with_a_hint(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"dtype uint8.*astype\('float32'\) / 255"):
        model.fit((x * 255).astype(np.uint8), y, verbose=0)
    layer = ReLU()
    layer.build((3,))
    with pytest.raises(ValueError, match="floating-point input, got dtype int64"):
        layer.forward(np.ones((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="float32 or float64"):
        Sequential([Dense(2)], input_shape=(3,), dtype="int32")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_inputs_are_refused(model, data, bad):
    x, y = data
    x[3, 1, 1, 0] = bad
    with pytest.raises(ValueError, match="1 NaN or infinite values"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="x_val contains 1 NaN"):
        model.fit(np.zeros((5, 4, 4, 1)), y[:5], validation_data=(x, y), verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(x)


def test_labels_out_of_range_wrong_length_or_type(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"labels in \[1, 3\], outside \[0, 3\)"):
        model.fit(x, np.where(y == 0, 3, y), verbose=0)  # labels now 1..3
    with pytest.raises(ValueError, match=r"labels in \[-1, "):
        model.evaluate(x, np.where(y == 0, -1, y))
    with pytest.raises(ValueError, match="y has 9 labels but there are 10 samples"):
        model.fit(x, y[:9], verbose=0)
    with pytest.raises(ValueError, match=r"one-hot labels\? pass y.argmax"):
        model.fit(x, np.eye(3)[y], verbose=0)
    with pytest.raises(ValueError, match="integer class labels, got dtype float64"):
        model.fit(x, y + 0.5, verbose=0)
    with pytest.raises(ValueError, match="integer class labels"):
        model.fit(x, y.astype(str), verbose=0)
    with pytest.raises(ValueError, match="labels has 2 labels but there are 3 samples"):
        SoftmaxCrossEntropy().forward(np.zeros((3, 4)), [0, 1])


@pytest.mark.parametrize("name, value", [("batch_size", 0), ("batch_size", -3), ("epochs", 0),
                                         ("batch_size", 2.5), ("epochs", True)])
def test_batch_size_and_epochs_must_be_positive_integers(model, data, name, value):
    with pytest.raises(ValueError, match=f"{name} must be an integer >= 1, got {value!r}"):
        model.fit(*data, verbose=0, **{name: value})


def test_backward_before_forward(rng):
    for layer in [Dense(2), ReLU(), Softmax(), Dropout(0.5), Flatten()]:
        layer.build((3,))
        with pytest.raises(ValueError, match="backward\\(\\) called before forward\\(\\)"):
            layer.backward(np.zeros((1,) + layer.output_shape))
    conv, pool = Conv2D(2, 3), MaxPool2D(2)
    conv.build((4, 4, 1))
    pool.build((4, 4, 1))
    for layer in (conv, pool):
        with pytest.raises(ValueError, match="before forward"):
            layer.backward(np.zeros((1,) + layer.output_shape))
    with pytest.raises(ValueError, match="before forward"):
        SoftmaxCrossEntropy().backward()


def test_grad_output_of_the_wrong_shape(rng):
    layer = Dense(2)
    layer.forward(rng.random((4, 3)))
    with pytest.raises(ValueError, match=r"grad_output has shape \(4, 3\), expected \(4, 2\)"):
        layer.backward(np.zeros((4, 3)))


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match="units must be an integer >= 1"):
        Dense(0)
    with pytest.raises(ValueError, match="rate must be in \\[0, 1\\)"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="stride must be an integer >= 1"):
        MaxPool2D(2, stride=0)
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        Dense(3, kernel_initializer="glorot")
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        Adam(0)
    with pytest.raises(ValueError, match="not a tinynet layer"):
        Sequential([Dense(2), "relu"], input_shape=(3,))


def test_final_softmax_with_cross_entropy_is_refused(data):
    model = Sequential([Flatten(), Dense(3), Softmax()], input_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="remove the final Softmax"):
        model.fit(*data, verbose=0)


def test_an_optimizer_reused_on_another_model_is_refused(model, data):
    optimizer = Adam()
    model.fit(*data, optimizer=optimizer, verbose=0)
    other = Sequential([Flatten(), Dense(5), Dense(3)], input_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="use a new optimizer for each model"):
        other.fit(*data, optimizer=optimizer, verbose=0)


def test_a_diverging_loss_stops_training_with_epoch_and_step(data):
    x, y = data
    model = Sequential([Flatten(), Dense(3)], input_shape=(4, 4, 1), seed=0)
    with pytest.raises(TrainingDivergedError, match=r"at epoch \d+, step \d+ of 5"):
        model.fit(x * 1e3, y, epochs=50, batch_size=2, optimizer=SGD(1e38), verbose=0)


def test_weights_that_overflow_on_the_last_step_stop_training(data):
    """One step, the epoch's last: the loss was finite, the update made the weights infinite."""
    x, y = data
    model = Sequential([Flatten(), Dense(3)], input_shape=(4, 4, 1), seed=0)
    with pytest.raises(TrainingDivergedError, match=r"parameters became .* epoch 1, step 1 of 1"):
        model.fit(x * 1e3, y, epochs=1, batch_size=10, optimizer=SGD(1e38), verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_poisoned_gradient_on_the_last_step_stops_training(data, bad):
    x, y = data
    model = Sequential([Flatten(), Dense(8), ReLU(), Dense(3)], input_shape=(4, 4, 1), seed=0)
    dense, calls = model.layers[1], []

    def poisoned_backward(grad_output):
        result = Dense.backward(dense, grad_output)
        calls.append(1)
        if len(calls) == 6:  # epoch 2, step 3 of 3: the last step of the last epoch
            dense.grads["b"][0] = bad
        return result

    dense.backward = poisoned_backward
    with pytest.raises(TrainingDivergedError, match=r"at epoch 2, step 3 of 3"):
        model.fit(x, y, epochs=2, batch_size=4, optimizer=SGD(0.1), verbose=0)


@settings(max_examples=25, deadline=None)
@given(learning_rate=st.floats(1e-3, 1e38), scale=st.floats(1, 1e6))
def test_fit_returns_finite_weights_or_raises(learning_rate, scale):
    rng = np.random.default_rng(0)
    x, y = rng.random((12, 4, 4, 1)) * scale, rng.integers(0, 3, 12)
    model = Sequential([Flatten(), Dense(8), ReLU(), Dense(3)], input_shape=(4, 4, 1), seed=0)
    try:
        model.fit(x, y, epochs=2, batch_size=4, optimizer=SGD(learning_rate), verbose=0)
    except TrainingDivergedError:
        return
    assert all(np.isfinite(p).all() for p in model.parameters()[0])


def test_saving_into_a_missing_folder(tmp_path, model):
    with pytest.raises(ValueError, match="does not exist"):
        model.save(tmp_path / "no" / "such" / "model.npz")
