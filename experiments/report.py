"""Write ``report.md`` and its figures from a run's ``results.json`` alone.

Usage::

    python -m experiments.report results/crossed_design
    python -m experiments.report results/crossed_design --readme README.md

reads ``results.json`` (and ``samples.npz``, the few test images the figures show)
in that folder, redraws every figure into ``figures/`` and rewrites ``report.md``.
Nothing is trained and the dataset is not needed, so the report and the plots can
change without retraining. The studies' commands call :func:`generate` at the end
of each run. ``--readme`` also pastes the results table and a few figures into the
README (see :mod:`experiments.readme`).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from experiments import metrics, plots, published, selection, store, zoo
from experiments.cli import USAGE_ERROR, one_line
from experiments.readme import copy_figure, replace_block

TITLES = {
    "crossed_design": "Study A: the 2x2 crossed design",
    "model_comparison": "Study B: model comparison",
}

#: The accuracy-per-epoch figures: which models share a plot.
ACCURACY_GROUPS = {
    "crossed_design": [["1x100", "1x300"], ["2x100", "2x300", "2x100-dropout", "2x300-dropout"]],
    "model_comparison": [["nn"], ["dnn", "dnnd"], ["cnn", "dcnn"]],
}


# --- small formatting helpers ----------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    """``"12.3 s"`` or ``"2 min 22 s"``, as the studies wrote times."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def count(n: int, noun: str) -> str:
    """``count(1, "epoch")`` is ``"1 epoch"``, ``count(20, "epoch")`` is ``"20 epochs"``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _pct(value: float, digits: int = 2) -> str:
    return f"{100 * value:.{digits}f}%"


def _published(value: str) -> str:
    return value or "–"


# --- what is in the results ------------------------------------------------------------


def model_order(results: dict) -> list[str]:
    """The trained models, in the study's order."""
    study = {"crossed_design": list(zoo.CROSSED_DESIGN) + list(zoo.CROSSED_DROPOUT),
             "model_comparison": list(zoo.MODEL_COMPARISON)}[results["experiment"]]  # fmt: skip
    return [name for name in study if name in results["models"]]


def label(results: dict, name: str) -> str:
    """How the report names a model: ``"5: 2x300-dropout"`` in study A, ``"cnn"`` in B."""
    if results["experiment"] != "crossed_design":
        return name
    return f"{_crossed_number(name)}: {name}"


def _crossed_number(name: str) -> int:
    """Study A's number of a model: 1-4 in order, 5 for the dropout model."""
    return 5 if name in zoo.CROSSED_DROPOUT else list(zoo.CROSSED_DESIGN).index(name) + 1


def comparable(results: dict) -> bool:
    """True if the run used the published protocol: full MNIST, 20 epochs, batch 32."""
    protocol = results["protocol"]
    dataset = protocol["dataset"]
    return (
        dataset["name"] == "mnist"
        and not dataset["quick"]
        and protocol["epochs"] == 20
        and protocol["batch_size"] == 32
    )


def best_model(results: dict) -> str:
    """The model with the highest test accuracy (the first in study order on a tie)."""
    names = model_order(results)
    return max(names, key=lambda name: (results["models"][name]["test"]["accuracy"],
                                        -names.index(name)))  # fmt: skip


def _example_models(results: dict) -> list[str]:
    """The models in the example-prediction figure: study B's top 3, all in study A."""
    if results["experiment"] == "model_comparison" and results["models"]:
        return selection.top_models(results["models"])["top"]
    return model_order(results)


# --- figures ---------------------------------------------------------------------------


