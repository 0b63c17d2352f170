"""Clocks for the benchmark: a timed call, interleaved medians, the machine's GEMM peak,
its copy bandwidth, the kernel cases, and a process's peak memory.

Everything here runs inside the process that measures; nothing is printed.
"""

from __future__ import annotations

import functools
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

import numpy as np

from bench.kernel_cases import KernelCase

MIB = 2**20


def seconds(call: Callable[[], object]) -> float:
    """Wall-clock seconds of one ``call()``."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def interleaved_medians(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each call, timed in turns (``a, b, c, a, b, c, ...``) after one
    untimed warm-up call each, so that a drifting load hits them all alike."""
    for call in calls.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            times[name].append(seconds(call))
    return {name: statistics.median(values) for name, values in times.items()}


def copy_of(nbytes: int) -> Callable[[], object]:
    """A NumPy copy that reads ``nbytes / 2`` bytes and writes as many: ``nbytes`` moved."""
    source = np.ones(max(nbytes // 8, 1), np.float32)  # 4-byte items, half read, half written
    return functools.partial(np.copyto, np.empty_like(source), source)


def time_kernel_cases(cases: Sequence[KernelCase], calls: int) -> dict[str, dict[str, float]]:
    """Seconds per call of each case's fast kernel, reference and a copy of its bytes.

    Returns ``{case name: {"numba": s, "numpy": s, "copy": s, "bytes": bytes moved}}``.
    The three are interleaved; each call gets the same arguments, built once.
    """
    results = {}
    for case in cases:
        timed = {}
        for backend in ("numba", "numpy"):
            args, kwargs = case.arguments()
            timed[backend] = functools.partial(case.implementation(backend), *args, **kwargs)
        timed["copy"] = copy_of(case.bytes_moved)
        results[case.name] = {**interleaved_medians(timed, calls), "bytes": case.bytes_moved}
    return results


def gemm_peak(size: int = 2048, repeats: int = 3) -> float:
    """float32 GEMM GFLOP/s of this machine, now (best of a few)."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    a @ a
    best = min(seconds(lambda: a @ a) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def peak_memory_mib() -> float:
    """The largest resident set this process has had so far, in MiB.

    On Linux the kernel's ``VmHWM`` of this process (``/proc/self/status``):
    ``getrusage``'s ``ru_maxrss`` keeps the parent's peak from the fork, so a worker
    started by a 436 MiB benchmark reported 436 MiB whatever it trained. Elsewhere
    ``getrusage``.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MIB  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak * 1024 / MIB  # bytes vs KiB


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages, rounded."""
    return [round(value, 2) for value in os.getloadavg()]


def machine_info() -> dict:
    """Date, machine, versions, load average and BLAS threads, for the table's caption."""
    from threadpoolctl import threadpool_info

    blas = [
        {"api": p.get("internal_api"), "threads": p.get("num_threads"), "version": p.get("version")}
        for p in threadpool_info()
        if p.get("user_api") == "blas"
    ]
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average": load_average(),
        "blas": blas,
    }
