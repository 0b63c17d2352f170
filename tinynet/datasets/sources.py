"""The IDX datasets (MNIST, Fashion-MNIST): the file format, the published files, the lookup.

An IDX file is a 4-byte magic number (2051 images, 2049 labels: ``00 00 08 03`` / ``00 00 08
01``, unsigned bytes in 3 or 1 dimensions), each dimension's size (count, rows, cols) as a
big-endian 32-bit integer, then the values, one byte each, row by row. It is valid only if
its size is exactly that. Any file may be gzip-compressed, recognised by its content.

:func:`locate` looks in ``data_dir`` (then the only place: a typo must be an error, not a
download), ``$TINYNET_DATA_DIR`` (both also in a ``<name>`` sub-directory), the cache, and at
last downloads into the cache, mirror after mirror, unless ``TINYNET_OFFLINE=1``, with
``pooch.retrieve`` (temporary file, SHA-256 check, rename) and our downloader, which adds
what pooch's lacks: ``file://`` mirrors, a size cap and a deadline (a timeout alone waits
forever on a mirror that trickles).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import math
import os
import re
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pooch

from tinynet.datasets.dataset import DatasetError, DatasetNotFoundError

PathLike = str | os.PathLike[str]
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
Kind = Literal["images", "labels"]
_KIND = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
_A_FILE = {"images": "an image file (magic 2051)", "labels": "a label file (magic 2049)"}
DATA_DIR_ENV, OFFLINE_ENV = "TINYNET_DATA_DIR", "TINYNET_OFFLINE"
DOWNLOAD_TIMEOUT = 10.0  # seconds a mirror may stay silent (to connect, between data)
MIN_DOWNLOAD_RATE = 200_000  # bytes/s: a file of S bytes has DOWNLOAD_TIMEOUT + S / this
_TEMPORARY = re.compile(r"tmp[a-z0-9_]{8}|\..+\.[0-9a-f]{8}\.tmp")  # pooch's, tinynet 0.1's


@dataclass(frozen=True)
class KnownFile:
    """A published file: ``role`` (``"train_images"`` ... ``"test_labels"``), name, SHA-256,
    size, and the SHA-256 of its decompressed content if known (re-compressed copies)."""

    role: str
    filename: str
    sha256: str
    size: int
    content_sha256: str | None = None

    @property
    def candidate_names(self) -> tuple[str, ...]:
        """Names accepted on disk: with or without ``.gz``, ``-idx`` or ``.idx``."""
        stem = self.filename.removesuffix(".gz")
        dotted = stem.replace("-idx", ".idx", 1)
        return f"{stem}.gz", stem, f"{dotted}.gz", dotted


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, download and verify one IDX dataset."""

    name: str
    title: str
    files: tuple[KnownFile, ...]
    mirrors: tuple[str, ...]
    class_names: tuple[str, ...]
    image_shape: tuple[int, int] = (28, 28)

    def file(self, role: str) -> KnownFile:
        return next(known for known in self.files if known.role == role)


