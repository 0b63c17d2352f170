"""What both studies' commands do around training: set up, resume, record, report.

A :class:`Run` owns the output folder and ``results.json``: it holds the folder's
lock from start to end (a second run on the same ``--out`` stops at once), removes
what killed runs left behind, and checks the files it resumes from. It loads the data once,
reuses the models already trained with the same configuration, records each new
model the moment it finishes (``results.json`` and ``samples.npz``, atomically),
and at the end writes the report and prints the summary table, whose last lines say
which data the run used. :func:`main` is a study's whole command.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from experiments import cli, data, replicates, report, store, studies, training, zoo
from experiments.cli import UsageError, prepare_out_dir
from experiments.formatting import count
from experiments.studies import Study

T = TypeVar("T")


def _seed_list(seeds: list[int]) -> str:
    """``42-46`` for consecutive seeds, else ``42, 50, 51``."""
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``["epochs: 20 -> 2", ...]`` for the keys whose values differ."""
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key}: {a} -> {b}")
    return found


def _usage(read: Callable[[Path], T], out: Path) -> T:
    """``read(out)``, its ``ValueError`` (a file or folder the user can fix) as a UsageError."""
    try:
        return read(out)
    except ValueError as error:
        raise UsageError(str(error)) from None


class Run:
    """One invocation of a study's command.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`experiments.cli.parse_args`.

    Raises
    ------
    UsageError
        If ``--out`` cannot be written, is in use by another process, or holds
        results of another experiment or another protocol (without ``--fresh``), or
        files that are not what a run writes.
    tinynet.datasets.DatasetError
        If the dataset cannot be loaded.
    """

    def __init__(self, args: argparse.Namespace):
        self.experiment = args.experiment
        self.study = studies.get(args.experiment)
        # A folder the user chose is checked before the data loads; the default one
        # is named after the data (cli.default_out).
        chosen_out = None if args.out is None else prepare_out_dir(Path(args.out))
        self.jobs = args.jobs
        self.scheduler = getattr(args, "scheduler", None)
        self.seeds = list(getattr(args, "seeds", None) or [args.seed])
        self.resplit = getattr(args, "resplit", False)
        self._load = lambda seed: data.load(
            args.dataset, args.data_dir, seed, args.quick, data_path=args.data_path
        )
        self.data = self._load(args.seed)
        self.out = chosen_out or prepare_out_dir(
            cli.default_out(self.experiment, self.data.info["name"], args.quick)
        )
        self._lock = _usage(store.lock, self.out)  # released by finish(), or when the process ends
        store.remove_temporaries(self.out)
        self.datasets = {args.seed: self.data}  # by split seed; more with --resplit
        self.protocol = training.protocol(self.data, args.epochs, args.batch_size, args.seed)
        if self.resplit:
            self.protocol["resplit"] = True  # another experiment: never mixed with one split
        info = self.data.info
        seeds = f"seed {args.seed}" if len(self.seeds) == 1 else (
            f"{len(self.seeds)} seeds {_seed_list(self.seeds)}"
            + (" (each with its own split)" if self.resplit else f" (split: seed {args.seed})")
        )  # fmt: skip
        print(
            f"data: {data.describe(info)}; {count(args.epochs, 'epoch')}, "
            f"batch {args.batch_size}, {seeds}; results in {self.out}"
        )
        if args.fresh:
            store.clear(self.out)
        self.results = self._resume()
        self.results.update(
            dataset=info,
            versions=training.library_versions(),
            command=shlex.join(["python", "-m", f"experiments.{self.experiment}", *args.argv]),
        )

    def _resume(self) -> dict:
        """The results already in ``--out``, if they fit this run; else fresh ones."""
        results = _usage(store.load_results, self.out)
        _usage(store.load_samples, self.out)  # checked now, not after the first model trains
        if results is None:
            return {
                "format_version": store.FORMAT_VERSION,
                "experiment": self.experiment,
                "protocol": self.protocol,
                "started": store.now(),
                "models": {},
                "selection": {},
            }
        path = self.out / store.RESULTS
        if results.get("experiment") != self.experiment:
            raise UsageError(
                f"{path} holds results of {results.get('experiment')}, not {self.experiment}; "
                "choose another --out, or --fresh to replace them"
            )
        if results["protocol"] != self.protocol:
            changes = "; ".join(_differences(results["protocol"], self.protocol))
            raise UsageError(
                f"{path} holds results trained with other settings ({changes}); run with "
                "--fresh to replace them, or choose another --out"
            )
        return results

    @property
    def models(self) -> dict[str, dict]:
        """The result entries so far, by model name."""
        return self.results["models"]

    def split_seed(self, seed: int) -> int:
        """The seed of the train/validation split that replicate ``seed`` trains on."""
        return seed if self.resplit else self.protocol["seed"]

    def done(self, name: str, seed: int | None = None) -> bool:
        """True if ``name`` is in ``results.json`` with this run's configuration.

        With ``seed``, that replicate; without, every seed of this run.
        """
        if seed is None:
            return all(self.done(name, s) for s in self.seeds)
        entry = replicates.entry(self.results, name, seed)
        config = training.model_config(
            name, self.data, training.replicate_protocol(self.protocol, seed)
        )
        return store.is_done(entry, config, self.out)

    def runs(self, name: str) -> dict[int, dict]:
        """The trained replicates of ``name`` of this run's seeds, by seed."""
        found = replicates.runs(self.results, name)
        return {seed: found[seed] for seed in self.seeds if seed in found}

    def save(self) -> None:
        """Write ``results.json`` now (atomically)."""
        self.results["updated"] = store.now()
        store.save_results(self.out, self.results)

    def train(self, names: Iterable[str]) -> None:
        """Train each model of ``names`` with each seed not done yet, recording each at once."""
        pending = []
        for name in names:
            for seed in self.seeds:
                which = name if len(self.seeds) == 1 else f"{name} (seed {seed})"
                if self.done(name, seed):
                    print(f"skipping {which}: already in {store.RESULTS} with the same "
                          "configuration")  # fmt: skip
                    continue
                entry = replicates.entry(self.results, name, seed)
                if entry is not None and (problem := store.model_file_problem(self.out, entry)):
                    print(f"retraining {which}: {problem}")
                pending.append(self._task(name, seed))
        if self.jobs > 1 or self.scheduler:  # the slowest models first, so the workers end together
            flops = {name: self._forward_flops(name) for name in {task.name for task in pending}}
            pending.sort(key=lambda task: flops[task.name], reverse=True)
        for entry in training.train_models(
            pending, self.datasets, self.out, self.jobs, self.scheduler
        ):
            self._record(entry)

    def _forward_flops(self, name: str) -> int:
        """The cost of one image through model ``name``: what orders the parallel tasks."""
        return zoo.build(name, self.data.input_shape, self.data.n_classes, 0).forward_flops

    def _task(self, name: str, seed: int) -> training.Task:
        split_seed = self.split_seed(seed)
        if split_seed not in self.datasets:
            self.datasets[split_seed] = self._load(split_seed)
        model_file = replicates.model_file(name, seed, self.protocol["seed"])
        # A cluster's workers may not see this folder: their models restart from epoch 1.
        backup = None if self.scheduler else (self.out / store.BACKUPS / model_file.name).resolve()
        return training.Task(
            name, training.replicate_protocol(self.protocol, seed), model_file, split_seed, backup
        )

    def _record(self, entry: dict) -> None:
        name, seed = entry["name"], entry["config"]["seed"]
        test_set = self.datasets[self.split_seed(seed)]
        store.add_predictions(self.out, name, seed, entry.pop("predictions"), test_set.y_test)
        if seed == self.protocol["seed"]:  # the figures show the single-run replicate's images
            indices = [entry["first_test"]["index"]] + [m["index"] for m in entry["mistakes"]]
            store.add_samples(self.out, indices, self.data.test_images)
        replicates.put(self.results, name, seed, entry)
        self.save()
        which = name if len(self.seeds) == 1 else f"{name} (seed {seed})"
        print(
            f"finished {which}: test accuracy {entry['test']['accuracy']:.2%}, "
            f"trained in {entry['train_time_s']:.1f} s"
        )

    def finish(self) -> int:
        """Save, write the report, print the summary, free ``--out``; return exit status 0.

        The summary ends with the data the run used and, if it is not the study's,
        one line saying so, why, and how to get the study's data.
        """
        try:
            self.save()
            path = report.generate(self.out)
        finally:
            self._lock.release()
        print(f"\n{report.main_tables(self.results)}\n\nreport: {path}")
        print(f"data: {data.describe(self.data.info)}")
        note = self.study.data_note(self.data.info)
        if note:
            print(note)
        return 0


def main(study: Study, argv: Sequence[str] | None = None) -> int:
    """Run ``study``'s command with command-line arguments ``argv``; return the exit status."""

    def run() -> int:
        args = cli.parse_args(cli.build_parser(study), argv)
        names = cli.resolve_models(args.models, study.command_models(), study.aliases())
        current = Run(args)
        study.run(current, names)
        return current.finish()

    return cli.run_main(run)
