"""``fit(..., backup=path)``: a training stopped after any epoch resumes bit for bit."""

import numpy as np
import pytest

from tinynet import Sequential
from tinynet.layers import Dense, Dropout, Flatten, ReLU
from tinynet.optimizers import SGD, Adam

EPOCHS = 3


def make_model() -> Sequential:
    layers = [Flatten(), Dense(16), ReLU(), Dropout(0.3), Dense(3)]
    return Sequential(layers, input_shape=(4, 2), seed=7, dtype="float64")


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(90, 4, 2)), rng.integers(0, 3, 90)
    return x, y, (rng.normal(size=(20, 4, 2)), rng.integers(0, 3, 20))


def train(optimizer, backup=None, batch_size=16, data=None):
    model = make_model()
    x, y, validation = data or make_data()
    history = model.fit(x, y, epochs=EPOCHS, batch_size=batch_size, optimizer=optimizer,
                        validation_data=validation, verbose=0, backup=backup)  # fmt: skip
    return model, history


def interrupted(monkeypatch, backup, after_epoch: int, optimizer, **kwargs) -> None:
    """Train until the end of epoch ``after_epoch`` is saved, then stop as Ctrl-C would."""
    calls = {"n": 0}
    evaluate = Sequential._evaluate_checked

    def stop_later(self, *args, **kw):  # the validation pass ends each epoch
        calls["n"] += 1
        if calls["n"] > after_epoch:
            raise KeyboardInterrupt
        return evaluate(self, *args, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(Sequential, "_evaluate_checked", stop_later)
        with pytest.raises(KeyboardInterrupt):
            train(optimizer, backup, **kwargs)


def without_times(history) -> dict:
    return {k: v for k, v in history.history.items() if k != "epoch_time"}


@pytest.mark.parametrize("optimizer", [Adam, lambda: SGD(0.05, momentum=0.9)], ids=["adam", "sgd"])
@pytest.mark.parametrize("after_epoch", [1, 2])
def test_resumed_training_is_bit_identical(tmp_path, monkeypatch, optimizer, after_epoch):
    reference, reference_history = train(optimizer())
    backup = tmp_path / "backup.npz"
    interrupted(monkeypatch, backup, after_epoch, optimizer())
    assert backup.is_file()

    resumed, history = train(optimizer(), backup)  # a new model and optimizer, as in a new process
    for a, b in zip(reference.parameters()[0], resumed.parameters()[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert without_times(history) == without_times(reference_history)
    assert history.epoch == list(range(1, EPOCHS + 1))
    assert not backup.exists()  # deleted once the training ended


def test_backup_of_another_training_is_refused(tmp_path, monkeypatch):
    backup = tmp_path / "backup.npz"
    interrupted(monkeypatch, backup, 1, Adam())
    with pytest.raises(ValueError, match=r"another training .*batch_size.*delete it"):
        train(Adam(), backup, batch_size=8)
    with pytest.raises(ValueError, match=r"another training .*data"):
        train(Adam(), backup, data=make_data(seed=1))
    with pytest.raises(ValueError, match=r"another training .*optimizer"):
        train(Adam(learning_rate=0.01), backup)


def test_unreadable_backup_and_missing_folder(tmp_path):
    backup = tmp_path / "backup.npz"
    backup.write_bytes(b"not an npz file")
    with pytest.raises(ValueError, match="not a readable tinynet backup.*delete it"):
        train(Adam(), backup)
    with pytest.raises(ValueError, match="does not exist"):
        train(Adam(), tmp_path / "missing" / "backup.npz")
