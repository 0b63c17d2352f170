"""The figures of the reports, drawn with matplotlib's Agg backend (no display needed).

Each function takes result entries (from ``results.json``) and, where a figure
shows images, the images themselves, and writes one PNG atomically. None of them
trains or loads a model. ``data_label`` (e.g. ``"data: mnist (cache: ...)"``) is
added to every title, so a figure shown on its own still says what it was run on.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
from matplotlib.colors import PowerNorm  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from experiments.store import atomic_write  # noqa: E402

DPI = 100


def save(fig: plt.Figure, path: Path) -> None:
    """Write ``fig`` to ``path`` as a PNG, atomically, and close it."""
    try:
        atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=DPI,
                                                      bbox_inches="tight"))  # fmt: skip
    finally:
        plt.close(fig)


def _title(ax: plt.Axes, title: str, data_label: str) -> None:
    """``title``, and below it, smaller, the data the run used."""
    ax.set_title(title + (f"\n{data_label}" if data_label else ""), fontsize=10)


def _colors(n: int) -> list:
    return [plt.get_cmap("tab10")(i % 10) for i in range(n)]


def _epochs(entry: dict) -> np.ndarray:
    return np.arange(1, len(entry["history"]["loss"]) + 1)


def _epoch_axis(ax: plt.Axes, n_epochs: int) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(n_epochs, 10)))
    ax.grid(alpha=0.3)


def accuracy_per_epoch(entries: dict[str, dict], path: Path, data_label: str = "") -> None:
    """Training and validation accuracy per epoch, with the test accuracy as a line.

    One color per model: solid = training, dashed = validation, dotted horizontal
    line = accuracy on the test set after training.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    n_epochs = 1
    for (name, entry), color in zip(entries.items(), _colors(len(entries)), strict=True):
        epochs, history = _epochs(entry), entry["history"]
        n_epochs = max(n_epochs, len(epochs))
        ax.plot(epochs, history["accuracy"], "o-", ms=3, color=color, label=f"{name} train")
        ax.plot(
            epochs, history["val_accuracy"], "s--", ms=3, color=color, label=f"{name} validation"
        )
        test = entry["test"]["accuracy"]
        ax.axhline(test, color=color, ls=":", lw=1.5, label=f"{name} test ({test:.2%})")
    _epoch_axis(ax, n_epochs)
    ax.set_ylabel("accuracy")
    _title(ax, "Accuracy per epoch: " + ", ".join(entries), data_label)
    ax.legend(fontsize=8, loc="lower right")
    save(fig, path)


def training_curves(name: str, entry: dict, path: Path, data_label: str = "") -> None:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    epochs, history = _epochs(entry), entry["history"]
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.plot(epochs, history[metric], "o-", ms=3, label="training")
        ax.plot(epochs, history[f"val_{metric}"], "s--", ms=3, label="validation")
        _epoch_axis(ax, len(epochs))
        ax.set_ylabel(metric)
        ax.set_title(f"{name}: {metric}")
        ax.legend(fontsize=8)
    fig.suptitle(data_label, fontsize=10)
    save(fig, path)


def confusion_matrix(
    name: str, entry: dict, class_names: list[str], path: Path, data_label: str = ""
) -> None:
    """The confusion matrix in percent of each true class (rows sum to 100)."""
    counts = np.asarray(entry["metrics"]["confusion_matrix"], dtype=float)
    percent = 100 * counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n = len(class_names)
    size = max(5.0, 0.55 * n + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    norm = PowerNorm(gamma=0.4, vmin=0, vmax=100)  # stretches the small %, where errors are
    image = ax.imshow(percent, cmap="Blues", norm=norm)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="% of the true class")
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(
                    j, i, f"{percent[i, j]:.1f}" if percent[i, j] < 99.95 else "100",
                    ha="center", va="center", fontsize=7,
                    color="white" if norm(percent[i, j]) > 0.6 else "black",
                )  # fmt: skip
    ax.set_xticks(range(n), class_names, rotation=45 if max(map(len, class_names)) > 2 else 0)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = entry["test"]["accuracy"]
    _title(ax, f"{name}: confusion matrix, % of each true class (accuracy {accuracy:.2%})",
           data_label)
    save(fig, path)


def f1_per_class(
    entries: dict[str, dict], class_names: list[str], path: Path, data_label: str = ""
) -> None:
    """Per-class F1 on the test set, one line per model."""
    fig, ax = plt.subplots(figsize=(max(7.0, 0.6 * len(class_names) + 2), 4.5))
    x = np.arange(len(class_names))
    for (name, entry), color in zip(entries.items(), _colors(len(entries)), strict=True):
        ax.plot(x, entry["metrics"]["per_class"]["f1"], "o-", color=color, label=name)
    ax.set_xticks(x, class_names, rotation=45 if max(map(len, class_names)) > 2 else 0)
    ax.set_xlabel("class")
    ax.set_ylabel("F1 score")
    _title(ax, "F1 score per class on the test set", data_label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path)


