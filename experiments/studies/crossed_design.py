"""Study A, the 2x2 crossed design: four MLPs, then dropout on the worse two-layer one.

The published study (cited in ``docs/studies/crossed_design.md``) trained MLPs with
1 or 2 hidden layers of 100 or 300 ReLU units on Kaggle's Digit Recognizer data,
then rebuilt the worse two-layer model, by its lowest per-digit F1, with 20% dropout
after each hidden layer as model 5. Its write-up gives no training settings, so
tinynet trains it with study B's protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from experiments import replicates, selection, zoo
from experiments.cli import UsageError
from experiments.formatting import duration, pct, table
from experiments.studies.base import MODELS_HELP, Study, percent

if TYPE_CHECKING:
    from experiments.runner import Run

#: Model 5 on the command line: its architecture is decided during the run.
DROPOUT = "dropout"

#: The published numbers, by the study's model number (5: 2x300 with 20% dropout, the
#: worse two-layer model in the study), as printed in its write-up.
PUBLISHED: dict[int, dict[str, str]] = {
    1: {"model": "1x100", "time": "1 min 14 s", "train_loss": "9.782e-04",
        "train_accuracy": "100%", "test_accuracy": "97.4%", "f1": "0.97",
        "precision": "97%", "recall": "97%"},
    2: {"model": "1x300", "time": "2 min 22 s", "train_loss": "2.713e-05",
        "train_accuracy": "100%", "test_accuracy": "97.9%", "f1": "0.98",
        "precision": "98%", "recall": "98%"},
    3: {"model": "2x100", "time": "1 min 37 s", "train_loss": "0.002",
        "train_accuracy": "100%", "test_accuracy": "97.3%", "f1": "0.97",
        "precision": "97%", "recall": "97%"},
    4: {"model": "2x300", "time": "2 min 22 s", "train_loss": "0.001",
        "train_accuracy": "99.7%", "test_accuracy": "97.3%", "f1": "0.97",
        "precision": "97%", "recall": "97%"},
    5: {"model": "2x300 + 20% dropout", "time": "3 min 22 s", "train_loss": "0.003",
        "train_accuracy": "99.9%", "test_accuracy": "97.7%", "f1": "0.98",
        "precision": "98%", "recall": "98%"},
}  # fmt: skip


def _by_seed(decision: dict) -> str:
    """The worse two-layer model of each seed, when model 5 was decided from several."""
    if "worse_by_seed" not in decision:
        return ""
    rows = [[seed, worse] for seed, worse in decision["worse_by_seed"].items()]
    return (
        "\n\nThe table above is for the run's own seed (--seed); the worse model in each "
        "seed:\n\n" + table(["seed", "worse two-layer model"], rows)
    )


class CrossedDesign(Study):
    name = "crossed_design"
    title = "Study A: the 2x2 crossed design"
    description = """\
Trains the four MLPs (1 or 2 hidden layers x 100 or 300 ReLU units), decides from
this run's results which two-layer model is worse (lowest per-class F1, ties by
test accuracy), rebuilds that one with 20% dropout after each hidden layer as
model 5, and writes results.json, the figures and report.md.

