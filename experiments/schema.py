"""What a run folder's ``results.json`` and ``samples.npz`` must hold, checked on every read.

The study commands (on resume) and ``python -m experiments.report`` read these
files through :mod:`experiments.store`, which calls :func:`check_results` and
:func:`check_samples`. A file that was edited by hand, cut short or written by
something else then ends the command with one line naming the file and the field,
e.g. ``results.json: models.1x100.metrics.confusion_matrix: expected 10 items, got 2``,
instead of a ``KeyError`` from deep inside the report.

The layout of ``results.json`` is a JSON Schema (draft 2020-12, checked by the
``jsonschema`` package), built by :func:`results_schema`. It lists exactly the
fields the commands read; other fields are allowed, so adding a field to the
results needs no change here, and reading a new one needs one line here. Two of
its sizes come from the file itself: the number of classes (the length of
``dataset.class_names``) and the study's model names (from ``experiment``).
The one rule a JSON Schema cannot state, that a model's history lists are all
as long as each other, is checked in code.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match

from experiments import studies

#: The per-epoch lists of a model's ``history``.
HISTORY = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time")


# --- the building blocks ---------------------------------------------------------------

TEXT = {"type": "string"}
FLAG = {"type": "boolean"}
NUMBER = {"type": "number"}  # finite: see _Validator
ANY_OBJECT = {"type": "object"}


def integer(minimum: int | None = None, maximum: int | None = None) -> dict:
    """An integer (not ``3.0``, not ``true``) in ``[minimum, maximum]``."""
    schema: dict = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def array(items: dict, length: int | None = None, min_length: int = 0) -> dict:
    """A list of ``items``: exactly ``length`` of them if given, else at least ``min_length``."""
    schema: dict = {"type": "array", "items": items}
    if length is not None:
        schema["minItems"] = schema["maxItems"] = length
    elif min_length:
        schema["minItems"] = min_length
    return schema


def record(fields: dict[str, dict], optional: dict[str, dict] | None = None) -> dict:
    """An object with all of ``fields`` (and maybe ``optional``); other keys are allowed."""
    return {
        "type": "object",
        "required": list(fields),
        "properties": {**fields, **(optional or {})},
    }


def mapping(values: dict, keys: Iterable[str] | None = None) -> dict:
    """An object whose every value is ``values``; its keys among ``keys`` if given."""
    schema: dict = {"type": "object", "additionalProperties": values}
    if keys is not None:
        schema["propertyNames"] = {"enum": list(keys)}
    return schema


# --- results.json ----------------------------------------------------------------------

#: What the report reads of each layer (``zoo.describe``), by layer class.
LAYER_FIELDS = {
    "Dense": {"units": integer(1)},
    "Conv2D": {"filters": integer(1), "kernel_size": array(integer(1), 2), "padding": TEXT},
    "MaxPool2D": {"pool_size": integer(1)},
    "Dropout": {"rate": NUMBER},
}

LAYER = {
    **record({"class": TEXT, "config": ANY_OBJECT}),
    "allOf": [
        {"if": {"properties": {"class": {"const": kind}}},
         "then": {"properties": {"config": record(fields)}}}
        for kind, fields in LAYER_FIELDS.items()
    ],
}  # fmt: skip


def results_schema(n_classes: int | None = None, model_names: list[str] | None = None) -> dict:
    """The JSON Schema of ``results.json``.

    Parameters
    ----------
    n_classes : int, optional
        The length of every per-class list (and of each confusion-matrix row);
        any length if None.
    model_names : list of str, optional
        The keys ``models`` may have; any if None.
    """
    class_index = integer(0, None if n_classes is None else n_classes - 1)
    per_class = lambda items: array(items, n_classes)  # noqa: E731
    loss_accuracy = record({"loss": NUMBER, "accuracy": NUMBER})
    averages = record({"precision": NUMBER, "recall": NUMBER, "f1": NUMBER})
    model = record({
        "config": record({"layers": array(LAYER, min_length=1)}),
        "n_params": integer(0),
        "summary": TEXT,
        "history": record({key: array(NUMBER, min_length=1) for key in HISTORY}),
        "train_time_s": NUMBER,
        "train": loss_accuracy,
        "validation": loss_accuracy,
        "test": loss_accuracy,
        "metrics": record({
            "accuracy": NUMBER,
            "macro": averages,
            "weighted": averages,
            "per_class": record({
                "precision": per_class(NUMBER),
                "recall": per_class(NUMBER),
                "f1": per_class(NUMBER),
                "support": per_class(integer(0)),
            }),
            "confusion_matrix": per_class(per_class(integer(0))),
        }),
        "first_test": record({"true": class_index, "probabilities": per_class(NUMBER)}),
        "mistakes": array(record({
            "index": integer(0), "true": class_index, "predicted": class_index,
            "confidence": NUMBER,
        })),
        "model_file": TEXT,
    })  # fmt: skip
    dropout_decision = record({
        "model": TEXT, "dropout_model": TEXT, "rule": TEXT, "reason": TEXT,
        "candidates": mapping(record({
            "min_f1": NUMBER, "min_f1_class": class_index, "test_accuracy": NUMBER,
        })),
    })  # fmt: skip
    return record(
        {
            "experiment": TEXT,
            "protocol": record({
                "dataset": record({"name": TEXT, "quick": FLAG}),
                "epochs": integer(1),
                "batch_size": integer(1),
                "seed": integer(0),
                "optimizer": record(
                    {key: NUMBER for key in ("learning_rate", "beta_1", "beta_2", "epsilon")}
                ),
                "loss": TEXT,
                "dtype": TEXT,
            }),
            "dataset": record(
                {
                    "name": TEXT, "requested": TEXT, "source": TEXT, "quick": FLAG,
                    "n_train": integer(0), "n_validation": integer(0), "n_test": integer(0),
                    "class_names": array(TEXT, min_length=1),
                    "image_shape": array(integer(1), 3),
                },
                optional={"warnings": array(TEXT)},
            ),
            "versions": ANY_OBJECT,
            "command": TEXT,
            "models": mapping(model, model_names),
            "selection": record({}, optional={"dropout": dropout_decision}),
        },
        optional={
            "updated": TEXT,
            # the other seeds' entries of each model (experiments.replicates)
            "replicates": mapping(
                {**mapping(model), "propertyNames": {"pattern": "^[0-9]+$"}}, model_names
            ),
        },
    )  # fmt: skip


def _is_integer(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_finite_number(checker, instance) -> bool:
    return isinstance(instance, int | float) and not isinstance(instance, bool) and (
        math.isfinite(instance)
    )


#: Draft 2020-12, except that an integer is an ``int`` (``3.0`` is a number, not an
#: index) and a number is finite (Python's json reads ``NaN`` and ``Infinity``).
_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_finite_number}
    ),
)


def _field(path: Iterable) -> str:
    """``models.1x100.mistakes[3].true`` for ``["models", "1x100", "mistakes", 3, "true"]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _kind(value: object) -> str:
    """How an error message names the JSON type of ``value``."""
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer",
             float: "a number", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _problem(error: ValidationError) -> str:
    """One short line for a schema violation: the field, then what is wrong with it."""
    field, keyword, expected = _field(error.absolute_path), error.validator, error.validator_value
    value = error.instance
    if keyword == "required":
        missing = next(key for key in expected if key not in value)
        return f"{_field([*error.absolute_path, missing])} is missing"
    if "propertyNames" in error.schema_path and keyword == "enum":
        names = ", ".join(expected)
        return f"{field}: unexpected name {reprlib.repr(value)}; expected one of {names}"
    where = f"{field}: " if field else ""
    if keyword == "type":
        return f"{where}expected {expected}, got {_kind(value)}"
    if keyword in ("minItems", "maxItems"):
        length = error.schema.get("minItems") if keyword == "maxItems" else expected
        exactly = error.schema.get("minItems") == error.schema.get("maxItems")
        return f"{where}expected {'' if exactly else 'at least '}{length} items, got {len(value)}"
    if keyword in ("minimum", "maximum"):
        bound = ">=" if keyword == "minimum" else "<="
        return f"{where}must be {bound} {expected}, got {value}"
    if keyword == "enum":
        return f"{where}expected one of {', '.join(map(str, expected))}, got {reprlib.repr(value)}"
    return where + reprlib.repr(error.message)


