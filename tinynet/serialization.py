"""Model files: one ``.npz`` archive, the architecture as JSON plus the weights.

A model file is a zip archive (NumPy's ``.npz``) of ``.npy`` arrays: ``config``,
the model's ``get_config()`` as a JSON string, and one array per parameter, named
``"<layer index>/<param name>"`` (see :func:`parameter_name`).

Reading trusts nothing in the file. :func:`read_model_file` checks all of it
before it reads a single weight: the sizes in the zip directory against the
file's real size, each ``.npy`` header (dtype, shape, declared size), the
config's structure, every layer's arguments, and the parameter shapes the config
implies against the arrays actually present. A layer is built (to learn the
next layer's input shape) only once its parameters have been found in the file,
so a small file can never make it allocate a big model. No file ever runs code
(there is no pickle anywhere), and every problem is a ``ValueError`` naming the
file. This module knows layers and arrays, not
``Sequential``: ``tinynet.model`` imports it, never the other way round.
"""

from __future__ import annotations

import json
import numbers
import re
import reprlib
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from tinynet.files import atomic_write
from tinynet.layers import LAYERS, Layer

FORMAT = "tinynet-sequential"
VERSION = 1

#: Longest config accepted, in characters (a real one is a few hundred).
MAX_CONFIG_CHARS = 1_000_000
#: The arrays may declare at most this many times the file's size, plus
#: :data:`SLACK_BYTES` (zip-bomb cap). ``save`` stores arrays uncompressed, so a
#: tinynet file is at 1; the slack lets a compressed file hold a few zero arrays.
MAX_EXPANSION = 20
SLACK_BYTES = 1 << 20

#: Parameter shapes a layer will allocate for a per-sample input shape, computed
#: from its arguments alone, so that a file is checked before anything is allocated.
#: Every class in ``tinynet.layers.LAYERS`` needs an entry (the tests check it).
PARAMETER_SHAPES = {
    "Dense": lambda layer, shape: {"W": (shape[-1], layer.units), "b": (layer.units,)},
    "Conv2D": lambda layer, shape: {
        "W": (*layer.kernel_size, shape[-1], layer.filters),
        "b": (layer.filters,),
    },
    "Dropout": lambda layer, shape: {},
    "Flatten": lambda layer, shape: {},
    "MaxPool2D": lambda layer, shape: {},
    "ReLU": lambda layer, shape: {},
    "Softmax": lambda layer, shape: {},
}

_CONFIG_KEYS = {"format", "version", "input_shape", "dtype", "seed", "layers"}
_PARAMETER_NAME = re.compile(r"(\d+)/(\w+)")


@dataclass
class SavedModel:
    """What a model file holds, checked: everything ``Sequential`` needs to rebuild it.

    ``layers`` are new (unbuilt) layers made from the config; ``weights`` maps
    :func:`parameter_name` to the array saved for it.
    """

    layers: list[Layer]
    input_shape: tuple[int, ...]
    seed: int | None
    dtype: str
    weights: dict[str, np.ndarray]


def parameter_name(layer_index: int, key: str) -> str:
    """The name of a layer's parameter in a model file, e.g. ``"1/W"``."""
    return f"{layer_index}/{key}"


def write_model_file(path, config: dict, weights: dict[str, np.ndarray]) -> None:
    """Write ``config`` (a model's ``get_config()``) and ``weights`` to ``path`` atomically."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ValueError(f"cannot save model to {path}: folder {directory} does not exist")
    header = json.dumps(dict(config, format=FORMAT, version=VERSION))
    arrays = {"config": np.array(header), **weights}
    atomic_write(path, lambda handle: np.savez(handle, **arrays))


def read_model_file(path) -> SavedModel:
    """Read and check the model file at ``path``.

    Raises
    ------
    ValueError
        If ``path`` is missing or is not a valid tinynet model file; the message
        names the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no model file at {path}")
    try:
        return _read(path)
    except (
        ValueError,  # our own checks, layer arguments, bad JSON, bad .npy headers
        OSError,  # includes truncated reads
        EOFError,
        RecursionError,  # JSON nested too deeply for the parser
        NotImplementedError,  # a zip compression method Python does not have
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
    ) as error:
        problem = error
        if isinstance(error, zipfile.BadZipFile):
            problem = f"damaged zip archive ({error})"
        elif isinstance(error, RecursionError):
            problem = "its config is nested too deeply"
        raise ValueError(f"{path} is not a valid tinynet model file: {problem}") from None


