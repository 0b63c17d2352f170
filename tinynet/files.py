"""Writing files so that nothing a user produced is ever half-written.

One helper, used by everything in tinynet and the studies that writes a file:
model files, downloads, ``results.json``, reports and figures.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO

#: Temporary files are named ``.<target name>.<random>.tmp`` beside their target.
TMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """A fresh, unused-looking name beside ``path`` for its temporary copy."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Create ``path`` atomically: ``write(handle)`` fills a temporary file, then a rename.

    A reader, or a process killed half-way, sees the old file or the new one, never
    half of one. The temporary file is removed on any error, Ctrl-C included. The
    file gets the usual permissions (``0o666`` less the umask: the kernel applies
    the umask when the file is created, so no process-wide state is touched).
    """
    path = Path(path)
    tmp = temporary_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
