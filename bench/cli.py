"""``python -m bench``: the options, the order of the measurements, the files written."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import plan, report
from bench.contestants import MLP_ONLY, is_mlp
from bench.worker import row_key, run_in_new_process
from experiments.cli import UsageError, prepare_out_dir, resolve_models, run_main

#: The models ``--models`` accepts: those of the epoch table, in its order.
MODELS = list(dict.fromkeys(name for name, _, _ in plan.ROWS))
BATCH_SIZES = sorted({batch_size for _, batch_size, _ in plan.ROWS})


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one ``error:`` line (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    import bench

    parser = _Parser(
        prog="python -m bench",
        description=bench.__doc__.split("\n\n")[0],
        epilog="writes, in --out: benchmark.md (the tables), benchmark.json (every "
        "measurement) and benchmark.png (the epoch times as bars)",
    )
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: two rows (unless --models / --batch-sizes choose), "
                        f"a quarter of the steps, 1 repetition, {plan.QUICK_KERNEL_CALLS} calls "
                        "per kernel; its numbers are not comparable with a full run's")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="interleaved repetitions of every measurement (default 3)")
    parser.add_argument("--models", nargs="+", metavar="NAME",
                        help=f"only these models' rows: {', '.join(MODELS)} (default all)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, metavar="N",
                        help="only the rows at these batch sizes: "
                        f"{', '.join(map(str, BATCH_SIZES))} (default all)")
    parser.add_argument("--out", type=Path, default=Path("results/benchmark"), metavar="DIR",
                        help="folder for benchmark.md, benchmark.json and benchmark.png "
                        "(default results/benchmark; created if missing)")
    parser.add_argument("--readme", type=Path, metavar="FILE",
                        help="also paste the tables into this file's <!-- benchmark-table --> "
                        "block (e.g. README.md)")  # fmt: skip
    return parser


def choose_rows(args: argparse.Namespace) -> list[tuple[str, int, str]]:
    """The rows of the epoch table that ``--models``, ``--batch-sizes`` and ``--quick`` ask for.

    Raises
    ------
    UsageError
        For an unknown model or batch size, or a choice that leaves no row.
    """
    if args.models is None and args.batch_sizes is None:
        return plan.QUICK_ROWS if args.quick else plan.ROWS
    models = resolve_models(args.models, MODELS)
    batch_sizes = args.batch_sizes or BATCH_SIZES
    for batch_size in batch_sizes:
        if batch_size not in BATCH_SIZES:
            raise UsageError(f"no row has batch size {batch_size}; choose from "
                             f"{', '.join(map(str, BATCH_SIZES))}")  # fmt: skip
    rows = [row for row in plan.ROWS if row[0] in models and row[1] in batch_sizes]
    if not rows:
        raise UsageError(f"no row has model {' or '.join(models)} at batch size "
                         f"{' or '.join(map(str, batch_sizes))}; see --help")  # fmt: skip
    return rows


def available_contestants() -> list[str]:
    """Every contestant whose library is installed (PyTorch is optional)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed: its columns are skipped (pip install torch==2.13.0)")
        return [c for c in plan.CONTESTANTS if c not in plan.PYTORCH_CONTESTANTS]
    return list(plan.CONTESTANTS)


def command_line(args: argparse.Namespace) -> str:
    """The command that produced the tables, for the README's caption."""
    words = ["python -m bench"]
    if args.quick:
        words.append("--quick")
    if args.repeats != 3:
        words.append(f"--repeats {args.repeats}")
    if args.models:
        words.append("--models " + " ".join(args.models))
    if args.batch_sizes:
        words.append("--batch-sizes " + " ".join(map(str, args.batch_sizes)))
    return " ".join(words)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; a usage error is one ``error:`` line and exit status 2."""
    return run_main(lambda: benchmark(build_parser().parse_args(argv)))


def is_cnn(name: str) -> bool:
    """True if zoo model ``name`` has layers beyond an MLP's (convolutions, pooling)."""
    from experiments import zoo

    return not is_mlp(zoo.build(name, (28, 28, 1), 10, seed=0))


