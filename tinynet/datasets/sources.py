"""Where dataset files come from: known files and checksums, lookup order, cache, download.

Lookup order for MNIST and Fashion-MNIST (see :func:`locate`):

1. the ``data_dir`` argument, if given. It is then the only place looked at: a typo in
   ``--data-dir`` must not quietly turn into a download;
2. the directory in the ``TINYNET_DATA_DIR`` environment variable;
3. the user cache, ``$XDG_CACHE_HOME/tinynet/<dataset>`` (default ``~/.cache/tinynet/<dataset>``);
4. a download into that cache from the mirrors in turn, unless ``TINYNET_OFFLINE=1``.

In the two user directories (1, 2) the files may sit directly in the directory or in a
sub-directory named after the dataset (``DIR/mnist``, ``DIR/fashion-mnist``).

Every known file has a published SHA-256 sum. Downloads are written to a temporary file
next to their destination, verified, and only then renamed into place, so an interrupted
or corrupt download never leaves a file in the cache.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tinynet.datasets import idx
from tinynet.datasets.errors import DatasetError, DatasetNotFoundError
from tinynet.datasets.idx import Kind
from tinynet.files import atomic_write

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "DOWNLOAD_TIMEOUT",
    "FASHION_MNIST",
    "MNIST",
    "OFFLINE_ENV",
    "DatasetSpec",
    "DownloadError",
    "KnownFile",
    "Location",
    "cache_dir",
    "download_file",
    "identify",
    "is_offline",
    "locate",
    "mirrors",
    "sha256_hex",
    "verify",
]

DATA_DIR_ENV = "TINYNET_DATA_DIR"
OFFLINE_ENV = "TINYNET_OFFLINE"
DOWNLOAD_TIMEOUT = 10.0
"""Seconds to wait for a mirror to connect or send data before trying the next one."""

_USER_AGENT = "tinynet-datasets/0.1 (python-urllib)"
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class KnownFile:
    """One of the four files of an IDX dataset, as published.

    Attributes
    ----------
    role : str
        ``"train_images"``, ``"train_labels"``, ``"test_images"`` or ``"test_labels"``.
    filename : str
        The published name, e.g. ``"train-images-idx3-ubyte.gz"``.
    sha256 : str
        SHA-256 of the published (gzip-compressed) file.
    content_sha256 : str or None
        SHA-256 of the decompressed IDX bytes, if known. It lets re-compressed or
        uncompressed copies be verified too.
    """

    role: str
    filename: str
    sha256: str
    content_sha256: str | None = None

    @property
    def kind(self) -> Kind:
        """``"images"`` or ``"labels"``."""
        return "images" if self.role.endswith("images") else "labels"

    @property
    def candidate_names(self) -> tuple[str, ...]:
        """File names accepted on disk, in order of preference.

        The published ``.gz`` name, the uncompressed name, and the same two with a dot
        before ``idx`` (``train-images.idx3-ubyte``), a spelling some copies use.
        """
        stem = self.filename.removesuffix(".gz")
        dotted = stem.replace("-idx", ".idx", 1)
        return (f"{stem}.gz", stem, f"{dotted}.gz", dotted)


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
        """Return the known file with the given role."""
        for known in self.files:
            if known.role == role:
                return known
        raise KeyError(role)

    @property
    def filenames(self) -> str:
        """The published file names, comma-separated, for messages."""
        return ", ".join(known.filename for known in self.files)


# SHA-256 of the published .gz files: they match ../shared/data/mnist/SHA256SUMS and
# tensorflow_datasets' url_checksums/mnist.txt. The content sums are of the decompressed
# bytes of those verified files (computed with `gunzip -c FILE | sha256sum`).
MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    files=(
        KnownFile(
            "train_images",
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        KnownFile(
            "train_labels",
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        KnownFile(
            "test_images",
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        KnownFile(
            "test_labels",
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    class_names=tuple(str(digit) for digit in range(10)),
)

# SHA-256 of the published Fashion-MNIST .gz files, as listed in tensorflow_datasets'
# url_checksums/fashion_mnist.txt (whose MNIST lines match our verified MNIST files) and
# in other loaders. Their MD5 sums match the ones in Zalando's README. No content sums
# are known, so uncompressed or re-compressed copies load with a warning.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    files=(
        KnownFile(
            "train_images",
            "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        ),
        KnownFile(
            "train_labels",
            "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
        KnownFile(
            "test_images",
            "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        ),
        KnownFile(
            "test_labels",
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    ),
    mirrors=(
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}
"""The IDX datasets by name. Looked up at call time, so tests may replace entries."""


# --- environment ------------------------------------------------------------------------


def is_offline() -> bool:
    """True if ``TINYNET_OFFLINE`` is set to 1, true, yes or on (any case)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def cache_dir(name: str) -> Path:
    """Return the cache directory of a dataset, ``$XDG_CACHE_HOME/tinynet/<name>``.

    ``XDG_CACHE_HOME`` defaults to ``~/.cache``; a relative value is ignored, as the XDG
    specification asks. The directory is not created here.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return root / "tinynet" / name


def mirrors(spec: DatasetSpec) -> tuple[str, ...]:
    """Return the mirror base URLs for a dataset, in the order they are tried.

    ``TINYNET_<NAME>_MIRRORS`` (e.g. ``TINYNET_MNIST_MIRRORS``,
    ``TINYNET_FASHION_MNIST_MIRRORS``), a comma- or space-separated list of base URLs,
    replaces the built-in list.
    """
    variable = f"TINYNET_{spec.name.upper().replace('-', '_')}_MIRRORS"
    override = os.environ.get(variable, "").strip()
    if override:
        return tuple(url for url in re.split(r"[\s,]+", override) if url)
    return spec.mirrors


# --- checksums --------------------------------------------------------------------------


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    """Return the SHA-256 of ``data`` as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def identify(digest: str) -> tuple[DatasetSpec, KnownFile] | None:
    """Return the known dataset file whose published or content SHA-256 is ``digest``."""
    for spec in DATASETS.values():
        for known in spec.files:
            if digest in (known.sha256, known.content_sha256):
                return spec, known
    return None


