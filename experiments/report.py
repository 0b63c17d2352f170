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

from experiments import data, metrics, plots, replicate_report, store, studies, zoo
from experiments.cli import USAGE_ERROR, one_line
from experiments.formatting import count, duration, image, pct, table
from experiments.readme import copy_figure, replace_block
from experiments.studies import Study


def study_of(results: dict) -> Study:
    """The study that produced ``results``."""
    return studies.get(results["experiment"])


def best_model(results: dict) -> str:
    """The model with the highest test accuracy (the first in study order on a tie)."""
    names = study_of(results).model_order(results)
    return max(names, key=lambda name: (results["models"][name]["test"]["accuracy"],
                                        -names.index(name)))  # fmt: skip


# --- figures ---------------------------------------------------------------------------


def make_figures(results: dict, samples: dict, out: Path) -> dict:
    """Draw every figure of the report into ``out/figures``.

    Every figure's title names the data the run used (:func:`experiments.data.describe`).

    Returns
    -------
    dict
        Paths relative to ``out``: ``accuracy`` (list of ``(names, path)``), ``f1``,
        ``example`` (None without the first test image), ``mistakes`` (``(name, path)``
        for the most accurate model, None if it made no mistake), and per model name
        ``curves`` and ``confusion``, and ``replicates``, the figures across seeds
        (:func:`experiments.replicate_report.draw`).
    """
    out = Path(out)
    folder = out / store.FIGURES
    folder.mkdir(exist_ok=True)
    study = study_of(results)
    models, class_names = results["models"], results["dataset"]["class_names"]
    names = study.model_order(results)
    data_label = "data: " + data.describe(results["dataset"], sizes=False)
    figures: dict = {"accuracy": [], "f1": None, "example": None, "mistakes": None,
                     "curves": {}, "confusion": {}, "replicates": {}}  # fmt: skip

    drawn = set()

    def path(stem: str) -> Path:
        drawn.add(f"{stem}.png")
        return Path(store.FIGURES) / f"{stem}.png"

    if not names:
        return figures
    for group in study.accuracy_groups:
        present = [name for name in group if name in models]
        if present:
            figure = path("accuracy_" + "_".join(present))
            figures["accuracy"].append((present, figure))
            plots.accuracy_per_epoch({n: models[n] for n in present}, out / figure, data_label)
    figures["f1"] = path("f1_per_class")
    plots.f1_per_class({n: models[n] for n in names}, class_names, out / figures["f1"],
                       data_label)  # fmt: skip
    if 0 in samples:
        figures["example"] = path("example_prediction")
        example = {n: models[n] for n in study.example_models(results)}
        plots.example_prediction(example, samples[0], class_names, out / figures["example"],
                                 data_label)  # fmt: skip
    figures["replicates"] = replicate_report.draw(study, results, out, path)
    for name in names:
        figures["curves"][name] = path(f"curves_{name}")
        plots.training_curves(name, models[name], out / figures["curves"][name], data_label)
        figures["confusion"][name] = path(f"confusion_{name}")
        plots.confusion_matrix(name, models[name], class_names, out / figures["confusion"][name],
                               data_label)  # fmt: skip
    best = best_model(results)
    mistakes = path(f"mistakes_{best}")
    if plots.mistakes(best, models[best], samples, class_names, out / mistakes, data_label):
        figures["mistakes"] = (best, mistakes)
    for stale in folder.glob("*.png"):  # figures of an earlier report, e.g. another best model
        if stale.name not in drawn:
            stale.unlink()
    return figures


# --- sections --------------------------------------------------------------------------