def check_results(results: object, path: Path) -> None:
    """Check that ``results`` (read from ``path``) holds what the commands read.

    Raises
    ------
    ValueError
        ``<path>: <field>: <problem>`` for the first problem found.
    """
    dataset = results.get("dataset") if isinstance(results, dict) else None
    class_names = dataset.get("class_names") if isinstance(dataset, dict) else None
    n_classes = len(class_names) if isinstance(class_names, list) and class_names else None
    experiment = results.get("experiment") if isinstance(results, dict) else None
    model_names = None
    if isinstance(experiment, str):
        try:
            model_names = list(studies.get(experiment).models)
        except ValueError as error:
            raise ValueError(f"{path}: experiment: {error}") from None
    validator = _Validator(results_schema(n_classes, model_names))
    error = best_match(validator.iter_errors(results))
    if error is not None:
        raise ValueError(f"{path}: {_problem(error)}")
    entries = {f"models.{name}": entry for name, entry in results["models"].items()}
    for name, by_seed in results.get("replicates", {}).items():
        entries.update({f"replicates.{name}.{seed}": e for seed, e in by_seed.items()})
    for field, entry in entries.items():
        lengths = {key: len(entry["history"][key]) for key in HISTORY}
        if len(set(lengths.values())) > 1:
            counts = ", ".join(f"{key} {n}" for key, n in lengths.items())
            raise ValueError(f"{path}: {field}.history: lists of different lengths ({counts})")


# --- samples.npz -----------------------------------------------------------------------


def check_samples(index: np.ndarray, images: np.ndarray, path: Path) -> None:
    """Check the arrays of ``samples.npz``: ``index`` (K,) ints >= 0, ``images`` (K, H, W) uint8.

    Raises
    ------
    ValueError
        Naming ``path`` and the array that is wrong.
    """
    problem = None
    if index.ndim != 1 or index.dtype.kind not in "iu":
        problem = f"'index' must be a list of integers, got {index.dtype} {index.shape}"
    elif images.ndim != 3 or images.dtype != np.uint8:
        problem = f"'images' must be uint8 of shape (K, H, W), got {images.dtype} {images.shape}"
    elif len(index) != len(images):
        problem = f"{len(index)} indices for {len(images)} images"
    elif len(index) and index.min() < 0:
        problem = "'index' has a negative entry"
    if problem:
        raise ValueError(f"{path}: {problem}")
