"""A run folder under abuse: two runs at once, hand-edited or cut-short files, kills.

One quick study A run (``--quick --dataset digits``, 1 epoch: 2x100, 2x300 and the
dropout model) is made once; each test works on a copy of it. The commands are
run in-process through their ``main(argv)``, except where two processes must
compete for one folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments import crossed_design, plots, report, store
from tinynet import Sequential

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--quick", "--dataset", "digits", "--epochs", "1"]
MODELS = ["--models", "2x100", "2x300", "dropout"]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def study(out: Path, *extra: str) -> int:
    return crossed_design.main([*QUICK, "--out", str(out), *extra])


def one_error_line(capsys) -> str:
    """The command's stderr, which must be one ``error: ...`` line."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def read(out: Path) -> dict:
    return json.loads((out / store.RESULTS).read_text())


def write(out: Path, results: dict) -> None:
    (out / store.RESULTS).write_text(json.dumps(results))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished_run")
    assert study(out, *MODELS) == 0
    return out


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    return out


# --- one run at a time -----------------------------------------------------------------


def test_a_second_process_on_the_folder_stops_and_a_dead_ones_lock_is_taken_over(
    run_copy, capsys
):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom experiments import store\n"
         "held = store.lock(sys.argv[1])\nprint('locked', flush=True)\ntime.sleep(600)",
         str(run_copy)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env=ENV,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "locked\n"
        in_use = f"error: {run_copy} is in use by process {holder.pid}"
        assert study(run_copy, "--models", "2x100") == 2
        assert one_error_line(capsys).startswith(in_use)
        assert report.main([str(run_copy)]) == 2
        assert one_error_line(capsys).startswith(in_use)
    finally:
        holder.kill()  # like kill -9: the lock is left behind, the process is gone
        holder.wait()
    assert study(run_copy, "--models", "2x100") == 0
    assert "skipping 2x100" in capsys.readouterr().out


def test_a_run_that_finds_the_lock_taken_waits_a_moment_for_the_holders_number(tmp_path):
    """Two runs started together: the loser can look before the winner wrote its number."""
    import threading

    from filelock import FileLock

    held = FileLock(tmp_path / store.LOCK, blocking=False)
    held.acquire()  # taken, its process number not yet written
    writer = threading.Timer(0.3, (tmp_path / store.LOCK_PID).write_text, ["4242\n"])
    writer.start()
    try:
        with pytest.raises(ValueError, match="is in use by process 4242;"):
            store.lock(tmp_path)
    finally:
        writer.join()
        held.release()


def test_two_runs_started_together_on_one_folder_lose_nothing(tmp_path):
    """The issue's scenario: each finishes with its models in results.json, or stops at once."""
    groups = [["1x100", "1x300"], ["2x100", "2x300"]]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "experiments.crossed_design", *QUICK, "--out", str(tmp_path),
             "--models", *names],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO, env=ENV,
        )  # fmt: skip
        for names in groups
    ]
    outcomes = [(run.wait(timeout=600), run.stderr.read()) for run in runs]
    recorded = set(read(tmp_path)["models"])
    assert 0 in [status for status, _ in outcomes]
    for names, (status, err) in zip(groups, outcomes, strict=True):
        if status == 0:
            assert set(names) <= recorded
        else:
            assert status == 2 and f"error: {tmp_path} is in use by process " in err, err
            assert err.count("\n") == 1


# --- results.json and samples.npz are checked on every read ----------------------------


def _delete(path: list):
    def change(results: dict) -> None:
        *parents, last = path
        for key in parents:
            results = results[key]
        del results[last]

    return change


