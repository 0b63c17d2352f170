"""Pictures for teaching: what a network learned and how it computes, one figure per call.

Every function takes plain arrays (or ``History`` objects), draws with plain matplotlib
and returns a :class:`matplotlib.figure.Figure`: shown inline by Jupyter, written to a
file with :func:`save`. Nothing here trains a model or changes one; the numbers come
from the caller (e.g. a list of gradient sizes recorded after each epoch).

=========================  ==========================================================
``image_grid``             images side by side, with titles (digits, filters, maps)
``conv_filters``           a Conv2D weight (KH, KW, C, F) as F small pictures
``feature_maps``           a layer's output for one image (H, W, F), beside the image
``im2col_layout``          an image, its patches, and the matrix im2col builds from them
``maxpool_routing``        max pooling forward, and where its backward sends the gradient
``gradient_flow``          mean |gradient| per layer, per epoch (log scale)
``accuracy_curves``        training and validation accuracy of several models together
=========================  ==========================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from tinynet.files import atomic_write
from tinynet.kernels import reference

__all__ = [
    "accuracy_curves",
    "conv_filters",
    "feature_maps",
    "gradient_flow",
    "im2col_layout",
    "image_grid",
    "maxpool_routing",
    "save",
]


def save(figure: Figure, path: str | Path, dpi: int = 150) -> None:
    """Write ``figure`` to ``path`` (format from the suffix, e.g. ``.png``), atomically."""
    path = Path(path)
    suffix = path.suffix.lstrip(".") or "png"
    atomic_write(
        path, lambda handle: figure.savefig(handle, format=suffix, dpi=dpi, bbox_inches="tight")
    )


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    title: str | None = None,
    cmap: str = "gray",
    symmetric: bool = False,
    size: float = 1.4,
) -> Figure:
    """Images in a grid, each with its own color scale and an optional title.

    Parameters
    ----------
    images : sequence of 2-D arrays (or an array (N, H, W))
    titles : sequence of str, optional
        One per image.
    ncols : int, optional
        Columns; default up to 10.
    title : str, optional
        A title over the whole grid.
    cmap : str
        Matplotlib colormap; ``"gray"`` for digits.
    symmetric : bool
        Center each image's color scale on 0 (weights and gradients: red > 0 > blue,
        with ``cmap="RdBu_r"``).
    size : float
        Inches per image.
    """
    images = [np.asarray(image) for image in images]
    if not images or any(image.ndim != 2 for image in images):
        raise ValueError("image_grid: images must be a non-empty sequence of 2-D arrays")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"image_grid: {len(titles)} titles for {len(images)} images")
    ncols = ncols or min(len(images), 10)
    nrows = math.ceil(len(images) / ncols)
    figure = Figure(
        figsize=(size * ncols, size * nrows + (0.4 if title else 0)), layout="constrained"
    )
    axes = figure.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(images):
            continue
        limit = float(np.abs(images[i]).max()) or 1.0
        ax.imshow(images[i], cmap=cmap, **({"vmin": -limit, "vmax": limit} if symmetric else {}))
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if title:
        figure.suptitle(title)
    return figure


def conv_filters(
    weights: np.ndarray, channel: int | None = None, title: str | None = None
) -> Figure:
    """A Conv2D weight ``(KH, KW, C, F)`` as F pictures (red positive, blue negative).

    With one input channel (a first layer on gray images) each filter is what the layer
    looks for in the image. With several, ``channel`` picks one; by default the filters
    are summed over the input channels.
    """
    weights = np.asarray(weights)
    if weights.ndim != 4:
        raise ValueError(f"conv_filters: weights must be (KH, KW, C, F), got shape {weights.shape}")
    planes = weights.sum(axis=2) if channel is None else weights[:, :, channel, :]
    count = planes.shape[-1]
    return image_grid(
        [planes[:, :, f] for f in range(count)],
        [f"filter {f}" for f in range(count)],
        ncols=min(count, 8),
        title=title or f"{count} filters, {weights.shape[0]}x{weights.shape[1]}",
        cmap="RdBu_r",
        symmetric=True,
    )


def feature_maps(
    maps: np.ndarray, image: np.ndarray | None = None, limit: int = 16, title: str | None = None
) -> Figure:
    """A layer's output for one image, ``(H, W, F)``: one picture per channel.

    ``image`` (2-D), when given, is drawn first, so the maps can be compared with it.
    At most ``limit`` channels are drawn.
    """
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"feature_maps: maps must be (H, W, F) for one image, got {maps.shape}")
    count = min(maps.shape[-1], limit)
    pictures = [maps[:, :, f] for f in range(count)]
    titles = [f"channel {f}" for f in range(count)]
    if image is not None:
        pictures, titles = [np.asarray(image)] + pictures, ["input"] + titles
    return image_grid(pictures, titles, ncols=min(len(pictures), 9), title=title, cmap="viridis")


def im2col_layout(
    image: np.ndarray, kernel_size: int = 3, stride: int = 1, show_patches: int = 4
) -> Figure:
    """What ``im2col`` builds from one gray image: every patch becomes a row of a matrix.

    Left: the image with the first ``show_patches`` patches outlined. Middle: those
    patches. Right: the whole matrix (one row per output pixel, ``kernel_size**2``
    columns), the same rows marked. A convolution is then one matrix product of this
    matrix with the filters, reshaped to ``(KH*KW*C, F)``.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"im2col_layout: image must be 2-D (H, W), got shape {image.shape}")
    k = kernel_size
    out_h, out_w = (image.shape[0] - k) // stride + 1, (image.shape[1] - k) // stride + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"im2col_layout: a {k}x{k} kernel does not fit a {image.shape} image")
    cols = reference.im2col(image[None, :, :, None], k, k, stride, 0, 0, out_h, out_w)
    shown = min(show_patches, len(cols))
    colors = [f"C{i}" for i in range(shown)]

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    grid = figure.add_gridspec(shown, 3, width_ratios=[3, 1, 3])
    ax = figure.add_subplot(grid[:, 0])
    ax.imshow(image, cmap="gray")
    ax.set_title(f"image {image.shape[0]}x{image.shape[1]}, {k}x{k} patches, stride {stride}")
    for row, color in enumerate(colors):
        top, left = divmod(row, out_w)
        ax.add_patch(
            Rectangle((left * stride - 0.5, top * stride - 0.5), k, k, fill=False,
                      edgecolor=color, linewidth=2.5 - 0.4 * row)
        )  # fmt: skip
    ax.set_axis_off()
    for row, color in enumerate(colors):
        patch_ax = figure.add_subplot(grid[row, 1])
        patch_ax.imshow(cols[row].reshape(k, k), cmap="gray", vmin=image.min(), vmax=image.max())
        patch_ax.set_title(f"row {row}", fontsize=8, color=color)
        patch_ax.set_xticks([])
        patch_ax.set_yticks([])
    ax = figure.add_subplot(grid[:, 2])
    ax.imshow(cols, cmap="gray", aspect="auto", interpolation="nearest")
    for row, color in enumerate(colors):
        ax.axhline(row, color=color, linewidth=2)
    ax.set_title(f"im2col: {cols.shape[0]} rows (output pixels) x {cols.shape[1]} columns")
    ax.set_xlabel("position in the patch")
    ax.set_ylabel("output pixel")
    return figure


