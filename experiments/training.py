"""Train one zoo model and measure it; train several, in parallel processes if asked.

:func:`train_model` is the whole life of one model: build, fit, evaluate on the
test set, compute the metrics, save the weights. It returns a JSON-able dict, the
model's entry in ``results.json``. It runs either in the main process (``--jobs 1``,
with a progress bar per epoch) or in a joblib worker process (``--jobs N``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_limits

from experiments import metrics, store, zoo
from experiments.data import Data
from experiments.store import MODELS
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


def train_model(name: str, data: Data, run_protocol: dict, out: Path, verbose: int = 1) -> dict:
    """Build, train, evaluate and save zoo model ``name``; return its results entry.

    Parameters
    ----------
    name : str
        A zoo name.
    data : Data
        The run's arrays.
    run_protocol : dict
        From :func:`protocol`.
    out : Path
        The run's output folder; the weights go to ``out/models/<name>.npz``.
    verbose : int
        1 shows a progress bar per epoch, 0 nothing.

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
        misclassified test images), ``model_file`` and ``finished`` (UTC time).
    """
    seed = run_protocol["seed"]
    model = zoo.build(name, data.input_shape, data.n_classes, seed)
    summary: list[str] = []
    model.summary(print_fn=summary.append)
    history = model.fit(
        data.x_train,
        data.y_train,
        epochs=run_protocol["epochs"],
        batch_size=run_protocol["batch_size"],
        optimizer=Adam(**ADAM),
        validation_data=(data.x_val, data.y_val),
        verbose=verbose,
    ).history

    start = time.perf_counter()
    test_loss, test_accuracy = model.evaluate(data.x_test, data.y_test)
    probabilities = model.predict(data.x_test)
    eval_time = time.perf_counter() - start

    model_file = Path(MODELS) / f"{name}.npz"
    (out / MODELS).mkdir(exist_ok=True)
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
    }


def _train_in_worker(name: str, data: Data, run_protocol: dict, out: Path) -> dict:
    """:func:`train_model` in a joblib worker: one BLAS thread, no progress bar."""
    with threadpool_limits(limits=1):
        return train_model(name, data, run_protocol, out, verbose=0)


def train_models(
    names: list[str],
    data: Data,
    run_protocol: dict,
    out: Path,
    jobs: int = 1,
) -> Iterator[dict]:
    """Train ``names`` and yield each result entry as soon as its model is done.

    With ``jobs > 1`` the models train in ``jobs`` worker processes (joblib's loky
    backend), each limited to one BLAS and one Numba thread; entries then arrive in
    the order the models finish. The caller should save each entry as it arrives,
    so that stopping the run loses only the models still in training.
    """
    if jobs == 1 or len(names) == 1:
        for i, name in enumerate(names, 1):
            print(f"[{i}/{len(names)}] training {name}")
            yield train_model(name, data, run_protocol, out, verbose=1)
        return
    jobs = min(jobs, len(names))
    print(f"training {len(names)} models in {jobs} processes: {', '.join(names)}")
    # inner_max_num_threads=1 sets OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=1 in the workers
    # before they import anything.
    with parallel_config(backend="loky", inner_max_num_threads=1):
        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
        yield from parallel(
            delayed(_train_in_worker)(name, data, run_protocol, out) for name in names
        )


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