def _header(results: dict) -> str:
    study, protocol, dataset = study_of(results), results["protocol"], results["dataset"]
    optimizer = protocol["optimizer"]
    h, w, _ = dataset["image_shape"]
    lines = [
        f"# {study.title}, reproduced with tinynet on {dataset['name']}",
        "",
        f"Generated from `results.json` (`python -m experiments.report <folder>` redraws it). "
        f"Published numbers: {study.source}; see `{study.docs}` for the study, its protocol "
        "and how this run differs from it.",
        "",
        f"- **Data**: {dataset['name']}, from {dataset['source']}: {dataset['n_train']:,} "
        f"training / {dataset['n_validation']:,} validation / {dataset['n_test']:,} test "
        f"images of {h}x{w}, pixels scaled to [0, 1]; validation split with seed "
        f"{protocol['seed']}" + (" (quick mode: stratified subsets)" if dataset["quick"] else "")
        + ".",
        f"- **Training**: Adam (learning rate {optimizer['learning_rate']:g}, beta_1 "
        f"{optimizer['beta_1']:g}, beta_2 {optimizer['beta_2']:g}, epsilon "
        f"{optimizer['epsilon']:g}), {protocol['loss']}, "
        f"{count(protocol['epochs'], 'epoch')}, "
        f"batch size {protocol['batch_size']}, seed {protocol['seed']} (initial weights, "
        f"dropout, shuffling), {protocol['dtype']}.",
        "- **Software**: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()) + ".",
        f"- **Command**: `{results['command']}`",
    ]
    note = study.data_note(dataset)
    if note:
        lines += ["", f"> **{note}**"]
    lines += [f"\n> Data warning: {warning}" for warning in dataset.get("warnings", [])]
    if not study.comparable(results):
        lines += [
            "",
            "> **Not comparable with the published numbers**, which are for the full "
            f"{study.datasets_title}, {study.epochs} epochs, batch size "
            f"{study.batch_size}. They are shown for reference only.",
        ]
    return "\n".join(lines)


def _models_table(results: dict) -> str:
    study, rows = study_of(results), []
    for name in study.model_order(results):
        entry = results["models"][name]
        rows.append([study.label(name), zoo.describe(entry["config"]["layers"]),
                     f"{entry['n_params']:,}"])  # fmt: skip
    return "## Models\n\n" + table(["model", "layers", "parameters"], rows)


def main_tables(results: dict) -> str:
    """The study's results table(s), ours beside the published numbers (also printed)."""
    if not results["models"]:
        return "(no model has finished yet)"
    return study_of(results).results_tables(results)


def _results_section(results: dict) -> str:
    notes = study_of(results).results_notes(results)
    return f"## Results beside the published ones\n\n{main_tables(results)}\n\n{notes}"


def _observations(results: dict) -> str:
    study, class_names = study_of(results), results["dataset"]["class_names"]
    names = study.model_order(results)
    lines, lowest_counts = [], Counter()
    for name in names:
        f1 = results["models"][name]["metrics"]["per_class"]["f1"]
        matrix = results["models"][name]["metrics"]["confusion_matrix"]
        lowest = metrics.lowest_f1(f1)
        lowest_counts.update(lowest)
        line = f"- **{study.label(name)}**: "
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
    if study.observations():
        text += f"\n\nThe study observed: {study.observations()}."
    return text


