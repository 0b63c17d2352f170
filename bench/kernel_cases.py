"""The kernel cases: every kernel, on the shapes the zoo's CNNs feed it, in one registry.

A :class:`KernelCase` names one kernel on one input shape and holds what both of
its users need: the fast kernel, its plain-NumPy reference, a builder of fresh
arguments, and the number of bytes the kernel cannot avoid reading and writing.
``python -m bench`` times the cases (for its kernel table) and
``tests/benchmarks/test_kernel_benchmarks.py`` hands them to pytest-benchmark, so a
kernel is described once for both.

Adding a kernel is one more entry in :func:`kernel_cases`; the shapes come from the
layers of ``cnn`` and ``dcnn`` themselves (:func:`zoo_layers`), so they follow the zoo.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments import zoo
from tinynet.kernels import numba_kernels, reference, winograd
from tinynet.layers import Conv2D, Dense, Layer, MaxPool2D, ReLU
from tinynet.layers.conv import conv_output_size

#: The models whose layers give the shapes (the CNNs: where the kernels matter).
SHAPE_MODELS = ("cnn", "dcnn")
DTYPE = np.dtype(np.float32)
#: Max-pool's ``argmax`` (one int32 per output element) is read and written too.
ARGMAX_ITEMSIZE = np.dtype(np.int32).itemsize


@dataclass(frozen=True)
class KernelCase:
    """One kernel on one shape.

    Attributes
    ----------
    name : str
        Kernel and input shape, e.g. ``"im2col 32x28x28x1"``.
    fast : callable
        The Numba kernel.
    reference : callable
        Its plain-NumPy reference (same signature, same result).
    arguments : callable
        ``arguments() -> (args, kwargs)``: fresh arguments for one call (random, seeded).
    bytes_moved : int
        Bytes the kernel must read plus bytes it must write: each input array once,
        each output array once. Divided by the time of a call, the achieved bandwidth.
    """

    name: str
    fast: Callable[..., Any]
    reference: Callable[..., Any]
    arguments: Callable[[], tuple[tuple, dict]]
    bytes_moved: int

    def implementation(self, backend: str) -> Callable[..., Any]:
        """The kernel of ``backend``: ``"numba"`` (the fast one) or ``"numpy"`` (the reference)."""
        return {"numba": self.fast, "numpy": self.reference}[backend]


def zoo_layers(kind: type[Layer]) -> Iterator[tuple[Layer, bool]]:
    """Every layer of type ``kind`` in :data:`SHAPE_MODELS`, built for 28x28x1 images.

    Yields ``(layer, needs_input_gradient)``: False for a model's first layer with
    parameters, whose input gradient training never computes.
    """
    for name in SHAPE_MODELS:
        model = zoo.build(name, (28, 28, 1), 10, seed=0)
        first_trainable = next(layer for layer in model.layers if layer.params)
        for layer in model.layers:
            if isinstance(layer, kind):
                yield layer, layer is not first_trainable


def _shape_name(kernel: str, shape: tuple[int, ...]) -> str:
    return f"{kernel} {'x'.join(map(str, shape))}"


def _random(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape, dtype=DTYPE)


def _conv_geometry(layer: Conv2D) -> tuple[int, ...]:
    """``kernel_h, kernel_w, stride, pad_top, pad_left, out_h, out_w`` of ``layer``."""
    (h, w, _), (kernel_h, kernel_w) = layer.input_shape, layer.kernel_size
    out_h, pad_top = conv_output_size(h, kernel_h, layer.stride, layer.padding)
    out_w, pad_left = conv_output_size(w, kernel_w, layer.stride, layer.padding)
    return kernel_h, kernel_w, layer.stride, pad_top, pad_left, out_h, out_w


def _im2col_arguments(shape, geometry, cols_shape):  # into a reused buffer, as Conv2D calls it
    return (_random(shape), *geometry), {"out": np.empty(cols_shape, DTYPE)}


def _col2im_arguments(shape, geometry, cols_shape):
    return (_random(cols_shape), shape, *geometry), {}


def _conv_cases(batch: int) -> Iterator[KernelCase]:
    for layer, needs_input_gradient in zoo_layers(Conv2D):
        shape = (batch, *layer.input_shape)
        geometry = _conv_geometry(layer)
        kernel_h, kernel_w, _, _, _, out_h, out_w = geometry
        cols_shape = (batch * out_h * out_w, kernel_h * kernel_w * shape[3])
        image_and_cols = (math.prod(shape) + math.prod(cols_shape)) * DTYPE.itemsize
        yield KernelCase(_shape_name("im2col", shape), numba_kernels.im2col, reference.im2col,
                         functools.partial(_im2col_arguments, shape, geometry, cols_shape),
                         image_and_cols)  # fmt: skip
        if needs_input_gradient:
            yield KernelCase(_shape_name("col2im", shape), numba_kernels.col2im, reference.col2im,
                             functools.partial(_col2im_arguments, shape, geometry, cols_shape),
                             image_and_cols)  # fmt: skip


def _input_tiles_arguments(shape, geometry):
    return (_random(shape), geometry), {}


def _output_tiles_arguments(tiles_shape, geometry, n):
    """Tiles (36, tiles, F) stored tile by tile, as training's products write them."""
    entries, tiles, filters = tiles_shape
    by_tile = _random((tiles, entries, filters)).transpose(1, 0, 2)
    return (by_tile, _random(tiles_shape[-1:], 1), geometry, n), {}