def _set(path: list, value):
    def change(results: dict) -> None:
        *parents, last = path
        for key in parents:
            results = results[key]
        results[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_delete(["protocol"]), "results.json: protocol is missing"),
        (_delete(["models"]), "results.json: models is missing"),
        (_delete(["selection"]), "results.json: selection is missing"),
        (_delete(["models", "2x100", "history"]), "results.json: models.2x100.history is missing"),
        (_set(["models", "2x300", "metrics", "confusion_matrix"], [[5, 0], [0, 5]]),
         "results.json: models.2x300.metrics.confusion_matrix: expected 10 items, got 2"),
        (_set(["models", "2x100", "first_test", "true"], 10),
         "results.json: models.2x100.first_test.true: must be <= 9, got 10"),
        (_set(["models", "2x100", "mistakes", 0, "true"], 1.0),
         "results.json: models.2x100.mistakes[0].true: expected integer, got a number"),
        (_set(["models", "2x100", "history", "val_loss"], [0.5, 0.4]),
         "results.json: models.2x100.history: lists of different lengths"),
        (_set(["models", "resnet"], {}), "results.json: models: unexpected name 'resnet'"),
        (_set(["selection", "dropout", "candidates", "2x100", "min_f1_class"], -1),
         "results.json: selection.dropout.candidates.2x100.min_f1_class: must be >= 0, got -1"),
    ],
)  # fmt: skip
def test_a_malformed_results_file_is_a_one_line_error_naming_the_field(
    run_copy, capsys, change, message
):
    results = read(run_copy)
    change(results)
    write(run_copy, results)
    assert report.main([str(run_copy)]) == 2
    assert one_error_line(capsys).startswith(f"error: {run_copy}/{message}")
    assert study(run_copy, "--models", "2x100") == 2  # the study's resume reads it the same way
    assert one_error_line(capsys).startswith(f"error: {run_copy}/{message}")


NOISE = np.random.default_rng(0).bytes(300)


@pytest.mark.parametrize(
    "content",
    [NOISE, b"PK\x03\x04" + NOISE, "an .npy array", "an .npz with other arrays",
     "images of the wrong type"],
    ids=["random bytes", "a broken zip archive", "an array", "other arrays", "float images"],
)  # fmt: skip
def test_a_foreign_samples_file_is_an_error_naming_it(run_copy, capsys, content):
    path = run_copy / store.SAMPLES
    if content == "an .npy array":
        with path.open("wb") as handle:
            np.save(handle, np.zeros(3))
    elif content == "an .npz with other arrays":
        np.savez(path, weights=np.zeros(3))
    elif content == "images of the wrong type":
        np.savez(path, index=np.arange(2), images=np.zeros((2, 8, 8)))
    else:
        path.write_bytes(content)
    assert report.main([str(run_copy)]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"error: {path}") and "pickle" not in line
    assert study(run_copy, "--models", "2x100") == 2
    assert one_error_line(capsys).startswith(f"error: {path}")


def test_the_results_schema_is_a_valid_json_schema():
    from jsonschema import Draft202012Validator

    from experiments import schema

    Draft202012Validator.check_schema(schema.results_schema(10, ["1x100"]))


# --- model files, temporary files, arguments ------------------------------------------


def test_a_model_file_outside_the_folder_is_not_reused(run_copy, capsys):
    results = read(run_copy)
    results["models"]["2x100"]["model_file"] = "../../../../etc/passwd"
    write(run_copy, results)
    assert study(run_copy, "--models", "2x100") == 0
    out = capsys.readouterr().out
    assert "retraining 2x100: its model_file '../../../../etc/passwd' is outside" in out
    assert read(run_copy)["models"]["2x100"]["model_file"] == "models/2x100.npz"


def test_a_model_file_that_does_not_load_is_retrained(run_copy, capsys):
    path = run_copy / "models" / "2x100.npz"
    path.write_bytes(path.read_bytes()[:300])  # as if the disk had filled up
    assert study(run_copy, "--models", "2x100", "2x300") == 0
    out = capsys.readouterr().out
    assert "retraining 2x100:" in out and "skipping 2x300" in out
    assert Sequential.load(path).n_params == read(run_copy)["models"]["2x100"]["n_params"]


