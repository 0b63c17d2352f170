"""Where a training step spends its time: each layer's forward and backward, timed.

The model trains exactly as ``fit`` does (:func:`bench.contestants.tinynet_step`)
while a stopwatch wraps every layer's public ``forward`` and ``backward``, the two
calls ``Sequential`` makes; how a layer works inside is none of the profile's
business. The same process then reports its peak memory, which is the peak of
training this model at this batch size (one row per process).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from bench.contestants import random_data, tinynet_step
from bench.plan import WARMUP_STEPS
from bench.timing import peak_memory_mib

#: Batches of random data the profile cycles through (few, so that data does not
#: inflate the peak memory it reports).
DATA_BATCHES = 4


def _stopwatch(method: Callable, times: list[float]) -> Callable:
    """``method``, appending the seconds of each call to ``times``."""

    def timed(*args, **kwargs):
        start = time.perf_counter()
        result = method(*args, **kwargs)
        times.append(time.perf_counter() - start)
        return result

    return timed


def _median_ms(times: list[float]) -> float | None:
    return statistics.median(times) * 1e3 if times else None


def profile_training(name: str, batch_size: int, steps: int) -> dict:
    """Median milliseconds per layer, forward and backward, of zoo model ``name``.

    Parameters
    ----------
    name : str
        A zoo model, e.g. ``"dcnn"``.
    batch_size : int
        Images per training step.
    steps : int
        Steps timed, after :data:`~bench.plan.WARMUP_STEPS` untimed ones.

    Returns
    -------
    dict
        ``layers``: one entry per layer with ``name``, ``kind``, ``output_shape``,
        ``forward_ms``, ``backward_ms`` (None if training never calls it) and the
        batch's ``forward_flops`` / ``backward_flops``; ``step_ms``, the median
        whole step (loss and Adam included); ``peak_memory_mib`` of this process.
    """
    from experiments import zoo

    model = zoo.build(name, (28, 28, 1), 10, seed=0)
    x, y = random_data(DATA_BATCHES * batch_size)
    first_trainable = next(layer for layer in model.layers if layer.params)
    forward = {layer.name: [] for layer in model.layers}
    backward = {layer.name: [] for layer in model.layers}
    for layer in model.layers:
        layer.forward = _stopwatch(layer.forward, forward[layer.name])
        layer.backward = _stopwatch(layer.backward, backward[layer.name])
    step, step_times = tinynet_step(model, x, y, batch_size), []
    for i in range(WARMUP_STEPS + steps):
        if i == WARMUP_STEPS:  # forget the warm-up
            for times in (*forward.values(), *backward.values()):
                times.clear()
        start = time.perf_counter()
        step(i)
        step_times.append(time.perf_counter() - start)
    layers = []
    for layer in model.layers:
        flops = layer.forward_flops * batch_size
        # Backward computes the weight gradient, and the input gradient except for the first
        # layer with parameters (fit never needs it): each as many flops as the forward.
        backward_flops = flops * (1 if layer is first_trainable else 2)
        layers.append({
            "name": layer.name,
            "kind": type(layer).__name__,
            "output_shape": list(layer.output_shape),
            "forward_ms": _median_ms(forward[layer.name]),
            "backward_ms": _median_ms(backward[layer.name]),
            "forward_flops": flops,
            "backward_flops": backward_flops,
        })  # fmt: skip
    return {
        "layers": layers,
        "step_ms": _median_ms(step_times[WARMUP_STEPS:]),
        "peak_memory_mib": peak_memory_mib(),
    }
