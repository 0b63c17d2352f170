"""Read IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a small header followed by the raw values::

    bytes 0-1    0x00 0x00
    byte  2      data type: 0x08 = unsigned byte (the only type MNIST uses)
    byte  3      number of dimensions d
    4*d bytes    the size of each dimension, big-endian unsigned 32-bit
    the rest     the values, one byte each, in C (row-major) order

Read as one big-endian integer, the first four bytes are the *magic number*: 2051
(``0x00000803``) for an image file with three dimensions (count, rows, columns) and 2049
(``0x00000801``) for a label file with one (count). A file is valid only if its size is
exactly header + count * rows * columns bytes; anything else means it is truncated or
its header is wrong, and we refuse it rather than return a partly filled array.

Files are usually gzip-compressed. We recognise gzip by its content (it starts with the
bytes ``1f 8b``), not by the ``.gz`` in the name, so renamed copies still load.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path
from typing import Literal

import numpy as np

from tinynet.datasets.errors import DatasetError

__all__ = [
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "check_pair",
    "decompress",
    "is_gzip",
    "parse_idx",
    "read_bytes",
    "read_idx",
    "read_idx_pair",
]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

Kind = Literal["images", "labels"]
_MAGIC_OF_KIND: dict[str, int] = {"images": IMAGES_MAGIC, "labels": LABELS_MAGIC}
_KIND_OF_MAGIC: dict[int, str] = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
_NDIM_OF_MAGIC: dict[int, int] = {IMAGES_MAGIC: 3, LABELS_MAGIC: 1}
_A_FILE_OF: dict[str, str] = {"images": "an image file", "labels": "a label file"}

_GZIP_SIGNATURE = b"\x1f\x8b"
_CHUNK_BYTES = 1 << 20
_ADVICE = (
    "Use an original MNIST/Fashion-MNIST IDX file (gzip-compressed or not); "
    "if this copy was downloaded or copied, fetch it again."
)


def _error(name: str, problem: str) -> DatasetError:
    return DatasetError(f"{name}: {problem}. {_ADVICE}")


def is_gzip(data: bytes | bytearray | memoryview) -> bool:
    """Return True if ``data`` starts with the gzip signature ``1f 8b``."""
    return bytes(data[:2]) == _GZIP_SIGNATURE


def read_bytes(path: str | os.PathLike[str]) -> bytearray:
    """Read a whole file into a (writable) bytearray.

    Raises
    ------
    DatasetError
        If the file does not exist or cannot be read; the message names the file.
    """
    path = Path(path)
    try:
        with path.open("rb") as stream:
            return bytearray(stream.read())
    except FileNotFoundError as exc:
        raise DatasetError(f"{path}: file not found.") from exc
    except IsADirectoryError as exc:
        raise DatasetError(f"{path}: is a directory, expected an IDX file.") from exc
    except OSError as exc:
        raise DatasetError(
            f"{path}: cannot read the file ({exc.strerror or exc}). Check its permissions."
        ) from exc


def decompress(data: bytes | bytearray, name: str) -> bytes | bytearray:
    """Return the IDX bytes in ``data``, gunzipping them first if they are gzip-compressed.

    Parameters
    ----------
    data : bytes or bytearray
        The content of a file, compressed or not.
    name : str
        The file name, used in error messages.

    Returns
    -------
    bytes or bytearray
        ``data`` itself if it is not gzip; otherwise a new bytearray with the decompressed
        bytes (all gzip members, as ``gunzip`` would produce).

    Raises
    ------
    DatasetError
        If the gzip stream is damaged or truncated.
    """
    if not is_gzip(data):
        return data
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                out += chunk
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise _error(name, f"the gzip data is damaged or truncated ({exc})") from exc
    return out


def _describe(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        return f"{shape[0]:,} images of {shape[1]}x{shape[2]}"
    return f"{shape[0]:,} labels"


def _check_magic(magic: int, kind: Kind | None, name: str) -> None:
    if magic not in _KIND_OF_MAGIC:
        raise _error(
            name,
            f"wrong magic number {magic} (0x{magic:08x}): an MNIST IDX file starts with "
            f"{IMAGES_MAGIC} (images) or {LABELS_MAGIC} (labels), so this is not an IDX file "
            "of unsigned bytes, or it is damaged",
        )
    if kind is not None and magic != _MAGIC_OF_KIND[kind]:
        found = _KIND_OF_MAGIC[magic]
        raise _error(
            name,
            f"this is {_A_FILE_OF[found]} (magic {magic}) but {_A_FILE_OF[kind]} "
            f"(magic {_MAGIC_OF_KIND[kind]}) was expected: were the files swapped?",
        )


def parse_idx(
    data: bytes | bytearray, name: str = "<bytes>", kind: Kind | None = None
) -> np.ndarray:
    """Parse the content of an IDX file (gzip-compressed or not) into a uint8 array.

    Parameters
    ----------
    data : bytes or bytearray
        The whole file content.
    name : str, optional
        The file name, used in error messages.
    kind : {"images", "labels"}, optional
        What the file must contain. If given, a label file passed as images (or the
        reverse) is an error.

    Returns
    -------
    numpy.ndarray
        uint8, shape ``(count, rows, cols)`` for images or ``(count,)`` for labels. The
        array is writable; it shares memory with ``data`` only if ``data`` is an
        uncompressed bytearray.

    Raises
    ------
    DatasetError
        For damaged gzip data, a wrong magic number, a truncated header, a count of zero,
        or a file size that disagrees with the header. Nothing else is raised, whatever
        the bytes.
    """
    content = decompress(data, name)
    size = len(content)
    if size < 4:
        raise _error(name, f"only {size} bytes long; an IDX file starts with a 4-byte magic number")
    magic = int.from_bytes(content[:4], "big")
    _check_magic(magic, kind, name)

    ndim = _NDIM_OF_MAGIC[magic]
    header_size = 4 + 4 * ndim
    if size < header_size:
        raise _error(
            name,
            f"truncated header: {size} bytes, an IDX {_KIND_OF_MAGIC[magic]} "
            f"header has {header_size}",
        )
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if 0 in shape:
        raise _error(name, f"the header says the file holds {_describe(shape)}: it is empty")

    expected = header_size + math.prod(shape)
    if size < expected:
        raise _error(
            name,
            f"truncated: the header promises {_describe(shape)}, {expected:,} bytes in all, "
            f"but the file has only {size:,} bytes",
        )
    if size > expected:
        raise _error(
            name,
            f"the header counts disagree with the file size: {_describe(shape)} take "
            f"{expected:,} bytes, but the file has {size:,}",
        )
    array = np.frombuffer(
        content, dtype=np.uint8, count=expected - header_size, offset=header_size
    ).reshape(shape)
    return array if array.flags.writeable else array.copy()


def read_idx(path: str | os.PathLike[str], kind: Kind | None = None) -> np.ndarray:
    """Read one IDX file, gzip-compressed or not.

    Parameters
    ----------
    path : str or path-like
        The file, e.g. ``train-images-idx3-ubyte.gz`` or ``train-images.idx3-ubyte``.
    kind : {"images", "labels"}, optional
        What the file must contain (see :func:`parse_idx`).

    Returns
    -------
    numpy.ndarray
        uint8 array, ``(count, rows, cols)`` or ``(count,)``.

    Raises
    ------
    DatasetError
        If the file cannot be read or is not a valid IDX file; the message names it.
    """
    return parse_idx(read_bytes(path), str(path), kind)


def check_pair(images: np.ndarray, labels: np.ndarray, images_name: str, labels_name: str) -> None:
    """Raise :class:`DatasetError` unless there is exactly one label per image."""
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_name} has {len(images):,} images but {labels_name} has "
            f"{len(labels):,} labels: the two files must come from the same set "
            "(both 'train' or both 't10k'). Replace the mismatched file."
        )


def read_idx_pair(
    images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Read an image file and its label file and check that they agree in count.

    Returns
    -------
    images : numpy.ndarray
        uint8, ``(count, rows, cols)``.
    labels : numpy.ndarray
        uint8, ``(count,)``.

    Raises
    ------
    DatasetError
        If either file is invalid or the counts differ.
    """
    images = read_idx(images_path, "images")
    labels = read_idx(labels_path, "labels")
    check_pair(images, labels, str(images_path), str(labels_path))
    return images, labels
