"""The ``Layer`` base class: what every layer shares.

A layer is built once for a per-sample input shape (``build``), then maps a
batch forward (``forward``) and a gradient backward (``backward``). Trainable
arrays live in ``params`` and their gradients, under the same names, in
``grads``, so an optimizer can update any layer without knowing its type.
"""

from __future__ import annotations

import math

import numpy as np

from tinynet.validation import check_float_dtype


class Layer:
    """Base class for layers.

    A subclass writes the math and nothing else:

    * ``_build()`` creates ``params`` and returns the per-sample output shape;
    * ``_forward(x, training)`` returns ``y`` and keeps on ``self`` what the
      backward pass needs;
    * ``_backward(g)`` returns ``dL/dx`` for ``g = dL/dy``;
    * ``_parameter_gradients(g)`` (layers with parameters) stores ``dL/dθ`` in
      ``grads``.

    The public ``forward`` and ``backward`` do the bookkeeping around them: they
    build the layer on first use, check shapes and dtypes, and skip the input
    gradient when nobody needs it (``needs_grad_input``).

    Attributes
    ----------
    params, grads : dict[str, np.ndarray]
        Trainable arrays and their gradients (same names, same shapes). Optimizers
        update ``params`` in place; ``backward`` may store new gradient arrays
        (``grads["W"] = x.T @ g``), so read ``grads`` after it (or through
        ``Sequential.parameters()``, which does).
    input_shape, output_shape : tuple[int, ...]
        Per-sample shapes (without the batch axis), known after ``build``.
    rng : np.random.Generator
        The layer's random stream (initialization, dropout masks).
    needs_grad_input : bool
        When False, ``backward`` only fills ``grads`` and returns None. During
        ``fit``, Sequential turns it off for the one call of its first trainable
        layer's ``backward``: that layer's input is the data, whose gradient
        nobody uses.
    """

    def __init__(self, name: str | None = None):
        self.name = name or type(self).__name__.lower()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        self.dtype: np.dtype | None = None
        self.rng: np.random.Generator | None = None
        self.needs_grad_input = True
        self._batch_size: int | None = None

    @property
    def built(self) -> bool:
        return self.output_shape is not None

    def build(
        self,
        input_shape: tuple[int, ...],
        dtype="float32",
        rng: np.random.Generator | None = None,
    ) -> tuple[int, ...]:
        """Allocate parameters for per-sample ``input_shape``; return the output shape."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = check_float_dtype(dtype, f"{self.name}: dtype")
        self.rng = rng if rng is not None else np.random.default_rng()
        self.output_shape = tuple(self._build())
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return self.output_shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Map a batch ``x`` of shape ``(N,) + input_shape`` to ``(N,) + output_shape``."""
        return self._forward(self._check_input(x), training)

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """Fill ``grads`` and return ``dL/dx``, given ``dL/dy`` from the last ``forward``."""
        grad_output = self._check_grad(grad_output)
        if self.params:
            self._parameter_gradients(grad_output)
        return self._backward(grad_output) if self.needs_grad_input else None

    # --- what a subclass writes: the math -----------------------------------------------

    def _build(self) -> tuple[int, ...]:
        """Create ``self.params`` and return the output shape (override if needed)."""
        return self.input_shape

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _parameter_gradients(self, grad_output: np.ndarray) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        """Constructor arguments, enough to rebuild the layer (see ``from_config``)."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    @property
    def n_params(self) -> int:
        return sum(int(value.size) for value in self.params.values())

    @property
    def forward_flops(self) -> int:
        """Floating-point operations (2 per multiply-add) of one sample's forward pass.

        Counts the weights ``W`` applied once per output position: ``W.size`` for
        ``Dense``, ``OH * OW * W.size`` for ``Conv2D``; 0 for a layer without weights.
        """
        if "W" not in self.params:
            return 0
        positions = math.prod(self.output_shape[:-1])  # OH*OW for Conv2D, 1 for Dense
        return 2 * positions * self.params["W"].size

    # --- checks shared by every layer -------------------------------------------------

    def _require_input_rank(self, rank: int, layout: str, hint: str = "") -> None:
        """In ``_build``: refuse a per-sample input shape that does not have ``rank`` axes."""
        if len(self.input_shape) != rank:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) needs {layout} input, "
                f"got per-sample shape {self.input_shape}{hint}"
            )

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        """Build on first use, then check that ``x`` is a batch this layer accepts."""
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if not self.built:
            self.build(x.shape[1:], dtype=x.dtype if x.dtype.kind == "f" else "float32")
        if x.ndim != len(self.input_shape) + 1 or x.shape[1:] != self.input_shape:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) expects input of shape "
                f"(batch,) + {self.input_shape}, got {x.shape}"
            )
        if x.shape[0] < 1:
            raise ValueError(f"layer {self.name!r} got an empty batch (shape {x.shape})")
        if x.dtype != self.dtype:
            if x.dtype.kind != "f":
                raise ValueError(
                    f"layer {self.name!r} expects floating-point input, got dtype {x.dtype}"
                )
            x = x.astype(self.dtype)
        self._batch_size = x.shape[0]
        return x

    def _check_grad(self, grad_output: np.ndarray) -> np.ndarray:
        """Check that ``backward`` follows a ``forward`` and gets the right shape;
        return ``grad_output`` in the layer's dtype (as ``forward`` does with ``x``)."""
        if self._batch_size is None:
            raise ValueError(
                f"layer {self.name!r}: backward() called before forward(); "
                "run forward(x, training=True) on the batch first"
            )
        expected = (self._batch_size,) + self.output_shape
        if getattr(grad_output, "shape", None) != expected:
            raise ValueError(
                f"layer {self.name!r}: grad_output has shape {np.shape(grad_output)}, "
                f"expected {expected} (the shape forward() returned)"
            )
        return grad_output.astype(self.dtype, copy=False)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"
