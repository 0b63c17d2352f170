"""The report's statistics when a study was trained with several seeds (``--seeds``).

Read from ``results.json`` (every replicate, :mod:`experiments.replicates`) and
``predictions.npz``, with the tests of :mod:`experiments.statistics`:

- per model, mean, standard deviation and 95% confidence interval of the mean of
  test accuracy, weighted F1, test loss and epoch time, and the published single
  run judged against the spread of our single runs ("published vs ours");
- for a factorial study (study A), the two-way ANOVA of test accuracy and the
  interaction plot;
- for each pair of models the write-up ranks (study B), a paired t-test across
  seeds and McNemar's test on the run's own seed's predictions;
- figures: accuracy per model with intervals beside the published point, and
  training curves with a band across seeds.

With fewer than :data:`MIN_SEEDS` seeds there is nothing to add: the single-run
report is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from experiments import plots, replicates, statistics
from experiments.formatting import duration, image, table
from experiments.studies import Study

#: Seeds needed for a spread (a standard deviation and an interval).
MIN_SEEDS = 2

#: What is summarised per model: (column title, value of one replicate, how to print it).
MEASURES: tuple[tuple[str, Callable[[dict], float], Callable[[float], str]], ...] = (
    ("test accuracy (%)", lambda e: e["test"]["accuracy"], lambda v: f"{100 * v:.2f}"),
    ("weighted F1", lambda e: e["metrics"]["weighted"]["f1"], lambda v: f"{v:.4f}"),
    ("test loss", lambda e: e["test"]["loss"], lambda v: f"{v:.4f}"),
    ("epoch time", lambda e: e["train_time_s"] / len(e["history"]["epoch_time"]), duration),
)


def has_replicates(results: dict) -> bool:
    """True if some model was trained with at least :data:`MIN_SEEDS` seeds."""
    return any(len(replicates.runs(results, name)) >= MIN_SEEDS for name in results["models"])


def _accuracies(results: dict, name: str) -> list[float]:
    return [e["test"]["accuracy"] for e in replicates.runs(results, name).values()]


def _cell(summary: dict, show: Callable[[float], str]) -> str:
    """``97.41 ± 0.12 [97.26, 97.56]``: mean ± standard deviation [95% CI of the mean]."""
    if summary["std"] is None:
        return f"{show(summary['mean'])} (one run)"
    return (f"{show(summary['mean'])} ± {show(summary['std'])} "
            f"[{show(summary['ci_low'])}, {show(summary['ci_high'])}]")  # fmt: skip


def _verdict(study: Study, name: str, accuracies: list[float]) -> str:
    """The "published vs ours" cell: the published run against the spread of ours."""
    published = study.published_accuracy(name)
    if published is None:
        return "–"
    judged = statistics.judge_published(published, accuracies)
    words = f"{100 * published:.2f}%: {judged['verdict']}"
    if judged["z"] is not None:
        words += f" (z = {judged['z']:+.1f}, rank {judged['rank']} of {judged['n'] + 1})"
    return words


def summary_table(study: Study, results: dict) -> str:
    """Per model: seeds, each measure's mean ± std [95% CI], and published vs ours."""
    rows = []
    for name in study.model_order(results):
        runs = list(replicates.runs(results, name).values())
        cells = [_cell(statistics.summarize([value(e) for e in runs]), show)
                 for _, value, show in MEASURES]  # fmt: skip
        rows.append([study.label(name), str(len(runs)), *cells,
                     _verdict(study, name, _accuracies(results, name))])  # fmt: skip
    header = ["model", "seeds", *(title for title, _, _ in MEASURES), "published vs ours"]
    return table(header, rows)


def _p_cell(p: float | None) -> str:
    """``0.031``, ``< 0.001`` or ``–`` (undefined)."""
    return "–" if p is None else statistics.format_p(p).removeprefix("p = ").removeprefix("p ")


def _anova(study: Study, results: dict, figures: dict) -> str:
    factorial = study.factorial_cells(results)
    if factorial is None:
        return ""
    factors, names = factorial
    cells = {levels: _accuracies(results, name) for levels, name in names.items()}
    title = f"### Two-way ANOVA of test accuracy: {factors[0]} x {factors[1]}\n\n"
    try:
        rows = statistics.two_way_anova(cells, factors)
    except ValueError as error:  # a model missing, or with one seed
        return title + f"Not computed: {error}."
    body = table(
        ["term", "sum of squares", "df", "F", "p"],
        [[row["term"], f"{row['sum_sq']:.3g}", str(row["df"]),
          "–" if row["F"] is None else f"{row['F']:.2f}", _p_cell(row["p"])] for row in rows],
    )  # fmt: skip
    n = min(len(values) for values in cells.values())
    text = (
        f"{title}Test accuracy of the {len(cells)} models of the design, at least {n} seeds "
        f"each (statsmodels' `ols` + `anova_lm`, type 3 sums of squares). A small p for "
        f"{factors[0]}:{factors[1]} means the effect of {factors[1]} depends on "
        f"{factors[0]}.\n\n{body}"
    )
    if figures.get("interaction"):
        text += "\n\n" + image("interaction plot", figures["interaction"])
    return text