def _winograd_cases(batch: int) -> Iterator[KernelCase]:
    """The two transforms of each convolution that runs on Winograd's F(4x4, 3x3)."""
    for layer, _ in zoo_layers(Conv2D):
        shape = (batch, *layer.input_shape)
        geometry = reference.ConvGeometry(*_conv_geometry(layer))
        if not winograd.applies(geometry, shape[3], layer.filters):
            continue
        tiles = batch * math.prod(winograd.tile_counts(geometry))
        entries = winograd.TILE_ENTRIES  # numbers per tile and channel
        tiles_shape = (entries, tiles, layer.filters)
        image_bytes = math.prod(shape) * DTYPE.itemsize
        yield KernelCase(
            _shape_name("winograd_input_tiles", shape),
            winograd.input_tiles, winograd.input_tiles_reference,
            functools.partial(_input_tiles_arguments, shape, geometry),
            image_bytes + entries * tiles * shape[3] * DTYPE.itemsize,
        )  # fmt: skip
        output_bytes = (math.prod(tiles_shape) + batch * math.prod(layer.output_shape))
        yield KernelCase(
            _shape_name("winograd_output_tiles", tiles_shape),
            winograd.output_tiles, winograd.output_tiles_reference,
            functools.partial(_output_tiles_arguments, tiles_shape, geometry, batch),
            output_bytes * DTYPE.itemsize,
        )  # fmt: skip


def _maxpool_forward_arguments(shape, pool, stride):
    return (_random(shape), pool, stride), {}


def _maxpool_backward_arguments(shape, pool, stride):
    grad_output, argmax = reference.maxpool2d_forward(_random(shape), pool, stride)
    return (grad_output, argmax, shape, pool, stride), {}


def _maxpool_cases(batch: int) -> Iterator[KernelCase]:
    for layer, _ in zoo_layers(MaxPool2D):
        shape = (batch, *layer.input_shape)
        geometry = (shape, layer.pool_size, layer.stride)
        image_bytes = math.prod(shape) * DTYPE.itemsize
        pooled = math.prod((batch, *layer.output_shape))
        pooled_bytes = pooled * (DTYPE.itemsize + ARGMAX_ITEMSIZE)  # the maxima and argmax
        yield KernelCase(
            _shape_name("maxpool_forward", shape),
            numba_kernels.maxpool2d_forward, reference.maxpool2d_forward,
            functools.partial(_maxpool_forward_arguments, *geometry), image_bytes + pooled_bytes,
        )  # fmt: skip
        yield KernelCase(
            _shape_name("maxpool_backward", shape),
            numba_kernels.maxpool2d_backward, reference.maxpool2d_backward,
            functools.partial(_maxpool_backward_arguments, *geometry), pooled_bytes + image_bytes,
        )  # fmt: skip


