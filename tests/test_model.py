"""Sequential: training, determinism, inference, summary, save/load; optimizers."""

import os
import re

import numpy as np
import pytest

from tinynet import Sequential
from tinynet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Softmax
from tinynet.losses import SoftmaxCrossEntropy
from tinynet.optimizers import SGD, Adam


def small_cnn(seed=0, dtype="float32"):
    return Sequential(
        [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten(), Dense(16), ReLU(),
         Dropout(0.25), Dense(3)],
        input_shape=(8, 8, 1), seed=seed, dtype=dtype,
    )


def blobs(rng, n=300):
    """Three classes that differ in which image quadrant is bright: easy to learn."""
    y = rng.integers(0, 3, n)
    x = rng.random((n, 8, 8, 1)).astype(np.float32) * 0.3
    for label, (r, c) in enumerate([(0, 0), (0, 4), (4, 0)]):
        x[y == label, r:r + 4, c:c + 4, 0] += 0.7
    return x, y


def test_fit_learns_and_returns_a_keras_like_history(rng):
    x, y = blobs(rng)
    model = small_cnn()
    history = model.fit(x, y, epochs=4, batch_size=32, optimizer=Adam(0.01),
                        validation_data=(x[:50], y[:50]),
                        verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "epoch_time"}
    assert history.epoch == [1, 2, 3, 4]
    assert all(len(values) == 4 for values in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(t > 0 for t in history.epoch_times)
    loss, accuracy = model.evaluate(x, y)
    assert accuracy > 0.9 and loss < 0.5
    probabilities = model.predict(x)
    assert probabilities.shape == (300, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_a_short_last_batch_is_used(rng):
    """301 samples in batches of 100: four steps, the last of one sample."""
    x, y = blobs(rng, 301)
    model = small_cnn()
    calls = []
    original = model.backward
    model.backward = lambda grad, **kw: calls.append(len(grad)) or original(grad, **kw)
    model.fit(x, y, epochs=1, batch_size=100, verbose=0)
    assert calls == [100, 100, 100, 1]


def test_same_seed_gives_bit_identical_training(rng):
    x, y = blobs(rng)
    runs = []
    for _ in range(2):
        model = small_cnn(seed=7)
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        runs.append((history.history["loss"], [p.copy() for p in model.parameters()[0]]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    other = small_cnn(seed=8)
    assert not np.array_equal(other.parameters()[0][0], runs[0][1][0])


def test_float64_model_runs_in_float64(rng):
    x, y = blobs(rng, 40)
    model = small_cnn(dtype="float64")
    assert all(p.dtype == np.float64 for p in model.parameters()[0])
    model.fit(x, y, epochs=1, verbose=0)  # float32 input is cast
    assert model.predict(x).dtype == np.float64


def test_save_and_load_round_trip(rng, tmp_path):
    x, y = blobs(rng, 60)
    model = small_cnn()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Sequential.load(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # usual permissions, not mkstemp's


def test_summary_lists_layers_shapes_and_parameter_counts():
    lines = []
    small_cnn().summary(print_fn=lines.append)
    text = lines[0]
    assert "conv2d_1 (Conv2D)" in text and "(None, 8, 8, 4)" in text
    assert "(None, 4, 4, 4)" in text  # after pooling
    # conv 3*3*1*4+4 = 40, dense 64*16+16 = 1040, dense 16*3+3 = 51
    assert "Total params: 1,131" in text
    assert re.search(r"^input +\(None, 8, 8, 1\) *$", text, re.MULTILINE)  # a row, as Keras
    assert "(None,) +" not in text  # not Python source


def test_glorot_uniform_weights_and_zero_biases():
    model = Sequential([Flatten(), Dense(300), ReLU(), Dense(10)], (28, 28, 1), seed=0)
    weights, bias = model.layers[1].params["W"], model.layers[1].params["b"]
    limit = np.sqrt(6 / (784 + 300))
    assert np.abs(weights).max() <= limit
    assert np.abs(weights).max() > 0.99 * limit
    assert weights.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    assert not bias.any()


def test_dropout_is_inverted_and_off_at_inference(rng):
    layer = Dropout(0.25)
    layer.build((10000,), rng=np.random.default_rng(0))
    x = np.ones((2, 10000), dtype=np.float32)
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert np.mean(y == 0) == pytest.approx(0.25, abs=0.01)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_predict_does_not_apply_softmax_twice(rng):
    """predict() equals a softmax computed here, whether or not the model ends with Softmax.

    (Argmax and row sums would not notice a second softmax; the values do.)
    """
    x, _ = blobs(rng, 5)
    for layers in ([Flatten(), Dense(3)], [Flatten(), Dense(3), Softmax()]):
        model = Sequential(layers, (8, 8, 1), seed=0, dtype="float64")
        weights, bias = model.layers[1].params["W"], model.layers[1].params["b"]
        logits = x.reshape(5, -1).astype(np.float64) @ weights + bias
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        assert np.ptp(expected, axis=1).min() > 0.05  # far from uniform: a second softmax shows
        np.testing.assert_allclose(model.predict(x), expected, rtol=1e-10)


def quadratic_steps(optimizer, steps=3):
    """Minimise 0.5 * ||p||^2 (gradient p) from p = [1, -2]; return the trajectory."""
    p = np.array([1.0, -2.0])
    trajectory = []
    for _ in range(steps):
        optimizer.step([p], [p.copy()])
        trajectory.append(p.copy())
    return trajectory


def test_sgd_momentum_and_nesterov_follow_keras_formulas():
    plain = quadratic_steps(SGD(0.1))
    np.testing.assert_allclose(plain[0], [0.9, -1.8])
    momentum = quadratic_steps(SGD(0.1, momentum=0.5))
    # v1 = -0.1 p0, p1 = 0.9 p0; v2 = 0.5 v1 - 0.1 p1 = -0.14 p0, p2 = 0.76 p0
    np.testing.assert_allclose(momentum[1], [0.76, -1.52])
    nesterov = quadratic_steps(SGD(0.1, momentum=0.5, nesterov=True))
    # p1 = p0 + 0.5 * v1 - 0.1 p0 = 0.85 p0
    np.testing.assert_allclose(nesterov[0], [0.85, -1.7])


def test_adam_first_step_moves_each_parameter_by_the_learning_rate():
    """With bias correction, Adam's first step is lr * g / (|g| + eps') = lr * sign(g)."""
    trajectory = quadratic_steps(Adam(0.01), steps=1)
    np.testing.assert_allclose(trajectory[0], [0.99, -1.99], rtol=1e-6)


def test_adam_matches_a_direct_transcription_of_the_paper():
    p0 = np.array([0.5, -1.5, 3.0])
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    p, m, v = p0.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, 6):
        g = p**3  # gradient of sum(p^4) / 4
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        # Keras adds epsilon to sqrt(v), before bias correction: eps / sqrt(1 - b2**t) here.
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2**t))
    q, adam = p0.copy(), Adam(lr)
    for _ in range(5):
        adam.step([q], [q**3])
    np.testing.assert_allclose(q, p, rtol=1e-12)


class _DenseIntoOldArrays(Dense):
    """Dense that writes its gradients into the arrays it had (the other way to store them)."""

    def _parameter_gradients(self, g):
        self.grads["W"][...] = self._x.T @ g
        self.grads["b"][...] = g.sum(axis=0)


def test_fit_uses_the_gradients_a_layer_stores_either_way(rng):
    # Dense stores new arrays (grads["W"] = x.T @ g); fit must hand those to the
    # optimizer, not the arrays it saw before the first step (once a silent no-op).
    x = rng.standard_normal((64, 5))
    y = rng.integers(0, 3, 64)
    weights = []
    for dense in (Dense(3), _DenseIntoOldArrays(3)):
        model = Sequential([dense], input_shape=(5,), dtype="float64", seed=0)
        start = dense.params["W"].copy()
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        assert not np.array_equal(dense.params["W"], start)
        weights.append(dense.params["W"])
    np.testing.assert_array_equal(weights[0], weights[1])


def test_a_loop_may_keep_the_parameter_lists(rng):
    # A hand-written loop takes model.parameters() once, before the first step, while
    # the layers store new gradient arrays at every backward pass.
    x, y = rng.standard_normal((8, 8, 8, 1)), rng.integers(0, 3, 8)
    models = [small_cnn(dtype="float64") for _ in range(2)]
    start = [p.copy() for p in models[0].parameters()[0]]
    optimizers = [Adam(0.01), Adam(0.01)]
    kept = models[0].parameters()
    loss = SoftmaxCrossEntropy()
    for _ in range(3):
        for model, optimizer in zip(models, optimizers, strict=True):
            loss.forward(model.forward(x, training=True), y)
            model.backward(loss.backward(), grad_input=False)
            params, grads = kept if model is models[0] else model.parameters()
            assert grads[-1] is model.layers[-1].grads["b"]
            assert [g.shape for g in grads[:2]] == [p.shape for p in params[:2]]
            optimizer.step(params, grads)
    for before, kept_params, fresh in zip(start, models[0].parameters()[0],
                                          models[1].parameters()[0], strict=True):  # fmt: skip
        assert not np.array_equal(kept_params, before)
        np.testing.assert_array_equal(kept_params, fresh)


def test_backward_takes_the_gradient_in_the_layers_dtype(rng):
    model = Sequential([Dense(3)], input_shape=(4,), dtype="float32", seed=0)
    model.forward(rng.standard_normal((5, 4)).astype(np.float32), training=True)
    model.backward(rng.standard_normal((5, 3)))  # float64
    assert all(g.dtype == np.float32 for g in model.parameters()[1])


def test_training_backward_skips_only_the_first_input_gradient(rng):
    model = small_cnn(dtype="float64")
    x = rng.random((4, 8, 8, 1))
    grad = rng.standard_normal((4,) + model.output_shape)
    model.forward(x, training=False)
    full = model.backward(grad)
    weight_grads = [g.copy() for g in model.parameters()[1]]
    model.forward(x, training=False)
    assert model.backward(grad, grad_input=False) is None
    for before, after in zip(weight_grads, model.parameters()[1], strict=True):
        np.testing.assert_array_equal(after, before)  # the same parameter gradients
    # ... and afterwards the first layer computes its input gradient again.
    model.forward(x, training=False)
    np.testing.assert_array_equal(model.backward(grad), full)
    assert Sequential([Flatten()], input_shape=(2, 2, 1)).backward(
        np.ones((1, 4)), grad_input=False) is None
