"""Statistics for replicated runs: summaries, a published number against our runs, tests.

A study trained once per seed gives, per model, a handful of *replicates* of
every measurement (test accuracy, F1, loss, epoch time). This module turns them
into the numbers a reviewer asks for. Every function takes plain sequences or
dicts of floats and returns plain Python values (dicts, lists of dicts; ``None``
where a quantity is undefined, e.g. a standard deviation from one run), so its
output can go into ``results.json`` as it is.

The four questions, and the tool for each:

========================================  ==============================================
question                                  answer
========================================  ==============================================
how good is this model, on average?       :func:`summarize`: mean, standard deviation,
                                          95% confidence interval of the mean (t)
is a published single run like ours?      :func:`judge_published`: 95% prediction
                                          interval for one new run, z-score, rank
do two factors (and their interaction)    :func:`two_way_anova`: statsmodels' ``ols`` +
matter?                                   ``anova_lm``, type 3 sums of squares
is model a better than model b?           :func:`mcnemar_test` (one seed, the same test
                                          images), :func:`paired_t_test` and
                                          :func:`bootstrap_mean_difference` (seeds)
========================================  ==============================================

:func:`count_choices` counts how often each option was chosen across seeds (e.g.
which two-layer model was the worse one).

Conventions: a *difference in points* is ``100 * (a - b)`` for fractions such as
accuracies (0.9920 - 0.9892 = 0.28 points); p-values are two-sided.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from scipy import stats

# statsmodels (and pandas, for its formulas) is imported by the two functions that
# use it: the figures import this module for summaries alone, and should not pay
# a second or more for statsmodels' import each time a report is drawn.

#: Confidence level of every interval here unless a function is told otherwise.
CONFIDENCE = 0.95
#: A published run is judged against a prediction interval only from this many runs on:
#: with 2 runs the t quantile (12.7 for 95%) makes the interval too wide to mean anything.
MIN_RUNS_FOR_INTERVAL = 3
#: McNemar's test is exact (binomial) when fewer images than this are classified
#: differently by the two models, and the chi-square approximation otherwise.
EXACT_MCNEMAR_BELOW = 25
#: Resamples of :func:`bootstrap_mean_difference`, and its fixed seed (same input, same CI).
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def _values(values: Sequence[float], name: str, minimum: int = 1) -> np.ndarray:
    """``values`` as a 1-d float64 array; ValueError if too short or not finite."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers, got shape {array.shape}")
    if array.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} value(s), got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values: {array.tolist()}")
    return array


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def _t_quantile(confidence: float, df: int) -> float:
    """The two-sided t quantile: P(|T| <= q) = ``confidence`` for T ~ t(``df``)."""
    _check_confidence(confidence)
    return float(stats.t.ppf(0.5 + confidence / 2, df))


def format_p(p: float | None) -> str:
    """A p-value for a sentence: ``p = 0.031``, ``p < 0.001``, or ``p undefined``."""
    if p is None:
        return "p undefined"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> dict:
    """Mean, standard deviation and confidence interval of the mean of replicates.

    The interval is ``mean ± t * s / sqrt(n)``, with ``s`` the sample standard
    deviation (``ddof=1``) and ``t`` the two-sided quantile of Student's t with
    ``n - 1`` degrees of freedom: it covers the *true mean* of the model (over
    seeds) with probability ``confidence``. It says nothing about where one more
    run will land; for that see :func:`judge_published`.

    Parameters
    ----------
    values : sequence of float
        One measurement per replicate (e.g. test accuracy per seed).
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    dict
        ``n``, ``mean``, ``std``, ``ci_low``, ``ci_high``, ``min``, ``max``.
        With one value, ``std`` and the interval are None. With zero spread the
        interval is the mean itself.
    """
    x = _values(values, "values")
    n, mean = x.size, float(x.mean())
    summary = {"n": n, "mean": mean, "std": None, "ci_low": None, "ci_high": None,
               "min": float(x.min()), "max": float(x.max())}  # fmt: skip
    if n >= 2:
        std = float(x.std(ddof=1))
        half_width = _t_quantile(confidence, n - 1) * std / math.sqrt(n)
        summary.update(std=std, ci_low=mean - half_width, ci_high=mean + half_width)
    return summary