def example_prediction(
    entries: dict[str, dict],
    image: np.ndarray,
    class_names: list[str],
    path: Path,
    data_label: str = "",
) -> None:
    """The first test image and each model's predicted probabilities for it."""
    true = class_names[next(iter(entries.values()))["first_test"]["true"]]
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 2.6]}, layout="constrained"
    )
    left.imshow(image, cmap="gray_r")
    left.set_title(f"first test image (true class {true})")
    left.axis("off")
    x = np.arange(len(class_names))
    width = 0.8 / len(entries)
    for k, ((name, entry), color) in enumerate(
        zip(entries.items(), _colors(len(entries)), strict=True)
    ):
        probabilities = entry["first_test"]["probabilities"]
        predicted = class_names[int(np.argmax(probabilities))]
        label = f"{name}: {predicted} ({max(probabilities):.1%})"
        right.bar(x - 0.4 + (k + 0.5) * width, probabilities, width, color=color, label=label)
    right.set_xticks(x, class_names, rotation=45 if max(map(len, class_names)) > 2 else 0)
    right.set_ylim(0, 1.05)
    right.set_ylabel("predicted probability")
    right.set_title("prediction of each model (predicted class, probability)")
    right.legend(fontsize=8)
    fig.suptitle(data_label, fontsize=10)
    save(fig, path)


def mistakes(
    name: str,
    entry: dict,
    samples: dict[int, np.ndarray],
    class_names: list[str],
    path: Path,
    data_label: str = "",
    columns: int = 5,
) -> bool:
    """A grid of the model's most confident mistakes, with true and predicted classes.

    The images are tiled into one picture (faster to draw than one axes per image),
    each labelled ``#index: true T / pred P (confidence)``. Returns False (and
    writes nothing) if there is no mistake to show.
    """
    shown = [m for m in entry["mistakes"] if m["index"] in samples]
    if not shown:
        return False
    h, w = samples[shown[0]["index"]].shape
    pad, label_height = max(h, w) // 4, max(h, w) // 2  # blank space around each tile
    rows, columns = math.ceil(len(shown) / columns), min(columns, len(shown))
    cell_h, cell_w = h + pad + label_height, w + pad
    canvas = np.zeros((rows * cell_h, columns * cell_w))
    fig, ax = plt.subplots(figsize=(2 * columns, 2.3 * rows))
    for k, mistake in enumerate(shown):
        top, left = (k // columns) * cell_h + label_height, (k % columns) * cell_w + pad // 2
        canvas[top : top + h, left : left + w] = samples[mistake["index"]] / 255
        ax.text(
            left + w / 2, top - 0.6, f"#{mistake['index']}: true {class_names[mistake['true']]}\n"
            f"pred {class_names[mistake['predicted']]} ({mistake['confidence']:.0%})",
            ha="center", va="bottom", fontsize=9,
        )  # fmt: skip
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    _title(ax, f"{name}: the misclassified test images it was surest about", data_label)
    save(fig, path)
    return True


# --- Replicated runs: our spread beside the published run, interaction, bands -------------
# Each figure summarizes several runs (seeds) per model with experiments.statistics.
# (Imported here to keep this block separate from the figures above.)

from collections.abc import Hashable, Mapping, Sequence  # noqa: E402

from matplotlib.ticker import PercentFormatter  # noqa: E402

from experiments import statistics  # noqa: E402


def _percent_axis(ax: plt.Axes, percent: bool) -> None:
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.grid(alpha=0.3, axis="y")


def _ci_error(summary: dict) -> tuple[float, float]:
    """How far the confidence interval of a summary reaches below and above the mean."""
    if summary["ci_low"] is None:  # a single run: no interval
        return 0.0, 0.0
    return summary["mean"] - summary["ci_low"], summary["ci_high"] - summary["mean"]


def accuracy_intervals(
    values: dict[str, Sequence[float]],
    published: dict[str, float | None],
    path: Path,
    metric: str = "test accuracy",
    percent: bool = True,
) -> None:
    """Per model, our runs beside the published run, each model in its own panel.

    In each panel: our runs (grey dots), their mean with the 95% confidence
    interval of the mean (black), the 95% prediction interval for one more run
    (light bar, from 3 runs on: the range the published single run is judged
    against, see :func:`experiments.statistics.judge_published`) and the published
    run (red diamond). Each panel has its own scale, so that a model at 93% and one
    at 99% both show their spread.

    Parameters
    ----------
    values : dict
        ``{model: one value per seed}``, in the order to draw.
    published : dict
        ``{model: the published value}``; a model missing or None has no diamond.
    path : Path
        The PNG to write.
    metric : str
        The y-axis label.
    percent : bool
        Values are fractions, shown in percent.
    """
    fig, axes = plt.subplots(1, len(values), figsize=(1.9 * len(values) + 1.2, 4.2),
                             squeeze=False)  # fmt: skip
    for ax, (name, runs) in zip(axes[0], values.items(), strict=True):
        summary = statistics.summarize(runs)
        mean, value = summary["mean"], published.get(name)
        if value is not None:
            judgement = statistics.judge_published(value, runs)
            if judgement["prediction_low"] is not None:
                low, high = judgement["prediction_low"], judgement["prediction_high"]
                ax.plot([0, 0], [low, high], lw=9, color="0.85", solid_capstyle="butt",
                        label="95% prediction interval, one run")  # fmt: skip
            ax.plot(0.25, value, "D", ms=7, color="tab:red", label="published (one run)")
        ax.plot(np.full(len(runs), -0.25), runs, "o", ms=4, color="0.5", label="our runs")
        below, above = _ci_error(summary)
        ax.errorbar(0, mean, yerr=[[below], [above]], fmt="s", ms=6, color="black", capsize=5,
                    label="our mean, 95% CI")  # fmt: skip
        ax.set_xlim(-0.6, 0.6)
        ax.set_xticks([])
        ax.set_title(f"{name} ({len(runs)} run{'s' if len(runs) > 1 else ''})", fontsize=10)
        ax.margins(y=0.15)
        _percent_axis(ax, percent)
    axes[0][0].set_ylabel(metric)
    legend = {}
    for ax in axes[0]:  # every kind of mark once, whichever panel has it
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend), fontsize=8,
               bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    fig.suptitle(f"{metric}: our runs and the published run")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save(fig, path)


