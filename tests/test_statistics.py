"""experiments.statistics against hand-computed cases and against scipy used another way."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from experiments import plots, statistics

#: Two-sided 95% quantile of Student's t with 2 degrees of freedom, from a printed t table.
T_975_DF2 = 4.303


# --- summarize -------------------------------------------------------------------------------


def test_summary_of_one_two_three_by_hand():
    summary = statistics.summarize([1.0, 2.0, 3.0])
    assert summary["n"] == 3 and summary["mean"] == 2.0 and summary["std"] == 1.0
    half_width = T_975_DF2 * 1.0 / math.sqrt(3)
    assert summary["ci_low"] == pytest.approx(2.0 - half_width, abs=1e-3)
    assert summary["ci_high"] == pytest.approx(2.0 + half_width, abs=1e-3)
    assert (summary["min"], summary["max"]) == (1.0, 3.0)


def test_summary_interval_matches_scipy_t_interval(rng):
    x = rng.normal(0.98, 0.002, size=7)
    summary = statistics.summarize(x, confidence=0.9)
    low, high = stats.t.interval(0.9, df=6, loc=x.mean(), scale=stats.sem(x))
    assert summary["ci_low"] == pytest.approx(low, rel=1e-12)
    assert summary["ci_high"] == pytest.approx(high, rel=1e-12)


def test_summary_of_one_run_has_no_spread_and_zero_spread_a_point_interval():
    one = statistics.summarize([0.97])
    assert one["mean"] == 0.97 and one["std"] is None and one["ci_low"] is None
    constant = statistics.summarize([0.5, 0.5, 0.5])
    assert constant["std"] == 0.0 and constant["ci_low"] == constant["ci_high"] == 0.5


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [[1.0, 2.0]]])
def test_summary_refuses_bad_values(values):
    with pytest.raises(ValueError, match="values"):
        statistics.summarize(values)


# --- judge_published -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "verdict", "rank"),
    [(2.5, "inside our spread", 2), (10.0, "above our spread", 1), (-5.0, "below our spread", 4)],
)
def test_published_value_against_one_two_three(published, verdict, rank):
    judgement = statistics.judge_published(published, [1.0, 2.0, 3.0])
    half_width = T_975_DF2 * 1.0 * math.sqrt(1 + 1 / 3)  # 4.97: wider than the CI of the mean
    assert judgement["prediction_low"] == pytest.approx(2.0 - half_width, abs=1e-3)
    assert judgement["prediction_high"] == pytest.approx(2.0 + half_width, abs=1e-3)
    assert judgement["verdict"] == verdict
    assert judgement["z"] == pytest.approx(published - 2.0)
    assert judgement["rank"] == rank


def test_prediction_interval_covers_a_new_run_about_95_percent_of_the_time(rng):
    """The defining property, checked by simulation: 2,000 samples of 5 runs plus one."""
    runs = rng.normal(size=(2000, 6))
    covered = [
        statistics.judge_published(r[5], r[:5])["verdict"] == "inside our spread" for r in runs
    ]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.015)


@pytest.mark.parametrize("ours", [[0.99], [0.99, 0.98]])
def test_too_few_runs_for_an_interval(ours):
    judgement = statistics.judge_published(0.5, ours)
    assert judgement["verdict"] == f"too few runs (n = {len(ours)})"
    assert judgement["prediction_low"] is None and judgement["prediction_high"] is None
    assert judgement["rank"] == len(ours) + 1
    assert (judgement["z"] is None) == (len(ours) == 1)


def test_published_against_runs_without_spread():
    assert statistics.judge_published(0.5, [0.5] * 3)["verdict"] == "inside our spread"
    judgement = statistics.judge_published(0.6, [0.5] * 3)
    assert judgement["verdict"] == "above our spread" and judgement["z"] is None


# --- two_way_anova ---------------------------------------------------------------------------


def _cells(rng, sizes=None, interaction=0.004):
    sizes = sizes or {}
    return {
        (depth, width): list(
            0.975
            + 0.002 * (depth == 2)
            + 0.001 * (width == 300)
            + interaction * (depth == 2 and width == 300)
            + 0.002 * rng.standard_normal(sizes.get((depth, width), 4))
        )
        for depth in (1, 2)
        for width in (100, 300)
    }


def test_balanced_anova_matches_the_textbook_formulas(rng):
    cells = _cells(rng)
    y = np.array([[cells[(d, w)] for w in (100, 300)] for d in (1, 2)])  # (depth, width, rep)
    n = y.shape[2]
    grand, cell_means = y.mean(), y.mean(axis=2)
    depth_means, width_means = y.mean(axis=(1, 2)), y.mean(axis=(0, 2))
    ss_depth = 2 * n * np.sum((depth_means - grand) ** 2)
    ss_width = 2 * n * np.sum((width_means - grand) ** 2)
    ss_interaction = n * np.sum(
        (cell_means - depth_means[:, None] - width_means[None, :] + grand) ** 2
    )
    ss_residual = np.sum((y - cell_means[..., None]) ** 2)
    df_residual = 4 * (n - 1)

    table = {row["term"]: row for row in statistics.two_way_anova(cells, ("depth", "width"))}

    assert list(table) == ["depth", "width", "depth:width", "Residual"]
    for term, ss in [("depth", ss_depth), ("width", ss_width), ("depth:width", ss_interaction)]:
        f = ss / (ss_residual / df_residual)
        assert table[term]["sum_sq"] == pytest.approx(ss, rel=1e-9)
        assert table[term]["df"] == 1
        assert table[term]["F"] == pytest.approx(f, rel=1e-9)
        assert table[term]["p"] == pytest.approx(stats.f.sf(f, 1, df_residual), rel=1e-9)
    assert table["Residual"]["sum_sq"] == pytest.approx(ss_residual, rel=1e-9)
    assert table["Residual"]["df"] == df_residual
    assert table["Residual"]["F"] is None and table["Residual"]["p"] is None


def test_unbalanced_anova_is_type_3_by_model_comparison(rng):
    """Type 3 SS of a term = residual SS without its effect-coded column - full residual SS."""
    cells = _cells(rng, sizes={(1, 100): 2, (2, 300): 5, (1, 300): 3})
    rows = [(d, w, v) for (d, w), values in cells.items() for v in values]
    depth = np.array([1.0 if d == 1 else -1.0 for d, _, _ in rows])  # sum-to-zero coding
    width = np.array([1.0 if w == 100 else -1.0 for _, w, _ in rows])
    y = np.array([v for _, _, v in rows])
    columns = {"depth": depth, "width": width, "depth:width": depth * width}

    def residual_ss(names):
        design = np.column_stack([np.ones_like(y)] + [columns[name] for name in names])
        return np.sum((y - design @ np.linalg.lstsq(design, y, rcond=None)[0]) ** 2)

    full = residual_ss(list(columns))
    table = {row["term"]: row for row in statistics.two_way_anova(cells, ("depth", "width"))}
    for term in columns:
        without = residual_ss([name for name in columns if name != term])
        assert table[term]["sum_sq"] == pytest.approx(without - full, rel=1e-9)
    assert table["Residual"]["df"] == len(y) - 4


def test_anova_refuses_missing_cells_and_single_replicates(rng):
    cells = _cells(rng)
    with pytest.raises(ValueError, match="cell depth=2, width=300 is missing"):
        statistics.two_way_anova({k: v for k, v in cells.items() if k != (2, 300)},
                                 ("depth", "width"))  # fmt: skip
    with pytest.raises(ValueError, match="cell depth=1, width=100 needs at least 2"):
        statistics.two_way_anova({**cells, (1, 100): [0.97]}, ("depth", "width"))
    with pytest.raises(ValueError, match="factor depth needs at least 2 levels"):
        statistics.two_way_anova({(1, 100): [1, 2], (1, 300): [3, 4]}, ("depth", "width"))


def test_anova_without_any_spread_has_no_f():
    cells = {(d, w): [float(d + w)] * 3 for d in (1, 2) for w in (100, 300)}
    table = statistics.two_way_anova(cells, ("depth", "width"))
    assert all(row["F"] is None and row["p"] is None for row in table)


# --- mcnemar_test ----------------------------------------------------------------------------


def _correctness(both, only_a, only_b, neither):
    a = [True] * both + [True] * only_a + [False] * only_b + [False] * neither
    b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
    return np.array(a), np.array(b)


def test_mcnemar_exact_is_a_binomial_test_on_the_disagreements():
    a, b = _correctness(both=950, only_a=9, only_b=2, neither=39)
    result = statistics.mcnemar_test(a, b, ("dcnn", "cnn"))
    assert result["exact"] and (result["only_a"], result["only_b"]) == (9, 2)
    assert result["p"] == pytest.approx(stats.binomtest(2, 11, 0.5).pvalue, rel=1e-12)
    assert result["difference_points"] == pytest.approx(0.7)  # (959 - 952) / 1000 images
    assert result["sentence"] == (
        f"dcnn vs cnn: difference 0.70 points, p = {result['p']:.2f} "
        "(McNemar, exact, 1,000 test images)"
    )


def test_mcnemar_chi_square_by_hand():
    a, b = _correctness(both=9800, only_a=58, only_b=30, neither=112)
    result = statistics.mcnemar_test(a, b, ("dcnn", "cnn"))
    chi_square = (abs(58 - 30) - 1) ** 2 / (58 + 30)
    assert not result["exact"]
    assert result["statistic"] == pytest.approx(chi_square, rel=1e-12)
    assert result["p"] == pytest.approx(stats.chi2.sf(chi_square, 1), rel=1e-12)
    assert result["sentence"] == (
        "dcnn vs cnn: difference 0.28 points, p = 0.004 (McNemar, 10,000 test images)"
    )


def test_mcnemar_identical_models_and_bad_input():
    a, _ = _correctness(both=90, only_a=0, only_b=0, neither=10)
    assert statistics.mcnemar_test(a, a)["p"] == 1.0
    with pytest.raises(ValueError, match="same test images"):
        statistics.mcnemar_test(a, a[:-1])
    with pytest.raises(ValueError, match="correct_a must be a non-empty 1-d array of booleans"):
        statistics.mcnemar_test(a.astype(int), a)


# --- paired_t_test, bootstrap_mean_difference ------------------------------------------------


def test_paired_t_test_by_hand():
    a, b = [0.990, 0.992, 0.991], [0.989, 0.989, 0.990]  # differences 0.1, 0.3, 0.1 points
    result = statistics.paired_t_test(a, b, ("dcnn", "cnn"))
    d = np.array([0.1, 0.3, 0.1])
    t = d.mean() / (d.std(ddof=1) / math.sqrt(3))
    assert result["difference_points"] == pytest.approx(d.mean())
    assert result["statistic"] == pytest.approx(t, rel=1e-9)
    # t = 2.5; with 2 degrees of freedom, P(|T| > t) = 1 - t / sqrt(t^2 + 2) in closed form
    assert result["p"] == pytest.approx(1 - t / math.sqrt(t**2 + 2), rel=1e-9)
    half_width = T_975_DF2 * d.std(ddof=1) / math.sqrt(3)
    assert result["ci_low_points"] == pytest.approx(d.mean() - half_width, abs=1e-3)
    assert (
        result["sentence"]
        == "dcnn vs cnn: difference 0.17 points, p = 0.13 (paired t-test, 3 seeds)"
    )


def test_paired_t_test_edge_cases():
    same = statistics.paired_t_test([0.99, 0.98], [0.98, 0.97], ("a", "b"))
    assert same["statistic"] is None and same["p"] is None
    assert (
        same["sentence"] == "a vs b: difference 1.00 points on each of 2 seeds (no spread: no test)"
    )
    rounded = statistics.paired_t_test([0.98, 0.9803], [0.9801, 0.9804])  # -0.01 each, rounded
    assert rounded["p"] is None
    with pytest.raises(ValueError, match="values_a needs at least 2"):
        statistics.paired_t_test([0.99], [0.98])
    with pytest.raises(ValueError, match="paired"):
        statistics.paired_t_test([0.99, 0.98, 0.97], [0.98, 0.97])


def test_bootstrap_interval_agrees_with_the_t_interval_for_many_normal_seeds(rng):
    a = rng.normal(0.99, 0.001, size=200)
    b = a - rng.normal(0.002, 0.001, size=200)
    bootstrap = statistics.bootstrap_mean_difference(a, b)
    t = statistics.paired_t_test(a, b)
    width = t["ci_high_points"] - t["ci_low_points"]
    assert bootstrap["difference_points"] == pytest.approx(t["difference_points"])
    assert bootstrap["ci_low_points"] == pytest.approx(t["ci_low_points"], abs=0.1 * width)
    assert bootstrap["ci_high_points"] == pytest.approx(t["ci_high_points"], abs=0.1 * width)
    assert statistics.bootstrap_mean_difference(a, b) == bootstrap  # fixed seed


def test_bootstrap_percentile_interval_stays_within_the_possible_means():
    """Percentile, not "basic": one seed of 10 gains a point, so no resampled mean is below 0."""
    result = statistics.bootstrap_mean_difference([0.01] + [0.0] * 9, [0.0] * 10)
    assert result["difference_points"] == pytest.approx(0.1)
    assert 0 <= result["ci_low_points"] < 0.1 < result["ci_high_points"] <= 1


def test_bootstrap_of_constant_differences_is_a_point():
    result = statistics.bootstrap_mean_difference([0.5, 0.6, 0.7], [0.4, 0.5, 0.6])
    assert result["ci_low_points"] == pytest.approx(10.0)
    assert result["ci_high_points"] == pytest.approx(10.0)


# --- count_choices, format_p -----------------------------------------------------------------


def test_count_choices_lists_every_option_in_order():
    counts = statistics.count_choices(["2x300", "2x300", "2x100", "2x300"], ["2x100", "2x300"])
    assert counts == {"2x100": 1, "2x300": 3}
    assert list(statistics.count_choices(["b"], ["a", "b"]).items()) == [("a", 0), ("b", 1)]
    assert statistics.count_choices([]) == {}


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0312, "p = 0.03"), (0.0041, "p = 0.0041"), (0.0004, "p < 0.001"), (None, "p undefined")],
)
def test_format_p(p, text):
    assert statistics.format_p(p) == text


def test_every_result_is_strict_json(rng):
    a, b = rng.random(200) < 0.9, rng.random(200) < 0.8
    cells = {(d, w): [0.5, 0.6, 0.7] for d in (1, 2) for w in (100, 300)}
    results = [
        statistics.summarize([0.9]),
        statistics.judge_published(0.9, [0.9, 0.9, 0.9]),
        statistics.two_way_anova(cells, ("depth", "width")),
        statistics.mcnemar_test(a, b),
        statistics.paired_t_test([0.9, 0.8], [0.8, 0.7]),
        statistics.bootstrap_mean_difference([0.9, 0.8], [0.8, 0.75]),
    ]
    assert json.loads(json.dumps(results, allow_nan=False)) == results


# --- the figures of replicated runs (experiments.plots) --------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 1000


def test_accuracy_intervals_figure(tmp_path, rng):
    values = {"cnn": rng.normal(0.989, 0.001, 5), "dcnn": rng.normal(0.992, 0.001, 3),
              "lm": [0.927]}  # fmt: skip
    path = tmp_path / "intervals.png"
    plots.accuracy_intervals(values, {"cnn": 0.992, "dcnn": 0.9917, "lm": None}, path)
    assert _is_png(path)


def test_interaction_figure(tmp_path, rng):
    cells = {(d, w): rng.normal(0.975, 0.002, 4) for d in (1, 2) for w in (100, 300)}
    cells[(2, 300)] = [0.972]  # one run: a point without an error bar
    path = tmp_path / "interaction.png"
    plots.interaction_plot(cells, ("depth", "width"), path)
    assert _is_png(path)


def test_curves_across_seeds_figure(tmp_path, rng):
    def history():
        return {
            key: list(rng.random(4)) for key in ("loss", "val_loss", "accuracy", "val_accuracy")
        }

    histories = {"2x100": [history() for _ in range(3)], "2x300": [history()]}
    for metric in ("loss", "accuracy"):
        plots.curves_across_seeds(histories, metric, tmp_path / f"{metric}.png")
        assert _is_png(tmp_path / f"{metric}.png")
    histories["2x300"].append({**history(), "loss": [0.5]})
    with pytest.raises(ValueError, match="the seeds of 2x300 have loss for different numbers"):
        plots.curves_across_seeds(histories, "loss", tmp_path / "never.png")
    assert not (tmp_path / "never.png").exists()
