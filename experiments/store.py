"""What a run keeps on disk, and how: every file is written atomically.

An output folder holds::

    results.json      everything measured (see README); rewritten after each model
    samples.npz       the few test images the figures show (see below)
    models/<name>.npz the trained weights, tinynet's save format
    figures/*.png     the figures, regenerated from results.json + samples.npz
    report.md         the report, likewise

Atomic writing = write a temporary file in the same folder, then ``os.replace``
it over the target: a reader (or a run killed with ``kill -9``) sees the old file
or the new one, never half of one.

``samples.npz`` exists so the report never needs the dataset: it holds, for the
test images the figures show (the first one, and each model's most confident
mistakes), ``index`` (position in the run's test set, int64 ``(K,)``) and
``images`` (uint8 ``(K, H, W)``, as loaded).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tinynet.files import atomic_write

RESULTS = "results.json"
SAMPLES = "samples.npz"
MODELS = "models"
FIGURES = "figures"
REPORT = "report.md"
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
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a readable results file: {error}") from None
    if not isinstance(results, dict) or results.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} is not a results file of format version {FORMAT_VERSION}; "
            "use --fresh to start over"
        )
    return results


def save_results(out: Path, results: dict) -> None:
    """Write ``results`` to ``out/results.json`` atomically."""
    write_text(Path(out) / RESULTS, json.dumps(results, indent=1) + "\n")


def is_done(results: dict, name: str, config: dict, out: Path) -> bool:
    """True if model ``name`` was trained with exactly ``config`` and its weights exist."""
    entry = results["models"].get(name)
    return (
        entry is not None
        and entry.get("config") == config
        and (Path(out) / entry["model_file"]).is_file()
    )


def load_samples(out: Path) -> dict[int, np.ndarray]:
    """The images in ``out/samples.npz``, by test-set index (empty if there is no file)."""
    path = Path(out) / SAMPLES
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as archive:
        return dict(zip(archive["index"].tolist(), archive["images"], strict=True))


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


def clear(out: Path) -> None:
    """Delete what a previous run wrote in ``out`` (for ``--fresh``); nothing else."""
    out = Path(out)
    for path in [out / RESULTS, out / SAMPLES, out / REPORT]:
        path.unlink(missing_ok=True)
    for folder, pattern in ((out / MODELS, "*.npz"), (out / FIGURES, "*.png")):
        for path in folder.glob(pattern):
            path.unlink()
