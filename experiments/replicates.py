"""Where ``results.json`` keeps the replicates of a model: one trained copy per seed.

A run with ``--seeds`` trains every model once per seed. The replicate of the
run's own seed (``protocol["seed"]``, the seed of the split) stays where a
single-seed run puts it, ``results["models"][name]``, so every single-run table,
figure and decision reads it unchanged. The other seeds' entries, the same kind of
dict, go to ``results["replicates"][name][str(seed)]`` (JSON keys are strings).
A single-seed run has no ``replicates`` at all, so its file is exactly as before.

Each replicate's ``config["seed"]`` is its own seed: the resume key of a
(model, seed) pair, so a longer ``--seeds`` trains only the seeds not done yet.
"""

from __future__ import annotations

from pathlib import Path

from experiments.store import MODELS

REPLICATES = "replicates"


def primary_seed(results: dict) -> int:
    """The run's own seed, whose replicate is ``results["models"][name]``."""
    return results["protocol"]["seed"]


def entry(results: dict, name: str, seed: int) -> dict | None:
    """The replicate of model ``name`` with ``seed``, or None if it was not trained."""
    if seed == primary_seed(results):
        return results["models"].get(name)
    return results.get(REPLICATES, {}).get(name, {}).get(str(seed))


def put(results: dict, name: str, seed: int, replicate: dict) -> None:
    """Record ``replicate`` as model ``name``'s entry for ``seed``."""
    if seed == primary_seed(results):
        results["models"][name] = replicate
    else:
        results.setdefault(REPLICATES, {}).setdefault(name, {})[str(seed)] = replicate


def forget(results: dict, name: str) -> None:
    """Drop every replicate of model ``name`` (e.g. a dropout variant no longer chosen)."""
    results["models"].pop(name, None)
    results.get(REPLICATES, {}).pop(name, None)


def runs(results: dict, name: str) -> dict[int, dict]:
    """Every trained replicate of model ``name``, by seed, in seed order."""
    found = {int(seed): e for seed, e in results.get(REPLICATES, {}).get(name, {}).items()}
    if name in results["models"]:
        found[primary_seed(results)] = results["models"][name]
    return dict(sorted(found.items()))


def seeds(results: dict) -> list[int]:
    """Every seed with at least one trained replicate, in order."""
    found = {seed for name in results["models"] for seed in runs(results, name)}
    for name in results.get(REPLICATES, {}):
        found.update(runs(results, name))
    return sorted(found)


def model_file(name: str, seed: int, primary: int) -> Path:
    """Where a replicate's weights go, relative to the run folder.

    ``models/<name>.npz`` for the run's own seed (as a single-seed run), else
    ``models/<name>-seed<seed>.npz``.
    """
    return Path(MODELS) / (f"{name}.npz" if seed == primary else f"{name}-seed{seed}.npz")