def test_stale_temporary_files_are_removed_by_the_next_run_and_by_fresh(run_copy):
    def leave_temporaries() -> list[Path]:
        paths = [run_copy / ".results.json.1a2b3c4d.tmp",
                 run_copy / "models" / ".2x100.npz.5e6f7a8b.tmp",
                 run_copy / "backups" / ".2x100.npz.3a4b5c6d.tmp",
                 run_copy / "figures" / ".f1_per_class.png.9c0d1e2f.tmp"]  # fmt: skip
        (run_copy / "backups").mkdir(exist_ok=True)
        for path in paths:
            path.write_bytes(b"half a file")
        return paths

    kept = run_copy / "figures" / "notes.tmp"  # not one of ours: left alone
    kept.write_text("mine")
    for extra in ([], ["--fresh"]):
        paths = leave_temporaries()
        assert study(run_copy, "--models", "2x100", *extra) == 0
        assert not any(path.exists() for path in paths)
    assert kept.read_text() == "mine"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", ""], "argument --out: expected a folder name, got an empty string"),
        (["--seed", "4294967296"], "argument --seed: must be from 0 to 4294967295, got 4294967296"),
        (["--seed", "-1"], "argument --seed: must be from 0 to 4294967295, got -1"),
    ],
)
def test_arguments_outside_their_range(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    assert crossed_design.main([*QUICK, "--out", "out", *extra]) == 2
    assert message in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_the_fallback_and_a_smoke_run_never_take_the_mnist_runs_folder(tmp_path, monkeypatch):
    # A newcomer offline gets the digits; the same command once MNIST is there must not
    # find that folder taken by results trained with other settings.
    monkeypatch.chdir(tmp_path)
    assert crossed_design.main(["--quick", "--dataset", "digits", "--models", "1x100"]) == 0
    assert crossed_design.main(["--dataset", "digits", "--epochs", "1", "--models", "1x100"]) == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
        "crossed_design-digits", "crossed_design-digits-quick"]  # fmt: skip
    assert crossed_design.cli.default_out("crossed_design", "mnist", False) == Path(
        "results/crossed_design")


def test_the_largest_seed_is_accepted():
    args = crossed_design.cli.parse_args(crossed_design.PARSER, ["--seed", "4294967295"])
    assert args.seed == 2**32 - 1


# --- fuzzing ---------------------------------------------------------------------------

#: Replacement strings: any structure, but no matplotlib markup (a class named "$x^" is a
#: rendering problem, not a malformed file).
WORDS = st.text("abc019 _-.", max_size=6)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 12) | st.floats() | WORDS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=3),
    max_leaves=5,
)


