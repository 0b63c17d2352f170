"""Paste generated results into ``README.md``, so its tables are never typed by hand.

The README marks each generated block with a pair of HTML comments, invisible on
GitHub::

    <!-- benchmark-table -->
    ...whatever the last run wrote...
    <!-- /benchmark-table -->

:func:`replace_block` swaps what lies between them for new text (a lone opening
marker is accepted the first time) and rewrites the file atomically. The commands
call it with ``--readme README.md``:

    python -m experiments.report results/crossed_design --readme README.md
    python -m bench --readme README.md
"""

from __future__ import annotations

from pathlib import Path

from experiments.store import atomic_write, write_text


def read_with_block(readme: Path, name: str) -> tuple[str, int]:
    """The text of ``readme`` and where its ``<!-- name -->`` marker starts.

    Raises
    ------
    ValueError
        If ``readme`` cannot be read or has no ``<!-- name -->`` marker.
    """
    readme = Path(readme)
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read {readme}: {error.strerror}") from error
    start = text.find(f"<!-- {name} -->")
    if start < 0:
        raise ValueError(f"{readme} has no '<!-- {name} -->' line: add one where the block belongs")
    return text, start


def replace_block(readme: Path, name: str, text: str) -> None:
    """Replace the text between ``<!-- name -->`` and ``<!-- /name -->`` in ``readme``.

    Raises
    ------
    ValueError
        As :func:`read_with_block`.
    """
    old, start = read_with_block(readme, name)
    opening, closing = f"<!-- {name} -->", f"<!-- /{name} -->"
    end = old.find(closing, start)
    end = start + len(opening) if end < 0 else end + len(closing)
    block = f"{opening}\n\n{text.strip()}\n\n{closing}"
    write_text(readme, old[:start] + block + old[end:])


def copy_figure(source: Path, readme: Path, name: str) -> str:
    """Copy a figure to ``docs/figures/<name>`` beside ``readme``; its path relative to it."""
    target = Path(readme).parent / "docs" / "figures" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    data = Path(source).read_bytes()
    atomic_write(target, lambda handle: handle.write(data))
    return target.relative_to(Path(readme).parent).as_posix()
