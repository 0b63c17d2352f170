"""The command-line options both studies share, and how errors reach the user.

A mistake by the user (an unknown model, ``--epochs 0``, an unwritable ``--out``,
a dataset that cannot be loaded) ends the command with a one-line message on
stderr and exit status 2, never a traceback. Bugs still raise normally.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from experiments.cluster import ClusterError
from tinynet.backup import BackupError
from tinynet.datasets import DatasetError

if TYPE_CHECKING:
    from experiments.studies import Study

#: Exit status for a usage error (as argparse uses).
USAGE_ERROR = 2
#: Exit status after Ctrl-C (128 + SIGINT).
INTERRUPTED = 130

DATASETS = ("auto", "mnist", "fashion-mnist", "digits", "csv")
#: The largest seed: NumPy's legacy generators and scikit-learn take 32-bit seeds.
MAX_SEED = 2**32 - 1
QUICK_EPOCHS = 2


class UsageError(Exception):
    """A problem the user can fix; shown as ``error: <message>``, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises :class:`UsageError` (one line) instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")


def _int_at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` that accepts integers >= ``minimum`` (and <= ``maximum``)."""
    allowed = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {allowed}, got {text!r}"
            ) from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value

    return parse


def _existing(kind: str) -> Callable[[str], Path]:
    """An argparse ``type`` for a path that must exist: a ``"folder"`` or a ``"file"``.

    A location the user names is checked at once, so that a typo is an error
    instead of a run on other data.
    """

    def parse(text: str) -> Path:
        path = Path(text).expanduser()
        usable = path.is_dir() if kind == "folder" else path.exists()
        if not usable:
            problem = "is not a folder" if path.exists() else "does not exist"
            raise argparse.ArgumentTypeError(f"{text} {problem}")
        return path

    return parse


def _folder(text: str) -> Path:
    """An argparse ``type`` for a folder name: not empty (``""`` would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder name, got an empty string")
    return Path(text)


def _examples(command: str, epochs: int) -> str:
    examples = [
        ("", f"the full study, {epochs} epochs, on MNIST if it is found or can be downloaded"),
        (" --quick --dataset digits", "a smoke run of a few seconds"),
        (" --data-dir ~/mnist --jobs 2", "MNIST files in ~/mnist, two models at a time"),
        (" --data-path train.csv", "Kaggle's Digit Recognizer train.csv"),
    ]
    width = max(len(command + options) for options, _ in examples)
    return "\n".join(f"  {command + options:<{width}}  # {what}" for options, what in examples)


def build_parser(study: Study) -> argparse.ArgumentParser:
    """The argument parser of a study's command, ``python -m experiments.<study name>``.

    Parameters
    ----------
    study : Study
        Gives the command's name (and default output folder), its description, the
        models ``--models`` accepts and the default epochs and batch size.
    """
    experiment = study.name
    command = f"python -m experiments.{experiment}"
    parser = _Parser(
        prog=command,
        description=study.description.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"""\
writes, in --out: results.json (every measurement, rewritten after each model),
report.md and figures/*.png (ours beside the published numbers), models/<name>.npz
(the trained weights) and samples.npz (the test images the figures show).

Interrupted? Run the same command again: models already in results.json with the
same configuration are skipped. Redraw the report without training:
  python -m experiments.report OUT

examples:
{_examples(command, study.epochs)}""",
    )
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default="auto",
        help="auto (default): MNIST if it can be found or downloaded, else scikit-learn's "
        "8x8 digits, said at the start and again in the final summary; csv: Kaggle's "
        "Digit Recognizer train.csv (--data-path)",
    )
    parser.add_argument(
        "--data-dir",
        type=_existing("folder"),
        metavar="DIR",
        help="folder with the MNIST / Fashion-MNIST IDX files, and the only place looked "
        "at (default: $TINYNET_DATA_DIR, tinynet's download cache, a download)",
    )
    parser.add_argument(
        "--data-path",
        type=_existing("file"),
        metavar="FILE",
        help="Kaggle's Digit Recognizer train.csv (or the folder holding it); implies "
        "--dataset csv. Split stratified 80/20 into train and test with seed 42",
    )
    parser.add_argument(
        "--epochs",
        type=_int_at_least(1),
        metavar="N",
        help=f"training epochs per model (default {study.epochs}, or {QUICK_EPOCHS} "
        "with --quick)",
    )
    parser.add_argument(
        "--batch-size", type=_int_at_least(1), default=study.batch_size, metavar="N",
        help=f"mini-batch size (default {study.batch_size})",
    )
    parser.add_argument(
        "--seed",
        type=_int_at_least(0, MAX_SEED),
        default=42,
        metavar="N",
        help="seeds the train/validation split, the initial weights, dropout and shuffling "
        "(default 42, the studies' split seed)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=_int_at_least(0, MAX_SEED),
        metavar="N",
        help="replicates: one number N trains every model with N seeds, --seed, --seed + 1, "
        "...; several numbers are the seeds themselves (they must include --seed). The seed "
        "drives the initial weights, dropout and shuffling; the split stays --seed's "
        "(default: --seed only)",
    )
    parser.add_argument(
        "--resplit",
        action="store_true",
        help="with --seeds: each seed also draws its own train/validation split",
    )
    parser.add_argument("--models", nargs="+", metavar="NAME", help=study.models_help())
    parser.add_argument(
        "--out", type=_folder, metavar="OUT",
        help=f"output folder (default results/{experiment}/ on MNIST; other data or --quick "
        f"add to the name, e.g. results/{experiment}-digits/, so that runs never collide)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: a small stratified subset (2,000 train / 500 validation / 1,000 "
        f"test images at most) and {QUICK_EPOCHS} epochs",
    )
    parser.add_argument(
        "--jobs",
        type=_int_at_least(1),
        metavar="N",
        default=1,
        help="train this many models at once, in separate processes with one BLAS/Numba "
        "thread each (default 1: one model at a time, all threads)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="train on the Dask cluster whose scheduler is at ADDRESS, e.g. "
        "tcp://10.0.0.5:8786 (needs pip install -e '.[cluster]'; see docs/cluster.md); "
        "this process alone writes OUT",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start over: forget the results in --out instead of resuming",
    )
    parser.set_defaults(experiment=study.name, default_epochs=study.epochs)
    return parser


def _check_data_options(args: argparse.Namespace) -> None:
    """``--data-path`` is the CSV of ``--dataset csv``, ``--data-dir`` the IDX files' folder.

    An option that the chosen dataset would not read is an error rather than ignored.
    """
    if args.data_path is not None and args.dataset == "auto":
        args.dataset = "csv"
    if args.dataset == "csv" and args.data_path is None:
        raise UsageError(
            "--dataset csv needs --data-path FILE (Kaggle's Digit Recognizer train.csv)"
        )
    if args.data_path is not None and args.dataset != "csv":
        raise UsageError(f"--data-path is for --dataset csv, not --dataset {args.dataset}")
    if args.data_dir is not None and args.dataset in ("digits", "csv"):
        raise UsageError(
            f"--data-dir is for the MNIST / Fashion-MNIST files; --dataset {args.dataset} "
            "does not read it"
            + (" (use --data-path FILE)" if args.dataset == "csv" else "")
        )


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv`` and fill in the defaults that depend on other options.

    Raises
    ------
    UsageError
        For a bad option, or data options that do not fit together.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    _check_data_options(args)
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else args.default_epochs
    args.seeds = replicate_seeds(args.seeds, args.seed)
    if args.scheduler is not None and args.jobs != 1:
        raise UsageError("--jobs is for local runs; with --scheduler the cluster's workers decide")
    return args


def default_out(experiment: str, dataset: str, quick: bool) -> Path:
    """``results/<experiment>``, with ``-<dataset>`` unless it is MNIST and ``-quick``.

    A run on the digits fallback or a smoke run thus never takes the folder of the
    full MNIST run (whose settings differ, so it would have to refuse or replace it).
    """
    suffix = ("" if dataset == "mnist" else f"-{dataset}") + ("-quick" if quick else "")
    return Path("results") / f"{experiment}{suffix}"


def replicate_seeds(seeds: Sequence[int] | None, seed: int) -> list[int]:
    """The seeds ``--seeds`` asks for: ``[seed]`` if None, a count N as N seeds from ``seed``.

    Raises
    ------
    UsageError
        For a count of 0, seeds past :data:`MAX_SEED`, a repeated seed, or a list
        without ``seed`` (the run's split seed, whose replicate fills the single-run
        tables).
    """
    if seeds is None:
        return [seed]
    if len(seeds) == 1:
        n = seeds[0]
        if n < 1 or seed + n - 1 > MAX_SEED:
            raise UsageError(
                f"--seeds {n}: expected a number of seeds from 1 to {MAX_SEED - seed + 1} "
                f"(seeds {seed}, {seed + 1}, ...), or a list of two or more seeds"
            )
        return list(range(seed, seed + n))
    if len(set(seeds)) < len(seeds):
        raise UsageError(f"--seeds {' '.join(map(str, seeds))}: a seed is repeated")
    if seed not in seeds:
        raise UsageError(
            f"--seeds {' '.join(map(str, seeds))}: the list must include --seed ({seed}), "
            "the seed of the split and of the single-run tables"
        )
    return sorted(seeds)


def resolve_models(
    requested: Sequence[str] | None, names: Sequence[str], aliases: dict[str, str] | None = None
) -> list[str]:
    """The models ``--models`` asks for, in the study's order (all of ``names`` if None).

    Parameters
    ----------
    requested : sequence of str or None
        What the user typed.
    names : sequence of str
        The study's model names, in order.
    aliases : dict, optional
        Other accepted spellings, e.g. ``{"1": "1x100"}``.

    Raises
    ------
    UsageError
        For a name that is not a model of the study.
    """
    if requested is None:
        return list(names)
    aliases = aliases or {}
    chosen = set()
    for item in requested:
        name = aliases.get(item, item)
        if name not in names:
            raise UsageError(f"unknown model {item!r}; choose from {', '.join(names)}")
        chosen.add(name)
    return [name for name in names if name in chosen]


def prepare_out_dir(out: Path) -> Path:
    """Create ``out`` and check that files can be written in it.

    Raises
    ------
    UsageError
        ``cannot write to OUT: <reason>`` if the folder cannot be created or written.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(f"cannot write to {out}: {error.strerror or error}") from None
    return out


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line.

    A multi-line message (e.g. a dataset search that lists every place looked at)
    is cut to its first line, the problem, and its last, usually what to do.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if len(lines) > 2:
        lines = [lines[0], lines[-1]]
    return " ".join(lines) or type(error).__name__


def run_main(main: Callable[[], int]) -> int:
    """Run a command's body; turn user errors into ``error: ...`` and exit status 2.

    Ctrl-C prints how to resume and returns 130; everything else propagates.
    """
    try:
        return main()
    except (UsageError, DatasetError, ClusterError, BackupError) as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished models are saved; run the same command again to resume",
            file=sys.stderr,
        )
        return INTERRUPTED
