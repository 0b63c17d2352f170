"""Replicates (``--seeds``): one model per seed, resume per (model, seed), the statistics.

The commands run in-process on ``--quick --dataset digits`` for 1 epoch, as in
``tests/test_experiments.py``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from experiments import crossed_design, model_comparison, replicates, selection, store

QUICK_DIGITS = ["--quick", "--dataset", "digits", "--epochs", "1"]


def run(main, out: Path, *extra: str) -> int:
    return main([*QUICK_DIGITS, "--out", str(out), *extra])


def read_results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def finished_by_seed(results: dict) -> dict[tuple[str, int], str]:
    return {(name, seed): entry["finished"] for name in results["models"]
            for seed, entry in replicates.runs(results, name).items()}  # fmt: skip


@pytest.fixture(scope="module")
def crossed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("crossed_seeds")
    assert run(crossed_design.main, out, "--seeds", "2") == 0
    return out


def test_every_model_is_trained_once_per_seed(crossed):
    results = read_results(crossed)
    names = list(results["models"])
    assert len(names) == 5  # the four MLPs and model 5
    for name in names:
        runs = replicates.runs(results, name)
        assert list(runs) == [42, 43]
        assert [entry["config"]["seed"] for entry in runs.values()] == [42, 43]
        assert runs[42]["history"]["loss"] != runs[43]["history"]["loss"]
        for seed, entry in runs.items():
            assert (crossed / entry["model_file"]).is_file()
            assert replicates.model_file(name, seed, 42).as_posix() == entry["model_file"]
    assert store.load_results(crossed) is not None  # the schema accepts the replicates


def test_more_seeds_train_only_the_new_ones(crossed, capsys):
    before = finished_by_seed(read_results(crossed))
    assert run(crossed_design.main, crossed, "--seeds", "3") == 0
    after = finished_by_seed(read_results(crossed))
    assert {key: after[key] for key in before} == before
    assert sorted(set(after) - set(before)) == sorted((n, 44) for n, _ in before if _ == 42)
    out = capsys.readouterr().out
    assert "skipping 1x100 (seed 43)" in out and "training 1x100 (seed 44)" in out
    assert "training 1x100 (seed 43)" not in out


def test_the_report_summarises_the_seeds_with_anova_and_interaction_plot(crossed):
    report = (crossed / "report.md").read_text()
    section = report[report.index("## Replicates"):report.index("## Model 5")]
    assert "95% confidence interval of the mean" in section
    rows = [line for line in section.splitlines() if line.startswith("| 1: 1x100")]
    assert len(rows) == 1 and " ± " in rows[0] and "[" in rows[0]
    assert "97.40%: " in rows[0]  # the published 97.4%, judged in words
    for term in ("| depth ", "| width ", "| depth:width ", "| Residual "):
        assert term in section
    for figure in ("interaction.png", "accuracy_intervals.png"):
        assert f"figures/{figure}" in section
        assert (crossed / "figures" / figure).read_bytes().startswith(b"\x89PNG")


def test_model_5_counts_the_worse_model_per_seed(crossed):
    results = read_results(crossed)
    decision = results["selection"]["dropout"]
    per_seed = decision["worse_by_seed"]
    assert sorted(per_seed) == [str(seed) for seed in replicates.seeds(results)]
    for seed, worse in per_seed.items():
        models = {n: replicates.entry(results, n, int(seed)) for n in ("2x100", "2x300")}
        assert worse == selection.worse_two_layer_model(models, ["c"] * 10)["model"]
    assert sum(decision["counts"].values()) == len(per_seed)
    assert decision["counts"][decision["model"]] == max(decision["counts"].values())


def test_the_most_frequent_choice_wins_and_a_tie_goes_to_the_own_seed():
    def models(worse: str) -> dict:
        f1 = {"2x100": 0.5, "2x300": 0.9} if worse == "2x100" else {"2x100": 0.9, "2x300": 0.5}
        return {n: {"metrics": {"per_class": {"f1": [f1[n], 1.0]}}, "test": {"accuracy": 0.9}}
                for n in ("2x100", "2x300")}  # fmt: skip

    names = ["0", "1"]
    majority = selection.worse_across_seeds(
        {42: models("2x100"), 43: models("2x300"), 44: models("2x300")}, names, 42
    )
    assert majority["model"] == "2x300" and majority["counts"] == {"2x100": 1, "2x300": 2}
    tie = selection.worse_across_seeds({42: models("2x300"), 43: models("2x100")}, names, 42)
    assert tie["model"] == "2x300" and "a tie" in tie["reason"]
    assert selection.worse_across_seeds({42: models("2x100")}, names, 42) == (
        selection.worse_two_layer_model(models("2x100"), names)
    )


def test_own_seed_replicate_is_the_single_seed_run_and_pairs_are_tested(tmp_path):
    single, seeds = tmp_path / "single", tmp_path / "seeds"
    assert run(model_comparison.main, single, "--models", "nn", "dnn") == 0
    assert run(model_comparison.main, seeds, "--models", "nn", "dnn", "--seeds", "42", "43") == 0
    one, many = read_results(single), read_results(seeds)
    assert "replicates" not in one  # a single-seed file is as before
    for name in ("nn", "dnn"):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert many["models"][name]["history"][key] == one["models"][name]["history"][key]
        assert many["models"][name]["test"] == one["models"][name]["test"]
    with np.load(seeds / "predictions.npz") as archive:
        assert sorted(archive.files) == ["dnn@42", "dnn@43", "labels@42", "labels@43",
                                         "nn@42", "nn@43"]  # fmt: skip
        accuracy = np.mean(archive["nn@43"] == archive["labels@43"])
    assert accuracy == pytest.approx(many["replicates"]["nn"]["43"]["test"]["accuracy"])
    report = (seeds / "report.md").read_text()
    line = next(line for line in report.splitlines() if line.startswith("- dnn vs nn"))
    assert "paired t-test, 2 seeds" in line and "seed 42 alone: dnn vs nn" in line
    assert "McNemar" in line


def test_models_trained_with_different_seeds_are_said_so(tmp_path):
    assert run(model_comparison.main, tmp_path, "--models", "nn", "--seeds", "2") == 0
    assert run(model_comparison.main, tmp_path, "--models", "lm", "--seeds", "3") == 0
    report = (tmp_path / "report.md").read_text()
    assert "## Replicates: 2 to 3 seeds per model" in report
    assert "(nn with 42, 43; lm with 42, 43, 44)" in report


def test_jobs_write_every_replicate_from_the_calling_process(tmp_path):
    assert run(model_comparison.main, tmp_path, "--models", "lm", "--seeds", "2",
               "--jobs", "2") == 0  # fmt: skip
    results = read_results(tmp_path)
    runs = replicates.runs(results, "lm")
    assert list(runs) == [42, 43]
    for entry in runs.values():
        assert store.model_file_problem(tmp_path, entry) is None


def test_resplit_draws_a_split_per_seed_and_is_never_mixed_with_one_split(tmp_path, capsys):
    one_split = tmp_path / "one_split"
    assert run(model_comparison.main, tmp_path, "--models", "lm", "--seeds", "2",
               "--resplit") == 0  # fmt: skip
    assert run(model_comparison.main, one_split, "--models", "lm", "--seeds", "2") == 0
    resplit, same = read_results(tmp_path), read_results(one_split)
    assert resplit["protocol"]["resplit"] is True and "resplit" not in same["protocol"]
    assert resplit["models"]["lm"]["history"]["val_loss"] == (
        same["models"]["lm"]["history"]["val_loss"]
    )  # seed 42: the run's own split either way
    assert resplit["replicates"]["lm"]["43"]["history"]["val_loss"] != (
        same["replicates"]["lm"]["43"]["history"]["val_loss"]
    )  # seed 43: other validation images
    capsys.readouterr()
    assert run(model_comparison.main, tmp_path, "--models", "lm", "--seeds", "2") == 2
    assert "resplit: True -> None" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seeds", "0"], "--seeds 0: expected a number of seeds from 1"),
        (["--seeds", "43", "44"], "must include --seed (42)"),
        (["--seeds", "42", "42"], "a seed is repeated"),
        (["--seeds", "x"], "--seeds: expected an integer"),
        (["--scheduler", "tcp://127.0.0.1:1", "--jobs", "2"], "--jobs is for local runs"),
    ],
)
def test_bad_seeds_are_one_line_errors(tmp_path, capsys, extra, message):
    assert run(model_comparison.main, tmp_path, "--models", "lm", *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_a_broken_replicate_is_named_by_the_schema(crossed):
    results = read_results(crossed)
    del results["replicates"]["2x300"]["43"]["test"]
    bad = crossed.parent / "broken"
    bad.mkdir(exist_ok=True)
    (bad / "results.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match=r"replicates\.2x300\.43\.test is missing"):
        store.load_results(bad)


# --- --scheduler: the same replicates on a Dask cluster --------------------------------


@pytest.mark.slow  # a LocalCluster whose workers import the experiments: ~30 s on 2 busy cores
def test_a_study_on_a_local_cluster_matches_local_workers_bit_for_bit(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    local = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    )  # fmt: skip
    try:
        extra = ["--models", "dnnd", "--seeds", "2"]  # dropout: every random draw is used
        assert run(model_comparison.main, tmp_path / "here", *extra, "--jobs", "2") == 0
        there = ["--scheduler", local.scheduler_address]
        assert run(model_comparison.main, tmp_path / "there", *extra, *there) == 0
        assert f"on the Dask cluster at {local.scheduler_address}" in capsys.readouterr().out
    finally:
        local.close()
    here, there = (read_results(tmp_path / where) for where in ("here", "there"))
    runs_here, runs_there = replicates.runs(here, "dnnd"), replicates.runs(there, "dnnd")
    assert list(runs_here) == list(runs_there) == [42, 43]
    for seed, entry in runs_here.items():
        other = runs_there[seed]
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert entry["history"][key] == other["history"][key], (seed, key)
        for key in ("test", "metrics", "first_test", "mistakes", "model_file"):
            assert entry[key] == other[key], (seed, key)
        with np.load(tmp_path / "here" / entry["model_file"]) as saved_here, np.load(
            tmp_path / "there" / entry["model_file"]
        ) as saved_there:
            assert saved_here.files == saved_there.files
            for key in saved_here.files:
                np.testing.assert_array_equal(saved_here[key], saved_there[key])
