"""One measurement in a fresh process: ``python -m bench.worker '<json job>'``.

The parent (:mod:`bench.cli`) starts one worker per contestant and repetition,
one for the kernels and one per profiled row, so that no measurement inherits
another's warm caches, threads or memory. A job is a JSON object:

``{"job": "train", "contestant": "pytorch", "rows": [["cnn", 32], ...], "quick": false}``
    seconds per training step of each row, ``{"cnn/32": s, ...}`` (an optional
    ``"steps": N`` times N steps per row instead of :func:`bench.plan.steps_for`'s);
``{"job": "kernels", "quick": false}``
    :func:`bench.timing.time_kernel_cases` on every kernel case at batch 32;
``{"job": "profile", "row": ["dcnn", 128], "quick": false}``
    :func:`bench.layer_profile.profile_training`, with the process's peak memory.

The worker prints its result as one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench import plan


def row_key(name: str, batch_size: int) -> str:
    """How a row is keyed in results: ``"cnn/32"``."""
    return f"{name}/{batch_size}"


def run_job(job: dict) -> dict:
    """Do ``job`` in this process and return its result (see the module docstring)."""
    quick = job["quick"]
    if job["job"] == "kernels":
        from bench.kernel_cases import kernel_cases
        from bench.timing import time_kernel_cases

        calls = plan.QUICK_KERNEL_CALLS if quick else plan.KERNEL_CALLS
        return time_kernel_cases(kernel_cases((32,)), calls)
    if job["job"] == "profile":
        from bench.layer_profile import profile_training

        name, batch_size = job["row"]
        return profile_training(name, batch_size, plan.steps_for(name, quick))
    return time_training(job["contestant"], job["rows"], quick, job.get("steps"))


def time_training(contestant: str, rows: list[list], quick: bool,
                  steps: int | None = None) -> dict[str, float]:  # fmt: skip
    """Seconds per training step of every row for one contestant (skipping what it cannot)."""
    from bench.contestants import MLP_ONLY, TIMERS, is_mlp, random_data
    from experiments import zoo

    results = {}
    for name, batch_size in rows:
        model = zoo.build(name, (28, 28, 1), 10, seed=0)
        if contestant in MLP_ONLY and not is_mlp(model):
            continue
        timed = steps or plan.steps_for(name, quick)
        x, y = random_data((timed + plan.WARMUP_STEPS) * batch_size)
        results[row_key(name, batch_size)] = TIMERS[contestant](model, x, y, batch_size, timed)
    return results


def run_in_new_process(job: dict) -> dict:
    """Run ``job`` in a fresh Python process and return its result.

    ``tinynet-numpy`` gets ``TINYNET_KERNELS=numpy``; every other job the Numba kernels.
    ``pytorch`` gets ``TINYNET_KEEP_FREED_MEMORY=0``: its process imports tinynet only to
    build the model, and keeps glibc's ``malloc`` as PyTorch users have it.

    Raises
    ------
    RuntimeError
        If the worker fails (with the end of its error output).
    """
    numpy_kernels = job.get("contestant") == "tinynet-numpy"
    env = dict(os.environ, TINYNET_KERNELS="numpy" if numpy_kernels else "numba")
    if job.get("contestant") == "pytorch":
        env["TINYNET_KEEP_FREED_MEMORY"] = "0"
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker", json.dumps(job)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {job} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(run_job(json.loads(sys.argv[1]))))