def make_figures(results: dict, samples: dict, out: Path) -> dict:
    """Draw every figure of the report into ``out/figures``.

    Returns
    -------
    dict
        Paths relative to ``out``: ``accuracy`` (list of ``(names, path)``), ``f1``,
        ``example`` (None without the first test image), ``mistakes`` (``(name, path)``
        for the most accurate model, None if it made no mistake), and per model name
        ``curves`` and ``confusion``.
    """
    out = Path(out)
    folder = out / store.FIGURES
    folder.mkdir(exist_ok=True)
    models, class_names = results["models"], results["dataset"]["class_names"]
    names = model_order(results)
    figures: dict = {"accuracy": [], "f1": None, "example": None,
                     "mistakes": None, "curves": {}, "confusion": {}}  # fmt: skip

    drawn = set()

    def path(stem: str) -> Path:
        drawn.add(f"{stem}.png")
        return Path(store.FIGURES) / f"{stem}.png"

    if not names:
        return figures
    for group in ACCURACY_GROUPS[results["experiment"]]:
        present = [name for name in group if name in models]
        if present:
            figure = path("accuracy_" + "_".join(present))
            figures["accuracy"].append((present, figure))
            plots.accuracy_per_epoch({n: models[n] for n in present}, out / figure)
    figures["f1"] = path("f1_per_class")
    plots.f1_per_class({n: models[n] for n in names}, class_names, out / figures["f1"])
    if 0 in samples:
        figures["example"] = path("example_prediction")
        example = {n: models[n] for n in _example_models(results)}
        plots.example_prediction(example, samples[0], class_names, out / figures["example"])
    for name in names:
        figures["curves"][name] = path(f"curves_{name}")
        plots.training_curves(name, models[name], out / figures["curves"][name])
        figures["confusion"][name] = path(f"confusion_{name}")
        plots.confusion_matrix(name, models[name], class_names, out / figures["confusion"][name])
    best = best_model(results)
    mistakes = path(f"mistakes_{best}")
    if plots.mistakes(best, models[best], samples, class_names, out / mistakes):
        figures["mistakes"] = (best, mistakes)
    for stale in folder.glob("*.png"):  # figures of an earlier report, e.g. another best model
        if stale.name not in drawn:
            stale.unlink()
    return figures


def _image(title: str, path: Path) -> str:
    return f"![{title}]({path.as_posix()})"


# --- sections --------------------------------------------------------------------------


def _header(results: dict) -> str:
    protocol, dataset = results["protocol"], results["dataset"]
    optimizer = protocol["optimizer"]
    h, w, _ = dataset["image_shape"]
    lines = [
        f"# {TITLES[results['experiment']]}, reproduced with tinynet",
        "",
        f"Generated from `results.json` (`python -m experiments.report <folder>` redraws it). "
        f"Published numbers: {published.SOURCE}.",
        "",
        f"- **Data**: {dataset['name']}, {dataset['n_train']:,} training / "
        f"{dataset['n_validation']:,} validation / {dataset['n_test']:,} test images of "
        f"{h}x{w}, pixels scaled to [0, 1]; validation split with seed {protocol['seed']}"
        + (" (quick mode: stratified subsets)" if dataset["quick"] else "")
        + f". Source: {dataset['source']}.",
        f"- **Training**: Adam (learning rate {optimizer['learning_rate']:g}, beta_1 "
        f"{optimizer['beta_1']:g}, beta_2 {optimizer['beta_2']:g}, epsilon "
        f"{optimizer['epsilon']:g}), {protocol['loss']}, "
        f"{count(protocol['epochs'], 'epoch')}, "
        f"batch size {protocol['batch_size']}, seed {protocol['seed']} (initial weights, "
        f"dropout, shuffling), {protocol['dtype']}.",
        "- **Software**: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()) + ".",
        f"- **Command**: `{results['command']}`",
    ]
    if dataset["requested"] == "auto" and dataset["name"] != "mnist":
        lines += [
            "",
            f"> **Warning: MNIST could not be found or downloaded, so this run used "
            f"{dataset['name']} instead.** Pass `--data-dir` with the MNIST files.",
        ]
    lines += [f"\n> Data warning: {warning}" for warning in dataset.get("warnings", [])]
    if not comparable(results):
        lines += [
            "",
            "> **Not comparable with the published numbers**, which are for full MNIST, "
            "20 epochs, batch size 32. They are shown for reference only.",
        ]
    return "\n".join(lines)