def verify(
    spec: DatasetSpec, known: KnownFile, path: Path, data: bytes | bytearray, strict: bool
) -> bool:
    """Check a file against its published checksum.

    The file matches if its SHA-256 is the published one or, for a re-compressed or
    uncompressed copy, if the SHA-256 of its decompressed content is the known content sum.

    Parameters
    ----------
    spec, known : DatasetSpec, KnownFile
        The dataset and the file that ``path`` is supposed to be.
    path : Path
        The file, for messages.
    data : bytes or bytearray
        The file content as read.
    strict : bool
        If True (cache and downloads), a mismatch is an error. If False (a directory the
        user named), a mismatch only returns False, so the caller can warn and go on.

    Returns
    -------
    bool
        True if the file, or its decompressed content, matches a published sum.

    Raises
    ------
    DatasetError
        If the file is a *different* known file (say MNIST's labels where Fashion-MNIST's
        images belong), or if ``strict`` and the sums differ.
    """
    found = sha256_hex(data)
    if found == known.sha256:
        return True
    try:
        content_found = sha256_hex(idx.decompress(data, str(path))) if idx.is_gzip(data) else found
    except DatasetError:  # damaged gzip data: the checksum message below says enough
        content_found = found
    if known.content_sha256 is not None and content_found == known.content_sha256:
        return True

    other = identify(found) or identify(content_found)
    if other is not None:
        other_spec, other_file = other
        raise DatasetError(
            f"{path}: this is {other_spec.title}'s {other_file.filename}, not "
            f"{spec.title}'s {known.filename}. Put the right file there, or point data_dir "
            f"at the {spec.title} files."
        )
    if strict:
        raise DatasetError(
            f"{path}: SHA-256 does not match the published {spec.title} file "
            f"{known.filename}.\n"
            f"  expected: {known.sha256}\n"
            f"  found:    {found}\n"
            "The file is damaged, incomplete or was replaced. Delete it and run again to "
            "download a fresh copy, or pass data_dir=DIR (--data-dir DIR) with a good copy."
        )
    return False


