"""The report generator on hand-built results: no training, no dataset.

The results below are made up so that every number the report states is known in
advance: each model classifies 100 images of each digit correctly, plus the
mistakes listed in its confusion matrix.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from experiments import metrics, plots, report, selection, store, studies, zoo
from experiments.formatting import table

CLASS_NAMES = [str(digit) for digit in range(10)]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EPOCHS = 3


def confusion(mistakes: dict[tuple[int, int], int]) -> np.ndarray:
    """100 correct per class, plus ``{(true, predicted): count}`` mistakes."""
    matrix = np.eye(10, dtype=int) * 100
    for (true, predicted), count in mistakes.items():
        matrix[true, predicted] = count
    return matrix


def fake_entry(name: str, matrix: np.ndarray, val_loss: float, val_accuracy: float,
               train_time: float) -> dict:  # fmt: skip
    """A results.json entry whose metrics come from ``matrix``."""
    y_true = np.repeat(np.arange(10), matrix.sum(axis=1))
    y_pred = np.concatenate([np.repeat(np.arange(10), row) for row in matrix])
    m = metrics.classification_metrics(y_true, y_pred, 10)
    model = zoo.build(name, (28, 28, 1), 10, seed=42)
    summary: list[str] = []
    model.summary(print_fn=summary.append)
    ramp = np.linspace(0.5, 1.0, EPOCHS)
    history = {
        "loss": list(1.0 - 0.9 * ramp), "accuracy": list(0.9 + 0.09 * ramp),
        "val_loss": list(val_loss / ramp), "val_accuracy": list(val_accuracy * ramp**0.01),
        "epoch_time": [train_time / EPOCHS] * EPOCHS,
    }  # fmt: skip
    probabilities = np.full(10, 0.01)
    probabilities[7] = 0.91
    wrong = [(i, t, p) for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)) if t != p]
    return {
        "name": name,
        "config": {"model": name, "layers": model.get_config()["layers"], "epochs": EPOCHS},
        "n_params": model.n_params,
        "summary": "\n".join(summary),
        "history": history,
        "train_time_s": train_time,
        "eval_time_s": 0.5,
        "train": {"loss": history["loss"][-1], "accuracy": history["accuracy"][-1]},
        "validation": {"loss": history["val_loss"][-1], "accuracy": history["val_accuracy"][-1]},
        "test": {"loss": 0.1, "accuracy": m["accuracy"]},
        "metrics": m,
        "first_test": {"index": 0, "true": 7, "probabilities": list(probabilities)},
        "mistakes": [
            {"index": int(i), "true": int(t), "predicted": int(p), "confidence": 0.8}
            for i, t, p in wrong[:7]
        ],
        "model_file": f"models/{name}.npz",
        "finished": "2024-01-01T00:00:00+00:00",
    }


def fake_results(experiment: str, entries: dict[str, dict]) -> dict:
    n_test = next(iter(entries.values()))["metrics"]["per_class"]["support"]
    return {
        "format_version": store.FORMAT_VERSION,
        "experiment": experiment,
        "protocol": {
            "dataset": {"name": "mnist", "image_shape": [28, 28, 1], "n_train": 50_000,
                        "n_validation": 10_000, "n_test": sum(n_test), "quick": False},
            "epochs": 20, "batch_size": 32, "seed": 42,
            "optimizer": {"name": "Adam", "learning_rate": 1e-3, "beta_1": 0.9,
                          "beta_2": 0.999, "epsilon": 1e-7},
            "loss": "softmax cross-entropy", "dtype": "float32",
        },
        "dataset": {"name": "mnist", "requested": "mnist", "source": "/data/mnist",
                    "class_names": CLASS_NAMES, "image_shape": [28, 28, 1], "n_train": 50_000,
                    "n_validation": 10_000, "n_test": sum(n_test), "quick": False,
                    "warnings": []},
        "versions": {"numpy": "2.0", "tinynet": "0.1.0"},
        "command": f"python -m experiments.{experiment}",
        "models": entries,
        "selection": {},
    }  # fmt: skip


def write_run(out: Path, results: dict, with_samples: bool = True) -> None:
    store.save_results(out, results)
    if with_samples:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, size=(1200, 28, 28), dtype=np.uint8)
        store.add_samples(out, list(range(1200)), images)


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``text``, stripped of their padding."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|-")
    ]


def linked_figures(text: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)


@pytest.fixture
def crossed_results() -> dict:
    entries = {
        "1x100": fake_entry("1x100", confusion({(3, 5): 14, (8, 3): 6}), 0.09, 0.97, 74.0),
        "1x300": fake_entry("1x300", confusion({(3, 5): 5}), 0.08, 0.98, 142.0),
        "2x100": fake_entry("2x100", confusion({(9, 7): 3}), 0.09, 0.97, 97.0),
        "2x300": fake_entry("2x300", confusion({(8, 3): 9, (9, 7): 8}), 0.1, 0.97, 142.0),
    }
    decision = selection.worse_two_layer_model(entries, CLASS_NAMES)
    entries[decision["dropout_model"]] = fake_entry(
        decision["dropout_model"], confusion({(5, 3): 2}), 0.07, 0.98, 202.0
    )
    results = fake_results("crossed_design", entries)
    results["selection"]["dropout"] = decision
    return results


def test_crossed_design_report(tmp_path, crossed_results):
    write_run(tmp_path, crossed_results)
    assert report.main([str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()

    # The study's tables: ours beside the published numbers.
    rows = table_rows(text)
    assert ["1: 1x100", "1 min 14 s", "1 min 14 s", "1.000e-01", "9.782e-04"] in [
        row[:5] for row in rows
    ]
    assert ["5: 2x300-dropout", "3 min 22 s", "3 min 22 s"] in [row[:3] for row in rows]
    # 2x300: F1 = 200/209 for digits 3 and 8, 200/208 for 7 and 9 (2TP / (2TP + FP + FN))
    assert ["4: 2x300", "0.9833", "0.97", "98.5%", "97%", "98.3%", "97%"] in rows
    assert "Not comparable" not in text  # full MNIST, 20 epochs, batch 32

    # Model 5: 2x300's lowest per-class F1 (digit 8) is below 2x100's (digit 9 / 7).
    assert crossed_results["selection"]["dropout"]["model"] == "2x300"
    assert "so model 5 is **2x300-dropout**" in text

    # Confusions in words, and the lowest-F1 digits.
    assert "- 3 was predicted as 5 in 14 of 114 cases" in text
    assert "- 8 was predicted as 3 in 6 of 106 cases" in text
    assert "**1: 1x100**: lowest F1 for 3 (0.909), 5 (0.935), 8 (0.971)" in text
    assert "3 was most often predicted as 5 in 14 of 114 cases" in text
    assert "The study observed: lowest per-digit F1 for 3, 5 and 8" in text

    # Every figure is embedded by a relative path and is a PNG; no other figure is left.
    figures = linked_figures(text)
    for figure in figures:
        assert not Path(figure).is_absolute()
        assert (tmp_path / figure).read_bytes()[:8] == PNG_SIGNATURE
    assert {p.name for p in (tmp_path / "figures").iterdir()} == {Path(f).name for f in figures}
    expected = {"accuracy_1x100_1x300.png", "accuracy_2x100_2x300_2x300-dropout.png",
                "f1_per_class.png", "example_prediction.png", "mistakes_2x300-dropout.png"}
    assert expected <= {Path(f).name for f in figures}  # fmt: skip


def test_model_comparison_report_ranks_the_top_3(tmp_path):
    entries = {
        "lm": fake_entry("lm", confusion({(3, 5): 40, (8, 3): 30}), 0.27, 0.92, 40.0),
        "nn": fake_entry("nn", confusion({(3, 5): 5}), 0.09, 0.981, 70.0),
        "dnnd": fake_entry("dnnd", confusion({(9, 7): 4}), 0.07, 0.979, 80.0),
        "cnn": fake_entry("cnn", confusion({(9, 4): 1}), 0.03, 0.992, 660.0),
    }
    results = fake_results("model_comparison", entries)
    write_run(tmp_path, results)
    path = report.generate(tmp_path)
    text = path.read_text()
    # val loss ranks: cnn 1, dnnd 2, nn 3, lm 4; val accuracy ranks: cnn 1, nn 2, dnnd 3, lm 4;
    # rank sums: cnn 2, dnnd 5, nn 5 (tie: dnnd has the lower validation loss), lm 8
    assert "Top 3 in this run: **cnn, dnnd, nn** (published: dnnd, cnn, dcnn)." in text
    assert "Only 4 of the 6 models were trained." in text
    assert "#### 1. cnn" in text and "#### 3. nn" in text and "#### 4." not in text
    assert entries["cnn"]["summary"] in text
    # weighted precision: digit 4 has precision 100/101, the others 1; weights 100 or 101
    assert ["cnn", "99.90%", "99.20%", "3 min 40 s", "33 s", "0.9990", "0.9928"] in [
        row[:7] for row in table_rows(text)
    ]
    assert "figures/accuracy_cnn.png" in text and "figures/accuracy_dnnd.png" in text


def test_report_without_samples_has_no_image_figures(tmp_path, crossed_results):
    crossed_results["models"] = {"1x100": crossed_results["models"]["1x100"]}
    write_run(tmp_path, crossed_results, with_samples=False)
    text = report.generate(tmp_path).read_text()
    assert "example_prediction" not in text and "mistakes_" not in text
    assert all((tmp_path / figure).is_file() for figure in linked_figures(text))


def test_report_of_a_run_interrupted_before_any_model(tmp_path, crossed_results):
    crossed_results["models"] = {}
    crossed_results["selection"] = {}
    write_run(tmp_path, crossed_results, with_samples=False)
    assert "No model has finished yet." in report.generate(tmp_path).read_text()


def test_report_errors_are_one_line(tmp_path, capsys):
    assert report.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: no results.json in {tmp_path}; run the study first\n"
    (tmp_path / "results.json").write_text("{not json")
    assert report.main([str(tmp_path)]) == 2
    assert "is not a readable results file" in capsys.readouterr().err


def test_report_pastes_its_summary_into_the_readme(tmp_path, crossed_results, capsys):
    out, readme = tmp_path / "run", tmp_path / "README.md"
    out.mkdir()
    crossed_results["dataset"]["source"] = "/home/someone/mnist"  # a folder of that machine
    write_run(out, crossed_results)
    before, after = "# Project\n\nIntro.\n\n", "\n\n## Next section\n\nkept as it was\n"
    readme.write_text(before + "<!-- results:crossed_design -->" + after)
    for _ in range(2):  # the second run replaces the block instead of adding another
        assert report.main([str(out), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(before) and text.endswith(after)
    assert text.count("<!-- results:crossed_design -->") == 1
    assert text.count("<!-- /results:crossed_design -->") == 1
    assert ["5: 2x300-dropout", "3 min 22 s", "3 min 22 s"] in [
        row[:3] for row in table_rows(text)
    ]
    assert "so model 5 is 2x300-dropout" in text
    assert "Data: mnist: 50,000 train" in text and "/home/someone" not in text
    assert "mnist, from /home/someone/mnist" in (out / "report.md").read_text()  # the record
    figures = linked_figures(text)
    assert figures == ["docs/figures/crossed_design_accuracy_2x100_2x300_2x300-dropout.png"]
    assert (tmp_path / figures[0]).read_bytes()[:8] == PNG_SIGNATURE

    readme.write_text("# A README without the marker\n")
    capsys.readouterr()
    assert report.main([str(out), "--readme", str(readme)]) == 2
    assert "has no '<!-- results:crossed_design -->' line" in capsys.readouterr().err
    assert readme.read_text() == "# A README without the marker\n"


def test_a_fallback_run_says_what_data_it_used_everywhere(tmp_path, crossed_results, monkeypatch):
    # The report of a run that fell back to the 8x8 digits: its title, its data note
    # (once, with the reason and how to get MNIST), every figure's title and the README
    # summary name the data actually used.
    crossed_results["dataset"].update(
        name="digits", requested="auto", source="scikit-learn bundled digits",
        fallback="download: skipped because TINYNET_OFFLINE=1", n_train=1150,
        n_validation=287,
    )  # fmt: skip
    crossed_results["protocol"]["dataset"].update(name="digits", n_train=1150, n_validation=287)
    titles = []
    save = plots.save

    def save_and_record(fig, path):
        titles.append(" ".join([fig.get_suptitle()] + [ax.get_title() for ax in fig.axes]))
        save(fig, path)

    monkeypatch.setattr(plots, "save", save_and_record)
    out, readme = tmp_path / "run", tmp_path / "README.md"
    out.mkdir()
    readme.write_text("<!-- results:crossed_design -->\n")
    write_run(out, crossed_results)
    assert report.main([str(out), "--readme", str(readme)]) == 0
    text = (out / "report.md").read_text()
    assert text.startswith("# Study A: the 2x2 crossed design, reproduced with tinynet on digits")
    assert "- **Data**: digits, from scikit-learn bundled digits: 1,150 training" in text
    assert text.count("NOT THE STUDY'S DATA") == 1
    note = next(line for line in text.splitlines() if "NOT THE STUDY'S DATA" in line)
    assert "TINYNET_OFFLINE=1" in note and "--data-dir" in note
    assert "This run: digits, 1,150 / 287 train / validation images" in text
    assert "50,000" not in text and "docs/studies/crossed_design.md" in text
    assert len(titles) == len(set(linked_figures(text)))  # every figure drawn once
    assert all("data: digits (scikit-learn bundled digits)" in title for title in titles)
    pasted = readme.read_text()
    assert "Data: digits (scikit-learn bundled digits): 1,150 train / 287 validation" in pasted
    assert "NOT THE STUDY'S DATA" in pasted


def test_the_report_reads_everything_from_the_study(tmp_path, monkeypatch):
    # A third study is one Study subclass: the report needs no change to show it.
    class Tiny(studies.Study):
        name, title, docs, source = "tiny", "Study C: tiny", "docs/studies/tiny.md", "a test"
        description = "A study made up for this test."
        models = ("nn", "lm")
        published = {}
        accuracy_groups = (("lm", "nn"),)

        def results_tables(self, results):
            return table(["model", "test"], [[n, "x"] for n in self.model_order(results)])

        def evaluation_sections(self, results, figures):
            return ["## Tiny's own section"]

    monkeypatch.setattr(studies, "get", lambda name: Tiny())
    entries = {name: fake_entry(name, confusion({}), 0.1, 0.9, 10.0) for name in ("lm", "nn")}
    results = fake_results("tiny", entries)
    write_run(tmp_path, results)
    text = report.generate(tmp_path).read_text()
    assert text.startswith("# Study C: tiny, reproduced with tinynet on mnist")
    assert "## Tiny's own section" in text and "figures/accuracy_lm_nn.png" in text
    assert ["nn", "x"] in table_rows(text) and text.index("### nn") < text.index("### lm")


def test_a_results_file_of_an_unknown_study_is_a_one_line_error(tmp_path, crossed_results,
                                                                capsys):  # fmt: skip
    crossed_results["experiment"] = "no_such_study"
    write_run(tmp_path, crossed_results, with_samples=False)
    assert report.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "results.json: experiment: unknown study 'no_such_study'; the studies are: " in err
    assert "crossed_design, model_comparison" in err and err.count("\n") == 1
