"""How the reports write numbers, durations, tables and images in Markdown.

Shared by :mod:`experiments.report` and the studies (:mod:`experiments.studies`), so
every table and every number in a report looks the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table of already formatted cells.

    The cells are kept exactly as given (``disable_numparse``): ``"9.782e-04"`` stays
    as the study printed it instead of being re-formatted as a number.
    """
    return tabulate(rows, headers=header, tablefmt="github", disable_numparse=True)


def duration(seconds: float) -> str:
    """``"12.3 s"`` or ``"2 min 22 s"``, as the studies wrote times."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def count(n: int, noun: str) -> str:
    """``count(1, "epoch")`` is ``"1 epoch"``, ``count(20, "epoch")`` is ``"20 epochs"``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def pct(value: float, digits: int = 2) -> str:
    """``pct(0.9791)`` is ``"97.91%"``."""
    return f"{100 * value:.{digits}f}%"


def published(value: str) -> str:
    """A published number as the study printed it, or ``"–"`` where it gave none."""
    return value or "–"


def image(title: str, path: Path) -> str:
    """A Markdown image link."""
    return f"![{title}]({Path(path).as_posix()})"