def _models_table(results: dict) -> str:
    rows = []
    for name in model_order(results):
        entry = results["models"][name]
        rows.append([label(results, name), zoo.describe(entry["config"]["layers"]),
                     f"{entry['n_params']:,}"])  # fmt: skip
    return "## Models\n\n" + _table(["model", "layers", "parameters"], rows)


def _crossed_tables(results: dict) -> str:
    rows_a, rows_b = [], []
    for name in model_order(results):
        entry = results["models"][name]
        pub = published.CROSSED_DESIGN[_crossed_number(name)]
        weighted = entry["metrics"]["weighted"]
        rows_a.append([
            label(results, name),
            _duration(entry["train_time_s"]), pub["time"],
            f"{entry['train']['loss']:.3e}", pub["train_loss"],
            _pct(entry["train"]["accuracy"], 1), pub["train_accuracy"],
            _pct(entry["test"]["accuracy"], 1), pub["test_accuracy"],
        ])  # fmt: skip
        rows_b.append([
            label(results, name),
            f"{weighted['f1']:.4f}", pub["f1"],
            _pct(weighted["precision"], 1), pub["precision"],
            _pct(weighted["recall"], 1), pub["recall"],
        ])  # fmt: skip
    table_a = _table(
        ["model", "time", "published", "train loss", "published", "train acc",
         "published", "test acc", "published"], rows_a,
    )  # fmt: skip
    table_b = _table(
        ["model", "F1", "published", "precision", "published", "recall", "published"], rows_b
    )
    return f"{table_a}\n\n{table_b}"


def _comparison_table(results: dict) -> str:
    rows = []
    for name in model_order(results):
        entry = results["models"][name]
        pub = published.MODEL_COMPARISON[name]
        weighted = entry["metrics"]["weighted"]
        epoch_time = entry["train_time_s"] / len(entry["history"]["epoch_time"])
        rows.append([
            name,
            _pct(entry["test"]["accuracy"]), pub["test_accuracy"],
            _duration(epoch_time), pub["epoch_time"],
            f"{weighted['precision']:.4f}", _published(pub["precision"]),
            f"{weighted['recall']:.4f}", _published(pub["recall"]),
            f"{entry['validation']['loss']:.4f}", _pct(entry["validation"]["accuracy"]),
        ])  # fmt: skip
    return _table(
        ["model", "test acc", "published", "epoch time", "published", "weighted precision",
         "published", "weighted recall", "published", "val loss", "val acc"], rows,
    )  # fmt: skip


def main_tables(results: dict) -> str:
    """The study's results table(s), ours beside the published numbers (also printed)."""
    if not results["models"]:
        return "(no model has finished yet)"
    if results["experiment"] == "crossed_design":
        return _crossed_tables(results)
    return _comparison_table(results)


def _results_section(results: dict) -> str:
    if results["experiment"] == "crossed_design":
        notes = (
            "Time: total training time, the sum of the epoch times (each epoch includes its "
            "validation pass; the published times are Keras on the study's CPU). Train loss "
            "and accuracy: last epoch, averaged over its mini-batches, as Keras reports them. "
            "F1, precision and recall: weighted averages over the classes (scikit-learn's "
            "'weighted avg'; the macro averages are in results.json).\n\n"
            "Study A's write-up gives no training settings, so it is trained with study B's "
            "protocol (above: 50,000/10,000 train/validation split with seed 42, Adam, batch "
            "32, 20 epochs by default) and the two studies are comparable."
        )
    else:
        notes = (
            "Epoch time: mean wall-clock time of one epoch, including its validation pass "
            "(published: Keras on the study's CPU, batch 32). Weighted precision and recall: "
            "averages over the classes weighted by support. Validation loss and accuracy: "
            "last epoch. The published `lm` accuracy is on validation data."
        )
    return f"## Results beside the published ones\n\n{main_tables(results)}\n\n{notes}"