def maxpool_routing(x: np.ndarray, pool_size: int = 2) -> Figure:
    """Max pooling on a small 2-D array: forward values, and where each gradient goes.

    Left: the input with every window's winner marked. Middle: the pooled output.
    Right: the input gradient when every output gets gradient 1 (``maxpool2d_backward``):
    ones at the winners, zeros everywhere else.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"maxpool_routing: x must be 2-D (H, W), got shape {x.shape}")
    p = pool_size
    pooled, argmax = reference.maxpool2d_forward(x[None, :, :, None], p, p)
    out_h, out_w = pooled.shape[1:3]
    routed = reference.maxpool2d_backward(np.ones_like(pooled), argmax, (1, *x.shape, 1), p, p)
    figure = Figure(figsize=(11, 3.8), layout="constrained")
    axes = figure.subplots(1, 3)
    panels = [
        (x, "input (winners circled)"),
        (pooled[0, :, :, 0], f"max over {p}x{p} windows"),
        (routed[0, :, :, 0], "gradient sent back (upstream = 1)"),
    ]
    for ax, (values, label) in zip(axes, panels, strict=True):
        ax.imshow(values, cmap="Blues")
        for (i, j), value in np.ndenumerate(values):
            dark = value > values.min() + 0.6 * np.ptp(values)
            ax.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")  # fmt: skip
        ax.set_title(label)
        ax.set_xticks([])
        ax.set_yticks([])
    for i in range(out_h):
        for j in range(out_w):
            axes[0].add_patch(Rectangle((j * p - 0.5, i * p - 0.5), p, p, fill=False, linewidth=2))
    winners = np.argwhere(routed[0, :, :, 0] > 0)
    axes[0].scatter(winners[:, 1], winners[:, 0], s=320, facecolors="none", edgecolors="red")
    return figure


def gradient_flow(records: Sequence[Mapping[str, float]], title: str | None = None) -> Figure:
    """Mean |gradient| of each parameter, epoch after epoch, on a log scale.

    Parameters
    ----------
    records : sequence of mappings
        One per epoch: parameter name (e.g. ``"dense_1.W"``) to the mean absolute
        value of its gradient, as recorded by the caller after that epoch.

    Gradients that shrink layer after layer towards the input ("vanishing") show as
    lines far below the others; a line that dives to 0 is a layer that stopped learning.
    """
    if not records:
        raise ValueError("gradient_flow: records is empty; record one mapping per epoch")
    names = list(records[0])
    epochs = np.arange(1, len(records) + 1)
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    ax = figure.add_subplot()
    for name in names:
        ax.plot(epochs, [record[name] for record in records], marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean |gradient|")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "gradient flow, per parameter")
    return figure


def accuracy_curves(
    histories: Mapping[str, object],
    metric: str = "accuracy",
    title: str | None = None,
) -> Figure:
    """Training (dashed) and validation (solid) curves of several models, one color each.

    Parameters
    ----------
    histories : mapping
        Model name to a ``History`` (what ``fit`` returns) or its ``.history`` dict.
    metric : str
        ``"accuracy"`` or ``"loss"``; ``val_<metric>`` is drawn when present.

    A model whose training curve keeps rising while its validation curve stalls or
    falls is over-fitting; two curves that are both low are under-fitting.
    """
    if not histories:
        raise ValueError("accuracy_curves: histories is empty")
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    ax = figure.add_subplot()
    for i, (name, history) in enumerate(histories.items()):
        values = getattr(history, "history", history)
        if metric not in values:
            raise ValueError(f"accuracy_curves: {name!r} has no {metric!r} (has {list(values)})")
        epochs = np.arange(1, len(values[metric]) + 1)
        ax.plot(epochs, values[metric], "--", color=f"C{i}", label=f"{name} train")
        if f"val_{metric}" in values:
            ax.plot(epochs, values[f"val_{metric}"], "-", color=f"C{i}", label=f"{name} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric}: dashed = training, solid = validation")
    return figure