def _read(path: Path) -> SavedModel:
    if not zipfile.is_zipfile(path):
        raise ValueError("not a zip archive")
    with zipfile.ZipFile(path) as archive:
        _check_sizes(archive.infolist(), path.stat().st_size)
        headers = _array_headers(archive)
        if "config" not in headers:
            raise ValueError("it has no 'config' array, so it was not saved by tinynet")
        shape, dtype = headers.pop("config")
        if dtype.kind != "U" or shape != () or dtype.itemsize // 4 > MAX_CONFIG_CHARS:
            raise ValueError(f"its 'config' is not a JSON string (dtype {dtype}, shape {shape})")
        config = _check_config(json.loads(str(_read_array(archive, "config"))))
        dtype_name, input_shape = config["dtype"], tuple(config["input_shape"])
        layers = [_make_layer(i, spec) for i, spec in enumerate(config["layers"])]
        _check_parameter_shapes(layers, input_shape, dtype_name, headers)
        weights = {name: _read_array(archive, name) for name in headers}
    for name, value in weights.items():
        with np.errstate(over="ignore"):  # float64 too big for float32 becomes inf: refused
            weights[name] = value = value.astype(dtype_name, copy=False)
        if not np.isfinite(value).all():
            raise ValueError(f"parameter {name!r} holds NaN or infinite values (as {dtype_name})")
    return SavedModel(
        layers=[_make_layer(i, spec) for i, spec in enumerate(config["layers"])],
        input_shape=input_shape,
        seed=config["seed"],
        dtype=dtype_name,
        weights=weights,
    )


def _check_sizes(entries: list[zipfile.ZipInfo], file_bytes: int) -> None:
    """Bound what the zip directory declares by the file's real size (zip bombs, lies)."""
    stored = sum(info.compress_size for info in entries)
    if stored > file_bytes:
        raise ValueError(
            f"its zip directory declares {stored:,} bytes of data in a file of {file_bytes:,}"
        )
    declared = sum(info.file_size for info in entries)
    if declared > MAX_EXPANSION * file_bytes + SLACK_BYTES:
        raise ValueError(
            f"its arrays declare {declared:,} bytes in a file of {file_bytes:,}: "
            "a zip bomb, not a model"
        )


