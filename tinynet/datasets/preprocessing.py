"""Turn uint8 image arrays into what a network eats, and split off a validation set."""

from __future__ import annotations

import numpy as np

__all__ = ["flatten_images", "scale_images", "to_nhwc", "train_validation_split"]


def scale_images(x: np.ndarray) -> np.ndarray:
    """Scale uint8 pixels 0..255 to float32 in ``[0, 1]``.

    Parameters
    ----------
    x : numpy.ndarray
        uint8 images of any shape.

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape, ``x / 255``.

    Raises
    ------
    TypeError
        If ``x`` is not uint8: float input is probably scaled already, and scaling twice
        would silently shrink every pixel.
    """
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise TypeError(
            f"scale_images expects uint8 pixels 0..255, got {x.dtype}; "
            "are the images already scaled?"
        )
    return np.divide(x, 255, dtype=np.float32)


def to_nhwc(x: np.ndarray) -> np.ndarray:
    """Add a channel axis: ``(N, H, W)`` to ``(N, H, W, 1)`` (a view, no copy).

    An array that is already ``(N, H, W, 1)`` is returned unchanged.

    Raises
    ------
    ValueError
        For any other shape.
    """
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        return x
    if x.ndim != 3:
        raise ValueError(f"to_nhwc expects images of shape (N, H, W), got {x.shape}")
    return x[..., np.newaxis]


def flatten_images(x: np.ndarray) -> np.ndarray:
    """Flatten each image to a row: ``(N, H, W)`` or ``(N, H, W, C)`` to ``(N, H*W*C)``.

    Raises
    ------
    ValueError
        If ``x`` has fewer than two dimensions.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"flatten_images expects a batch of images, got shape {x.shape}")
    return x.reshape(len(x), -1)


def train_validation_split(
    x: np.ndarray,
    y: np.ndarray,
    validation_size: int | float = 10_000,
    seed: int = 42,
    stratify: bool = False,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split a training set into a training part and a validation part.

    A shuffled split by scikit-learn's ``train_test_split`` with ``random_state=seed``, so
    the same seed gives the same split on every machine. ``validation_size=10_000,
    seed=42`` turns MNIST's 60,000 training images into the 50,000/10,000 split of the
    reference study.

    Parameters
    ----------
    x, y : numpy.ndarray
        Samples and labels, the same length.
    validation_size : int or float, default 10_000
        An int is a number of samples (1 .. len(x) - 1); a float in (0, 1) a fraction.
    seed : int, default 42
        Random seed of the shuffle.
    stratify : bool, default False
        Keep the class proportions of ``y`` in both parts.

    Returns
    -------
    (x_train, y_train), (x_val, y_val)
        The two parts, copies of the input rows.

    Raises
    ------
    ValueError
        If the lengths differ or ``validation_size`` is out of range.
    """
    from sklearn.model_selection import train_test_split  # imported late: sklearn is slow

    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x):,} samples but y has {len(y):,} labels")
    n = len(x)
    if isinstance(validation_size, bool) or not isinstance(
        validation_size, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"validation_size must be an int or a float, got {validation_size!r}")
    if isinstance(validation_size, (float, np.floating)):
        if not 0.0 < validation_size < 1.0:
            raise ValueError(
                f"a fractional validation_size must be in (0, 1), got {validation_size}"
            )
        size: int | float = float(validation_size)
    else:
        if not 1 <= validation_size <= n - 1:
            raise ValueError(
                f"validation_size={validation_size} but there are {n:,} samples; pass a "
                "count from 1 to n - 1, or a fraction such as 0.2"
            )
        size = int(validation_size)
    x_train, x_val, y_train, y_val = train_test_split(
        x,
        y,
        test_size=size,
        random_state=seed,
        shuffle=True,
        stratify=y if stratify else None,
    )
    return (x_train, y_train), (x_val, y_val)