# The .gz sums match the copy CI tests against and tensorflow_datasets' checksum list;
# the content sums are `gunzip -c FILE | sha256sum` of those verified files.
MNIST = DatasetSpec("mnist", "MNIST", (
    KnownFile("train_images", "train-images-idx3-ubyte.gz",
              "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9_912_422,
              "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    KnownFile("train_labels", "train-labels-idx1-ubyte.gz",
              "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28_881,
              "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    KnownFile("test_images", "t10k-images-idx3-ubyte.gz",
              "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1_648_877,
              "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    KnownFile("test_labels", "t10k-labels-idx1-ubyte.gz",
              "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4_542,
              "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
), ("https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/"), tuple("0123456789"))

# Sums and sizes as published by tensorflow_datasets and other loaders (their MD5s match
# Zalando's README). No content sums are known: unpacked copies load with a warning.
FASHION_MNIST = DatasetSpec("fashion-mnist", "Fashion-MNIST", (
    KnownFile("train_images", "train-images-idx3-ubyte.gz",
              "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26_421_880),
    KnownFile("train_labels", "train-labels-idx1-ubyte.gz",
              "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29_515),
    KnownFile("test_images", "t10k-images-idx3-ubyte.gz",
              "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4_422_102),
    KnownFile("test_labels", "t10k-labels-idx1-ubyte.gz",
              "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5_148),
), ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
     "Ankle boot"))

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}  # read at call time


def read_bytes(path: PathLike) -> bytes:
    """A whole file; a missing or unreadable one is a :class:`DatasetError` naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise DatasetError(f"{path}: file not found.") from exc
    except IsADirectoryError as exc:
        raise DatasetError(f"{path}: is a directory, expected a data file.") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the file ({exc.strerror or exc}).") from exc


def decompress(data: bytes, name: str, advice: str = "") -> bytes:
    """``data`` gunzipped if it starts with gzip's ``1f 8b``, else itself; damaged gzip is a
    :class:`DatasetError` naming ``name``, with ``advice`` appended."""
    try:
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{name}: the gzip data is damaged or truncated ({exc}).{advice}") \
            from exc


def parse_idx(data: bytes, name: str = "<bytes>", kind: Kind | None = None) -> np.ndarray:
    """Parse an IDX file's content (gzip-compressed or not) into a writable uint8 array,
    ``(count, rows, cols)`` or ``(count,)``, of ``kind`` if given (``name`` is for messages).
    Whatever the bytes, the only error is a :class:`DatasetError` naming file and problem."""
    advice = " Use an original IDX file (gzip-compressed or not), or fetch this copy again."
    content = decompress(data, name, advice)

    def refuse(problem: str) -> DatasetError:
        return DatasetError(f"{name}: {problem}.{advice}")

    if len(content) < 4:
        raise refuse(f"only {len(content)} bytes, too short for an IDX file's 4-byte magic")
    magic = int.from_bytes(content[:4], "big")
    if magic not in _KIND:
        raise refuse(f"wrong magic number {magic} (0x{magic:08x}), expected {IMAGES_MAGIC} "
                     f"(images) or {LABELS_MAGIC} (labels): not an IDX file of bytes, or damaged")
    if kind is not None and _KIND[magic] != kind:
        raise refuse(f"this is {_A_FILE[_KIND[magic]]} but {_A_FILE[kind]} was expected: were "
                     "the files swapped?")
    header = 8 if magic == LABELS_MAGIC else 16
    if len(content) < header:
        raise refuse(f"truncated header: {len(content)} of its {header} bytes")
    shape = tuple(int.from_bytes(content[i : i + 4], "big") for i in range(4, header, 4))
    what = f"{shape[0]:,} " + ("labels" if len(shape) == 1 else f"images of {shape[1]}x{shape[2]}")
    if 0 in shape:
        raise refuse(f"the header says the file holds {what}: it is empty")
    if len(content) != (expected := header + math.prod(shape)):
        raise refuse(("truncated: the header promises" if len(content) < expected else "the "
                      "header counts disagree with the file size:") + f" {what}, {expected:,} "
                     f"bytes in all, but the file has {len(content):,}")
    return np.frombuffer(content, np.uint8, offset=header).reshape(shape).copy()


def read_idx(path: PathLike, kind: Kind | None = None) -> np.ndarray:
    """Read one IDX file, gzip-compressed or not (see :func:`parse_idx`)."""
    return parse_idx(read_bytes(path), str(path), kind)


def read_idx_pair(images_path: PathLike, labels_path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an image file and its label file (uint8 arrays), checking that counts agree."""
    images, labels = read_idx(images_path, "images"), read_idx(labels_path, "labels")
    if len(images) != len(labels):
        raise DatasetError(f"{images_path} has {len(images):,} images but {labels_path} has "
                           f"{len(labels):,} labels: use two files of the same set (both "
                           "'train' or both 't10k').")
    return images, labels


def cache_dir(name: str) -> Path:
    """``$XDG_CACHE_HOME/tinynet/<name>``, by default ``~/.cache/tinynet/<name>`` (not created;
    a relative XDG_CACHE_HOME is ignored, as the XDG specification says)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if Path(xdg).is_absolute() else Path.home() / ".cache") / "tinynet" / name


def verify(spec: DatasetSpec, known: KnownFile, path: Path, strict: bool) -> bool:
    """Whether a file's SHA-256 (or its decompressed content's) is the published one. A
    mismatch is a :class:`DatasetError` if ``strict`` (the cache), and anywhere if the file is
    a *different* known file (MNIST's labels in place of Fashion-MNIST's images)."""
    found = content = hashlib.sha256(data := read_bytes(path)).hexdigest()
    with contextlib.suppress(DatasetError):  # damaged gzip: the messages below say enough
        content = hashlib.sha256(decompress(data, str(path))).hexdigest()
    if known.sha256 == found or known.content_sha256 == content:
        return True
    if other := next((f"{s.title}'s {k.filename}" for s in DATASETS.values() for k in s.files
                      if {found, content} & {k.sha256, k.content_sha256}), None):
        raise DatasetError(f"{path}: this is {other}, not {spec.title}'s {known.filename}. Put "
                           f"the right file there, or point data_dir at the {spec.title} files.")
    if strict:
        raise DatasetError(f"{path}: SHA-256 does not match the published {spec.title} file "
                           f"{known.filename}.\n  expected: {known.sha256}\n  found:    {found}\n"
                           "The file is damaged or incomplete. Delete it and run again to "
                           "download a fresh copy, or pass data_dir=DIR with a good copy.")
    return False


def _look_in(spec: DatasetSpec, directory: Path, whole: bool) -> tuple[dict[str, Path], str]:
    """The dataset's files in ``directory`` (role -> path) and why it does not hold the set;
    with ``whole``, part of a set is an error (files from two places would silently mix)."""
    try:
        entries = set(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError) as exc:
        return {}, "does not exist" if isinstance(exc, FileNotFoundError) else "is not a directory"
    except OSError as exc:  # no permission, a symbolic link loop, an I/O error
        raise DatasetError(f"{directory}: cannot read the directory ({exc.strerror or exc}). "
                           "Check the path and its permissions.") from exc
    found = {known.role: [directory / n for n in known.candidate_names if n in entries]
             for known in spec.files}
    found = {role: paths[0] for role, paths in found.items() if paths and paths[0].is_file()}
    missing = ", ".join(known.filename for known in spec.files if known.role not in found)
    if found and missing and whole:
        raise DatasetError(f"{directory}: incomplete {spec.title} set: found "
                           f"{', '.join(p.name for p in found.values())} but not {missing}. Put "
                           "all four files here (gzip-compressed or not), or remove the others.")
    absent = f"missing {missing}" if found else "has none of the files" if entries else "is empty"
    return found, absent


def locate(spec: DatasetSpec, data_dir: PathLike | None) -> tuple[dict[str, Path], str, bool]:
    """Find the four files of ``spec`` (see the module docstring), downloading if needed:
    role -> path, where they came from (for reports), and whether a checksum mismatch is an
    error (the cache). :class:`DatasetNotFoundError` lists every place looked at and mirror
    tried; an unreadable directory or a partial set is a :class:`DatasetError`."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    places = [] if data_dir is not None else ["data_dir argument: not given"] + (
        [] if env else [f"{DATA_DIR_ENV}: not set"])
    label, base = ("data_dir", data_dir) if data_dir is not None else (DATA_DIR_ENV, env)
    base = Path(base).expanduser() if base else None
    for directory in [base / spec.name, base] if base else []:
        found, absent = _look_in(spec, directory, whole=True)
        if found:
            return found, str(directory), False
        places.append(f"{label} {directory}: {absent}")
    if data_dir is not None:
        raise _not_found(spec, places, f"{spec.title} not found in data_dir {base}.", True)
    found, absent = _look_in(spec, cache := cache_dir(spec.name), whole=False)
    if len(found) == len(spec.files):
        return found, f"cache: {cache}", True
    places.append(f"cache {cache}: {absent}")
    offline = os.environ.get(OFFLINE_ENV, "").strip()
    if offline.lower() in {"1", "true", "yes", "on"}:
        places.append(f"download: skipped because {OFFLINE_ENV}={offline}")
        raise _not_found(spec, places, f"{spec.title} not found, and downloading is off.")
    used = _download([k for k in spec.files if k.role not in found], spec, cache, places)
    return _look_in(spec, cache, whole=True)[0], f"download: {', '.join(used)} -> {cache}", True


def _not_found(spec: DatasetSpec, places: list[str], headline: str,
               data_dir_given: bool = False) -> DatasetNotFoundError:
    """The error listing ``places``; its last line says how to get the files."""
    holding = (f"DIR (or DIR/{spec.name}) holding the four {spec.title} files "
               f"{', '.join(k.filename for k in spec.files)} (gzip-compressed or not)")
    fix = (f"To fix: check the path; it must be {holding}." if data_dir_given else
           f"To get {spec.title}: pass data_dir=DIR (experiments: --data-dir DIR) or set "
           f"{DATA_DIR_ENV}=DIR, {holding}; or, online with {OFFLINE_ENV} unset, run again to "
           f"download them into {cache_dir(spec.name)}.")
    lines = [headline, "Looked in:", *(f"  - {place}" for place in places), fix]
    return DatasetNotFoundError("\n".join(lines), places)


def _download(missing: list[KnownFile], spec: DatasetSpec, cache: Path,
              places: list[str]) -> list[str]:
    """Download the missing files into ``cache``, mirror after mirror; return the mirrors used,
    or raise :class:`DatasetNotFoundError`. First removes killed downloads' temporary files: a
    live one is written to every ``DOWNLOAD_TIMEOUT`` s, so one untouched for twice that is dead."""
    variable = f"TINYNET_{spec.name.upper().replace('-', '_')}_MIRRORS"  # replaces the list
    mirrors, used = os.environ.get(variable, "").replace(",", " ").split() or spec.mirrors, []
    failed = f"{spec.title} not found, and the download failed."
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(cache):
            if _TEMPORARY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False) and \
                    time.time() - entry.stat().st_mtime > 2 * DOWNLOAD_TIMEOUT:
                os.unlink(entry.path)
    except OSError as exc:
        places.append(f"download: cannot use the cache directory {cache} ({exc})")
        raise _not_found(spec, places, failed) from exc
    for known in missing:
        for base in mirrors:
            url = base.rstrip("/") + "/" + known.filename
            try:
                pooch.retrieve(url, f"sha256:{known.sha256}", known.filename, cache,
                               downloader=functools.partial(_fetch, known=known))
            except Exception as exc:  # noqa: BLE001 (any failure: list it, try the next)
                got = re.search(r"got ([0-9a-f]{64})", str(exc))  # pooch's checksum error
                places.append(f"download {url}: " + (
                    f"rejected, SHA-256 mismatch (expected {known.sha256}, got {got[1]})" if got
                    else str(exc) if isinstance(exc, DatasetError)
                    else f"failed ({type(exc).__name__}: {exc})"))
                continue
            used += [base] if base not in used else []
            break
        else:
            raise _not_found(spec, places, failed)
    return used


