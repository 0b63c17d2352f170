"""Optimizers: update parameters in place from their gradients.

An optimizer sees only two parallel lists of arrays, ``params`` and ``grads``,
so it works for any layer. Its state (velocities, moments) is kept per position
in those lists, in ``state[slot]`` for each name in ``slots``, and created on the
first ``step``.
"""

from __future__ import annotations

import math

import numpy as np

from tinynet import kernels
from tinynet.kernels.reference import flush_denormals
from tinynet.validation import check_number


class Optimizer:
    """Base class: checks the parameter lists and keeps the step count."""

    #: Names of the per-parameter state arrays, e.g. Adam's ``("m", "v")``.
    slots: tuple[str, ...] = ()

    def __init__(self, learning_rate: float):
        self.learning_rate = self._check("learning_rate", learning_rate, 0.0, math.inf, True)
        self.iterations = 0
        self.state: dict[str, list[np.ndarray]] = {}
        self._shapes = None

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Apply one update to every array in ``params`` (in place)."""
        shapes = [p.shape for p in params]
        if self._shapes is None:
            self._shapes = shapes
            self._create_state(params)
        elif shapes != self._shapes:
            raise ValueError(
                f"{type(self).__name__} was first used with parameters of shapes {self._shapes} "
                f"and now gets {shapes}; use a new optimizer for each model"
            )
        self.iterations += 1
        self._update(params, grads)

    def _check(self, what, value, low, high, low_open=False, high_open=True) -> float:
        """``value`` as a float, or a ValueError naming the hyper-parameter (finite, in range)."""
        return check_number(
            value, f"{type(self).__name__}: {what}", low, high, low_open=low_open,
            high_open=high_open,
        )

    def _create_state(self, params):
        self.state = {slot: [np.zeros_like(p) for p in params] for slot in self.slots}

    def _update(self, params, grads):
        raise NotImplementedError

    def get_config(self) -> dict:
        """The optimizer's class and hyper-parameters (not its state)."""
        settings = {k: v for k, v in vars(self).items() if k not in ("iterations", "state")}
        return {"class": type(self).__name__, **{k: v for k, v in settings.items() if k[0] != "_"}}

    def load_state(
        self, params: list[np.ndarray], iterations: int, state: dict[str, list[np.ndarray]]
    ) -> None:
        """Continue from a saved step count and ``state`` (see :mod:`tinynet.backup`)."""
        self._shapes = [p.shape for p in params]
        self._create_state(params)
        for slot, saved in state.items():
            for array, value in zip(self.state[slot], saved, strict=True):
                array[...] = value
        self.iterations = iterations


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as in Keras::

        v = momentum * v - lr * g
        p = p + v                                   (classic momentum)
        p = p + momentum * v - lr * g               (Nesterov)

    With ``momentum=0`` this is plain ``p = p - lr * g``.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        super().__init__(learning_rate)
        self.momentum = self._check("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)

    slots = ("velocity",)

    def _update(self, params, grads):
        lr, momentum = self.learning_rate, self.momentum
        for p, g, v in zip(params, grads, self.state["velocity"], strict=True):
            if momentum == 0.0:
                p -= lr * g
                continue
            v *= momentum
            v -= lr * g
            if self.nesterov:
                p += momentum * v - lr * g
            else:
                p += v


def adam_step(param, grad, m, v, alpha, beta_1, beta_2, epsilon) -> None:
    """One Adam update of ``param`` and its moments ``m``, ``v``, in place, in NumPy.

    :class:`Adam` runs the same four lines fused into one pass over memory
    (``tinynet.kernels.adam_update``); the tests check that the two agree.
    """
    m += (1 - beta_1) * (grad - m)  # first moment: a running mean of g
    v += (1 - beta_2) * (grad * grad - v)  # second moment: a running mean of g**2
    flush_denormals(m, v)  # for speed only: moments too small for a normal float become 0
    param -= alpha * m / (np.sqrt(v) + epsilon)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with Keras' defaults and update rule::

    m = m + (1 - beta_1) * (g - m)              first moment (mean of g)
    v = v + (1 - beta_2) * (g**2 - v)           second moment (mean of g**2)
    alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)     bias correction
    p = p - alpha * m / (sqrt(v) + epsilon)

    Moments too small for a normal float become 0 before the last line
    (``tinynet.kernels.reference.flush_denormals``: a matter of speed).
    """

    def __init__(
        self,
        learning_rate: float = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ):
        super().__init__(learning_rate)
        self.beta_1 = self._check("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = self._check("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = self._check("epsilon", epsilon, 0.0, math.inf, low_open=True)

    slots = ("m", "v")

    def _update(self, params, grads):
        t = self.iterations
        alpha = self.learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        # The scalars in the parameters' precision (a model has one dtype).
        dtype = params[0].dtype if params else np.float64
        scalars = np.array([alpha, self.beta_1, self.beta_2, self.epsilon], dtype=dtype)
        for p, g, m, v in zip(params, grads, self.state["m"], self.state["v"], strict=True):
            kernels.adam_update(p, g, m, v, *scalars)  # adam_step, in one pass
