"""The reproduced studies, one module each; a new study is one new module here.

Each module defines a :class:`Study` subclass and one instance of it named
``STUDY`` (see :mod:`experiments.studies.base`). :func:`get` finds a study by
name among the modules of this package, so the runner, the report and the README
paste need no list of studies.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from experiments.studies.base import Study

__all__ = ["Study", "all_studies", "get"]


@cache
def all_studies() -> dict[str, Study]:
    """Every study of this package, by name."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        study = getattr(importlib.import_module(f"{__name__}.{module.name}"), "STUDY", None)
        if isinstance(study, Study):
            found[study.name] = study
    return found


def get(name: str) -> Study:
    """The study called ``name`` (``results.json["experiment"]``).

    Raises
    ------
    ValueError
        If there is no such study.
    """
    studies = all_studies()
    if name not in studies:
        raise ValueError(f"unknown study {name!r}; the studies are: {', '.join(sorted(studies))}")
    return studies[name]
