"""``Sequential``: a stack of layers, trained with mini-batch gradient descent."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from tinynet.backup import Backup, data_digest
from tinynet.layers import Layer, Softmax
from tinynet.layers.activations import softmax
from tinynet.losses import SoftmaxCrossEntropy
from tinynet.optimizers import Adam, Optimizer
from tinynet.progress import EpochProgress
from tinynet.serialization import parameter_name, read_model_file, write_model_file
from tinynet.validation import check_features, check_float_dtype, check_labels, check_positive_int


class TrainingDivergedError(FloatingPointError):
    """The training loss or a parameter became NaN or infinite."""


def all_finite(arrays: Sequence[np.ndarray]) -> bool:
    """True if no array holds a NaN or an infinity; cheap enough to run every step.

    ``a · a`` (one BLAS dot product, the fastest full read of an array NumPy
    has) is finite only if every element is, since NaN and infinities
    propagate; only when it is not, which large finite values can also cause
    by overflowing, is the array checked element by element.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf - inf is what we look for
        for a in arrays:
            flat = a.reshape(-1)
            if not (math.isfinite(np.dot(flat, flat)) or np.isfinite(flat).all()):
                return False
    return True


class History:
    """What ``fit`` returns, as in Keras: ``history.history[metric]`` is a list per epoch.

    Metrics: ``loss``, ``accuracy`` (means over the epoch's training batches),
    ``val_loss``, ``val_accuracy`` (when validation data was given) and
    ``epoch_time`` (wall-clock seconds per epoch, training and validation).
    """

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(float(value))

    @property
    def epoch_times(self) -> list[float]:
        return self.history.get("epoch_time", [])


