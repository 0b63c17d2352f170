"""Saving and loading models: one ``.npz`` file, architecture as JSON plus weights.

The file holds an array ``config`` (the model's ``get_config()`` as a JSON
string) and one array per parameter, named ``"<layer index>/<param name>"``. It
is read with ``allow_pickle=False``, so loading a file never runs code.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from tinynet.files import atomic_write

FORMAT = "tinynet-sequential"
VERSION = 1


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    config = dict(model.get_config(), format=FORMAT, version=VERSION)
    arrays = {"config": np.array(json.dumps(config))}
    for i, layer in enumerate(model.layers):
        for key, value in layer.params.items():
            arrays[f"{i}/{key}"] = value
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ValueError(f"cannot save model to {path}: folder {directory} does not exist")
    atomic_write(path, lambda handle: np.savez(handle, **arrays))


def load_model(path):
    """Rebuild the model saved at ``path``; raises ``ValueError`` for anything else."""
    from tinynet.layers import LAYERS
    from tinynet.model import Sequential

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no model file at {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        config = json.loads(str(arrays.pop("config")))
        if config.get("format") != FORMAT:
            raise ValueError("it has no tinynet model header")
        if config.get("version") != VERSION:
            raise ValueError(f"format version {config.get('version')} is not {VERSION}")
        layers = []
        for spec in config["layers"]:
            if spec["class"] not in LAYERS:
                raise ValueError(f"unknown layer class {spec['class']!r}")
            layers.append(LAYERS[spec["class"]].from_config(spec["config"]))
        model = Sequential(
            layers, tuple(config["input_shape"]), seed=config["seed"], dtype=config["dtype"]
        )
    except (OSError, EOFError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a readable tinynet model file: {error}") from error
    for i, layer in enumerate(model.layers):
        for key, param in layer.params.items():
            name = f"{i}/{key}"
            if name not in arrays or arrays[name].shape != param.shape:
                found = arrays[name].shape if name in arrays else "nothing"
                raise ValueError(
                    f"{path} is not a consistent tinynet model file: layer {layer.name!r} "
                    f"parameter {key!r} should have shape {param.shape}, found {found}"
                )
            param[...] = arrays.pop(name)
    if arrays:
        raise ValueError(
            f"{path} has unexpected arrays {sorted(arrays)}; it was not saved by tinynet"
        )
    return model