def _fetch(url: str, output_file: str, _pooch: object, known: KnownFile) -> None:
    """pooch's ``downloader`` for http, https and file URLs. Gives up (a :class:`DatasetError`)
    when the mirror is silent for ``DOWNLOAD_TIMEOUT`` s, when the data passes the file's size
    + 10 % + 64 KiB, or after ``DOWNLOAD_TIMEOUT`` + size / ``MIN_DOWNLOAD_RATE`` seconds."""
    seconds = DOWNLOAD_TIMEOUT + known.size / MIN_DOWNLOAD_RATE
    deadline, limit = time.monotonic() + seconds, known.size + known.size // 10 + 65_536
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, \
                open(output_file, "wb") as out:
            if int(response.headers.get("Content-Length") or 0) > limit:
                raise DatasetError(f"cut off: {response.headers['Content-Length']} bytes "
                                    f"announced, more than the {limit:,} expected")
            while chunk := response.read1(1 << 16):  # returns what has arrived, if any
                if out.tell() + len(chunk) > limit:
                    raise DatasetError(f"cut off after {out.tell():,} bytes, more than the "
                                        f"{limit:,} expected")
                if time.monotonic() > deadline:
                    raise DatasetError(f"deadline of {seconds:.3g} s passed with {out.tell():,} "
                                        "bytes received")
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise DatasetError(f"HTTP error {exc.code} {exc.reason}") from exc
    except (TimeoutError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetError(f"no answer within {DOWNLOAD_TIMEOUT:g} s" if isinstance(
            reason, TimeoutError) else f"cannot connect ({reason})") from exc
