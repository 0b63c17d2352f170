"""The model zoo: every architecture of both studies, by name, in one place.

Each name maps to a *builder*, a function ``builder(input_shape, n_classes, seed)``
that returns a fresh, untrained :class:`tinynet.Sequential`. The commands, the
benchmarks and the tests all build their models from here, so an architecture is
written exactly once.

As in the reference studies (``docs/studies/crossed_design.md`` and
``docs/studies/model_comparison.md``), every hidden layer is followed by
a ReLU and the output layer is a ``Dense(n_classes)`` that returns logits: the
softmax of the published models lives in the loss (``SoftmaxCrossEntropy``) and in
``predict``. Weights start glorot-uniform and biases at zero, Keras' defaults.

Study A, the crossed design (hidden layers x units, then dropout):

==============  =========================================================
``1x100``       Flatten, Dense(100), ReLU, Dense(10)
``1x300``       Flatten, Dense(300), ReLU, Dense(10)
``2x100``       Flatten, Dense(100), ReLU, Dense(100), ReLU, Dense(10)
``2x300``       Flatten, Dense(300), ReLU, Dense(300), ReLU, Dense(10)
``2x100-dropout``  ``2x100`` with Dropout(0.2) after each hidden layer
``2x300-dropout``  ``2x300`` with Dropout(0.2) after each hidden layer
==============  =========================================================

Study B, the model comparison: ``lm``, ``nn``, ``dnn``, ``dnnd``, ``cnn``, ``dcnn``
(see each builder's docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tinynet import Sequential
from tinynet.layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU

#: ``builder(input_shape, n_classes, seed) -> Sequential``
Builder = Callable[[tuple[int, ...], int, int], Sequential]

#: Dropout rate of study A's model 5 ("20% of the features dropped out").
CROSSED_DROPOUT_RATE = 0.2


def _model(layers: list[Layer], input_shape: tuple[int, ...], seed: int) -> Sequential:
    return Sequential(layers, input_shape=input_shape, seed=seed, dtype="float32")


# --- Study A: the 2x2 crossed design ----------------------------------------------------


def mlp(hidden: Sequence[int], dropout: float = 0.0) -> Builder:
    """A builder for a multilayer perceptron with the given hidden layer widths.

    Parameters
    ----------
    hidden : sequence of int
        Units of each hidden layer, e.g. ``(300, 300)``; each is followed by a ReLU.
    dropout : float
        If > 0, a ``Dropout(dropout)`` after each hidden layer's ReLU.
    """

    def build(input_shape: tuple[int, ...], n_classes: int, seed: int) -> Sequential:
        layers: list[Layer] = [Flatten()]
        for units in hidden:
            layers += [Dense(units), ReLU()]
            if dropout > 0:
                layers.append(Dropout(dropout))
        layers.append(Dense(n_classes))
        return _model(layers, input_shape, seed)

    return build


#: Study A's four models, by name, in the study's order (model 1 to 4).
CROSSED_DESIGN: dict[str, Builder] = {
    "1x100": mlp([100]),
    "1x300": mlp([300]),
    "2x100": mlp([100, 100]),
    "2x300": mlp([300, 300]),
}

#: The two models that compete for study A's model 5.
TWO_LAYER_MODELS = ("2x100", "2x300")


def dropout_variant(name: str) -> str:
    """The zoo name of model ``name`` rebuilt with dropout, e.g. ``"2x300-dropout"``."""
    return f"{name}-dropout"


#: The candidates for model 5: each two-layer model with 20% dropout.
CROSSED_DROPOUT: dict[str, Builder] = {
    dropout_variant("2x100"): mlp([100, 100], dropout=CROSSED_DROPOUT_RATE),
    dropout_variant("2x300"): mlp([300, 300], dropout=CROSSED_DROPOUT_RATE),
}


# --- Study B: the model comparison ------------------------------------------------------


def lm(input_shape: tuple[int, ...], n_classes: int, seed: int) -> Sequential:
    """Linear model (multinomial logistic regression): Flatten, Dense(10)."""
    return _model([Flatten(), Dense(n_classes)], input_shape, seed)


def nn(input_shape: tuple[int, ...], n_classes: int, seed: int) -> Sequential:
    """Neural network: Flatten, Dense(400) + ReLU, Dense(10)."""
    return _model([Flatten(), Dense(400), ReLU(), Dense(n_classes)], input_shape, seed)


def dnn(input_shape: tuple[int, ...], n_classes: int, seed: int) -> Sequential:
    """Deep neural network: Flatten, Dense(400) + ReLU, Dense(100) + ReLU, Dense(10)."""
    layers = [Flatten(), Dense(400), ReLU(), Dense(100), ReLU(), Dense(n_classes)]
    return _model(layers, input_shape, seed)


def dnnd(input_shape: tuple[int, ...], n_classes: int, seed: int) -> Sequential:
    """``dnn`` with Dropout(0.25) before the output layer."""
    layers = [Flatten(), Dense(400), ReLU(), Dense(100), ReLU(), Dropout(0.25), Dense(n_classes)]
    return _model(layers, input_shape, seed)


def _conv(filters: int) -> list[Layer]:
    return [Conv2D(filters, 3, padding="same"), ReLU()]


def cnn(input_shape: tuple[int, ...], n_classes: int, seed: int) -> Sequential:
    """Convolutional network.

    Conv2D(64, 3x3, same) + ReLU, MaxPool(2x2), Conv2D(32, 3x3, same) + ReLU,
    MaxPool(2x2), Flatten, Dense(400) + ReLU, Dropout(0.25), Dense(10).
    """
    layers = [
        *_conv(64), MaxPool2D(2),
        *_conv(32), MaxPool2D(2),
        Flatten(), Dense(400), ReLU(), Dropout(0.25), Dense(n_classes),
    ]  # fmt: skip
    return _model(layers, input_shape, seed)


def dcnn(input_shape: tuple[int, ...], n_classes: int, seed: int) -> Sequential:
    """Deep convolutional network.

    2 x [Conv2D(64, 3x3, same) + ReLU], MaxPool(2x2), Dropout(0.25),
    2 x [Conv2D(32, 3x3, same) + ReLU], MaxPool(2x2),
    Flatten, Dense(400) + ReLU, Dropout(0.25), Dense(10).
    """
    layers = [
        *_conv(64), *_conv(64), MaxPool2D(2), Dropout(0.25),
        *_conv(32), *_conv(32), MaxPool2D(2),
        Flatten(), Dense(400), ReLU(), Dropout(0.25), Dense(n_classes),
    ]  # fmt: skip
    return _model(layers, input_shape, seed)


#: Study B's six models, by name, in the study's order.
MODEL_COMPARISON: dict[str, Builder] = {
    "lm": lm,
    "nn": nn,
    "dnn": dnn,
    "dnnd": dnnd,
    "cnn": cnn,
    "dcnn": dcnn,
}

#: Every architecture, by name.
ZOO: dict[str, Builder] = {**CROSSED_DESIGN, **CROSSED_DROPOUT, **MODEL_COMPARISON}


def build(name: str, input_shape: tuple[int, ...], n_classes: int, seed: int) -> Sequential:
    """Build the zoo model ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`ZOO`, e.g. ``"cnn"`` or ``"2x300"``.
    input_shape : tuple of int
        Shape of one image, ``(height, width, channels)``.
    n_classes : int
        Number of outputs.
    seed : int
        Seeds the initial weights, the dropout masks and the shuffling.

    Raises
    ------
    ValueError
        If ``name`` is not in the zoo.
    """
    if name not in ZOO:
        raise ValueError(f"unknown model {name!r}; the zoo has: {', '.join(ZOO)}")
    return ZOO[name](tuple(input_shape), n_classes, seed)


def describe(layers: list[dict]) -> str:
    """One line for a model's layers, from ``Sequential.get_config()["layers"]``.

    For example ``"Flatten, Dense(400), ReLU, Dropout(0.25), Dense(10)"``.
    """
    parts = []
    for layer in layers:
        config, kind = layer["config"], layer["class"]
        if kind == "Dense":
            parts.append(f"Dense({config['units']})")
        elif kind == "Conv2D":
            kh, kw = config["kernel_size"]
            parts.append(f"Conv2D({config['filters']}, {kh}x{kw}, {config['padding']})")
        elif kind == "MaxPool2D":
            parts.append(f"MaxPool({config['pool_size']}x{config['pool_size']})")
        elif kind == "Dropout":
            parts.append(f"Dropout({config['rate']:g})")
        else:
            parts.append(kind)
    return ", ".join(parts)
