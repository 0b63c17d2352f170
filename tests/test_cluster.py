"""experiments.cluster: the same tasks locally and on a real (local) Dask cluster.

The cluster is a ``LocalCluster`` of two single-threaded worker *processes*, so
tasks really are pickled, shipped, run elsewhere and returned. Its scheduler is
told to give up on a task at the first worker death (``allowed-failures: 0``),
so that the client-side retry of :func:`experiments.cluster.run_tasks` is what a
killed-worker test exercises.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from experiments import cluster


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster of 2 worker processes, for the whole module."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
        )  # fmt: skip
    yield local.scheduler_address
    local.close()


def square_plus(x: int, offset: int = 0) -> int:
    return x * x + offset


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ArithmeticError("three is not allowed")
    return x


def die_the_first_time(marker: str, value: int) -> int:
    """Kill this worker process (as the OOM killer would) unless ``marker`` exists."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return 2 * value


def fit_small_mlp(seed: int, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """One epoch of a 64-300-10 MLP with dropout; its trained parameters."""
    from tinynet import Sequential
    from tinynet.layers import Dense, Dropout, ReLU

    model = Sequential([Dense(300), ReLU(), Dropout(0.2), Dense(10)], input_shape=(64,), seed=seed)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    params, _ = model.parameters()
    return params


def test_local_runs_yield_every_result_with_its_index():
    tasks = [(x,) for x in range(5)]
    in_process = list(cluster.run_tasks(square_plus, tasks, {"offset": 1}))
    assert in_process == [(x, x * x + 1) for x in range(5)]  # jobs=1 keeps the order
    in_workers = cluster.run_tasks(square_plus, tasks, {"offset": 1}, jobs=2)
    assert sorted(in_workers) == in_process


def test_cluster_runs_tasks_with_shared_arguments(scheduler):
    results = dict(cluster.run_tasks(square_plus, [(x,) for x in range(6)], {"offset": 10},
                                     scheduler=scheduler))  # fmt: skip
    assert results == {x: x * x + 10 for x in range(6)}


def test_a_failing_task_raises_its_own_error_and_is_not_retried(scheduler):
    with pytest.raises(ArithmeticError, match="three is not allowed"):
        list(cluster.run_tasks(fail_on_three, [(x,) for x in range(5)], scheduler=scheduler))


def test_a_task_whose_worker_dies_is_retried(scheduler, tmp_path):
    marker = str(tmp_path / "died-once")
    results = list(cluster.run_tasks(die_the_first_time, [(marker, 21)], scheduler=scheduler,
                                     retries=1))  # fmt: skip
    assert results == [(0, 42)] and os.path.exists(marker)


def test_a_task_lost_more_often_than_retries_is_an_error(scheduler, tmp_path):
    marker = str(tmp_path / "died-once")
    with pytest.raises(cluster.ClusterError, match=r"task 0 .* was lost 1 times .* 0 retries"):
        list(cluster.run_tasks(die_the_first_time, [(marker, 21)], scheduler=scheduler,
                               retries=0))  # fmt: skip


def test_a_model_trained_on_the_cluster_is_bit_identical_to_one_trained_here(scheduler, rng):
    x, y = rng.random((512, 64), dtype=np.float32), rng.integers(0, 10, 512)
    tasks, shared = [(1,)], {"x": x, "y": y}  # one task: only one worker imports tinynet
    here = dict(cluster.run_tasks(fit_small_mlp, tasks, shared))
    there = dict(cluster.run_tasks(fit_small_mlp, tasks, shared, scheduler=scheduler))
    for index in range(len(tasks)):
        for p_here, p_there in zip(here[index], there[index], strict=True):
            np.testing.assert_array_equal(p_here, p_there)


@pytest.mark.slow  # the worker imports scikit-learn and the experiments: 20-40 s on 2 busy cores
def test_a_study_model_on_the_cluster_is_bit_identical_to_one_trained_here(scheduler, tmp_path):
    # Imported here, not at the top: the workers import this module to find the small
    # task functions above, and should not pay for these imports for those.
    from experiments import data, training

    digits = data.load("digits", None, seed=42, quick=True)
    shared = {"data": digits, "run_protocol": training.protocol(digits, 1, 32, 42), "verbose": 0}
    runs = {}
    for where, options in [("here", {}), ("cluster", {"scheduler": scheduler})]:
        out = tmp_path / where
        out.mkdir()
        tasks = [("dnnd",)]  # two hidden layers and dropout: every random draw is used
        entries = cluster.run_tasks(training.train_model, tasks, {**shared, "out": out}, **options)
        runs[where] = {tasks[index][0]: (entry, out) for index, entry in entries}
    for name in ("dnnd",):
        (here, out_here), (there, out_there) = runs["here"][name], runs["cluster"][name]
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert here["history"][key] == there["history"][key], (name, key)
        for key in ("test", "metrics", "first_test", "mistakes"):
            assert here[key] == there[key], (name, key)
        with np.load(out_here / here["model_file"]) as saved_here:
            with np.load(out_there / there["model_file"]) as saved_there:
                assert saved_here.files == saved_there.files
                for key in saved_here.files:
                    np.testing.assert_array_equal(saved_here[key], saved_there[key])


def test_unreachable_scheduler_is_a_one_line_error_after_the_timeout():
    start = time.monotonic()
    with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler at "
                       "tcp://127.0.0.1:9 within 1 s") as error:  # fmt: skip
        cluster.run_tasks(square_plus, [(1,)], scheduler="tcp://127.0.0.1:9", connect_timeout=1)
    assert time.monotonic() - start < 15
    assert "\n" not in str(error.value)


def test_missing_dask_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(cluster.ClusterError, match=r"pip install -e '\.\[cluster\]'"):
        cluster.run_tasks(square_plus, [(1,)], scheduler="tcp://127.0.0.1:8786")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"jobs": 0}, "jobs must be at least 1"), ({"retries": -1}, "retries must be 0 or more"),
     ({"jobs": 2, "scheduler": "tcp://x:1"}, "jobs applies to local runs only")],
)  # fmt: skip
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        cluster.run_tasks(square_plus, [(1,)], **options)