def _paired(study: Study, results: dict, predictions: dict[str, np.ndarray]) -> str:
    own = replicates.primary_seed(results)
    lines = []
    for a, b in study.compared_pairs:
        runs_a, runs_b = replicates.runs(results, a), replicates.runs(results, b)
        seeds = [seed for seed in runs_a if seed in runs_b]
        if len(seeds) < MIN_SEEDS:
            continue
        t_test = statistics.paired_t_test(
            [runs_a[s]["test"]["accuracy"] for s in seeds],
            [runs_b[s]["test"]["accuracy"] for s in seeds], (a, b),
        )  # fmt: skip
        line = f"- {t_test['sentence']}"
        if t_test["ci_low_points"] is not None:
            line += f"; 95% CI [{t_test['ci_low_points']:.2f}, {t_test['ci_high_points']:.2f}]"
        keys = (f"{a}@{own}", f"{b}@{own}", f"labels@{own}")
        if all(key in predictions for key in keys):
            labels = predictions[keys[2]]
            mcnemar = statistics.mcnemar_test(
                predictions[keys[0]] == labels, predictions[keys[1]] == labels, (a, b)
            )
            line += f"; seed {own} alone: {mcnemar['sentence']}"
        lines.append(line)
    if not lines:
        return ""
    return (
        "### Paired comparisons\n\nEach pair the write-up ranks: the mean difference of test "
        "accuracy across seeds (paired t-test; difference in points = 100 x (a - b)), and "
        "McNemar's test on the same test images for the run's own seed.\n\n" + "\n".join(lines)
    )


def _seeds_sentence(results: dict) -> str:
    """The section's title and which seeds trained which models (they may differ)."""
    by_seeds: dict[tuple[int, ...], list[str]] = {}
    for name in results["models"]:
        by_seeds.setdefault(tuple(sorted(replicates.runs(results, name))), []).append(name)
    if len(by_seeds) == 1:
        seeds = next(iter(by_seeds))
        return (f"## Replicates: {len(seeds)} seeds\n\nEvery model was trained once per seed "
                f"({', '.join(map(str, seeds))})")  # fmt: skip
    counts = sorted(len(seeds) for seeds in by_seeds)
    groups = "; ".join(f"{', '.join(names)} with {', '.join(map(str, seeds))}"
                       for seeds, names in by_seeds.items())  # fmt: skip
    return (f"## Replicates: {counts[0]} to {counts[-1]} seeds per model\n\nEach model was "
            f"trained once per seed ({groups})")


def sections(study: Study, results: dict, figures: dict, predictions: dict) -> list[str]:
    """The report's section on replicates (empty below :data:`MIN_SEEDS` seeds)."""
    if not has_replicates(results):
        return []
    parts = [
        _seeds_sentence(results) + "; the seed drives the initial weights, dropout and shuffling"
        + (", and the train/validation split." if results["protocol"].get("resplit") else
           f", while the train/validation split stays seed {results['protocol']['seed']}'s.")
        + f" The tables above are seed {results['protocol']['seed']}'s run. Below: mean ± "
        "standard deviation [95% confidence interval of the mean]. The published number is "
        "one run, so it is judged against the spread of our single runs (the 95% prediction "
        "interval of one more run, from 3 seeds on; z-score and rank among our runs), not "
        "against the interval of our mean.\n\n" + summary_table(study, results),
    ]  # fmt: skip
    if figures.get("intervals"):
        parts.append(image("test accuracy per seed", figures["intervals"]))
    parts += [_anova(study, results, figures), _paired(study, results, predictions)]
    parts += [image(f"curves across seeds: {', '.join(group)}", path)
              for group, path in figures.get("bands", [])]  # fmt: skip
    return ["\n\n".join(part for part in parts if part)]


def draw(study: Study, results: dict, out: Path, path: Callable[[str], Path]) -> dict:
    """Draw the figures of :func:`sections` (none below :data:`MIN_SEEDS` seeds).

    ``path(stem)`` gives a figure's path relative to ``out``. Returns ``intervals``,
    ``interaction`` (None unless the study is factorial with enough seeds) and
    ``bands`` (a list of ``(names, path)``).
    """
    figures: dict = {"intervals": None, "interaction": None, "bands": []}
    if not has_replicates(results):
        return figures
    names = study.model_order(results)
    figures["intervals"] = path("accuracy_intervals")
    plots.accuracy_intervals(
        {study.label(n): _accuracies(results, n) for n in names},
        {study.label(n): study.published_accuracy(n) for n in names},
        out / figures["intervals"],
    )
    factorial = study.factorial_cells(results)
    if factorial is not None:
        factors, cells = factorial
        values = {levels: _accuracies(results, name) for levels, name in cells.items()}
        if all(len(v) >= MIN_SEEDS for v in values.values()):
            figures["interaction"] = path("interaction")
            plots.interaction_plot(values, factors, out / figures["interaction"])
    for group in study.accuracy_groups:
        present = [name for name in group if name in results["models"]]
        histories = {n: [e["history"] for e in replicates.runs(results, n).values()]
                     for n in present}  # fmt: skip
        if present and all(len(h) >= MIN_SEEDS for h in histories.values()):
            figure = path("seeds_accuracy_" + "_".join(present))
            plots.curves_across_seeds(histories, "accuracy", out / figure)
            figures["bands"].append((present, figure))
    return figures
