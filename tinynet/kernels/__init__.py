"""The hot loops of tinynet, in two interchangeable implementations.

``reference``      plain NumPy, written to be read;
``numba_kernels``  the same functions compiled with Numba, written to be fast.

The layers (and Adam) call the functions re-exported here. Which implementation they get is
chosen once, at import, by the environment variable ``TINYNET_KERNELS``:
``numba`` (the default) or ``numpy`` (the references).

Either way, importing it tells glibc's ``malloc`` to keep freed memory for the next
training step instead of giving it back and faulting it in again
(:mod:`tinynet.kernels.memory`; cnn's steps took 13-18% less time).
"""

from __future__ import annotations

import os

from tinynet.kernels import memory

#: Whether this process keeps freed memory for the next step (see tinynet.kernels.memory).
MEMORY_KEPT = memory.keep_freed_memory()

BACKENDS = ("numba", "numpy")
BACKEND = os.environ.get("TINYNET_KERNELS", "numba").strip().lower() or "numba"

if BACKEND == "numba":
    from tinynet.kernels import numba_kernels as _implementation
elif BACKEND == "numpy":
    from tinynet.kernels import reference as _implementation
else:
    raise ImportError(
        f"TINYNET_KERNELS={BACKEND!r} is not a kernel backend; use one of {', '.join(BACKENDS)}"
    )

from tinynet.kernels.reference import ConvGeometry  # noqa: E402

im2col = _implementation.im2col
col2im = _implementation.col2im
conv2d_forward = _implementation.conv2d_forward
conv2d_backward_weights = _implementation.conv2d_backward_weights
conv2d_backward_data = _implementation.conv2d_backward_data
maxpool2d_forward = _implementation.maxpool2d_forward
maxpool2d_backward = _implementation.maxpool2d_backward
relu_forward = _implementation.relu_forward
relu_backward = _implementation.relu_backward
softmax_cross_entropy = _implementation.softmax_cross_entropy
softmax_cross_entropy_backward = _implementation.softmax_cross_entropy_backward
adam_update = _implementation.adam_update

__all__ = [
    "BACKEND",
    "BACKENDS",
    "MEMORY_KEPT",
    "ConvGeometry",
    "adam_update",
    "col2im",
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "conv2d_forward",
    "im2col",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "relu_backward",
    "relu_forward",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
]
