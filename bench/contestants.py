"""The contestants: one training step of a zoo model in each library, timed.

Each ``time_<contestant>(model, x, y, batch_size, steps)`` trains on the same random
MNIST-shaped float32 data with Adam (lr 1e-3, eps 1e-7) and softmax cross-entropy,
runs :data:`~bench.plan.WARMUP_STEPS` untimed steps, then returns the seconds
per step of the next ``steps``. They run inside a worker process (see
:mod:`bench.worker`), one contestant per process:

* ``tinynet``        the library as it ships (Numba kernels);
* ``tinynet-numpy``  the same, on the NumPy reference kernels (``TINYNET_KERNELS=numpy``,
  set by the parent): for the CNNs this *is* the minimal NumPy loop;
* ``numpy-loop``     (MLPs) a minimal hand-written NumPy training loop doing the same math;
* ``pytorch``        the same architecture in PyTorch on the CPU (skipped if not installed),
  with glibc's ``malloc`` as PyTorch users have it (``TINYNET_KEEP_FREED_MEMORY=0``, set by
  the parent): the one the targets judge against;
* ``pytorch-kept-memory``  the same, with the ``malloc`` setting that importing tinynet makes
  (:mod:`tinynet.kernels.memory`), in the same environment as every other contestant (so
  the setting is whatever the ``tinynet`` column has);
* ``sklearn``        (MLPs) scikit-learn's ``MLPClassifier`` with Adam.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from bench.plan import WARMUP_STEPS

#: Layers a model may have for the MLP-only contestants.
MLP_LAYERS = ("Flatten", "Dense", "ReLU", "Dropout")


def is_mlp(model) -> bool:
    """True if ``model`` is a multilayer perceptron (no convolution, no pooling)."""
    return all(type(layer).__name__ in MLP_LAYERS for layer in model.layers)


def random_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random MNIST-shaped float32 images (NHWC) and labels 0-9."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def run_steps(step: Callable[[int], object], steps: int) -> float:
    """Seconds per call of ``step(i)`` over ``steps`` calls, after the warm-up calls."""
    for i in range(WARMUP_STEPS):
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(WARMUP_STEPS + i)
    return (time.perf_counter() - start) / steps


def tinynet_step(model, x, y, batch_size) -> Callable[[int], object]:
    """``step(i)``: forward, loss, backward and Adam on batch ``i`` of ``x``, as ``fit`` does."""
    from tinynet.losses import SoftmaxCrossEntropy
    from tinynet.optimizers import Adam

    loss, optimizer = SoftmaxCrossEntropy(), Adam(1e-3)
    params, grads = model.parameters()

    batches = len(x) // batch_size

    def step(i):
        start = i % batches * batch_size  # the data is used over again if it runs out
        batch = slice(start, start + batch_size)
        loss.forward(model.forward(x[batch], training=True), y[batch])
        model.backward(loss.backward(), grad_input=False)
        optimizer.step(params, grads)

    return step


def time_tinynet(model, x, y, batch_size, steps):
    return run_steps(tinynet_step(model, x, y, batch_size), steps)


def time_numpy_loop(model, x, y, batch_size, steps):
    """A minimal NumPy MLP: x @ W + b, ReLU, softmax cross-entropy, Adam; nothing else."""
    params = [p.copy() for p in model.parameters()[0]]  # W1, b1, W2, b2, ...: tinynet's start
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    flat = x.reshape(len(x), -1)

    def step(i):
        batch = slice(i * batch_size, (i + 1) * batch_size)
        h, labels = flat[batch], y[batch]
        activations = [h]
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            if k + 2 < len(params):
                h = np.maximum(h, 0)
            activations.append(h)
        p = np.exp(h - h.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(labels)), labels] -= 1
        g = p / len(labels)
        grads = [None] * len(params)
        for k in range(len(params) - 2, -1, -2):
            a = activations[k // 2]
            grads[k], grads[k + 1] = a.T @ g, g.sum(axis=0)
            if k:
                g = (g @ params[k].T) * (a > 0)
        t = i + 1
        alpha = 1e-3 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        for p_, g_, m_, v_ in zip(params, grads, m, v, strict=True):
            m_ += 0.1 * (g_ - m_)
            v_ += 0.001 * (g_ * g_ - v_)
            p_ -= alpha * m_ / (np.sqrt(v_) + 1e-7)

    return run_steps(step, steps)


def torch_model(model):
    """The same architecture in PyTorch (NCHW; "same" 3x3 convolutions pad 1)."""
    import torch

    layers = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            layers.append(
                torch.nn.Conv2d(
                    layer.input_shape[-1],
                    layer.filters,
                    layer.kernel_size,
                    padding=layer.kernel_size[0] // 2,
                )
            )
        elif kind == "Dense":
            layers.append(torch.nn.Linear(*layer.params["W"].shape))
        elif kind == "MaxPool2D":
            layers.append(torch.nn.MaxPool2d(layer.pool_size, layer.stride))
        elif kind == "Dropout":
            layers.append(torch.nn.Dropout(layer.rate))
        else:
            layers.append({"ReLU": torch.nn.ReLU, "Flatten": torch.nn.Flatten}[kind]())
    return torch.nn.Sequential(*layers)


def time_pytorch(model, x, y, batch_size, steps):
    import torch

    torch.manual_seed(0)
    net = torch_model(model)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    labels = torch.from_numpy(y)

    def step(i):
        batch = slice(i * batch_size, (i + 1) * batch_size)
        optimizer.zero_grad()
        loss_fn(net(images[batch]), labels[batch]).backward()
        optimizer.step()

    return run_steps(step, steps)


def time_sklearn(model, x, y, batch_size, steps):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    hidden = [layer.params["W"].shape[1] for layer in model.layers if "W" in layer.params][:-1]
    n = steps * batch_size
    flat = x[:n].reshape(n, -1)
    classifier = MLPClassifier(
        hidden,
        solver="adam",
        batch_size=batch_size,
        max_iter=1,
        alpha=0.0,
        epsilon=1e-7,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(flat[: 10 * batch_size], y[: 10 * batch_size])  # warm-up
        start = time.perf_counter()
        classifier.fit(flat, y[:n])
    return (time.perf_counter() - start) / steps


#: ``time_<contestant>`` by contestant name.
TIMERS = {
    "tinynet": time_tinynet,
    "tinynet-numpy": time_tinynet,
    "numpy-loop": time_numpy_loop,
    "pytorch": time_pytorch,
    "pytorch-kept-memory": time_pytorch,
    "sklearn": time_sklearn,
}
#: Contestants that only train MLPs.
MLP_ONLY = ("numpy-loop", "sklearn")