The published study trained on Kaggle's Digit Recognizer train.csv and gives no
training settings, so this command uses study B's protocol (10,000 validation images
split off with seed 42, Adam, batch 32, 20 epochs), on MNIST when it can be found or
downloaded (otherwise on scikit-learn's 8x8 digits, as the output says), or on the CSV
with --data-path. The study and its numbers: docs/studies/crossed_design.md."""
    docs = "docs/studies/crossed_design.md"
    source = (
        "the write-up 'Classification using Neural Networks with Keras on MNIST Digit "
        "Recognizer Dataset' (Keras, Kaggle's Digit Recognizer data)"
    )
    models = (*zoo.CROSSED_DESIGN, *zoo.CROSSED_DROPOUT)
    #: The study trained on Kaggle's train.csv, which holds MNIST digits.
    datasets = ("mnist", "csv")
    datasets_title = "MNIST or Kaggle's Digit Recognizer train.csv (the study's own data)"
    published = PUBLISHED
    accuracy_groups = (("1x100", "1x300"), ("2x100", "2x300", *zoo.CROSSED_DROPOUT))
    readme_figures = (1,)

    # --- the command ----------------------------------------------------------------

    def command_models(self) -> list[str]:
        return [*zoo.CROSSED_DESIGN, DROPOUT]

    def aliases(self) -> dict[str, str]:
        return {str(number): name for number, name in enumerate(self.command_models(), 1)}

    def models_help(self) -> str:
        return (
            MODELS_HELP
            + ", ".join(f"{name} (or {number})" for number, name in self.aliases().items())
            + f"; {DROPOUT} is model 5, the worse two-layer model with 20%% dropout"
        )

    def run(self, run: Run, names: Sequence[str]) -> None:
        """Train the chosen base models, then decide and train model 5 if asked."""
        base = [name for name in names if name != DROPOUT]
        if DROPOUT in names:
            missing = [n for n in zoo.TWO_LAYER_MODELS if n not in base and not run.done(n)]
            if missing:
                raise UsageError(
                    f"model 5 ({DROPOUT}) is the worse of "
                    f"{' and '.join(zoo.TWO_LAYER_MODELS)}, so it needs both; add "
                    f"{' and '.join(missing)} to --models"
                )
        run.train(base)
        if DROPOUT not in names:
            return
        per_seed = {seed: {name: run.runs(name)[seed] for name in zoo.TWO_LAYER_MODELS}
                    for seed in run.seeds}  # fmt: skip
        decision = selection.worse_across_seeds(
            per_seed, run.data.info["class_names"], run.protocol["seed"]
        )
        for variant in zoo.CROSSED_DROPOUT:  # a variant from an earlier decision is stale
            if variant != decision["dropout_model"]:
                replicates.forget(run.results, variant)
        run.results["selection"]["dropout"] = decision
        run.save()
        print(f"model 5 is {decision['dropout_model']}: {decision['reason']}")
        run.train([decision["dropout_model"]])

    # --- the report -----------------------------------------------------------------

    @staticmethod
    def number(name: str) -> int:
        """The study's number of a model: 1-4 in order, 5 for the dropout model."""
        return 5 if name in zoo.CROSSED_DROPOUT else list(zoo.CROSSED_DESIGN).index(name) + 1

    def label(self, name: str) -> str:
        return f"{self.number(name)}: {name}"

    def results_tables(self, results: dict) -> str:
        rows_a, rows_b = [], []
        for name in self.model_order(results):
            entry, pub = results["models"][name], self.published[self.number(name)]
            weighted = entry["metrics"]["weighted"]
            rows_a.append([
                self.label(name),
                duration(entry["train_time_s"]), pub["time"],
                f"{entry['train']['loss']:.3e}", pub["train_loss"],
                pct(entry["train"]["accuracy"], 1), pub["train_accuracy"],
                pct(entry["test"]["accuracy"], 1), pub["test_accuracy"],
            ])  # fmt: skip
            rows_b.append([
                self.label(name),
                f"{weighted['f1']:.4f}", pub["f1"],
                pct(weighted["precision"], 1), pub["precision"],
                pct(weighted["recall"], 1), pub["recall"],
            ])  # fmt: skip
        table_a = table(
            ["model", "time", "published", "train loss", "published", "train acc",
             "published", "test acc", "published"], rows_a,
        )  # fmt: skip
        table_b = table(
            ["model", "F1", "published", "precision", "published", "recall", "published"],
            rows_b,
        )
        return f"{table_a}\n\n{table_b}"

    def results_notes(self, results: dict) -> str:
        protocol, dataset = results["protocol"], results["dataset"]
        return (
            "Time: total training time, the sum of the epoch times (each epoch includes its "
            "validation pass; the published times are Keras on the study's CPU). Train loss "
            "and accuracy: last epoch, averaged over its mini-batches, as Keras reports them. "
            "F1, precision and recall: weighted averages over the classes (scikit-learn's "
            "'weighted avg'; the macro averages are in results.json).\n\n"
            "Study A's write-up gives no training settings, so tinynet trains it with study "
            f"B's protocol (Adam, batch {self.batch_size}, {self.epochs} epochs, 10,000 "
            "validation images or 20% of the training images, whichever is fewer), and the "
            f"two studies are comparable. This run: {dataset['name']}, "
            f"{dataset['n_train']:,} / {dataset['n_validation']:,} train / validation "
            f"images split with seed {protocol['seed']}, {protocol['epochs']} epochs, batch "
            f"{protocol['batch_size']}. See {self.docs} for the study and how this run "
            "differs from it."
        )

    def decision_sections(self, results: dict, figures: dict) -> list[str]:
        decision = results.get("selection", {}).get("dropout")
        title = "## Model 5: dropout on the worse two-layer model\n\n"
        if decision is None:
            return [title + "Model 5 was not trained in this run."]
        class_names = results["dataset"]["class_names"]
        rows = [
            [name, f"{c['min_f1']:.4f}", class_names[c["min_f1_class"]], pct(c["test_accuracy"])]
            for name, c in decision["candidates"].items()
        ]
        rate = zoo.CROSSED_DROPOUT_RATE
        return [title + (
            f"Rule: {decision['rule']}. In this run, {decision['reason']}; so model 5 is "
            f"**{decision['dropout_model']}**: {decision['model']} with Dropout({rate:g}) after "
            f"each hidden layer. (In the published study the worse one was model 4, 2x300.)\n\n"
            + table(["two-layer model", "lowest per-class F1", "class", "test accuracy"], rows)
            + _by_seed(decision)
        )]  # fmt: skip

    def published_accuracy(self, name: str) -> float | None:
        return percent(self.published[self.number(name)]["test_accuracy"])

    def factorial_cells(self, results: dict) -> tuple[tuple[str, str], dict]:
        """Depth (hidden layers) x width (units per layer): the four base models."""
        cells = {(int(name[0]), int(name[2:])): name for name in zoo.CROSSED_DESIGN}
        return ("depth", "width"), cells

    def observations(self) -> str:
        return (
            "lowest per-digit F1 for 3, 5 and 8; 3 most often predicted as 5 and 8; 5 as 3; "
            "8 as 3; 9 as 7; model 4 (2x300) was the worse two-layer model (lowest per-digit "
            "F1, 0.96 for 8 and 9)"
        )

    def readme_lines(self, results: dict) -> list[str]:
        decision = results.get("selection", {}).get("dropout")
        if decision is None:
            return []
        return [f"Model 5: {decision['reason']}, so model 5 is {decision['dropout_model']}."]


STUDY = CrossedDesign()