def _dropout_section(results: dict) -> str:
    decision = results.get("selection", {}).get("dropout")
    title = "## Model 5: dropout on the worse two-layer model\n\n"
    if decision is None:
        return title + "Model 5 was not trained in this run."
    class_names = results["dataset"]["class_names"]
    rows = [
        [name, f"{c['min_f1']:.4f}", class_names[c["min_f1_class"]], _pct(c["test_accuracy"])]
        for name, c in decision["candidates"].items()
    ]
    rate = zoo.CROSSED_DROPOUT_RATE
    return title + (
        f"Rule: {decision['rule']}. In this run, {decision['reason']}; so model 5 is "
        f"**{decision['dropout_model']}**: {decision['model']} with Dropout({rate:g}) after "
        f"each hidden layer. (In the published study the worse one was model 4, 2x300.)\n\n"
        + _table(["two-layer model", "lowest per-class F1", "class", "test accuracy"], rows)
    )


def _top3_section(results: dict, figures: dict) -> str:
    models, names = results["models"], model_order(results)
    ranking = selection.top_models(models)
    rows = [
        [str(i), row["name"], f"{row['val_loss']:.4f}", str(row["loss_rank"]),
         _pct(row["val_accuracy"]), str(row["accuracy_rank"]), str(row["score"])]
        for i, row in enumerate(ranking["ranking"], 1)
    ]  # fmt: skip
    parts = [
        "## Top 3 by validation loss and accuracy",
        f"Rule: {ranking['rule']}.",
        _table(["rank", "model", "val loss", "loss rank", "val acc", "acc rank", "rank sum"],
               rows),
        f"Top 3 in this run: **{', '.join(ranking['top'])}** (published: "
        f"{', '.join(published.MODEL_COMPARISON_TOP3)})."
        + ("" if len(names) == len(zoo.MODEL_COMPARISON) else
           f" Only {len(names)} of the {len(zoo.MODEL_COMPARISON)} models were trained."),
        "### Full evaluation of the top 3",
    ]  # fmt: skip
    for i, name in enumerate(ranking["top"], 1):
        entry, pub = models[name], published.MODEL_COMPARISON[name]
        weighted = entry["metrics"]["weighted"]
        parts += [
            f"#### {i}. {name}",
            f"Weighted precision {weighted['precision']:.4f} (published "
            f"{_published(pub['precision'])}), weighted recall {weighted['recall']:.4f} "
            f"(published {_published(pub['recall'])}), test accuracy "
            f"{_pct(entry['test']['accuracy'])} (published {pub['test_accuracy']}).",
            "```\n" + entry["summary"] + "\n```",
            _image(f"{name} confusion matrix", figures["confusion"][name]),
        ]
    if figures["example"]:
        parts += ["### Example prediction on the first test image",
                  _image("example prediction", figures["example"])]  # fmt: skip
    return "\n\n".join(parts)


def _observations(results: dict) -> str:
    class_names = results["dataset"]["class_names"]
    names = model_order(results)
    lines, lowest_counts = [], Counter()
    for name in names:
        f1 = results["models"][name]["metrics"]["per_class"]["f1"]
        matrix = results["models"][name]["metrics"]["confusion_matrix"]
        lowest = metrics.lowest_f1(f1)
        lowest_counts.update(lowest)
        line = f"- **{label(results, name)}**: "
        if not lowest:
            lines.append(line + "every class has an F1 of 1.")
            continue
        line += "lowest F1 for " + ", ".join(f"{class_names[c]} ({f1[c]:.3f})" for c in lowest)
        confusions = [metrics.most_confused_with(matrix, c) for c in lowest]
        sentences = [
            metrics.confusion_sentence(c, class_names, most_often=True) for c in confusions if c
        ]
        lines.append(line + ("; of those, " + "; ".join(sentences) if sentences else "") + ".")
    text = (
        "## Observations\n\nThe three classes with the lowest F1 per model, and what each "
        "was most often mistaken for:\n\n" + "\n".join(lines)
    )
    if lowest_counts:
        common = lowest_counts.most_common(3)
        text += "\n\nMost often among the three lowest: " + ", ".join(
            f"{class_names[c]} ({n} of {len(names)} models)" for c, n in common
        ) + "."  # fmt: skip
    if results["experiment"] == "crossed_design":
        text += f"\n\nThe study observed: {published.CROSSED_DESIGN_OBSERVATIONS}."
    return text