def interaction_plot(
    cells: Mapping[tuple[Hashable, Hashable], Sequence[float]],
    factors: tuple[str, str],
    path: Path,
    metric: str = "test accuracy",
    percent: bool = True,
) -> None:
    """The 2-factor interaction plot: mean ± 95% CI per level of B, one line per level of A.

    Parallel lines mean no interaction; lines that converge, diverge or cross
    mean the effect of B depends on A (the ``A:B`` row of
    :func:`experiments.statistics.two_way_anova`).

    Parameters
    ----------
    cells : mapping
        ``{(level of A, level of B): one value per seed}``.
    factors : (str, str)
        Names of A (one line each) and B (the x axis), e.g. ``("depth", "width")``.
    path : Path
        The PNG to write.
    metric : str
        The y-axis label.
    percent : bool
        Values are fractions, shown in percent.
    """
    name_a, name_b = factors
    levels_a = list(dict.fromkeys(a for a, _ in cells))
    levels_b = list(dict.fromkeys(b for _, b in cells))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for k, (a, color) in enumerate(zip(levels_a, _colors(len(levels_a)), strict=True)):
        dodge = 0.04 * (k - (len(levels_a) - 1) / 2)  # keeps the error bars apart
        xs, means, errors = [], [], [[], []]
        for x, b in enumerate(levels_b):
            if (a, b) not in cells:
                continue
            summary = statistics.summarize(cells[(a, b)])
            below, above = _ci_error(summary)
            xs.append(x + dodge)
            means.append(summary["mean"])
            errors[0].append(below)
            errors[1].append(above)
        ax.errorbar(xs, means, yerr=errors, fmt="o-", color=color, capsize=5,
                    label=f"{name_a} = {a}")  # fmt: skip
    ax.set_xticks(range(len(levels_b)), [str(b) for b in levels_b])
    ax.set_xlim(-0.4, len(levels_b) - 0.6)
    ax.set_xlabel(name_b)
    ax.set_ylabel(f"{metric} (mean, 95% CI)")
    ax.set_title(f"Interaction of {name_a} and {name_b} on {metric}")
    ax.legend(fontsize=8)
    _percent_axis(ax, percent)
    save(fig, path)


def curves_across_seeds(histories: dict[str, list[dict]], metric: str, path: Path) -> None:
    """Per model, the mean training (solid) and validation (dashed) curves over seeds.

    The shaded band around each mean runs from the lowest to the highest seed at
    that epoch (with a handful of seeds, the range says more than an interval).

    Parameters
    ----------
    histories : dict
        ``{model: [history of each seed]}``, each history as ``fit`` returns it
        (``metric`` and ``"val_" + metric``, one value per epoch).
    metric : str
        ``"loss"`` or ``"accuracy"`` (shown in percent).
    path : Path
        The PNG to write.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    n_epochs = 1
    for (name, runs), color in zip(histories.items(), _colors(len(histories)), strict=True):
        for key, style, part in ((metric, "-", "train"), (f"val_{metric}", "--", "validation")):
            lengths = {len(history[key]) for history in runs}
            if len(lengths) != 1:
                raise ValueError(
                    f"the seeds of {name} have {key} for different numbers of epochs "
                    f"{sorted(lengths)}; pass runs of equal length"
                )
            curves = np.array([history[key] for history in runs], dtype=float)  # (seed, epoch)
            epochs = np.arange(1, curves.shape[1] + 1)
            n_epochs = max(n_epochs, len(epochs))
            ax.plot(epochs, curves.mean(axis=0), style, color=color,
                    label=f"{name} {part} (mean of {len(runs)})")  # fmt: skip
            ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=color,
                            alpha=0.15, lw=0)  # fmt: skip
    _epoch_axis(ax, n_epochs)
    ax.set_ylabel(metric)
    if metric == "accuracy":
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_title(f"{metric.capitalize()} per epoch across seeds (band: lowest to highest seed)")
    ax.legend(fontsize=8)
    save(fig, path)