def _array_headers(archive: zipfile.ZipFile) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array, from the zip directory and ``.npy`` headers only."""
    headers = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if name == info.filename or name in headers:
            raise ValueError(f"entry {info.filename!r} is not a (single) .npy array")
        if name != "config" and not _PARAMETER_NAME.fullmatch(name):
            raise ValueError(f"it has an unexpected array {name!r}; it was not saved by tinynet")
        if info.flag_bits & 0x1:
            raise ValueError(f"array {name!r} is encrypted")
        with archive.open(info) as handle:
            version = npy.read_magic(handle)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"array {name!r} has .npy format version {version}")
            read_header = (
                npy.read_array_header_1_0 if version == (1, 0) else (npy.read_array_header_2_0)
            )
            shape, _, dtype = read_header(handle)
            data_bytes = info.file_size - handle.tell()
        if dtype.hasobject or (name != "config" and dtype.kind != "f"):
            raise ValueError(f"array {name!r} has dtype {dtype}; weights must be real floats")
        if data_bytes != int(np.prod(shape, dtype=object)) * dtype.itemsize:
            raise ValueError(f"array {name!r}: its header says {shape} {dtype}, its size differs")
        headers[name] = (tuple(shape), dtype)
    return headers


def _read_array(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(f"{name}.npy") as handle:
        return npy.read_array(handle, allow_pickle=False)


def _is_int(value, low: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


def _check_config(config) -> dict:
    """Check the config's structure (types only: layer arguments are checked by the layers)."""
    if not isinstance(config, dict):
        raise ValueError(f"its config is a {type(config).__name__}, not a JSON object")
    if config.get("format") != FORMAT:
        raise ValueError("its config has no tinynet model header")
    if config.get("version") != VERSION:
        raise ValueError(f"format version {reprlib.repr(config.get('version'))} is not {VERSION}")
    if set(config) != _CONFIG_KEYS:
        raise ValueError(f"its config has keys {sorted(config)}, expected {sorted(_CONFIG_KEYS)}")
    shape = config["input_shape"]
    if not (isinstance(shape, list) and shape and all(_is_int(d, 1) for d in shape)):
        raise ValueError(
            f"input_shape must be a list of positive integers, got {reprlib.repr(shape)}"
        )
    if config["dtype"] not in ("float32", "float64"):
        raise ValueError(
            f"dtype must be 'float32' or 'float64', got {reprlib.repr(config['dtype'])}"
        )
    if not (config["seed"] is None or _is_int(config["seed"], 0)):
        raise ValueError(
            f"seed must be null or an integer >= 0, got {reprlib.repr(config['seed'])}"
        )
    layers = config["layers"]
    if not (isinstance(layers, list) and layers):
        raise ValueError(f"layers must be a non-empty list, got {reprlib.repr(layers)}")
    for i, spec in enumerate(layers):
        if not (isinstance(spec, dict) and set(spec) == {"class", "config"}):
            raise ValueError(f"layer {i} must be an object with keys 'class' and 'config'")
        if not isinstance(spec["class"], str) or spec["class"] not in LAYERS:
            raise ValueError(f"layer {i} has unknown class {reprlib.repr(spec['class'])}")
        arguments = spec["config"]
        if not (isinstance(arguments, dict) and all(map(_is_argument, arguments.values()))):
            raise ValueError(
                f"layer {i} ({spec['class']}): bad arguments {reprlib.repr(arguments)}"
            )
    return config


def _is_argument(value) -> bool:
    """A layer argument: a JSON scalar, or a short list of integers (a kernel size)."""
    if isinstance(value, list):
        return len(value) <= 3 and all(_is_int(v, 0) for v in value)
    return value is None or isinstance(value, str | int | float)


def _make_layer(index: int, spec: dict) -> Layer:
    """The layer a config entry describes; its constructor checks the arguments."""
    try:
        return LAYERS[spec["class"]].from_config(spec["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"layer {index} ({spec['class']}): {error}") from None


def _check_parameter_shapes(
    layers: list[Layer], input_shape: tuple[int, ...], dtype: str, headers: dict
) -> None:
    """Check the arrays in the file against the parameters the config implies.

    Each layer is built (on a throwaway copy) only after its parameter shapes,
    predicted by :data:`PARAMETER_SHAPES`, have been found in the file, so it
    allocates no more than the file holds.
    """
    shape, expected = input_shape, set()
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        for key, param_shape in PARAMETER_SHAPES[kind](layer, shape).items():
            name = parameter_name(i, key)
            found = headers[name][0] if name in headers else "nothing"
            if found != param_shape:
                raise ValueError(
                    f"layer {i} ({kind}) parameter {key!r} should have shape {param_shape}, "
                    f"the file holds {found}"
                )
            expected.add(name)
        try:
            shape = layer.build(shape, dtype=dtype)
        except ValueError as error:
            raise ValueError(f"layer {i} ({kind}): {error}") from None
    extra = sorted(set(headers) - expected)
    if extra:
        raise ValueError(f"it has unexpected arrays {extra}; it was not saved by tinynet")