def _paths(value, prefix=()) -> list[tuple]:
    """Every key path inside ``value``."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    found = []
    for key, child in items:
        found.append((*prefix, key))
        if isinstance(child, dict | list):
            found += _paths(child, (*prefix, key))
    return found


@pytest.fixture(scope="module")
def fuzz_folder(finished_run, tmp_path_factory) -> tuple[Path, dict]:
    """A copy of the run with one model (so that each report is quick), and its results."""
    out = tmp_path_factory.mktemp("fuzz")
    shutil.copy(finished_run / store.SAMPLES, out)
    results = read(finished_run)
    results["models"] = {"2x100": results["models"]["2x100"]}
    results["models"]["2x100"]["mistakes"] = results["models"]["2x100"]["mistakes"][:2]
    return out, results


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_results_give_a_report_or_one_error_line(fuzz_folder, monkeypatch, capsys, data):
    out, base = fuzz_folder
    results = json.loads(json.dumps(base))
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        by_field = {}  # every field equally likely, however long its lists
        for path in _paths(results):
            field = tuple("*" if isinstance(key, int) else key for key in path)
            by_field.setdefault(field, []).append(path)
        field = data.draw(st.sampled_from(sorted(by_field, key=str)), label="field")
        *parents, last = data.draw(st.sampled_from(by_field[field]), label="path")
        container = results
        for key in parents:
            container = container[key]
        action = data.draw(st.sampled_from(["delete", "replace", "shorten"]), label="action")
        if action == "delete":
            del container[last]
        elif action == "replace" or not isinstance(container[last], list | str):
            container[last] = data.draw(JSON, label="value")
        else:
            container[last] = container[last][: len(container[last]) // 2]
        if not _paths(results):
            break
    write(out, results)
    monkeypatch.setattr(plots, "DPI", 8)  # every figure is still drawn, just small
    capsys.readouterr()
    if report.main([str(out)]) != 0:
        assert one_error_line(capsys).startswith(f"error: {out / store.RESULTS}")


@settings(max_examples=200, deadline=None)
@given(model_file=st.text(max_size=40) | st.builds("/".join, st.lists(st.sampled_from(
    ["..", ".", "", "models", "2x100.npz", "etc", "passwd", "\x00"]), max_size=6)))  # fmt: skip
def test_any_model_file_is_inside_and_loads_or_is_refused(finished_run, model_file):
    problem = store.model_file_problem(finished_run, {"model_file": model_file})
    inside = (finished_run / model_file).resolve() if "\x00" not in model_file else None
    if problem is None:
        assert inside is not None and inside.is_relative_to(finished_run.resolve())
        Sequential.load(inside)
    else:
        assert isinstance(problem, str) and problem


#: Wrong values for the field-by-field test: one of each JSON type, and out-of-range numbers.
WRONG_VALUES = [None, "x", -1, 1.5, [], {}, True]


def test_every_field_deleted_or_of_the_wrong_type_is_refused_or_reported(
    fuzz_folder, monkeypatch
):
    """Field by field (the text of the report only: the fuzz test above draws the figures)."""
    from experiments import schema

    out, base = fuzz_folder
    for figure in ("accuracy_per_epoch", "f1_per_class", "example_prediction",
                   "training_curves", "confusion_matrix", "mistakes"):  # fmt: skip
        monkeypatch.setattr(plots, figure, lambda *args: True)
    samples = store.load_samples(out)
    fields = {}
    for path in _paths(base):
        fields.setdefault(tuple("*" if isinstance(key, int) else key for key in path), path)
    for *parents, last in fields.values():
        for value in ["delete", *WRONG_VALUES]:
            results = json.loads(json.dumps(base))
            container = results
            for key in parents:
                container = container[key]
            if value == "delete":
                del container[last]
            else:
                container[last] = value
            try:
                schema.check_results(results, out / store.RESULTS)
            except ValueError:
                continue
            report.render(results, report.make_figures(results, samples, out))


def test_a_model_stopped_mid_training_resumes_from_its_last_epoch(tmp_path, monkeypatch):
    """Ctrl-C in epoch 2 of 3 keeps epoch 1 in backups/; the rerun ends as an unbroken run."""
    three_epochs = ["--models", "2x100", "--epochs", "3"]
    assert study(tmp_path / "unbroken", *three_epochs) == 0
    calls = {"n": 0}
    evaluate = Sequential._evaluate_checked

    def stop_in_epoch_two(self, *args, **kwargs):  # the validation pass ends each epoch
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return evaluate(self, *args, **kwargs)

    out = tmp_path / "stopped"
    with monkeypatch.context() as patch:
        patch.setattr(Sequential, "_evaluate_checked", stop_in_epoch_two)
        assert study(out, *three_epochs) == 130
    assert (out / store.BACKUPS / "2x100.npz").is_file()
    assert study(out, *three_epochs) == 0
    assert not (out / store.BACKUPS / "2x100.npz").exists()
    resumed, unbroken = read(out)["models"]["2x100"], read(tmp_path / "unbroken")["models"]["2x100"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert resumed["history"][key] == unbroken["history"][key]
    assert resumed["test"] == unbroken["test"]
    weights = [Sequential.load(folder / "models" / "2x100.npz").parameters()[0]
               for folder in (out, tmp_path / "unbroken")]  # fmt: skip
    for x, y in zip(*weights, strict=True):
        np.testing.assert_array_equal(x, y)


def test_a_damaged_backup_is_one_error_line(tmp_path, capsys):
    out = tmp_path / "run"
    (out / store.BACKUPS).mkdir(parents=True)
    (out / store.BACKUPS / "2x100.npz").write_bytes(b"half a backup")
    assert study(out, "--models", "2x100") == 2
    assert "not a readable tinynet backup" in one_error_line(capsys)