class LayerGradients(Sequence):
    """The gradients of some layers' parameters, in ``parameters()`` order, read from
    each layer's ``grads`` when used (so a layer may store new arrays there)."""

    def __init__(self, layers: Sequence[Layer]):
        self._slots = [(layer, key) for layer in layers for key in layer.params]

    def __len__(self) -> int:
        return len(self._slots)

    def __getitem__(self, index: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(index, slice):
            return [layer.grads[key] for layer, key in self._slots[index]]
        layer, key = self._slots[index]
        return layer.grads[key]


class Sequential:
    """A linear stack of layers, built (parameters allocated) on construction.

    Parameters
    ----------
    layers : sequence of Layer
        Applied in order; the last one outputs one score (logit) per class.
    input_shape : tuple of int
        Shape of one sample, without the batch axis, e.g. ``(28, 28, 1)``.
    seed : int, optional
        Seeds every random choice: initial weights, dropout masks, shuffling.
        The same seed gives bit-identical training on the same machine.
    dtype : {"float32", "float64"}
        Precision of parameters and computations.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        input_shape: tuple[int, ...],
        seed: int | None = None,
        dtype="float32",
    ):
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"Sequential: item {i} is {layer!r}, not a tinynet layer")
            if layer.built:
                raise ValueError(
                    f"Sequential: layer {layer.name!r} is already built; create a new one"
                )
        self.layers = list(layers)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.seed = seed
        self.dtype = check_float_dtype(dtype, "Sequential: dtype")
        self._rng = np.random.default_rng(seed)
        counts: dict[str, int] = {}
        shape = self.input_shape
        for layer in self.layers:
            kind = type(layer).__name__.lower()
            counts[kind] = counts.get(kind, 0) + 1
            if layer.name == kind:  # give default names a number, as Keras does
                layer.name = f"{kind}_{counts[kind]}"
            shape = layer.build(shape, dtype=self.dtype, rng=self._rng.spawn(1)[0])
        self.output_shape = shape
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        self._first_trainable = trainable[0] if trainable else None

    # --- the two passes --------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run a batch through every layer; returns the last layer's output."""
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, grad_output: np.ndarray, grad_input: bool = True) -> np.ndarray | None:
        """Run a gradient back through the layers; fills each layer's ``grads``.

        Returns the gradient with respect to the model's input, or, with
        ``grad_input=False`` (what ``fit`` uses), only the parameter gradients are
        computed: it stops at the first layer that has parameters, skips that
        layer's input gradient, and returns None.
        """
        first = self._first_trainable
        if grad_input:
            for layer in reversed(self.layers):
                grad_output = layer.backward(grad_output)
            return grad_output
        if first is None:  # nothing to train
            return None
        for layer in reversed(self.layers[first + 1 :]):
            grad_output = layer.backward(grad_output)
        self.layers[first].needs_grad_input = False
        try:
            self.layers[first].backward(grad_output)
        finally:
            self.layers[first].needs_grad_input = True
        return None

    def parameters(self) -> tuple[list[np.ndarray], Sequence[np.ndarray]]:
        """Every trainable array and its gradient, as two parallel sequences.

        The parameters are updated in place, so their list stays valid. A layer may
        store a new gradient array at every backward pass (``grads["W"] = x.T @ g``),
        so the gradients come as a :class:`LayerGradients`, which reads them from the
        layers each time it is used: both can be kept for a whole training loop.
        """
        params = [layer.params[key] for layer in self.layers for key in layer.params]
        return params, LayerGradients(self.layers)

    @property
    def n_classes(self) -> int:
        return self.output_shape[-1]

    # --- training and inference ------------------------------------------------------

    def fit(
        self,
        x,
        y,
        epochs: int = 1,
        batch_size: int = 32,
        optimizer: Optimizer | None = None,
        loss: SoftmaxCrossEntropy | None = None,
        validation_data=None,
        shuffle: bool = True,
        verbose: int = 1,
        backup=None,
    ) -> History:
        """Train with mini-batches; returns a :class:`History`.

        Each epoch visits the samples in a fresh random order (``shuffle``), in
        batches of ``batch_size`` (the last one may be shorter). For each batch:
        forward, loss, backward, one optimizer step.

        ``verbose=1`` shows a progress bar per epoch in a terminal and one line per
        epoch otherwise (a log file, CI); ``verbose=2`` always one line per epoch;
        ``verbose=0`` nothing (see :mod:`tinynet.progress`).

        ``backup`` (a file path, as Keras' ``BackupAndRestore``) saves the whole
        training state after every epoch; a later ``fit`` of the same training with
        the same path, in a new process after a crash, goes on from the last saved
        epoch, bit for bit as if never stopped. The file is deleted at the end (see
        :mod:`tinynet.backup`).

        Raises
        ------
        TrainingDivergedError
            As soon as the loss or a parameter becomes NaN or infinite (checked
            after every step, the last one included), naming the epoch and step.
            ``fit`` never returns a model with non-finite weights.
        """
        self._check_trainable()
        x, y = self._check_data(x, y, "x", "y")
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        if validation_data is not None:
            if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            x_val, y_val = self._check_data(*validation_data, "x_val", "y_val")
        optimizer = optimizer if optimizer is not None else Adam()
        loss = loss if loss is not None else SoftmaxCrossEntropy()
        params, grads = self.parameters()
        n = len(x)
        steps = math.ceil(n / batch_size)
        history = History()
        if backup is not None:
            validation = () if validation_data is None else (x_val, y_val)
            backup = Backup(backup, self, optimizer, {
                "data": data_digest(x, y, *validation), "epochs": epochs,
                "batch_size": batch_size, "shuffle": shuffle, "loss": type(loss).__name__,
            })  # fmt: skip
        done = backup.restore(history) if backup else 0
        if done and verbose:
            print(f"resumed from {backup.path}: {done} of {epochs} epochs already done")
        for epoch in range(done + 1, epochs + 1):
            start = time.perf_counter()
            order = self._rng.permutation(n) if shuffle else np.arange(n)
            total_loss, total_correct, seen = 0.0, 0, 0
            progress = (
                EpochProgress(epoch, epochs, steps, bar=None if verbose == 1 else False)
                if verbose
                else None
            )
            try:
                for step in range(steps):
                    batch = order[step * batch_size : (step + 1) * batch_size]
                    x_batch, y_batch = x[batch], y[batch]
                    logits = self.forward(x_batch, training=True)
                    batch_loss = loss._forward(logits, y_batch)  # y was checked once, above
                    if math.isfinite(batch_loss):
                        self.backward(loss.backward(), grad_input=False)
                        optimizer.step(params, grads)
                    if not (math.isfinite(batch_loss) and all_finite(params)):
                        what = "loss" if not math.isfinite(batch_loss) else "parameters"
                        raise TrainingDivergedError(
                            f"the training {what} became NaN or infinite at epoch {epoch}, "
                            f"step {step + 1} of {steps} (loss {batch_loss:.4g}); the model's "
                            "weights are not usable: try a smaller learning rate or check the data"
                        )
                    total_loss += batch_loss * len(batch)
                    total_correct += int(np.count_nonzero(logits.argmax(axis=1) == y_batch))
                    seen += len(batch)
                    if progress and step % 50 == 0:
                        progress.step({"loss": total_loss / seen, "accuracy": total_correct / seen})
                    elif progress:
                        progress.step()
                metrics = {"loss": total_loss / n, "accuracy": total_correct / n}
                if validation_data is not None:
                    metrics["val_loss"], metrics["val_accuracy"] = self._evaluate_checked(
                        x_val, y_val
                    )
            except BaseException:
                if progress:
                    progress.close()
                raise
            metrics["epoch_time"] = time.perf_counter() - start
            if progress:
                progress.end(metrics, metrics["epoch_time"])
            history.append(epoch, metrics)
            if backup:
                backup.save(epoch, history)
        if backup:
            backup.remove()
        return history

    def evaluate(self, x, y, batch_size: int = 128) -> tuple[float, float]:
        """Mean loss and accuracy on ``(x, y)``, in inference mode."""
        self._check_trainable()
        x, y = self._check_data(x, y, "x", "y")
        return self._evaluate_checked(x, y, check_positive_int(batch_size, "batch_size"))

    def predict(self, x, batch_size: int = 128) -> np.ndarray:
        """Class probabilities, shape ``(N, n_classes)``, in inference mode."""
        x = check_features(x, self.input_shape, self.dtype)
        batch_size = check_positive_int(batch_size, "batch_size")
        outputs = [self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        scores = np.concatenate(outputs)
        return scores if isinstance(self.layers[-1], Softmax) else softmax(scores)

    def _evaluate_checked(self, x, y, batch_size: int = 128) -> tuple[float, float]:
        loss = SoftmaxCrossEntropy()
        total_loss, total_correct = 0.0, 0
        for i in range(0, len(x), batch_size):
            logits = self.forward(x[i : i + batch_size])
            total_loss += loss.forward(logits, y[i : i + batch_size]) * len(logits)
            total_correct += int(np.count_nonzero(logits.argmax(axis=1) == y[i : i + batch_size]))
        return total_loss / len(x), total_correct / len(x)

    def _check_data(self, x, y, x_name, y_name):
        x = check_features(x, self.input_shape, self.dtype, x_name)
        return x, check_labels(y, len(x), self.n_classes, y_name)

    def _check_trainable(self):
        if len(self.output_shape) != 1:
            raise ValueError(
                f"the model outputs per-sample shape {self.output_shape}; training needs one score "
                "per class, (n_classes,): end the model with Flatten() and Dense(n_classes)"
            )
        if isinstance(self.layers[-1], Softmax):
            raise ValueError(
                "the last layer is a Softmax, but SoftmaxCrossEntropy applies the softmax itself; "
                "remove the final Softmax (predict() still returns probabilities)"
            )

    # --- description and persistence -------------------------------------------------

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    @property
    def forward_flops(self) -> int:
        """Floating-point operations of one sample's forward pass (its Dense and Conv2D layers)."""
        return sum(layer.forward_flops for layer in self.layers)

    def summary(self, print_fn: Callable[[str], None] = print) -> None:
        """Print each layer's name, type, output shape and parameter count, and totals."""
        rows = [
            ("Layer (type)", "Output shape", "Params"),
            ("input", str((None, *self.input_shape)), ""),
        ]
        for layer in self.layers:
            rows.append(
                (
                    f"{layer.name} ({type(layer).__name__})",
                    str((None, *layer.output_shape)),
                    f"{layer.n_params:,}",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        rule = "-" * (sum(widths) + 6)
        lines = [f"Model: Sequential ({self.dtype})", rule]
        for i, row in enumerate(rows):
            lines.append(f"{row[0]:<{widths[0]}}   {row[1]:<{widths[1]}}   {row[2]:>{widths[2]}}")
            if i == 0:
                lines.append(rule)
        lines += [rule, f"Total params: {self.n_params:,}"]
        print_fn("\n".join(lines))

    def get_config(self) -> dict:
        return {
            "input_shape": list(self.input_shape),
            "dtype": self.dtype.name,
            "seed": self.seed,
            "layers": [
                {"class": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    def save(self, path) -> None:
        """Write architecture and weights to one ``.npz`` file (atomically)."""
        weights = {
            parameter_name(i, key): value
            for i, layer in enumerate(self.layers)
            for key, value in layer.params.items()
        }
        write_model_file(path, self.get_config(), weights)

    @classmethod
    def load(cls, path) -> Sequential:
        """Read a model written by :meth:`save`.

        The whole file is checked before anything is allocated (see
        :mod:`tinynet.serialization`); any problem is a ``ValueError`` naming it.
        """
        saved = read_model_file(path)
        model = cls(saved.layers, saved.input_shape, seed=saved.seed, dtype=saved.dtype)
        for i, layer in enumerate(model.layers):
            for key, param in layer.params.items():
                param[...] = saved.weights[parameter_name(i, key)]
        return model
