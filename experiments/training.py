"""Train one zoo model and measure it; train several, in parallel processes if asked.

:func:`train_model` is the whole life of one model: build, fit, evaluate on the
test set, compute the metrics, save the weights. It returns a JSON-able dict, the
model's entry in ``results.json``. It runs either in the main process (``--jobs 1``,
with a progress bar per epoch), or in a worker (``--jobs N`` local processes, or a
Dask cluster with ``--scheduler``) through :func:`experiments.cluster.run_tasks`.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from experiments import cluster, metrics, store, zoo
from experiments.data import Data
from experiments.store import MODELS
from tinynet.files import atomic_write
from tinynet.optimizers import Adam

#: Training settings of both studies (study B's protocol, Keras' Adam defaults).
ADAM = {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
#: How many misclassified test images each model keeps for the figures.
MISTAKES_KEPT = 25


def protocol(data: Data, epochs: int, batch_size: int, seed: int) -> dict:
    """Everything about a run that decides its results, except the architectures.

    Two runs with the same protocol (and architecture) train the same model, so a
    result is reused on resume only if its protocol matches.
    """
    info = data.info
    return {
        "dataset": {
            key: info[key]
            for key in ("name", "image_shape", "n_train", "n_validation", "n_test", "quick")
        },
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "optimizer": {"name": "Adam", **ADAM},
        "loss": "softmax cross-entropy",
        "dtype": "float32",
    }


def model_config(name: str, data: Data, run_protocol: dict) -> dict:
    """The configuration of model ``name`` in a run: its layers plus the protocol.

    This is the resume key: a model in ``results.json`` with an equal configuration
    is not trained again.
    """
    model = zoo.build(name, data.input_shape, data.n_classes, run_protocol["seed"])
    config = {"model": name, "layers": model.get_config()["layers"], **run_protocol}
    return json.loads(json.dumps(config))  # as it will read back from results.json


def train_model(
    name: str,
    data: Data,
    run_protocol: dict,
    out: Path,
    verbose: int = 1,
    model_file: Path | None = None,
    backup: Path | None = None,
) -> dict:
    """Build, train, evaluate and save zoo model ``name``; return its results entry.

    Parameters
    ----------
    name : str
        A zoo name.
    data : Data
        The run's arrays.
    run_protocol : dict
        From :func:`protocol`; its ``seed`` seeds the initial weights, dropout and
        shuffling (a replicate's own seed, see :func:`replicate_protocol`).
    out : Path
        The run's output folder.
    verbose : int
        1 shows a progress bar per epoch, 0 nothing.
    model_file : Path, optional
        Where the weights go, relative to ``out`` (default ``models/<name>.npz``).
    backup : Path, optional
        The training's backup file (``fit(backup=...)``): saved after each epoch,
        resumed from if it exists, deleted at the end.

    Returns
    -------
    dict
        ``name``, ``config``, ``n_params``, ``summary`` (the model summary text),
        ``history`` (per epoch: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
        ``epoch_time``), ``train_time_s`` (sum of the epoch times, each including
        the validation pass), ``eval_time_s`` (test-set evaluation and prediction),
        ``train``/``validation``/``test`` (``{"loss", "accuracy"}``; train and
        validation from the last epoch), ``metrics`` (see
        :func:`experiments.metrics.classification_metrics`), ``first_test``
        (``{"index": 0, "true", "probabilities"}``), ``mistakes`` (the most confident
        misclassified test images), ``model_file``, ``finished`` (UTC time), and
        ``predictions``, the predicted class of every test image (an int16 array, not
        JSON: the caller stores it apart, see :func:`experiments.store.add_predictions`).
    """
    seed = run_protocol["seed"]
    model = zoo.build(name, data.input_shape, data.n_classes, seed)
    summary: list[str] = []
    model.summary(print_fn=summary.append)
    if backup is not None:
        backup.parent.mkdir(exist_ok=True)
    history = model.fit(
        data.x_train,
        data.y_train,
        epochs=run_protocol["epochs"],
        batch_size=run_protocol["batch_size"],
        optimizer=Adam(**ADAM),
        validation_data=(data.x_val, data.y_val),
        verbose=verbose,
        backup=backup,
    ).history

    start = time.perf_counter()
    test_loss, test_accuracy = model.evaluate(data.x_test, data.y_test)
    probabilities = model.predict(data.x_test)
    eval_time = time.perf_counter() - start

    model_file = Path(MODELS) / f"{name}.npz" if model_file is None else Path(model_file)
    (out / model_file.parent).mkdir(exist_ok=True)
    model.save(out / model_file)
    return {
        "name": name,
        "config": model_config(name, data, run_protocol),
        "n_params": model.n_params,
        "summary": "\n".join(summary),
        "history": history,
        "train_time_s": float(sum(history["epoch_time"])),
        "eval_time_s": eval_time,
        "train": {"loss": history["loss"][-1], "accuracy": history["accuracy"][-1]},
        "validation": {"loss": history["val_loss"][-1], "accuracy": history["val_accuracy"][-1]},
        "test": {"loss": float(test_loss), "accuracy": float(test_accuracy)},
        "metrics": metrics.classification_metrics(
            data.y_test, probabilities.argmax(axis=1), data.n_classes
        ),
        "first_test": {
            "index": 0,
            "true": int(data.y_test[0]),
            "probabilities": [float(p) for p in probabilities[0]],
        },
        "mistakes": metrics.most_confident_mistakes(data.y_test, probabilities, MISTAKES_KEPT),
        "model_file": str(model_file),
        "finished": store.now(),
        "predictions": probabilities.argmax(axis=1).astype(np.int16),
    }


def replicate_protocol(run_protocol: dict, seed: int) -> dict:
    """The protocol of one replicate: the run's, with ``seed`` for weights, dropout, shuffling."""
    return {**run_protocol, "seed": seed}


@dataclass(frozen=True)
class Task:
    """One model to train: zoo ``name`` with ``run_protocol`` (from :func:`replicate_protocol`),
    on the data split with ``split_seed``, its weights to ``model_file`` (relative to the run
    folder), its training backed up after each epoch to ``backup`` (an absolute path; None
    on a cluster, whose workers may not see the run folder)."""

    name: str
    run_protocol: dict
    model_file: Path
    split_seed: int
    backup: Path | None = None

    def __str__(self) -> str:
        return f"{self.name} (seed {self.run_protocol['seed']})"


def _train_elsewhere(task: Task, datasets: dict[int, Data]) -> dict:
    """:func:`train_model` in a worker (local or on a cluster), without the run folder.

    The worker may not see the run folder (another machine), and only the calling
    process writes there: the weights are saved to a temporary folder and returned,
    as bytes, under ``weights``.
    """
    with tempfile.TemporaryDirectory(prefix="tinynet-task-") as folder:
        entry = train_model(task.name, datasets[task.split_seed], task.run_protocol, Path(folder),
                            verbose=0, model_file=task.model_file, backup=task.backup)  # fmt: skip
        entry["weights"] = (Path(folder) / task.model_file).read_bytes()
    return entry


def train_models(
    tasks: list[Task],
    datasets: dict[int, Data],
    out: Path,
    jobs: int = 1,
    scheduler: str | None = None,
) -> Iterator[dict]:
    """Train ``tasks`` and yield each result entry as soon as its model is done.

    ``datasets`` holds the data of each task's ``split_seed``. With ``jobs=1`` and no
    scheduler the models train here, one after the other, with a progress bar. With
    ``jobs > 1`` they train in ``jobs`` local worker processes, with ``scheduler`` on
    a Dask cluster (:func:`experiments.cluster.run_tasks`, one BLAS thread per task);
    entries then arrive in the order the models finish, and their weights come back
    with them and are written here, by this process. The caller should save each entry
    as it arrives, so that stopping the run loses only the models still in training.
    """
    if jobs == 1 and scheduler is None:
        for i, task in enumerate(tasks, 1):
            print(f"[{i}/{len(tasks)}] training {task}")
            yield train_model(task.name, datasets[task.split_seed], task.run_protocol, out,
                              model_file=task.model_file, backup=task.backup)  # fmt: skip
        return
    where = f"on the Dask cluster at {scheduler}" if scheduler else f"in {jobs} processes"
    print(f"training {len(tasks)} models {where}: {', '.join(map(str, tasks))}")
    finished = cluster.run_tasks(
        _train_elsewhere, [(task,) for task in tasks], {"datasets": datasets},
        jobs=jobs, scheduler=scheduler,
    )  # fmt: skip
    for index, entry in finished:
        weights, path = entry.pop("weights"), out / tasks[index].model_file
        path.parent.mkdir(exist_ok=True)
        atomic_write(path, partial(_write_bytes, weights))
        yield entry


def _write_bytes(data: bytes, handle) -> None:
    handle.write(data)


def library_versions() -> dict:
    """Versions of the libraries that produced a result."""
    import platform

    import numba
    import sklearn

    import tinynet
    from tinynet import kernels

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scikit-learn": sklearn.__version__,
        "tinynet": tinynet.__version__,
        "tinynet_kernels": kernels.BACKEND,
    }
