"""What a run keeps on disk, and how: every file is written atomically.

An output folder holds::

    results.json      everything measured (see README); rewritten after each model
    samples.npz       the few test images the figures show (see below)
    predictions.npz   every model's predicted class per test image, per seed (see below)
    models/<name>.npz the trained weights, tinynet's save format
    backups/<name>.npz a model in training, saved after each epoch (tinynet.backup);
                      deleted when its training ends
    figures/*.png     the figures, regenerated from results.json + samples.npz
    report.md         the report, likewise
    .lock, .lock.pid  held by the process using the folder, and its process id

Atomic writing = write a temporary file in the same folder, then ``os.replace``
it over the target: a reader (or a run killed with ``kill -9``) sees the old file
or the new one, never half of one. A process killed while writing leaves its
temporary file (``.<name>.<random>.tmp``); the next run removes it.

One process at a time uses a folder: a run (or a report) holds the folder's lock
(:func:`lock`) from start to end, so results.json has a single writer and its copy
in memory, read under the lock, is never stale. The lock is the operating system's
(``filelock``): it ends with the process, however it ends, so a killed run's lock
is simply taken by the next one.

Every read is checked (:mod:`experiments.schema`): a file that is not what the
commands expect is a ``ValueError`` naming the file and the field.

``samples.npz`` exists so the report never needs the dataset: it holds, for the
test images the figures show (the first one, and each model's most confident
mistakes), ``index`` (position in the run's test set, int64 ``(K,)``) and
``images`` (uint8 ``(K, H, W)``, as loaded).

``predictions.npz`` holds, per model and seed, ``<name>@<seed>``: the predicted
class of every test image (int16 ``(N,)``), and ``labels@<seed>``: the true classes
of that seed's test set. Paired tests (McNemar) compare two models on them.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from experiments import schema
from tinynet import Sequential
from tinynet.files import TMP_SUFFIX, atomic_write

RESULTS = "results.json"
SAMPLES = "samples.npz"
PREDICTIONS = "predictions.npz"
MODELS = "models"
BACKUPS = "backups"
FIGURES = "figures"
REPORT = "report.md"
LOCK = ".lock"
LOCK_PID = ".lock.pid"
#: Seconds a run that finds the folder locked waits for the holder's process number: the
#: holder writes LOCK_PID just after taking the lock.
HOLDER_WAIT = 2.0
#: Version of the results.json layout.
FORMAT_VERSION = 1

def now() -> str:
    """The current UTC time, as results.json records it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def load_results(out: Path) -> dict | None:
    """The results in ``out/results.json``, or None if there are none yet.

    Raises
    ------
    ValueError
        If the file exists but is not a results file of this version.
    """
    path = Path(out) / RESULTS
    if not path.is_file():
        return None
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path} is not a readable results file: {error}") from None
    if not isinstance(results, dict) or results.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} is not a results file of format version {FORMAT_VERSION}; "
            "use --fresh to start over"
        )
    try:
        schema.check_results(results, path)
    except ValueError as error:
        raise ValueError(f"{error}; fix it, or use --fresh to start over") from None
    return results


def save_results(out: Path, results: dict) -> None:
    """Write ``results`` to ``out/results.json`` atomically."""
    write_text(Path(out) / RESULTS, json.dumps(results, indent=1) + "\n")


def model_file_problem(out: Path, entry: dict) -> str | None:
    """Why the weights a results entry points to cannot be reused, or None if they can.

    They must be a file inside ``out`` (``model_file`` is relative to it) that
    ``Sequential.load`` reads.
    """
    out = Path(out).resolve()
    try:
        path = (out / entry["model_file"]).resolve()
        if not path.is_relative_to(out):
            return f"its model_file {entry['model_file']!r} is outside {out}"
        Sequential.load(path)
    except ValueError as error:  # Sequential.load's, or a path with a NUL character
        return str(error)
    return None


def is_done(entry: dict | None, config: dict, out: Path) -> bool:
    """True if results ``entry`` was trained with exactly ``config`` and its weights load."""
    return (
        entry is not None
        and entry["config"] == config
        and model_file_problem(out, entry) is None
    )


