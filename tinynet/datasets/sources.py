"""Where the IDX files come from: the known files, the lookup order, the cache, the download.

:func:`locate` looks in ``data_dir`` (then the only place: a typo must be an error, not a
download), ``$TINYNET_DATA_DIR`` (both also in a ``<name>`` sub-directory), the cache, and at
last downloads into the cache, mirror after mirror, unless ``TINYNET_OFFLINE=1``: with
``pooch.retrieve`` and the published SHA-256, and our downloader, which adds a deadline and a
size cap, so that a stalled or endless mirror cannot hold a run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pooch

from tinynet.datasets import formats
from tinynet.datasets.dataset import DatasetError, DatasetNotFoundError

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


def cache_dir(name: str) -> Path:
    """``$XDG_CACHE_HOME/tinynet/<name>``, by default ``~/.cache/tinynet/<name>`` (not created;
    a relative XDG_CACHE_HOME is ignored, as the XDG specification says)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if Path(xdg).is_absolute() else Path.home() / ".cache") / "tinynet" / name


def verify(spec: DatasetSpec, known: KnownFile, path: Path, data: bytes, strict: bool) -> bool:
    """Whether a file's SHA-256 (or its decompressed content's) is the published one.

    A mismatch is a :class:`DatasetError` if ``strict`` (the cache), and anywhere if the file
    is a *different* known file (MNIST's labels in place of Fashion-MNIST's images).
    """
    found = content = hashlib.sha256(data).hexdigest()
    if formats.is_gzip(data):
        with contextlib.suppress(DatasetError):  # damaged gzip: the messages below say enough
            content = hashlib.sha256(formats.decompress(data, str(path))).hexdigest()
    if known.sha256 == found or known.content_sha256 == content:
        return True
    for other_spec in DATASETS.values():
        for other in other_spec.files:
            if {found, content} & {other.sha256, other.content_sha256}:
                raise DatasetError(
                    f"{path}: this is {other_spec.title}'s {other.filename}, not {spec.title}'s "
                    f"{known.filename}. Put the right file there, or point data_dir at the "
                    f"{spec.title} files.")
    if strict:
        raise DatasetError(
            f"{path}: SHA-256 does not match the published {spec.title} file {known.filename}."
            f"\n  expected: {known.sha256}\n  found:    {found}\nThe file is damaged, incomplete"
            " or was replaced. Delete it and run again to download a fresh copy, or pass "
            "data_dir=DIR (--data-dir DIR) with a good copy.")
    return False


def _look_in(spec: DatasetSpec, directory: Path) -> tuple[dict[str, Path], str]:
    """The dataset's files in ``directory`` (role -> path, maybe fewer than four) and, for the
    list of places looked at, why it does not hold the whole set."""
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
    if found:
        return found, "missing " + ", ".join(k.filename for k in spec.files if k.role not in found)
    return found, "has none of the files" if entries else "is empty"


def locate(spec: DatasetSpec, data_dir: str | os.PathLike[str] | None = None,
           ) -> tuple[dict[str, Path], str, bool]:
    """Find the four files of ``spec`` (see the module docstring), downloading if needed.

    Returns role -> path, where they came from (for reports) and whether a checksum mismatch
    is an error (the cache). Raises :class:`DatasetNotFoundError` listing every place looked
    at and every mirror tried with the reason; :class:`DatasetError` if a directory is
    unreadable or holds only part of the set.
    """
    places: list[str] = []
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if data_dir is None:
        places.append("data_dir argument: not given")
        if not env:
            places.append(f"{DATA_DIR_ENV}: not set")
    label, base = ("data_dir", data_dir) if data_dir is not None else (DATA_DIR_ENV, env)
    base = Path(base).expanduser() if base else None
    for directory in [base / spec.name, base] if base else []:
        found, absent = _look_in(spec, directory)
        if len(found) == len(spec.files):
            return found, str(directory), False
        if found:  # mixing files from two places would be silently wrong
            raise DatasetError(
                f"{directory}: incomplete {spec.title} set: found "
                f"{', '.join(p.name for p in found.values())} but not "
                f"{absent.removeprefix('missing ')}. Put all four "
                "files in this directory (gzip-compressed or not), or remove the partial set.")
        places.append(f"{label} {directory}: {absent}")
    if data_dir is not None:
        raise _not_found(spec, places, f"{spec.title} not found in data_dir {base}.", True)
    cache = cache_dir(spec.name)
    found, absent = _look_in(spec, cache)
    if len(found) == len(spec.files):
        return found, f"cache: {cache}", True
    places.append(f"cache {cache}: {absent}")
    offline = os.environ.get(OFFLINE_ENV, "").strip()
    if offline.lower() in {"1", "true", "yes", "on"}:
        places.append(f"download: skipped because {OFFLINE_ENV}={offline}")
        raise _not_found(spec, places, f"{spec.title} not found, and downloading is off.")
    used = _download([k for k in spec.files if k.role not in found], spec, cache, places)
    if not used:
        raise _not_found(spec, places, f"{spec.title} not found, and the download failed.")
    return _look_in(spec, cache)[0], f"download: {', '.join(used)} -> {cache}", True


def _not_found(spec: DatasetSpec, places: list[str], headline: str,
               data_dir_given: bool = False) -> DatasetNotFoundError:
    holding = (f"DIR (or DIR/{spec.name}) holding the four {spec.title} files "
               f"{', '.join(k.filename for k in spec.files)} (gzip-compressed or not)")
    fix = (f"To fix: check the path; it must be {holding}." if data_dir_given else
           f"To fix: pass data_dir=DIR (experiments: --data-dir DIR) or set {DATA_DIR_ENV}=DIR, "
           f"{holding}; or, online with {OFFLINE_ENV} unset, run again to download them into "
           f"{cache_dir(spec.name)}.")
    lines = [headline, "Looked in:", *(f"  - {place}" for place in places), fix]
    return DatasetNotFoundError("\n".join(lines), places)


def _download(missing: list[KnownFile], spec: DatasetSpec, cache: Path,
              places: list[str]) -> list[str]:
    """Download the missing files into ``cache``; return the mirrors used (none: failed).

    First removes the temporary files of killed downloads: a live one is written to at least
    every ``DOWNLOAD_TIMEOUT`` seconds, so one untouched for twice that is dead."""
    variable = f"TINYNET_{spec.name.upper().replace('-', '_')}_MIRRORS"  # replaces the list
    mirrors = [url for url in re.split(r"[\s,]+", os.environ.get(variable, "")) if url]
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(cache):
            if _TEMPORARY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False) and \
                    time.time() - entry.stat().st_mtime > 2 * DOWNLOAD_TIMEOUT:
                os.unlink(entry.path)
    except OSError as exc:
        places.append(f"download: cannot use the cache directory {cache} ({exc})")
        return []
    used: list[str] = []
    for known in missing:
        for base in mirrors or spec.mirrors:
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
            return []
    return used


def _fetch(url: str, output_file: str, _pooch: object, known: KnownFile) -> None:
    """Download ``url`` (http, https, file) to ``output_file``: pooch's ``downloader``.

    Gives up (a :class:`DatasetError`, its message the reason) when the mirror is silent for
    ``DOWNLOAD_TIMEOUT`` seconds, when the data passes the file's size + 10 % + 64 KiB, or
    when data still arrives after ``DOWNLOAD_TIMEOUT`` + size / ``MIN_DOWNLOAD_RATE`` seconds.
    """
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
