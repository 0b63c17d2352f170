"""Study B, the model comparison: six models from a linear model to a deep CNN, and the top 3.

The published study (cited in ``docs/studies/model_comparison.md``) trained lm, nn,
dnn, dnnd, cnn and dcnn on MNIST with one protocol, ranked them by validation loss
and accuracy, and gave the top 3 a full evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from experiments import selection, zoo
from experiments.formatting import duration, image, pct, published, table
from experiments.studies.base import Study, percent

if TYPE_CHECKING:
    from experiments.runner import Run

#: The published numbers, per model, as printed (``lm``'s accuracy is on validation data).
PUBLISHED: dict[str, dict[str, str]] = {
    "lm": {"test_accuracy": "~92.7% (val)", "epoch_time": "2 s",
           "precision": "", "recall": ""},
    "nn": {"test_accuracy": "98.08%", "epoch_time": "3-4 s", "precision": "", "recall": ""},
    "dnn": {"test_accuracy": "97.76%", "epoch_time": "4 s", "precision": "", "recall": ""},
    "dnnd": {"test_accuracy": "97.89%", "epoch_time": "4 s",
             "precision": "0.9790", "recall": "0.9789"},
    "cnn": {"test_accuracy": "99.20%", "epoch_time": "33 s",
            "precision": "0.9928", "recall": "0.9928"},
    "dcnn": {"test_accuracy": "99.17%", "epoch_time": "135 s",
             "precision": "0.9908", "recall": "0.9908"},
}  # fmt: skip

#: The published top 3 by validation loss and accuracy.
PUBLISHED_TOP3 = ("dnnd", "cnn", "dcnn")


class ModelComparison(Study):
    name = "model_comparison"
    title = "Study B: model comparison"
    description = """\
Trains lm, nn, dnn, dnnd, cnn and dcnn as the published study did (10,000 of
the training images split off for validation with seed 42, Adam, batch 32, 20
epochs), ranks them by validation loss and accuracy, gives the top 3 the full
evaluation (weighted precision and recall, confusion matrix, model summary, example
prediction), and writes results.json, the figures and report.md.

The published study trained on MNIST; this command does too when MNIST can be found
or downloaded (otherwise it uses scikit-learn's 8x8 digits, as the output says). The
study and its numbers: docs/studies/model_comparison.md."""
    docs = "docs/studies/model_comparison.md"
    source = (
        "the notebook model_comparison.ipynb of the GitHub repository "
        "SohaT7/Image_Classification"
    )
    models = tuple(zoo.MODEL_COMPARISON)
    published = PUBLISHED
    accuracy_groups = (("nn",), ("dnn", "dnnd"), ("cnn", "dcnn"))
    readme_figures = (2, "f1")

    #: Each model against the one before it in the write-up's order, the steps it ranks.
    compared_pairs = (("nn", "lm"), ("dnn", "nn"), ("dnnd", "dnn"), ("cnn", "dnnd"),
                      ("dcnn", "cnn"))  # fmt: skip

    def published_accuracy(self, name: str) -> float | None:
        return percent(self.published[name]["test_accuracy"])  # lm's is on validation: None

    def run(self, run: Run, names: Sequence[str]) -> None:
        """Train ``names``, then rank every trained model."""
        run.train(names)
        ranking = selection.top_models(run.models)
        run.results["selection"]["top3"] = ranking
        print(f"top 3 by validation loss and accuracy: {', '.join(ranking['top'])}")

    def results_tables(self, results: dict) -> str:
        rows = []
        for name in self.model_order(results):
            entry, pub = results["models"][name], self.published[name]
            weighted = entry["metrics"]["weighted"]
            epoch_time = entry["train_time_s"] / len(entry["history"]["epoch_time"])
            rows.append([
                name,
                pct(entry["test"]["accuracy"]), pub["test_accuracy"],
                duration(epoch_time), pub["epoch_time"],
                f"{weighted['precision']:.4f}", published(pub["precision"]),
                f"{weighted['recall']:.4f}", published(pub["recall"]),
                f"{entry['validation']['loss']:.4f}", pct(entry["validation"]["accuracy"]),
            ])  # fmt: skip
        return table(
            ["model", "test acc", "published", "epoch time", "published", "weighted precision",
             "published", "weighted recall", "published", "val loss", "val acc"], rows,
        )  # fmt: skip

    def results_notes(self, results: dict) -> str:
        protocol, dataset = results["protocol"], results["dataset"]
        return (
            "Epoch time: mean wall-clock time of one epoch, including its validation pass "
            f"(published: Keras on the study's CPU, batch {self.batch_size}). Weighted "
            "precision and recall: averages over the classes weighted by support. Validation "
            "loss and accuracy: last epoch. The published `lm` accuracy is on validation "
            f"data.\n\nThis run: {dataset['name']}, {dataset['n_train']:,} / "
            f"{dataset['n_validation']:,} train / validation images split with seed "
            f"{protocol['seed']}, {protocol['epochs']} epochs, batch {protocol['batch_size']}. "
            f"See {self.docs} for the study and how this run differs from it."
        )

    def example_models(self, results: dict) -> list[str]:
        """The top 3, as the study showed them."""
        return selection.top_models(results["models"])["top"] if results["models"] else []

    def evaluation_sections(self, results: dict, figures: dict) -> list[str]:
        models, names = results["models"], self.model_order(results)
        ranking = selection.top_models(models)
        rows = [
            [str(i), row["name"], f"{row['val_loss']:.4f}", str(row["loss_rank"]),
             pct(row["val_accuracy"]), str(row["accuracy_rank"]), str(row["score"])]
            for i, row in enumerate(ranking["ranking"], 1)
        ]  # fmt: skip
        parts = [
            "## Top 3 by validation loss and accuracy",
            f"Rule: {ranking['rule']}.",
            table(["rank", "model", "val loss", "loss rank", "val acc", "acc rank", "rank sum"],
                  rows),
            f"Top 3 in this run: **{', '.join(ranking['top'])}** (published: "
            f"{', '.join(PUBLISHED_TOP3)})."
            + ("" if len(names) == len(self.models) else
               f" Only {len(names)} of the {len(self.models)} models were trained."),
            "### Full evaluation of the top 3",
        ]  # fmt: skip
        for i, name in enumerate(ranking["top"], 1):
            entry, pub = models[name], self.published[name]
            weighted = entry["metrics"]["weighted"]
            parts += [
                f"#### {i}. {name}",
                f"Weighted precision {weighted['precision']:.4f} (published "
                f"{published(pub['precision'])}), weighted recall {weighted['recall']:.4f} "
                f"(published {published(pub['recall'])}), test accuracy "
                f"{pct(entry['test']['accuracy'])} (published {pub['test_accuracy']}).",
                "```\n" + entry["summary"] + "\n```",
                image(f"{name} confusion matrix", figures["confusion"][name]),
            ]
        if figures["example"]:
            parts += ["### Example prediction on the first test image",
                      image("example prediction", figures["example"])]  # fmt: skip
        return ["\n\n".join(parts)]

    def readme_lines(self, results: dict) -> list[str]:
        if not results["models"]:
            return []
        top = selection.top_models(results["models"])["top"]
        return [f"Top 3 by validation loss and accuracy: {', '.join(top)} (published: "
                f"{', '.join(PUBLISHED_TOP3)})."]  # fmt: skip


STUDY = ModelComparison()
