"""Run independent tasks here (in-process or joblib workers) or on a Dask cluster.

A study is a list of independent training tasks (one per model and seed). This
module runs such a list three ways, with one interface, :func:`run_tasks`:

- ``jobs=1``: one after the other in this process (progress bars stay visible);
- ``jobs=N``: in N local worker processes (joblib's loky backend), each limited to
  one BLAS and one Numba thread, as ``--jobs N`` does;
- ``scheduler="tcp://HOST:8786"``: on an existing Dask cluster
  (``dask.distributed``, the optional extra ``pip install -e '.[cluster]'``).

Whatever the way, every result comes back to the calling process, which alone
writes the run folder: :func:`run_tasks` yields ``(index, result)`` as soon as each
task is done, so the caller can record it at once, and a worker that dies loses
only the task it was running. On a cluster such a lost task is started again:
the scheduler itself re-runs a task whose worker died (up to its
``distributed.scheduler.allowed-failures``, 3 by default) and, if it then gives
up, :func:`run_tasks` submits it again up to ``retries`` more times. An exception
raised *by the task* is not retried (training is deterministic: it would fail
again); it propagates to the caller as it is.

Every task runs with **one BLAS thread**, wherever it runs. OpenBLAS's matrix
products give slightly different float32 sums with a different number of threads
(a 1-epoch ``nn`` on the 8x8 digits: training loss 1.7364067229 with 2 threads,
1.7364067530 with 1), so this is what makes a task's result the same in this
process, in a local worker and on a cluster worker of the same kind of machine.
The price is that one task uses one core for its matrix products: run several
tasks at once (``jobs``, or more workers) to use the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_limits

#: Seconds to wait for the Dask scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 10.0
NOT_INSTALLED = (
    "running on a Dask cluster needs dask.distributed: install it with pip install -e '.[cluster]'"
)


class ClusterError(RuntimeError):
    """The cluster cannot be used: Dask missing, scheduler unreachable, a task lost too often.

    The message is one line, fit for a command's ``error: ...``.
    """


def _call(function: Callable, index: int, args: tuple, shared: Mapping[str, Any]):
    """``function(*args, **shared)`` with one BLAS thread, tagged with the task's index."""
    with threadpool_limits(limits=1):
        return index, function(*args, **shared)


def run_tasks(
    function: Callable,
    tasks: Sequence[tuple],
    shared: Mapping[str, Any] | None = None,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    retries: int = 2,
    connect_timeout: float = CONNECT_TIMEOUT_S,
) -> Iterator[tuple[int, Any]]:
    """Run ``function(*task, **shared)`` for every task; yield results as they finish.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled by reference, so on a cluster the
        workers must be able to import it: same project installed there).
    tasks : sequence of tuple
        The positional arguments of each call, e.g. ``[("cnn", 42), ("cnn", 43)]``.
    shared : mapping, optional
        Keyword arguments common to every call, e.g. the data set. On a cluster they
        are sent to every worker once (``Client.scatter(broadcast=True)``), not once
        per task.
    jobs : int
        Local worker processes; 1 runs the tasks one after the other in this process.
        Must be 1 when ``scheduler`` is given (the cluster's workers decide).
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    retries : int
        On a cluster, how many times a task whose workers kept dying is submitted
        again after the scheduler gave up on it.
    connect_timeout : float
        Seconds to wait for the scheduler.

    Yields
    ------
    (int, object)
        The index of the task in ``tasks`` and what ``function`` returned, in the
        order the tasks finish (the order of ``tasks`` when ``jobs=1``).

    Raises
    ------
    ValueError
        For ``jobs < 1``, ``retries < 0``, or ``jobs > 1`` together with a scheduler.
    ClusterError
        At once if Dask is not installed or the scheduler does not answer within
        ``connect_timeout``; while iterating, if a task was lost more than
        ``retries`` times.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if retries < 0:
        raise ValueError(f"retries must be 0 or more, got {retries}")
    tasks, shared = [tuple(task) for task in tasks], dict(shared or {})
    if scheduler is not None:
        if jobs != 1:
            raise ValueError("jobs applies to local runs only: leave it at 1 with a scheduler")
        client = connect(scheduler, connect_timeout)
        return _on_cluster(client, function, tasks, shared, retries)
    return _locally(function, tasks, shared, jobs)


def _locally(
    function: Callable, tasks: list[tuple], shared: dict, jobs: int
) -> Iterator[tuple[int, Any]]:
    if jobs == 1 or len(tasks) <= 1:
        for index, args in enumerate(tasks):
            yield _call(function, index, args, shared)
        return
    # inner_max_num_threads=1 sets OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=1 in the workers
    # before they import anything: N processes x 1 thread, no oversubscription.
    with parallel_config(backend="loky", inner_max_num_threads=1):
        parallel = Parallel(n_jobs=min(jobs, len(tasks)), return_as="generator_unordered")
        yield from parallel(
            delayed(_call)(function, index, args, shared) for index, args in enumerate(tasks)
        )


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A ``dask.distributed.Client`` connected to the scheduler at ``address``.

    Raises
    ------
    ClusterError
        If Dask is not installed, or the scheduler does not answer within ``timeout``
        seconds (or ``address`` is not an address).
    """
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(NOT_INSTALLED) from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({reason}); "
            "is `dask scheduler` running there, and the port open?"
        ) from None


def _on_cluster(
    client, function: Callable, tasks: list[tuple], shared: dict, retries: int
) -> Iterator[tuple[int, Any]]:
    from distributed import KilledWorker, as_completed
    from distributed.client import FutureCancelledError

    index_of = {}  # future key -> task index

    def submit(index: int, shared_on_workers):
        # pure=False: a fresh key each time, so a resubmitted task really runs again
        future = client.submit(_call, function, index, tasks[index], shared_on_workers,
                               pure=False)  # fmt: skip
        index_of[future.key] = index
        return future

    with client:  # closing the client (also when the caller stops early) cancels the rest
        [shared_on_workers] = client.scatter([shared], broadcast=True, hash=False)
        lost = [0] * len(tasks)
        running = as_completed(
            [submit(index, shared_on_workers) for index in range(len(tasks))], loop=client.loop
        )
        for future in running:
            try:
                result = future.result()
            except (KilledWorker, FutureCancelledError):
                # Its worker died, or took with it the last copy of the shared arguments
                # ("lost dependencies"): send them again, and the task.
                index = index_of[future.key]
                lost[index] += 1
                if lost[index] > retries:
                    raise ClusterError(
                        f"task {index} {tasks[index]} was lost {lost[index]} times "
                        f"(its workers died); gave up after {retries} retries"
                    ) from None
                [shared_on_workers] = client.scatter([shared], broadcast=True, hash=False)
                running.add(submit(index, shared_on_workers))
                continue
            yield result