def _mistakes_section(figures: dict) -> str:
    title = "## Misclassified test images\n\n"
    if figures["mistakes"] is None:
        return title + "The most accurate model misclassified no test image."
    name, path = figures["mistakes"]
    return title + (
        f"The test images that the most accurate model, {name}, got wrong with the highest "
        f"confidence (# = position in the test set; every model's are listed in "
        f"results.json):\n\n" + _image(f"{name} misclassified images", path)
    )


def _classification_report(entry: dict, class_names: list[str]) -> str:
    per_class, m = entry["metrics"]["per_class"], entry["metrics"]
    rows = [
        [class_names[c], f"{per_class['precision'][c]:.4f}", f"{per_class['recall'][c]:.4f}",
         f"{per_class['f1'][c]:.4f}", str(per_class["support"][c])]
        for c in range(len(class_names))
    ]  # fmt: skip
    total = str(sum(per_class["support"]))
    rows.append(["**accuracy**", "", "", f"{m['accuracy']:.4f}", total])
    for average in ("macro", "weighted"):
        a = m[average]
        rows.append([f"**{average} avg**", f"{a['precision']:.4f}", f"{a['recall']:.4f}",
                     f"{a['f1']:.4f}", total])  # fmt: skip
    return _table(["class", "precision", "recall", "F1", "support"], rows)


def _per_model(results: dict, name: str, figures: dict) -> str:
    entry, class_names = results["models"][name], results["dataset"]["class_names"]
    epochs, seconds = len(entry["history"]["epoch_time"]), entry["train_time_s"]
    confusions = metrics.top_confusions(entry["metrics"]["confusion_matrix"])
    parts = [
        f"### {label(results, name)}",
        f"{zoo.describe(entry['config']['layers'])}: {entry['n_params']:,} parameters. "
        f"Trained in {_duration(seconds)} ({count(epochs, 'epoch')}, "
        f"{_duration(seconds / epochs)} each); test loss {entry['test']['loss']:.4f}, "
        f"test accuracy {_pct(entry['test']['accuracy'])}.",
        _image(f"{name} loss and accuracy", figures["curves"][name]),
        _classification_report(entry, class_names),
        "Most frequent confusions:\n\n"
        + "\n".join(f"- {metrics.confusion_sentence(c, class_names)}" for c in confusions)
        if confusions else "No test image was misclassified.",
        _image(f"{name} confusion matrix", figures["confusion"][name]),
    ]
    return "\n\n".join(parts)


def render(results: dict, figures: dict) -> str:
    """The text of ``report.md`` for ``results``, with ``figures`` from :func:`make_figures`."""
    sections = [_header(results)]
    names = model_order(results)
    if not names:
        return sections[0] + "\n\nNo model has finished yet.\n"
    sections += [_models_table(results), _results_section(results)]
    if results["experiment"] == "crossed_design":
        sections.append(_dropout_section(results))
    sections.append(
        "## Accuracy per epoch\n\nSolid: training, dashed: validation, dotted: test accuracy "
        "after training.\n\n"
        + "\n\n".join(_image(", ".join(group), p) for group, p in figures["accuracy"])
    )
    if results["experiment"] == "model_comparison":
        sections.append(_top3_section(results, figures))
    elif figures["example"]:
        sections.append("## Example prediction on the first test image\n\n"
                        + _image("example prediction", figures["example"]))  # fmt: skip
    sections += [
        _observations(results),
        "## F1 per class\n\n" + _image("F1 per class", figures["f1"]),
        _mistakes_section(figures),
        "## Each model\n\nLoss and accuracy per epoch, classification report on the test set, "
        "most frequent confusions, and the confusion matrix in percent of each true class (rows: "
        "true class).",
        *(_per_model(results, name, figures) for name in names),
    ]
    return "\n\n".join(sections) + "\n"


