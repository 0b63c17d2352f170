"""Layers: each one a forward pass, a backward pass, and its parameters."""

from tinynet.layers.activations import ReLU, Softmax
from tinynet.layers.base import Layer
from tinynet.layers.conv import Conv2D
from tinynet.layers.dense import Dense
from tinynet.layers.dropout import Dropout
from tinynet.layers.flatten import Flatten
from tinynet.layers.pooling import MaxPool2D

#: Layer classes by name, for loading saved models.
LAYERS = {cls.__name__: cls for cls in (Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Softmax)}

__all__ = [
    "LAYERS",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "ReLU",
    "Softmax",
]