def jobs_for(rows: list[tuple[str, int, str]], contestants: list[str]) -> list[dict]:
    """One repetition's worker jobs: each contestant on every row, the kernels, and a
    per-layer profile of each CNN row (see :mod:`bench.worker`)."""
    pairs = [[name, batch_size] for name, batch_size, _ in rows]
    cnn_pairs = [pair for pair in pairs if is_cnn(pair[0])]
    return [
        *({"job": "train", "contestant": c, "rows": pairs} for c in contestants),
        {"job": "kernels"},
        *({"job": "profile", "row": pair} for pair in cnn_pairs),
    ]


def measure(jobs: list[dict], repeats: int, quick: bool) -> dict[str, dict]:
    """Run ``jobs`` ``repeats`` times over, interleaved, each in a fresh process.

    Returns the raw results, lists over repetitions: ``train[contestant][row key]``
    (seconds per step), ``kernels[case][numba|numpy|copy|bytes]`` and
    ``profiles[row key]`` (one profile per repetition).
    """
    raw: dict[str, dict] = {"train": {}, "kernels": {}, "profiles": {}}
    for repetition in range(repeats):
        for job in jobs:
            label = job.get("contestant") or " ".join(map(str, [job["job"], *job.get("row", [])]))
            print(f"repetition {repetition + 1}/{repeats}: {label} ...", flush=True)
            result = run_in_new_process({**job, "quick": quick})
            if job["job"] == "train":
                times = raw["train"].setdefault(job["contestant"], {})
                for key, seconds in result.items():
                    times.setdefault(key, []).append(seconds)
            elif job["job"] == "kernels":
                for case, measured in result.items():
                    for quantity, value in measured.items():
                        raw["kernels"].setdefault(case, {}).setdefault(quantity, []).append(value)
            else:
                raw["profiles"].setdefault(row_key(*job["row"]), []).append(result)
    return raw


def benchmark(args: argparse.Namespace) -> int:
    """Measure every contestant, interleaved; write the tables, JSON and chart."""
    from bench.timing import gemm_peak, load_average, machine_info
    from experiments.readme import read_with_block, replace_block
    from experiments.store import write_text

    if args.repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {args.repeats}")
    rows = choose_rows(args)
    prepare_out_dir(args.out)
    if args.readme:  # check before measuring for 20 minutes
        try:
            read_with_block(args.readme, "benchmark-table")
        except ValueError as error:
            raise UsageError(str(error)) from None
    if args.quick:
        print(report.QUICK_NOTICE.replace("**", ""))
    any_mlp = not all(is_cnn(name) for name, _, _ in rows)
    contestants = [c for c in available_contestants() if any_mlp or c not in MLP_ONLY]
    info = machine_info()
    raw = measure(jobs_for(rows, contestants), 1 if args.quick else args.repeats, args.quick)
    peak = gemm_peak()
    info["load_average_after"] = load_average()
    table = report.summarise(raw["train"], rows, peak)
    kernels = report.summarise_kernels(raw["kernels"])
    profiles = report.summarise_profiles(raw["profiles"], peak)
    text = report.markdown(table, kernels, profiles, info, peak, contestants, args.quick)
    print(text)
    write_text(args.out / "benchmark.md", text)
    measured = {"machine": info, "quick": args.quick, "gemm_peak_gflops": peak, "rows": table,
                "kernels": kernels, "profiles": profiles, "raw": raw}  # fmt: skip
    write_text(args.out / "benchmark.json", json.dumps(measured, indent=2))
    report.bar_chart(table, contestants, args.out / "benchmark.png")
    print(f"wrote {args.out / 'benchmark.md'}, benchmark.json and benchmark.png")
    if args.readme:
        caption = f"Generated by `{command_line(args)}`:"
        replace_block(args.readme, "benchmark-table", f"{caption}\n\n{text}")
        print(f"updated {args.readme}")
    if args.quick:
        print(report.QUICK_NOTICE.replace("**", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
