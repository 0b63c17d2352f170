"""The two decisions the studies make from their own results.

Study A: which two-layer model is "worse", to be rebuilt with dropout as model 5.
Study B: which three models are the best by validation loss and accuracy.

Both are pure functions of result entries (``results.json["models"]``), so the
commands and the report apply exactly the same rule.
"""

from __future__ import annotations

import numpy as np

from experiments import statistics, zoo

WORSE_RULE = (
    "the worse two-layer model is the one with the lower minimum per-class F1 on the "
    "test set (the study's criterion); a tie is broken by the lower test accuracy"
)

TOP_RULE = (
    "each model is ranked by its final validation loss (1 = lowest) and by its final "
    "validation accuracy (1 = highest); the models with the smallest sum of the two ranks "
    "are the best, ties broken by the lower validation loss"
)


def worse_two_layer_model(models: dict[str, dict], class_names: list[str]) -> dict:
    """Decide which of ``2x100`` and ``2x300`` gets the dropout (see :data:`WORSE_RULE`).

    Parameters
    ----------
    models : dict
        Result entries by name; must contain both two-layer models.
    class_names : list of str
        For the explanation.

    Returns
    -------
    dict
        ``model`` (the worse one), ``dropout_model`` (its dropout variant's zoo name),
        ``rule``, ``reason`` (a sentence) and ``candidates`` (per two-layer model:
        ``min_f1``, ``min_f1_class``, ``test_accuracy``).
    """
    candidates = {}
    for name in zoo.TWO_LAYER_MODELS:
        f1 = models[name]["metrics"]["per_class"]["f1"]
        worst_class = int(np.argmin(f1))  # the first of equal minima, like min()
        candidates[name] = {
            "min_f1": f1[worst_class],
            "min_f1_class": worst_class,
            "test_accuracy": models[name]["test"]["accuracy"],
        }
    worse, better = sorted(
        candidates, key=lambda n: (candidates[n]["min_f1"], candidates[n]["test_accuracy"])
    )
    w, b = candidates[worse], candidates[better]
    if w["min_f1"] < b["min_f1"]:
        reason = (
            f"{worse} has the lower minimum per-class F1: {w['min_f1']:.4f} "
            f"(class {class_names[w['min_f1_class']]}) against {better}'s {b['min_f1']:.4f} "
            f"(class {class_names[b['min_f1_class']]})"
        )
    else:
        reason = (
            f"both two-layer models have the same minimum per-class F1 ({w['min_f1']:.4f}); "
            f"{worse} has the lower test accuracy ({w['test_accuracy']:.2%} against "
            f"{b['test_accuracy']:.2%})"
        )
    return {
        "model": worse,
        "dropout_model": zoo.dropout_variant(worse),
        "rule": WORSE_RULE,
        "reason": reason,
        "candidates": candidates,
    }


SEEDS_RULE = (
    "with several seeds the rule is applied to each seed's models, and model 5 is built "
    "on the two-layer model that was the worse one in the most seeds; a tie goes to the "
    "choice of the run's own seed (--seed)"
)


def worse_across_seeds(
    per_seed: dict[int, dict[str, dict]], class_names: list[str], own_seed: int
) -> dict:
    """Decide model 5 from several seeds (see :data:`SEEDS_RULE`).

    Parameters
    ----------
    per_seed : dict
        ``{seed: {name: result entry}}``, each holding both two-layer models;
        must include ``own_seed``.
    class_names : list of str
    own_seed : int
        The run's own seed: its decision breaks a tie, and its ``candidates`` and
        ``reason`` are reported.

    Returns
    -------
    dict
        As :func:`worse_two_layer_model` for ``own_seed``, but with ``model`` and
        ``dropout_model`` the most frequent choice, ``rule`` stating both rules, and
        ``worse_by_seed`` (``{seed: worse model}``) and ``counts`` (``{model: seeds}``).
        With one seed it is exactly :func:`worse_two_layer_model`.
    """
    decisions = {seed: worse_two_layer_model(models, class_names)
                 for seed, models in per_seed.items()}  # fmt: skip
    own = decisions[own_seed]
    if len(decisions) == 1:
        return own
    worse_by_seed = {str(seed): d["model"] for seed, d in sorted(decisions.items())}
    counts = statistics.count_choices(list(worse_by_seed.values()), zoo.TWO_LAYER_MODELS)
    most = max(counts.values())
    leaders = [name for name, n in counts.items() if n == most]
    chosen = own["model"] if own["model"] in leaders else leaders[0]
    tally = ", ".join(f"{name} in {n} of {len(decisions)} seeds" for name, n in counts.items())
    return {
        **own,
        "model": chosen,
        "dropout_model": zoo.dropout_variant(chosen),
        "rule": f"{WORSE_RULE}; {SEEDS_RULE}",
        "reason": f"the worse two-layer model was {tally}"
        + (" (a tie, decided by seed " + str(own_seed) + ")" if len(leaders) > 1 else "")
        + f"; with seed {own_seed}, {own['reason']}",
        "worse_by_seed": worse_by_seed,
        "counts": counts,
    }


def _competition_ranks(values: dict[str, float], higher_is_better: bool) -> dict[str, int]:
    """1 + the number of models strictly better than each one."""
    sign = -1 if higher_is_better else 1
    return {
        name: 1 + sum(sign * other < sign * value for other in values.values())
        for name, value in values.items()
    }


def top_models(models: dict[str, dict], k: int = 3) -> dict:
    """Rank models by validation loss and accuracy (see :data:`TOP_RULE`).

    Returns
    -------
    dict
        ``top`` (the best ``k`` names, best first), ``rule``, and ``ranking``: one
        dict per model, best first, with ``name``, ``val_loss``, ``val_accuracy``,
        ``loss_rank``, ``accuracy_rank`` and ``score`` (the sum of the two ranks).
    """
    loss = {name: entry["validation"]["loss"] for name, entry in models.items()}
    accuracy = {name: entry["validation"]["accuracy"] for name, entry in models.items()}
    loss_rank = _competition_ranks(loss, higher_is_better=False)
    accuracy_rank = _competition_ranks(accuracy, higher_is_better=True)
    ranking = [
        {
            "name": name,
            "val_loss": loss[name],
            "val_accuracy": accuracy[name],
            "loss_rank": loss_rank[name],
            "accuracy_rank": accuracy_rank[name],
            "score": loss_rank[name] + accuracy_rank[name],
        }
        for name in models
    ]
    ranking.sort(key=lambda row: (row["score"], row["val_loss"], row["name"]))
    return {"top": [row["name"] for row in ranking[:k]], "rule": TOP_RULE, "ranking": ranking}
