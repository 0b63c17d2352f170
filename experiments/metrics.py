"""Classification metrics as JSON-able dicts, and the sentences the report makes of them.

All numbers come from scikit-learn (``precision_recall_fscore_support``,
``confusion_matrix``), computed over every class ``0 .. n_classes - 1`` so a class
that was never predicted still gets a row (with precision 0).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy, averaged and per-class precision/recall/F1, and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray
        True and predicted class indices, shape ``(N,)``.
    n_classes : int
        Number of classes.

    Returns
    -------
    dict
        ``accuracy``; ``weighted`` and ``macro``, each ``{"precision", "recall", "f1"}``
        (weighted = averaged with each class's support as weight, macro = plain mean);
        ``per_class``, ``{"precision", "recall", "f1", "support"}`` each a list indexed
        by class; ``confusion_matrix``, a list of rows: ``[i][j]`` counts the images
        of true class ``i`` predicted as ``j``.
    """
    labels = np.arange(n_classes)

    def scores(average: str | None) -> tuple:
        return precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )

    precision, recall, f1, support = scores(None)
    result = {"accuracy": float(np.mean(y_true == y_pred))}
    for average in ("weighted", "macro"):
        p, r, f, _ = scores(average)
        result[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    result["per_class"] = {
        "precision": [float(v) for v in precision],
        "recall": [float(v) for v in recall],
        "f1": [float(v) for v in f1],
        "support": [int(v) for v in support],
    }
    result["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return result


def top_confusions(matrix: list[list[int]], k: int = 5) -> list[dict]:
    """The ``k`` most frequent mistakes: off-diagonal cells, largest count first.

    Returns
    -------
    list of dict
        ``{"true", "predicted", "count", "support"}``; ``support`` is the number of
        images of the true class. Ties are listed by true, then predicted class.
        Cells with count 0 are left out.
    """
    m = np.asarray(matrix)
    cells = [
        (-int(m[i, j]), i, j)
        for i in range(len(m))
        for j in range(len(m))
        if i != j and m[i, j] > 0
    ]
    return [
        {"true": i, "predicted": j, "count": -count, "support": int(m[i].sum())}
        for count, i, j in sorted(cells)[:k]
    ]


def most_confused_with(matrix: list[list[int]], true_class: int) -> dict | None:
    """The class ``true_class`` was most often mistaken for, or None if never."""
    row = np.array(matrix[true_class])
    row[true_class] = 0
    if row.max() == 0:
        return None
    j = int(row.argmax())
    support = int(np.sum(matrix[true_class]))
    return {"true": true_class, "predicted": j, "count": int(row[j]), "support": support}


def confusion_sentence(confusion: dict, class_names: list[str], most_often: bool = False) -> str:
    """E.g. ``"3 was predicted as 5 in 14 of 1010 cases"``.

    With ``most_often``: ``"3 was most often predicted as 5 in 14 of 1010 cases"``.
    """
    true, predicted = class_names[confusion["true"]], class_names[confusion["predicted"]]
    how = "most often predicted" if most_often else "predicted"
    return (
        f"{true} was {how} as {predicted} in {confusion['count']} of "
        f"{confusion['support']} cases"
    )


def lowest_f1(per_class_f1: list[float], k: int = 3) -> list[int]:
    """The ``k`` classes with the lowest F1, lowest first (ties by class index).

    A class with a perfect F1 of 1 is never among them.
    """
    imperfect = [c for c, f1 in enumerate(per_class_f1) if f1 < 1]
    return sorted(imperfect, key=lambda c: (per_class_f1[c], c))[:k]


def most_confident_mistakes(
    y_true: np.ndarray, probabilities: np.ndarray, limit: int = 25
) -> list[dict]:
    """The misclassified samples the model was surest about, at most ``limit``.

    Returns
    -------
    list of dict
        ``{"index", "true", "predicted", "confidence"}``, highest confidence first;
        ``index`` is the position in the test set, ``confidence`` the probability
        given to the (wrong) predicted class.
    """
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:limit]
    return [
        {
            "index": int(i),
            "true": int(y_true[i]),
            "predicted": int(predicted[i]),
            "confidence": float(confidence[i]),
        }
        for i in wrong
    ]
