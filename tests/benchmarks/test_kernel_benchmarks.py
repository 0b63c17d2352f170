"""Kernel benchmarks: each Numba kernel beside its NumPy reference, on the shapes the
zoo's CNNs really produce (batch 32 and 128), from the registry ``python -m bench``
uses for its kernel table (:mod:`bench.kernel_cases`).

    pytest tests/benchmarks --benchmark-only                    # run them
    pytest tests/benchmarks --benchmark-only --benchmark-autosave
    pytest-benchmark compare                                    # compare saved runs

The default ``pytest`` run skips them (``--benchmark-skip`` in pyproject.toml).
"""

import numpy as np
import pytest

from bench.kernel_cases import kernel_cases

CASES = {case.name: case for case in kernel_cases((32, 128))}


def shapes(result):
    """The shape of each array in a kernel's result (None for an in-place kernel)."""
    if isinstance(result, tuple):
        return [np.shape(item) for item in result]
    return None if result is None else np.shape(result)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_kernel(benchmark, backend, name):
    case = CASES[name]
    args, kwargs = case.arguments()
    result = benchmark(case.implementation(backend), *args, **kwargs)
    args, kwargs = case.arguments()
    assert shapes(result) == shapes(case.reference(*args, **kwargs))