def judge_published(
    published: float, ours: Sequence[float], confidence: float = CONFIDENCE
) -> dict:
    """Where a published single-run number lies against the spread of our single runs.

    A published number is *one run*, so it is compared with where one more of our
    runs would land, not with the confidence interval of our mean (which shrinks
    to a point as runs are added). The 95% *prediction interval* for one new run is
    ``mean ± t * s * sqrt(1 + 1/n)`` (t with ``n - 1`` degrees of freedom).

    Parameters
    ----------
    published : float
        The published value.
    ours : sequence of float
        Our replicates of the same measurement.
    confidence : float
        Level of the prediction interval.

    Returns
    -------
    dict
        ``published``, ``n``, ``mean``, ``std``;
        ``prediction_low``, ``prediction_high``: the interval (None below
        :data:`MIN_RUNS_FOR_INTERVAL` runs);
        ``z``: ``(published - mean) / std`` (None with one run or zero spread);
        ``rank``: 1 + how many of our runs are strictly higher (1 = highest), out of
        ``n + 1``;
        ``verdict``: ``"inside our spread"``, ``"above our spread"``,
        ``"below our spread"`` or ``"too few runs (n = 2)"``.
    """
    x = _values(ours, "ours")
    if not math.isfinite(published):
        raise ValueError(f"published must be a finite number, got {published}")
    summary = summarize(x)
    std = summary["std"]
    judgement = {
        "published": float(published),
        "n": x.size,
        "mean": summary["mean"],
        "std": std,
        "prediction_low": None,
        "prediction_high": None,
        "z": (published - summary["mean"]) / std if std else None,
        "rank": 1 + int(np.sum(x > published)),
        "verdict": f"too few runs (n = {x.size})",
    }
    if x.size >= MIN_RUNS_FOR_INTERVAL:
        half_width = _t_quantile(confidence, x.size - 1) * std * math.sqrt(1 + 1 / x.size)
        low, high = summary["mean"] - half_width, summary["mean"] + half_width
        verdict = (
            "above our spread" if published > high
            else "below our spread" if published < low
            else "inside our spread"
        )  # fmt: skip
        judgement.update(prediction_low=low, prediction_high=high, verdict=verdict)
    return judgement


def two_way_anova(
    cells: Mapping[tuple[Hashable, Hashable], Sequence[float]],
    factors: tuple[str, str] = ("a", "b"),
) -> list[dict]:
    """Two-way ANOVA with interaction of a full factorial design, from replicates.

    The model is ``y ~ A + B + A:B``, fitted by least squares (statsmodels' ``ols``)
    with sum-to-zero ("effect") coding, and tested with **type 3** sums of squares
    (``anova_lm(typ=3)``). Why type 3: the interaction is part of the question, and
    with effect coding a type 3 main effect is the effect of A averaged over the
    levels of B, which keeps its meaning when A and B interact; type 2 tests each
    main effect assuming there is no interaction. In a balanced design (the same
    number of seeds for every model) types 1, 2 and 3 give the same table; they
    differ only when a cell has fewer replicates, e.g. during a resumed run.

    Parameters
    ----------
    cells : mapping
        ``{(level of A, level of B): replicates}``, e.g.
        ``{(1, 100): [0.977, 0.975], (1, 300): [...], (2, 100): [...], (2, 300): [...]}``.
        Every combination of the levels seen must be present, with at least 2 values.
    factors : (str, str)
        Names of A and B, used as the terms of the table (e.g. ``("depth", "width")``).

    Returns
    -------
    list of dict
        One row per term, ``A``, ``B``, ``A:B`` (named after ``factors``) and
        ``Residual``: ``term``, ``sum_sq``, ``df``, ``F``, ``p`` (the last two None for
        the residual, and None everywhere if the replicates have no spread at all).

    Raises
    ------
    ValueError
        If a combination of levels is missing, has fewer than 2 replicates, or a
        factor has only one level.
    """
    import pandas as pd
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    name_a, name_b = factors
    if name_a == name_b:
        raise ValueError(f"factors must have two different names, got {factors}")
    levels_a = list(dict.fromkeys(a for a, _ in cells))
    levels_b = list(dict.fromkeys(b for _, b in cells))
    for name, levels in ((name_a, levels_a), (name_b, levels_b)):
        if len(levels) < 2:
            raise ValueError(f"factor {name} needs at least 2 levels, got {levels}")
    rows = []
    for a in levels_a:
        for b in levels_b:
            where = f"cell {name_a}={a}, {name_b}={b}"
            if (a, b) not in cells:
                raise ValueError(f"{where} is missing: every combination needs replicates")
            y = _values(cells[(a, b)], where, minimum=2)
            rows += [(str(a), str(b), value) for value in y]
    # Internal column names, so that any factor name works in the formula.
    frame = pd.DataFrame(rows, columns=["a", "b", "y"])
    fit = ols("y ~ C(a, Sum) * C(b, Sum)", data=frame).fit()
    table = anova_lm(fit, typ=3)
    terms = {"C(a, Sum)": name_a, "C(b, Sum)": name_b,
             "C(a, Sum):C(b, Sum)": f"{name_a}:{name_b}", "Residual": "Residual"}  # fmt: skip
    no_spread = fit.ssr <= 1e-12 * max(1.0, float(np.sum(frame["y"] ** 2)))

    def number(value: float) -> float | None:
        return None if no_spread or not math.isfinite(value) else float(value)

    return [
        {
            "term": term,
            "sum_sq": float(table.loc[key, "sum_sq"]),
            "df": int(table.loc[key, "df"]),
            "F": number(table.loc[key, "F"]),
            "p": number(table.loc[key, "PR(>F)"]),
        }
        for key, term in terms.items()
    ]