#: The figures a README summary shows, by experiment (accuracy group index, or "f1").
README_FIGURES = {"crossed_design": [1], "model_comparison": [2, "f1"]}


def readme_summary(results: dict, figures: dict, out: Path, readme: Path) -> str:
    """The study's results table, its decision and a few figures, for the README.

    The figures are copied next to the README (``docs/figures/``), since results
    folders are not part of the repository.
    """
    experiment, dataset = results["experiment"], results["dataset"]
    total = sum(entry["train_time_s"] for entry in results["models"].values())
    parts = [
        f"### {TITLES[experiment]}",
        f"`{results['command']}`: {dataset['name']}, "
        f"{count(results['protocol']['epochs'], 'epoch')}; total training time {_duration(total)}"
        + (f", finished {results['updated'][:10]}" if "updated" in results else "")
        + f". The whole report: `{out.as_posix()}/report.md`.",
        main_tables(results),
    ]
    if experiment == "crossed_design" and "dropout" in results.get("selection", {}):
        decision = results["selection"]["dropout"]
        parts.append(f"Model 5: {decision['reason']}, so model 5 is {decision['dropout_model']}.")
    if experiment == "model_comparison" and results["models"]:
        top = selection.top_models(results["models"])["top"]
        parts.append(f"Top 3 by validation loss and accuracy: {', '.join(top)} (published: "
                     f"{', '.join(published.MODEL_COMPARISON_TOP3)}).")  # fmt: skip
    for which in README_FIGURES[experiment]:
        if which == "f1":
            title, source = "F1 per class", figures["f1"]
        elif which < len(figures["accuracy"]):
            group, source = figures["accuracy"][which]
            title = "accuracy per epoch: " + ", ".join(group)
        else:
            continue
        parts.append(_image(title, Path(copy_figure(out / source, readme,
                                                    f"{experiment}_{source.name}"))))
    return "\n\n".join(parts)


def generate(out: Path, readme: Path | None = None) -> Path:
    """Redraw the figures and rewrite ``out/report.md`` from ``out/results.json``.

    With ``readme``, also replace the block ``<!-- results:<experiment> -->`` of that
    file with :func:`readme_summary`.

    Raises
    ------
    ValueError
        If there is no readable ``results.json`` in ``out``, or ``readme`` has no
        such block.
    """
    out = Path(out)
    results = store.load_results(out)
    if results is None:
        raise ValueError(f"no {store.RESULTS} in {out}; run the study first")
    figures = make_figures(results, store.load_samples(out), out)
    path = out / store.REPORT
    store.write_text(path, render(results, figures))
    if readme is not None:
        summary = readme_summary(results, figures, out, Path(readme))
        replace_block(Path(readme), f"results:{results['experiment']}", summary)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m experiments.report DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.report",
        description="Regenerate report.md and the figures of a study from its results.json "
        "(no training, no dataset needed).",
    )
    parser.add_argument("folder", type=Path, help="a study's output folder, e.g. "
                        "results/crossed_design")  # fmt: skip
    parser.add_argument("--readme", type=Path, help="also paste the results table and "
                        "figures into this file's <!-- results:<experiment> --> block")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: no folder {args.folder}; run the study first", file=sys.stderr)
        return USAGE_ERROR
    try:
        with store.lock(args.folder):  # not while a run (or another report) writes there
            path = generate(args.folder, args.readme)
    except (ValueError, OSError) as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return USAGE_ERROR
    print(f"wrote {path}" + (f" and updated {args.readme}" if args.readme else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