def _relu_forward_arguments(shape):
    return (_random(shape),), {}


def _relu_backward_arguments(shape):
    return (_random(shape, 1), _random(shape, 2)), {}


def _relu_cases(batch: int) -> Iterator[KernelCase]:
    for layer, _ in zoo_layers(ReLU):
        shape = (batch, *layer.input_shape)
        nbytes = math.prod(shape) * DTYPE.itemsize
        forward = functools.partial(_relu_forward_arguments, shape)
        backward = functools.partial(_relu_backward_arguments, shape)
        yield KernelCase(_shape_name("relu_forward", shape), numba_kernels.relu_forward,
                         reference.relu_forward, forward, 2 * nbytes)  # x in, y out
        yield KernelCase(_shape_name("relu_backward", shape), numba_kernels.relu_backward,
                         reference.relu_backward, backward, 3 * nbytes)  # g and y in, dx out


def _loss_arguments(shape):
    labels = np.random.default_rng(1).integers(0, shape[1], shape[0])
    return (_random(shape), labels), {}


def _loss_cases(batch: int) -> Iterator[KernelCase]:
    """The loss on the CNNs' logits (read logits and labels; write the softmax)."""
    last_dense, _ = list(zoo_layers(Dense))[-1]  # its outputs are the logits
    shape = (batch, last_dense.units)
    labels_bytes = batch * np.dtype(np.int64).itemsize
    yield KernelCase(_shape_name("softmax_cross_entropy", shape),
                     numba_kernels.softmax_cross_entropy, reference.softmax_cross_entropy,
                     functools.partial(_loss_arguments, shape),
                     2 * math.prod(shape) * DTYPE.itemsize + labels_bytes)  # fmt: skip


def _adam_arguments(shape):
    scalars = (DTYPE.type(s) for s in (1e-3, 0.9, 0.999, 1e-7))  # lr, beta_1, beta_2, epsilon
    m, v = np.zeros(shape, DTYPE), np.ones(shape, DTYPE)
    return (_random(shape, 1), _random(shape, 2), m, v, *scalars), {}


def _adam_cases() -> Iterator[KernelCase]:
    """Adam on the largest parameter of the CNNs (read param, grad, m, v; write param, m, v)."""
    shape = max((w.shape for layer, _ in zoo_layers(Layer) for w in layer.params.values()),
                key=math.prod)  # fmt: skip
    yield KernelCase(_shape_name("adam_update", shape), numba_kernels.adam_update,
                     reference.adam_update, functools.partial(_adam_arguments, shape),
                     7 * math.prod(shape) * DTYPE.itemsize)  # fmt: skip


def kernel_cases(batch_sizes: tuple[int, ...] = (32,)) -> list[KernelCase]:
    """Every kernel case at each of ``batch_sizes`` (Adam's once: it has no batch).

    Each kernel appears once per distinct shape, grouped by kernel in the order
    training calls them.
    """
    cases = []
    for batch in batch_sizes:
        found = [*_conv_cases(batch), *_winograd_cases(batch), *_maxpool_cases(batch),
                 *_relu_cases(batch), *_loss_cases(batch)]  # fmt: skip
        unique = {case.name: case for case in found}  # same name, same shape: same case
        kernels = list(dict.fromkeys(case.name.split()[0] for case in found))
        cases += sorted(unique.values(), key=lambda case: kernels.index(case.name.split()[0]))
    return [*cases, *_adam_cases()]