def mcnemar_test(
    correct_a: Sequence[bool], correct_b: Sequence[bool], names: tuple[str, str] = ("a", "b")
) -> dict:
    """McNemar's test of two models' accuracies on the same test images.

    Only the images the models disagree on carry information: ``only_a`` (a right,
    b wrong) and ``only_b``. Under "equally accurate" each of those is equally
    likely to go either way. With fewer than :data:`EXACT_MCNEMAR_BELOW` of them the
    test is exact (binomial); otherwise the chi-square statistic
    ``(|only_a - only_b| - 1)^2 / (only_a + only_b)`` (continuity-corrected) is used.

    Parameters
    ----------
    correct_a, correct_b : sequence of bool
        Per test image, whether model a (b) predicted it right (``predictions ==
        labels``), the same images in the same order.
    names : (str, str)
        The models' names, for the sentence.

    Returns
    -------
    dict
        ``n`` (images), ``accuracy_a``, ``accuracy_b``, ``difference_points``
        (``100 * (accuracy_a - accuracy_b)``), ``only_a``, ``only_b``, ``exact``,
        ``statistic`` (the smaller discordant count if exact, else chi-square), ``p``
        and ``sentence``, e.g. ``"dcnn vs cnn: difference 0.28 points, p = 0.03
        (McNemar, 10,000 test images)"``.
    """
    from statsmodels.stats.contingency_tables import mcnemar

    a, b = (np.asarray(c) for c in (correct_a, correct_b))
    for name, c in (("correct_a", a), ("correct_b", b)):
        if c.ndim != 1 or c.size == 0 or c.dtype != np.bool_:
            raise ValueError(f"{name} must be a non-empty 1-d array of booleans, "
                             f"got dtype {c.dtype} and shape {c.shape}")  # fmt: skip
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b must cover the same test images, "
                         f"got {a.size} and {b.size}")  # fmt: skip
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    table = [[int(np.sum(a & b)), only_a], [only_b, int(np.sum(~a & ~b))]]
    exact = only_a + only_b < EXACT_MCNEMAR_BELOW
    result = mcnemar(table, exact=exact, correction=True)
    difference = 100 * (a.mean() - b.mean())
    p = float(result.pvalue)
    sentence = (
        f"{names[0]} vs {names[1]}: difference {difference:.2f} points, {format_p(p)} "
        f"(McNemar{', exact' if exact else ''}, {a.size:,} test images)"
    )
    return {
        "n": a.size,
        "accuracy_a": float(a.mean()),
        "accuracy_b": float(b.mean()),
        "difference_points": float(difference),
        "only_a": only_a,
        "only_b": only_b,
        "exact": exact,
        "statistic": float(result.statistic),
        "p": p,
        "sentence": sentence,
    }


def _paired_differences(values_a: Sequence[float], values_b: Sequence[float]) -> np.ndarray:
    a = _values(values_a, "values_a", minimum=2)
    b = _values(values_b, "values_b", minimum=2)
    if a.shape != b.shape:
        raise ValueError(f"values_a and values_b must be paired (one value per seed each), "
                         f"got {a.size} and {b.size}")  # fmt: skip
    return a - b


