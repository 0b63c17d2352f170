"""The study commands end to end (``--quick --dataset digits``), resume, errors, the zoo.

Each command runs once per module (fixtures), in-process through its ``main(argv)``;
the tests then check what it wrote. A slow test repeats ``--quick`` on real MNIST.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import crossed_design, data, metrics, model_comparison, selection, store, zoo

REPO = Path(__file__).resolve().parents[1]
QUICK_DIGITS = ["--quick", "--dataset", "digits", "--epochs", "1"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(main, out: Path, *extra: str) -> int:
    return main([*QUICK_DIGITS, "--out", str(out), *extra])


def read_results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def finished(out: Path) -> dict[str, tuple[str, int]]:
    """Per model: when it finished and its weight file's mtime, to detect retraining."""
    return {
        name: (entry["finished"], (out / entry["model_file"]).stat().st_mtime_ns)
        for name, entry in read_results(out)["models"].items()
    }


@pytest.fixture(scope="module")
def crossed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("crossed_design")
    assert run(crossed_design.main, out) == 0
    return out


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model_comparison")
    assert run(model_comparison.main, out) == 0
    return out


def check_output_folder(out: Path, names: list[str], epochs: int) -> dict:
    """Everything a run writes exists and is well-formed; returns the results."""
    results = read_results(out)
    assert results["format_version"] == store.FORMAT_VERSION
    assert list(results["models"]) == names
    dataset = results["dataset"]
    assert dataset["name"] == "digits" and dataset["quick"] is True
    assert (dataset["n_train"], dataset["n_validation"], dataset["n_test"]) == (1150, 287, 360)
    assert results["protocol"]["seed"] == 42 and results["protocol"]["batch_size"] == 32
    assert {"numpy", "numba", "scikit-learn", "tinynet"} <= set(results["versions"])
    n_classes = len(dataset["class_names"])
    for name, entry in results["models"].items():
        assert entry["config"]["model"] == name and entry["config"]["epochs"] == epochs
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time"):
            assert len(entry["history"][key]) == epochs
        assert entry["train_time_s"] == pytest.approx(sum(entry["history"]["epoch_time"]))
        assert entry["train"]["loss"] == entry["history"]["loss"][-1]
        m = entry["metrics"]
        matrix = np.array(m["confusion_matrix"])
        assert matrix.shape == (n_classes, n_classes) and matrix.sum() == dataset["n_test"]
        assert m["accuracy"] == pytest.approx(entry["test"]["accuracy"])
        assert m["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
        assert m["per_class"]["support"] == matrix.sum(axis=1).tolist()
        assert all(0 <= m[avg][k] <= 1 for avg in ("weighted", "macro") for k in m[avg])
        assert sum(entry["first_test"]["probabilities"]) == pytest.approx(1, abs=1e-4)
        assert entry["n_params"] > 0 and "Total params" in entry["summary"]
        assert (out / entry["model_file"]).read_bytes()[:2] == b"PK"  # an .npz (zip)
    samples = store.load_samples(out)
    assert 0 in samples and samples[0].shape == (8, 8) and samples[0].dtype == np.uint8
    report = (out / "report.md").read_text()
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(figures) >= 2 * len(names) + 3
    for figure in figures:
        assert not Path(figure).is_absolute()
        assert (out / figure).read_bytes()[:8] == PNG_SIGNATURE, figure
    for name in names:
        assert f"figures/confusion_{name}.png" in figures
        assert f"figures/curves_{name}.png" in figures
    assert "figures/f1_per_class.png" in figures and "figures/example_prediction.png" in figures
    assert sum(figure.startswith("figures/mistakes_") for figure in figures) == 1
    assert {path.name for path in (out / "figures").iterdir()} == {Path(f).name for f in figures}
    assert re.search(r"\d+ was predicted as \d+ in \d+ of \d+ cases", report)
    assert "published" in report and "Not comparable" in report
    return results


# --- study A -----------------------------------------------------------------------------


def test_crossed_design_writes_every_output(crossed):
    results = read_results(crossed)
    model5 = results["selection"]["dropout"]["dropout_model"]
    check_output_folder(crossed, ["1x100", "1x300", "2x100", "2x300", model5], epochs=1)
    report = (crossed / "report.md").read_text()
    assert "1 min 14 s" in report and "3 min 22 s" in report  # published times
    assert "study B's protocol" in report
    for group in ("1x100_1x300", f"2x100_2x300_{model5}"):
        assert f"figures/accuracy_{group}.png" in report


def test_dropout_model_targets_the_worse_two_layer_model(crossed):
    results = read_results(crossed)
    models = results["models"]

    def badness(name):  # lower minimum per-class F1, then lower test accuracy = worse
        return (min(models[name]["metrics"]["per_class"]["f1"]), models[name]["test"]["accuracy"])

    worse = min(["2x100", "2x300"], key=badness)
    decision = results["selection"]["dropout"]
    assert decision["model"] == worse
    assert decision["dropout_model"] == f"{worse}-dropout"
    layers = [layer["class"] for layer in models[f"{worse}-dropout"]["config"]["layers"]]
    assert layers == ["Flatten", "Dense", "ReLU", "Dropout", "Dense", "ReLU", "Dropout", "Dense"]
    rates = [layer["config"]["rate"] for layer in models[f"{worse}-dropout"]["config"]["layers"]
             if layer["class"] == "Dropout"]  # fmt: skip
    assert rates == [0.2, 0.2]
    assert f"model 5 is **{worse}-dropout**" in (crossed / "report.md").read_text()
    assert f"{worse} has the lower" in decision["reason"] or "same minimum" in decision["reason"]


def test_a_second_run_resumes_without_retraining(crossed, capsys):
    # As if the first run had been killed while training 2x300: it and the dropout model
    # are not in results.json. The second run trains just those two.
    results = read_results(crossed)
    model5 = results["selection"]["dropout"]["dropout_model"]
    before = finished(crossed)
    for name in ("2x300", model5):
        del results["models"][name]
    store.save_results(crossed, results)
    assert run(crossed_design.main, crossed) == 0
    after = finished(crossed)
    assert set(after) == set(before)
    assert {name for name in after if after[name] != before[name]} == {"2x300", model5}
    assert capsys.readouterr().out.count("skipping") == 3


def test_fresh_starts_over(tmp_path, capsys):
    assert run(crossed_design.main, tmp_path, "--models", "1x100") == 0
    (tmp_path / "figures" / "stale.png").write_bytes(b"x")
    before = finished(tmp_path)
    assert run(crossed_design.main, tmp_path, "--models", "1", "--fresh") == 0
    assert "skipping" not in capsys.readouterr().out
    assert finished(tmp_path)["1x100"][1] != before["1x100"][1]
    assert not (tmp_path / "figures" / "stale.png").exists()


# --- study B -----------------------------------------------------------------------------


def test_model_comparison_writes_every_output_and_the_top_3(comparison):
    results = check_output_folder(comparison, list(zoo.MODEL_COMPARISON), epochs=1)
    top3 = results["selection"]["top3"]
    assert top3["top"] == selection.top_models(results["models"])["top"]
    assert len(top3["top"]) == 3 and len(set(top3["top"])) == 3
    report = (comparison / "report.md").read_text()
    assert "## Top 3 by validation loss and accuracy" in report
    for name in top3["top"]:
        assert f"#### {top3['top'].index(name) + 1}. {name}" in report
        assert results["models"][name]["summary"] in report
    for group in ("nn", "dnn_dnnd", "cnn_dcnn"):
        assert f"figures/accuracy_{group}.png" in report
    assert "99.20%" in report and "0.9928" in report  # published cnn numbers


def test_model_comparison_resumes(comparison, capsys):
    before = finished(comparison)
    assert run(model_comparison.main, comparison) == 0
    assert finished(comparison) == before
    assert capsys.readouterr().out.count("skipping") == 6


def test_parallel_jobs_start_with_the_slowest_model(tmp_path, capsys):
    assert run(model_comparison.main, tmp_path, "--models", "lm", "cnn", "nn", "--jobs", "2") == 0
    assert "in 2 processes: cnn (seed 42), nn (seed 42), lm (seed 42)" in capsys.readouterr().out


def test_parallel_jobs_give_complete_results(tmp_path):
    assert run(model_comparison.main, tmp_path, "--models", "lm", "nn", "--jobs", "2") == 0
    results = read_results(tmp_path)
    assert set(results["models"]) == {"lm", "nn"}
    for entry in results["models"].values():
        assert (tmp_path / entry["model_file"]).is_file()
        assert len(entry["history"]["loss"]) == 1


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--models", "nope"], "unknown model 'nope'"),
        (["--epochs", "0"], "--epochs: must be >= 1"),
        (["--batch-size", "x"], "--batch-size: expected an integer"),
        (["--dataset", "mnist", "--data-dir", "{tmp}/empty"], "MNIST not found"),
        # a data location the user named is never replaced by other data, whatever --dataset
        (["--dataset", "auto", "--data-dir", "{tmp}/empty"], "MNIST not found"),
        (["--dataset", "auto", "--data-dir", "{tmp}/no/such/dir"], "no/such/dir does not exist"),
        (["--dataset", "mnist", "--data-dir", "{tmp}/file.txt"], "file.txt is not a folder"),
        (["--dataset", "digits", "--data-dir", "{tmp}/empty"], "does not read it"),
        (["--dataset", "csv"], "--dataset csv needs --data-path"),
        (["--dataset", "csv", "--data-path", "{tmp}/train.csv"], "train.csv does not exist"),
        (["--dataset", "csv", "--data-path", "{tmp}/file.txt"], "file.txt: "),  # not a CSV
        (["--dataset", "mnist", "--data-path", "{tmp}/file.txt"], "is for --dataset csv"),
        (["--out", "{tmp}/file.txt"], "cannot write to"),
        (["--models", "5"], "needs both"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys, extra, message):
    (tmp_path / "file.txt").write_text("not a folder")
    (tmp_path / "empty").mkdir()
    argv = [*QUICK_DIGITS, "--out", str(tmp_path / "out")] + [
        item.format(tmp=tmp_path) for item in extra
    ]
    assert crossed_design.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


# --- which data a run used -----------------------------------------------------------


def test_offline_fallback_is_named_in_the_last_lines(tmp_path, capsys, monkeypatch):
    # A new user's machine: no MNIST anywhere, no network. The default --dataset auto
    # falls back to the 8x8 digits; the end of the output must say so, and why.
    monkeypatch.delenv("TINYNET_DATA_DIR", raising=False)
    monkeypatch.setenv("TINYNET_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    argv = ["--quick", "--epochs", "1", "--models", "1x100", "--out", str(tmp_path / "out")]
    assert crossed_design.main(argv) == 0
    captured = capsys.readouterr()
    last = captured.out.strip().splitlines()[-5:]
    assert any(line.startswith("data: digits (scikit-learn bundled digits)") for line in last)
    note = [line for line in last if line.startswith("NOT THE STUDY'S DATA")]
    assert len(note) == 1, last
    results = read_results(tmp_path / "out")
    assert results["dataset"]["requested"] == "auto"
    reason = results["dataset"]["fallback"]  # why MNIST could not be had
    assert re.search("TINYNET_OFFLINE|downloading is off", reason) and reason in note[0]
    assert "--data-dir" in note[0] and "TINYNET_DATA_DIR" in note[0]  # how to get it
    assert captured.err.count("WARNING: MNIST is not available") == 1
    report = (tmp_path / "out" / "report.md").read_text()
    assert report.startswith("# Study A: the 2x2 crossed design, reproduced with tinynet on digits")
    assert report.count("NOT THE STUDY'S DATA") == 1 and "Data warning" not in report


def test_the_fallback_gives_the_reason_the_download_failed(monkeypatch, capsys):
    from tinynet.datasets import DatasetNotFoundError, load_dataset

    places = ["data_dir argument: not given", "cache /c/mnist: does not exist",
              "download https://a/train-images-idx3-ubyte.gz: HTTP error 404 Not Found",
              "download https://b/train-images-idx3-ubyte.gz: no answer within 10 s"]  # fmt: skip

    def offline(name, **kwargs):
        if name == "mnist":
            raise DatasetNotFoundError("MNIST not found, and the download failed.", places)
        return load_dataset(name, **kwargs)

    monkeypatch.setattr(data, "load_dataset", offline)
    info = data.load("auto", None, seed=42, quick=True).info
    assert info["name"] == "digits" and info["fallback"] == (
        "download https://a/train-images-idx3-ubyte.gz: HTTP error 404 Not Found; "
        "1 more attempt(s) failed too"
    )
    assert capsys.readouterr().err.count("HTTP error 404") == 1


def test_an_explicit_other_dataset_is_noted_once_and_described_as_run(crossed, comparison):
    # --dataset digits is explicit, so the note says it was asked for, once
    for out in (crossed, comparison):
        report = (out / "report.md").read_text()
        assert report.count("NOT THE STUDY'S DATA") == 1 and "--dataset digits was asked" in report
        assert "1,150 / 287 train / validation images" in report  # the protocol as it was run
        assert "50,000" not in report


def write_kaggle_csv(path: Path, per_class: int = 10, side: int = 28) -> None:
    """A small file in the layout of Kaggle's Digit Recognizer train.csv."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), per_class)
    pixels = rng.integers(0, 256, size=(len(labels), side * side))
    header = "label," + ",".join(f"pixel{i}" for i in range(side * side))
    rows = [",".join(map(str, [label, *row])) for label, row in zip(labels, pixels, strict=True)]
    path.write_text("\n".join([header, *rows]) + "\n")


@pytest.mark.parametrize(
    ("main", "model", "dataset"),
    [(crossed_design.main, "1x100", ["--dataset", "csv"]), (model_comparison.main, "lm", [])],
)
def test_kaggle_csv_is_split_80_20_then_like_any_training_set(tmp_path, main, model, dataset):
    # 100 images: 80 train / 20 test (stratified, seed 42), then 20% of the 80 for validation
    csv = tmp_path / "train.csv"
    write_kaggle_csv(csv)
    out = tmp_path / "out"
    argv = [*dataset, "--data-path", str(csv), "--epochs", "1", "--models", model]
    assert main([*argv, "--out", str(out)]) == 0
    info = read_results(out)["dataset"]
    assert info["name"] == "csv" and str(csv) in info["source"]
    assert (info["n_train"], info["n_validation"], info["n_test"]) == (64, 16, 20)
    assert info["image_shape"] == [28, 28, 1]
    report = (out / "report.md").read_text()
    assert f"from {info['source']}" in report
    if main is crossed_design.main:  # the study's own data: comparable, no note
        assert "NOT THE STUDY'S DATA" not in report
    else:
        assert "NOT THE STUDY'S DATA" in report


def test_help_says_what_data_is_used():
    for study, parser in (("crossed_design", crossed_design.PARSER),
                          ("model_comparison", model_comparison.PARSER)):  # fmt: skip
        text = " ".join(parser.format_help().split())
        assert "--data-path" in text and "if it is found or can be downloaded" in text
        assert "study on MNIST" not in text  # MNIST is not promised unconditionally
        assert f"docs/studies/{study}.md" in text


def test_the_repository_names_no_file_outside_it():
    # The published studies are cited in docs/studies/; nothing points at files that a
    # clone does not have (only CI and the test fixtures may look for a shared MNIST copy).
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout.split()  # fmt: skip
    offenders = []
    for name in files:
        path = REPO / name
        if path.suffix not in {".py", ".md", ".toml", ".txt", ""} or not path.is_file():
            continue
        if path == Path(__file__).resolve():  # this test names what it looks for
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if "REFERENCE.md" in text or "shared/seeds" in text:
            offenders.append(name)
        if name.startswith(("experiments/", "docs/")) and "../shared" in text:
            offenders.append(name)
    assert offenders == []
    for study in ("crossed_design", "model_comparison"):
        assert (REPO / "docs" / "studies" / f"{study}.md").is_file()


def test_no_study_is_special_cased_outside_its_module():
    for path in (REPO / "experiments").rglob("*.py"):
        if "studies" not in path.relative_to(REPO).parts:
            assert 'experiment"] ==' not in path.read_text(), path


def test_other_settings_in_out_are_not_mixed_in(crossed, capsys):
    assert crossed_design.main([*QUICK_DIGITS[:-1], "2", "--out", str(crossed)]) == 2
    assert "epochs: 1 -> 2" in capsys.readouterr().err
    assert model_comparison.main([*QUICK_DIGITS, "--out", str(crossed)]) == 2
    assert "holds results of crossed_design" in capsys.readouterr().err


def test_help_documents_every_shared_option():
    text = model_comparison.PARSER.format_help() + crossed_design.PARSER.format_help()
    for option in ("--dataset", "--data-dir", "--epochs", "--batch-size", "--seed", "--models",
                   "--out", "--quick", "--jobs", "--fresh", "fashion-mnist", "2x300"):  # fmt: skip
        assert option in text


def test_command_line_exit_status_and_no_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "experiments.model_comparison", "--models", "lm", "resnet",
         "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert done.returncode == 2
    expected = "error: unknown model 'resnet'; choose from lm, nn, dnn, dnnd, cnn, dcnn\n"
    assert done.stderr == expected


# --- the pieces --------------------------------------------------------------------------

#: Parameter counts of the studies' Keras models on 28x28x1 MNIST.
KERAS_PARAMS = {
    "1x100": 79_510, "1x300": 238_510, "2x100": 89_610, "2x300": 328_810,
    "2x100-dropout": 89_610, "2x300-dropout": 328_810,
    "lm": 7_850, "nn": 318_010, "dnn": 355_110, "dnnd": 355_110,
    "cnn": 650_714, "dcnn": 696_890,
}  # fmt: skip


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_models_match_the_reference_architectures(name):
    model = zoo.build(name, (28, 28, 1), 10, seed=0)
    assert model.n_params == KERAS_PARAMS[name]
    assert model.output_shape == (10,)
    assert zoo.build(name, (8, 8, 1), 10, seed=0).predict(np.zeros((2, 8, 8, 1))).shape == (2, 10)


def test_zoo_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown model"):
        zoo.build("resnet", (28, 28, 1), 10, seed=0)


def test_validation_split_sizes_follow_the_study():
    assert data.validation_size(60_000) == 10_000
    assert data.validation_size(1_437) == 287


def test_stratified_subset_keeps_class_proportions():
    y = np.random.default_rng(0).permutation(np.repeat(np.arange(10), 100 * np.arange(1, 11)))
    for seed in range(5):
        keep = data.stratified_subset(y, 550, seed=seed)
        assert len(keep) == 550 and np.all(np.diff(keep) > 0)
        assert np.bincount(y[keep]).tolist() == (10 * np.arange(1, 11)).tolist()
        assert keep[0] == 0  # the first sample (the example prediction's image) is kept
    assert len(data.stratified_subset(y, 10_000, seed=0)) == len(y)


def entry(f1: list[float], accuracy: float) -> dict:
    return {"metrics": {"per_class": {"f1": f1}}, "test": {"accuracy": accuracy}}


def test_worse_model_is_the_lowest_per_class_f1_then_the_lower_accuracy():
    names = [str(c) for c in range(3)]
    lower_f1 = {"2x100": entry([0.9, 0.8, 0.95], 0.90), "2x300": entry([0.9, 0.85, 0.7], 0.95)}
    decision = selection.worse_two_layer_model(lower_f1, names)
    assert decision["model"] == "2x300" and decision["dropout_model"] == "2x300-dropout"
    assert "0.7000 (class 2)" in decision["reason"]
    tie = {"2x100": entry([0.9, 0.7, 0.95], 0.93), "2x300": entry([0.7, 0.9, 0.9], 0.92)}
    decision = selection.worse_two_layer_model(tie, names)
    assert decision["model"] == "2x300" and "lower test accuracy" in decision["reason"]


def test_top_models_rank_by_validation_loss_and_accuracy():
    def validated(loss, accuracy):
        return {"validation": {"loss": loss, "accuracy": accuracy}}

    models = {                           # loss rank + accuracy rank = score
        "a": validated(0.10, 0.95),          # 1 + 3 = 4
        "b": validated(0.20, 0.97),          # 2 + 1 = 3
        "c": validated(0.30, 0.96),          # 5 + 2 = 7
        "d": validated(0.25, 0.90),          # 4 + 4 = 8
        "e": validated(0.20, 0.90),          # 2 + 4 = 6 (ties share a rank)
    }  # fmt: skip
    ranking = selection.top_models(models)
    assert ranking["top"] == ["b", "a", "e"]
    assert [row["score"] for row in ranking["ranking"]] == [3, 4, 6, 7, 8]


def test_confusions_in_words():
    matrix = [[50, 0, 0], [1, 40, 9], [0, 9, 30]]
    top = metrics.top_confusions(matrix, k=2)
    assert [(c["true"], c["predicted"], c["count"]) for c in top] == [(1, 2, 9), (2, 1, 9)]
    sentence = metrics.confusion_sentence(top[0], ["zero", "one", "two"])
    assert sentence == "one was predicted as two in 9 of 50 cases"
    assert metrics.most_confused_with(matrix, 0) is None
    assert metrics.lowest_f1([0.9, 0.5, 0.7, 0.5], k=2) == [1, 3]
    assert metrics.lowest_f1([1.0, 0.5, 1.0]) == [1]


def test_classification_metrics_match_a_hand_count():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    m = metrics.classification_metrics(y_true, y_pred, 4)  # class 3 never occurs
    assert m["confusion_matrix"][0] == [1, 1, 0, 0] and m["confusion_matrix"][1] == [1, 2, 0, 0]
    assert m["per_class"]["precision"][:3] == pytest.approx([0.5, 2 / 3, 1.0])
    assert m["per_class"]["support"] == [2, 3, 1, 0]
    assert m["accuracy"] == pytest.approx(4 / 6)
    json.dumps(m)  # JSON-able


# --- real MNIST --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("main", [crossed_design.main, model_comparison.main])
def test_quick_run_on_real_mnist(tmp_path, main, mnist_dir):
    assert main(["--quick", "--data-dir", str(mnist_dir), "--out", str(tmp_path)]) == 0
    results = read_results(tmp_path)
    dataset = results["dataset"]
    assert dataset["name"] == "mnist" and dataset["image_shape"] == [28, 28, 1]
    assert (dataset["n_train"], dataset["n_validation"], dataset["n_test"]) == (2000, 500, 1000)
    for name, entry in results["models"].items():
        assert len(entry["history"]["loss"]) == 2
        assert entry["test"]["accuracy"] > (0.75 if name == "lm" else 0.85), name
    assert store.load_samples(tmp_path)[0].shape == (28, 28)
    assert (tmp_path / "report.md").is_file()


def test_the_mnist_split_holds_out_the_studys_validation_images():
    """Study B's notebook: ``train_test_split(x, y, test_size=1/6, random_state=42)``."""
    from sklearn.model_selection import train_test_split

    from tinynet.datasets import train_validation_split

    images = np.arange(60_000)
    (train, _), (validation, _) = train_validation_split(
        images, images % 10, validation_size=data.validation_size(60_000), seed=42
    )
    study_train, study_validation = train_test_split(images, test_size=1 / 6, random_state=42)
    np.testing.assert_array_equal(train, study_train)
    np.testing.assert_array_equal(validation, study_validation)