# --- lookup -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where the four files of a dataset were found.

    Attributes
    ----------
    files : dict
        Role (``"train_images"`` ...) to path.
    origin : str
        ``"data_dir"``, ``"env"`` (``TINYNET_DATA_DIR``), ``"cache"`` or ``"download"``.
    description : str
        Human-readable source, e.g. ``"/data/mnist"`` or ``"cache: ~/.cache/tinynet/mnist"``.
    """

    files: dict[str, Path] = field(default_factory=dict)
    origin: str = "data_dir"
    description: str = ""

    @property
    def strict(self) -> bool:
        """True where a checksum mismatch is an error (files tinynet put there itself)."""
        return self.origin in ("cache", "download")


def _files_in(spec: DatasetSpec, directory: Path) -> dict[str, Path]:
    """Return the dataset files present in ``directory`` (role to path, maybe partial)."""
    try:
        entries = set(os.listdir(directory))
    except PermissionError as exc:
        raise DatasetError(
            f"{directory}: cannot read the directory ({exc.strerror}). Check its permissions."
        ) from exc
    except (FileNotFoundError, NotADirectoryError):
        return {}
    found = {}
    for known in spec.files:
        for name in known.candidate_names:
            if name in entries and (directory / name).is_file():
                found[known.role] = directory / name
                break
    return found


def _absent_reason(directory: Path) -> str:
    if not directory.exists():
        return "does not exist"
    if not directory.is_dir():
        return "is not a directory"
    if not any(directory.iterdir()):
        return "is empty"
    return "has none of the files"


def _search(
    spec: DatasetSpec, directory: Path, label: str, places: list[str]
) -> dict[str, Path] | None:
    """Return all four files if ``directory`` has them; note the place otherwise.

    Raises :class:`DatasetError` if the directory has some of the files but not all:
    mixing files from different places would be silently wrong.
    """
    found = _files_in(spec, directory)
    if len(found) == len(spec.files):
        return found
    if found:
        missing = [k.filename for k in spec.files if k.role not in found]
        present = ", ".join(path.name for path in found.values())
        raise DatasetError(
            f"{directory}: incomplete {spec.title} set: found {present} but not "
            f"{', '.join(missing)}. Put all four files in this directory (gzip-compressed "
            "or not), or remove the partial set."
        )
    places.append(f"{label} {directory}: {_absent_reason(directory)}")
    return None


def _how_to_fix(spec: DatasetSpec, data_dir_given: bool) -> str:
    if data_dir_given:
        return (
            f"To fix: check the path; DIR (or DIR/{spec.name}) must hold the four "
            f"{spec.title} files {spec.filenames} (gzip-compressed or not). Without "
            f"data_dir, tinynet looks in {DATA_DIR_ENV} and the cache {cache_dir(spec.name)}, "
            "and downloads there."
        )
    return (
        f"To fix: pass data_dir=DIR (experiments: --data-dir DIR) or set {DATA_DIR_ENV}=DIR, "
        f"where DIR (or DIR/{spec.name}) holds the four {spec.title} files "
        f"{spec.filenames} (gzip-compressed or not); or, with internet access and "
        f"{OFFLINE_ENV} unset, run again to download them into {cache_dir(spec.name)}."
    )


def _not_found(
    spec: DatasetSpec, places: list[str], headline: str, data_dir_given: bool = False
) -> DatasetNotFoundError:
    lines = [headline, "Looked in:"] + [f"  - {place}" for place in places]
    lines.append(_how_to_fix(spec, data_dir_given))
    return DatasetNotFoundError("\n".join(lines), places)


def locate(spec: DatasetSpec, data_dir: str | os.PathLike[str] | None = None) -> Location:
    """Find the four files of ``spec``, downloading them into the cache if needed.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset, e.g. ``DATASETS["mnist"]``.
    data_dir : str or path-like, optional
        A directory holding the files (or a ``<dataset name>`` sub-directory holding them).
        If given, it is the only place looked at.

    Returns
    -------
    Location
        The files and where they came from.

    Raises
    ------
    DatasetNotFoundError
        If the files are nowhere and cannot be downloaded; the message lists every place
        looked at and every mirror tried, with the reason.
    DatasetError
        If a directory is unreadable or holds an incomplete set.
    """
    places: list[str] = []
    if data_dir is not None:
        base = Path(data_dir).expanduser()
        for directory in (base / spec.name, base):
            found = _search(spec, directory, "data_dir", places)
            if found:
                return Location(found, "data_dir", str(directory))
        raise _not_found(spec, places, f"{spec.title} not found in data_dir {base}.", True)

    places.append("data_dir argument: not given")
    env_value = os.environ.get(DATA_DIR_ENV, "").strip()
    if env_value:
        base = Path(env_value).expanduser()
        for directory in (base / spec.name, base):
            found = _search(spec, directory, DATA_DIR_ENV, places)
            if found:
                return Location(found, "env", str(directory))
    else:
        places.append(f"{DATA_DIR_ENV}: not set")

    cache = cache_dir(spec.name)
    found = _files_in(spec, cache)
    if len(found) == len(spec.files):
        return Location(found, "cache", f"cache: {cache}")
    missing = [known for known in spec.files if known.role not in found]
    places.append(
        f"cache {cache}: "
        + (f"missing {', '.join(k.filename for k in missing)}" if found else _absent_reason(cache))
    )

    if is_offline():
        places.append(f"download: skipped because {OFFLINE_ENV}={os.environ[OFFLINE_ENV]}")
        raise _not_found(spec, places, f"{spec.title} not found, and downloading is off.")

    used = _download_missing(spec, cache, missing, places)
    if used is None:
        raise _not_found(spec, places, f"{spec.title} not found, and the download failed.")
    found.update({known.role: cache / known.filename for known in missing})
    return Location(found, "download", f"download: {used} -> {cache}")


# --- download ---------------------------------------------------------------------------


class DownloadError(Exception):
    """One download attempt failed; the message is the one-line reason.

    Internal to the lookup: :func:`locate` collects these reasons into the
    :class:`DatasetNotFoundError` it raises when every mirror failed.
    """


def download_file(url: str, destination: Path, sha256: str, timeout: float | None = None) -> None:
    """Download ``url`` to ``destination`` if its SHA-256 is ``sha256``.

    ``timeout`` (seconds to connect or to wait for data) defaults to ``DOWNLOAD_TIMEOUT``.

    The data goes to a temporary file in the destination directory, which is renamed to
    ``destination`` only after the checksum matched (:func:`tinynet.files.atomic_write`).
    On any failure the temporary file is removed and nothing is left behind.

    Raises
    ------
    DownloadError
        With a one-line reason: HTTP status, connection error, timeout, checksum mismatch.
    """
    if timeout is None:
        timeout = DOWNLOAD_TIMEOUT

    def write(out) -> None:
        digest = hashlib.sha256()
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            while chunk := response.read(_CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
        found = digest.hexdigest()
        if found != sha256:
            raise DownloadError(f"rejected, SHA-256 mismatch (expected {sha256}, got {found})")

    try:
        atomic_write(destination, write)  # removes the temporary file if write raises
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"HTTP error {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DownloadError(f"no answer within {timeout:g} s") from exc
        raise DownloadError(f"cannot connect ({exc.reason})") from exc
    except TimeoutError as exc:
        raise DownloadError(f"no answer within {timeout:g} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"failed ({type(exc).__name__}: {exc})") from exc
    except ValueError as exc:  # a malformed mirror URL
        raise DownloadError(f"invalid URL ({exc})") from exc


def _download_missing(
    spec: DatasetSpec, cache: Path, missing: list[KnownFile], places: list[str]
) -> str | None:
    """Download the missing files into ``cache``; return the mirror(s) used, or None."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        places.append(f"download: cannot create the cache directory {cache} ({exc})")
        return None
    bases = mirrors(spec)
    if not bases:
        places.append("download: no mirrors configured")
        return None
    used: list[str] = []
    for known in missing:
        for base in bases:
            url = base.rstrip("/") + "/" + known.filename
            print(f"tinynet: downloading {url}", file=sys.stderr)
            try:
                download_file(url, cache / known.filename, known.sha256)
            except DownloadError as exc:
                places.append(f"download {url}: {exc}")
                continue
            if base not in used:
                used.append(base)
            break
        else:
            return None
    return ", ".join(used)