def _same_everywhere(differences: np.ndarray) -> bool:
    """True if the differences agree to rounding (e.g. 0.9920 - 0.9892 and 0.9910 - 0.9882)."""
    return bool(np.ptp(differences) <= 1e-12 * max(1.0, float(np.abs(differences).max())))


def paired_t_test(
    values_a: Sequence[float],
    values_b: Sequence[float],
    names: tuple[str, str] = ("a", "b"),
    confidence: float = CONFIDENCE,
) -> dict:
    """Paired t-test of two models across seeds (scipy's ``ttest_rel``).

    ``values_a[i]`` and ``values_b[i]`` come from the same seed; the test asks
    whether the mean of the differences ``a - b`` is zero, and the confidence
    interval of that mean is ``mean ± t * s_d / sqrt(n)``.

    Parameters
    ----------
    values_a, values_b : sequence of float
        Fractions such as test accuracies, one per seed, in the same seed order.
    names : (str, str)
        The models' names, for the sentence.
    confidence : float
        Level of the interval of the mean difference.

    Returns
    -------
    dict
        ``n`` (seeds), ``difference_points`` (mean of ``a - b``, times 100),
        ``ci_low_points``, ``ci_high_points``, ``statistic`` (t), ``df``, ``p`` and
        ``sentence``. If every seed gives the same difference there is no spread to
        test against: ``statistic`` and ``p`` are None and the sentence says so.
    """
    differences = _paired_differences(values_a, values_b)
    n, summary = differences.size, summarize(differences, confidence)
    test = {"n": n, "difference_points": 100 * summary["mean"],
            "ci_low_points": 100 * summary["ci_low"], "ci_high_points": 100 * summary["ci_high"],
            "statistic": None, "df": n - 1, "p": None}  # fmt: skip
    lead = f"{names[0]} vs {names[1]}: difference {test['difference_points']:.2f} points"
    if _same_everywhere(differences):
        test["sentence"] = f"{lead} on each of {n} seeds (no spread: no test)"
        return test
    result = stats.ttest_rel(values_a, values_b)
    test.update(statistic=float(result.statistic), p=float(result.pvalue))
    test["sentence"] = f"{lead}, {format_p(test['p'])} (paired t-test, {n} seeds)"
    return test


def bootstrap_mean_difference(
    values_a: Sequence[float], values_b: Sequence[float], confidence: float = CONFIDENCE
) -> dict:
    """Percentile bootstrap confidence interval of the mean paired difference ``a - b``.

    The differences per seed are resampled with replacement
    (:data:`BOOTSTRAP_RESAMPLES` times, fixed seed, scipy's ``bootstrap``). It makes no
    normality assumption, but needs more seeds than the t interval to be
    trustworthy: with n seeds there are only ``C(2n - 1, n)`` distinct resamples
    (10 for 3 seeds), so below about 10 seeds prefer :func:`paired_t_test`.

    Parameters
    ----------
    values_a, values_b : sequence of float
        Fractions such as test accuracies, one per seed, in the same seed order.
    confidence : float
        Level of the interval.

    Returns
    -------
    dict
        ``n``, ``difference_points``, ``ci_low_points``, ``ci_high_points``.
    """
    differences = _paired_differences(values_a, values_b)
    _check_confidence(confidence)
    interval = stats.bootstrap(
        (differences,), np.mean, confidence_level=confidence, method="percentile",
        n_resamples=BOOTSTRAP_RESAMPLES, rng=np.random.default_rng(BOOTSTRAP_SEED),
    ).confidence_interval  # fmt: skip
    low, high = float(interval.low), float(interval.high)
    return {"n": differences.size, "difference_points": 100 * float(differences.mean()),
            "ci_low_points": 100 * low, "ci_high_points": 100 * high}  # fmt: skip


def count_choices(choices: Sequence[str], options: Sequence[str] = ()) -> dict[str, int]:
    """How often each option was chosen, e.g. which model was the worse one per seed.

    Parameters
    ----------
    choices : sequence of str
        One choice per seed.
    options : sequence of str
        Options to list even if never chosen (with 0), in this order; options not
        listed here follow in the order they first appear.

    Returns
    -------
    dict
        ``{option: count}``; the counts sum to ``len(choices)``.
    """
    counts = dict.fromkeys(options, 0)
    for choice in choices:
        counts[choice] = counts.get(choice, 0) + 1
    return counts