def _mistakes_section(figures: dict) -> str:
    title = "## Misclassified test images\n\n"
    if figures["mistakes"] is None:
        return title + "The most accurate model misclassified no test image."
    name, path = figures["mistakes"]
    return title + (
        f"The test images that the most accurate model, {name}, got wrong with the highest "
        f"confidence (# = position in the test set; every model's are listed in "
        f"results.json):\n\n" + image(f"{name} misclassified images", path)
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
    return table(["class", "precision", "recall", "F1", "support"], rows)


def _per_model(results: dict, name: str, figures: dict) -> str:
    entry, class_names = results["models"][name], results["dataset"]["class_names"]
    epochs, seconds = len(entry["history"]["epoch_time"]), entry["train_time_s"]
    confusions = metrics.top_confusions(entry["metrics"]["confusion_matrix"])
    parts = [
        f"### {study_of(results).label(name)}",
        f"{zoo.describe(entry['config']['layers'])}: {entry['n_params']:,} parameters. "
        f"Trained in {duration(seconds)} ({count(epochs, 'epoch')}, "
        f"{duration(seconds / epochs)} each); test loss {entry['test']['loss']:.4f}, "
        f"test accuracy {pct(entry['test']['accuracy'])}.",
        image(f"{name} loss and accuracy", figures["curves"][name]),
        _classification_report(entry, class_names),
        "Most frequent confusions:\n\n"
        + "\n".join(f"- {metrics.confusion_sentence(c, class_names)}" for c in confusions)
        if confusions else "No test image was misclassified.",
        image(f"{name} confusion matrix", figures["confusion"][name]),
    ]
    return "\n\n".join(parts)


def render(results: dict, figures: dict, predictions: dict | None = None) -> str:
    """The text of ``report.md`` for ``results``, with ``figures`` from :func:`make_figures`.

    ``predictions`` (``predictions.npz``'s arrays) feed the paired tests of a run with
    several seeds.
    """
    study = study_of(results)
    sections = [_header(results)]
    names = study.model_order(results)
    if not names:
        return sections[0] + "\n\nNo model has finished yet.\n"
    sections += [
        _models_table(results),
        _results_section(results),
        *replicate_report.sections(study, results, figures["replicates"], predictions or {}),
        *study.decision_sections(results, figures),
        "## Accuracy per epoch\n\nSolid: training, dashed: validation, dotted: test accuracy "
        "after training.\n\n"
        + "\n\n".join(image(", ".join(group), p) for group, p in figures["accuracy"]),
        *study.evaluation_sections(results, figures),
        _observations(results),
        "## F1 per class\n\n" + image("F1 per class", figures["f1"]),
        _mistakes_section(figures),
        "## Each model\n\nLoss and accuracy per epoch, classification report on the test set, "
        "most frequent confusions, and the confusion matrix in percent of each true class (rows: "
        "true class).",
        *(_per_model(results, name, figures) for name in names),
    ]
    return "\n\n".join(sections) + "\n"


def readme_summary(results: dict, figures: dict, out: Path, readme: Path) -> str:
    """The study's results table, its decisions and a few figures, for the README.

    The figures are copied next to the README (``docs/figures/``), since results
    folders are not part of the repository.
    """
    study, dataset = study_of(results), results["dataset"]
    total = sum(entry["train_time_s"] for entry in results["models"].values())
    parts = [
        f"### {study.title}",
        f"`{results['command']}`, {count(results['protocol']['epochs'], 'epoch')}; total "
        f"training time {duration(total)}"
        + (f", finished {results['updated'][:10]}" if "updated" in results else "")
        + f". Data: {data.describe(dataset, folder=False)}. The study and its numbers: "
        f"`{study.docs}`; "
        f"this run's full report was written to `{out.as_posix()}/report.md`.",
    ]
    note = study.data_note(dataset)
    if note:
        parts.append(f"**{note}**")
    parts += [main_tables(results), *study.readme_lines(results)]
    if replicate_report.has_replicates(results):
        parts.append(
            "Across seeds (how many, per model: the seeds column): mean ± standard deviation "
            "[95% confidence interval of the mean]; the published run against the spread of "
            "ours.\n\n" + replicate_report.summary_table(study, results)
        )
    for which in study.readme_figures:
        if which == "f1":
            title, source = "F1 per class", figures["f1"]
        elif which < len(figures["accuracy"]):
            group, source = figures["accuracy"][which]
            title = "accuracy per epoch: " + ", ".join(group)
        else:
            continue
        parts.append(image(title, Path(copy_figure(out / source, readme,
                                                   f"{study.name}_{source.name}"))))
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
    store.write_text(path, render(results, figures, store.load_predictions(out)))
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
    except (ValueError, OSError) as error:  # also an unknown study (studies.get)
        print(f"error: {one_line(error)}", file=sys.stderr)
        return USAGE_ERROR
    print(f"wrote {path}" + (f" and updated {args.readme}" if args.readme else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