def load_samples(out: Path) -> dict[int, np.ndarray]:
    """The images in ``out/samples.npz``, by test-set index (empty if there is no file).

    Raises
    ------
    ValueError
        If the file is not a samples file (see :func:`experiments.schema.check_samples`).
    """
    path = Path(out) / SAMPLES
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            index, images = archive["index"], archive["images"]
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile):
        # np.load's own message on a foreign file suggests allow_pickle: not an option here
        raise ValueError(
            f"{path} is not a samples file (an .npz archive of 'index' and 'images'); "
            "use --fresh to start over"
        ) from None
    schema.check_samples(index, images, path)
    return dict(zip(index.tolist(), images, strict=True))


def add_samples(out: Path, indices: list[int], test_images: np.ndarray) -> None:
    """Add the test images at ``indices`` to ``out/samples.npz`` (atomically)."""
    samples = load_samples(out)
    for i in indices:
        samples[int(i)] = test_images[i]
    index = np.array(sorted(samples), dtype=np.int64)
    images = np.stack([samples[i] for i in index])
    atomic_write(
        Path(out) / SAMPLES, lambda handle: np.savez(handle, index=index, images=images)
    )


def load_predictions(out: Path) -> dict[str, np.ndarray]:
    """The arrays of ``out/predictions.npz`` by key (empty if there is no file).

    Raises
    ------
    ValueError
        If the file is not an archive of 1-d integer arrays.
    """
    path = Path(out) / PREDICTIONS
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        arrays = None
    if arrays is None or any(a.ndim != 1 or a.dtype.kind not in "iu" for a in arrays.values()):
        raise ValueError(
            f"{path} is not a predictions file (an .npz archive of 1-d integer arrays); "
            "use --fresh to start over"
        )
    return arrays


def add_predictions(
    out: Path, name: str, seed: int, predictions: np.ndarray, labels: np.ndarray
) -> None:
    """Record model ``name``'s test predictions for ``seed`` in ``out/predictions.npz``."""
    arrays = load_predictions(out)
    arrays[f"{name}@{seed}"] = np.asarray(predictions, dtype=np.int16)
    arrays[f"labels@{seed}"] = np.asarray(labels, dtype=np.int16)
    atomic_write(Path(out) / PREDICTIONS, lambda handle: np.savez(handle, **arrays))


def remove_temporaries(out: Path) -> None:
    """Delete the temporary files that killed processes left in ``out`` (hold the lock)."""
    out = Path(out)
    for folder in (out, out / MODELS, out / BACKUPS, out / FIGURES):
        for path in folder.glob(f".*{TMP_SUFFIX}"):
            path.unlink(missing_ok=True)


def clear(out: Path) -> None:
    """Delete what a previous run wrote in ``out`` (for ``--fresh``); nothing else."""
    out = Path(out)
    for path in [out / RESULTS, out / SAMPLES, out / PREDICTIONS, out / REPORT]:
        path.unlink(missing_ok=True)
    for folder, pattern in ((MODELS, "*.npz"), (BACKUPS, "*.npz"), (FIGURES, "*.png")):
        for path in (out / folder).glob(pattern):
            path.unlink()
    remove_temporaries(out)


def lock(out: Path) -> FileLock:
    """Take the folder ``out`` for this process, or fail at once if another has it.

    Returns
    -------
    filelock.FileLock
        Held until released (``with lock(out): ...``, or ``.release()``) or until
        the process ends.

    Raises
    ------
    ValueError
        ``<out> is in use by process N``: another live process holds the lock.
    """
    out = Path(out)
    folder_lock = FileLock(out / LOCK, blocking=False)
    try:
        folder_lock.acquire()
    except Timeout:
        raise ValueError(
            f"{out} is in use by {_lock_holder(out)}; wait for it to finish, or choose another "
            "folder"
        ) from None
    write_text(out / LOCK_PID, f"{os.getpid()}\n")
    return folder_lock


def _lock_holder(out: Path) -> str:
    """``process N`` from the holder's LOCK_PID, waiting up to HOLDER_WAIT seconds for it
    (two runs started together: the loser can look before the winner wrote it)."""
    deadline = time.monotonic() + HOLDER_WAIT
    while True:
        try:
            return f"process {int((out / LOCK_PID).read_text())}"
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                return "another process"
            time.sleep(0.05)
