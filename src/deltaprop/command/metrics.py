"""The metrics the command prints, writes as JSON and puts in the report.

Regression, per target and in the target's own units: RMSE, R², MAE.  Classification:
accuracy, balanced accuracy (the mean recall over classes), macro F1, ROC AUC (binary, or
the mean of one-vs-rest over classes) and log-loss (natural log, mean over rows), plus the
confusion matrix.  numpy only, so that evaluating a model does not import scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop.command.common import plain

__all__ = [
    "regression_metrics", "classification_metrics", "label_codes", "log_loss_and_accuracy",
    "confusion_matrix", "roc_auc", "as_json", "EPS",
]

#: the probability given to a class the model never predicts, so log-loss stays finite
EPS = 1e-15


def regression_metrics(Y_true: Any, Y_pred: Any, names: Sequence[str]) -> dict[str, float]:
    """{metric name: value}: RMSE, R² and MAE per target (in the targets' own units)."""
    Y_true = np.asarray(Y_true, dtype=np.float64).reshape(len(Y_true), -1)
    Y_pred = np.asarray(Y_pred, dtype=np.float64).reshape(Y_true.shape)
    out = {}
    for k, name in enumerate(names):
        t, p = Y_true[:, k], Y_pred[:, k]
        suffix = f" ({name})" if len(names) > 1 else ""
        # measured in units of max|t|, squares of values near 1e300 do not overflow
        top = float(np.max(np.abs(t))) if len(t) else 1.0
        top = top if top > 0 and math.isfinite(top) else 1.0
        ts, ps = t / top, p / top
        ss_tot = float(((ts - ts.mean()) ** 2).sum())
        ss_res = float(((ts - ps) ** 2).sum())
        out[f"RMSE{suffix}"] = math.sqrt(ss_res / len(t)) * top if len(t) else float("nan")
        out[f"R²{suffix}"] = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
        out[f"MAE{suffix}"] = float(np.abs(ts - ps).mean()) * top
    return out


def label_codes(labels: Sequence[Any], classes: Sequence[Any]) -> np.ndarray:
    """The index in ``classes`` of each label; -1 for a label not among them."""
    index = {c: k for k, c in enumerate(classes)}
    return np.array([index.get(v, -1) for v in labels], dtype=np.int64)


def confusion_matrix(labels: Sequence[Any], proba: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """C[i, j]: rows of class i predicted as class j, shape (n_classes, n_classes).

    Rows whose label is not among ``classes`` are left out.
    """
    codes = label_codes([plain(v) for v in labels], [plain(c) for c in classes])
    pred = np.argmax(proba, axis=1)
    known = codes >= 0
    C = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(C, (codes[known], pred[known]), 1)
    return C


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1 … n of x, ties sharing the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x), dtype=np.float64)
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return ranks


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """The area under the ROC curve: P(score of a positive > score of a negative), ties ½."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def classification_metrics(
    labels: Sequence[Any], proba: np.ndarray, classes: Sequence[Any]
) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro F1, ROC AUC and log-loss of predicted probabilities.

    A label not among ``classes`` counts as wrong and gets probability ``EPS``.  Balanced
    accuracy and macro F1 average over the classes present in ``labels``; ROC AUC is the
    binary AUC of the second class, or the mean one-vs-rest AUC over classes present.
    """
    codes = label_codes(labels, classes)
    pred = np.argmax(proba, axis=1)
    present = [k for k in range(len(classes)) if np.any(codes == k)]
    recall, f1 = [], []
    for k in present:
        tp = float(np.sum((pred == k) & (codes == k)))
        recall.append(tp / float(np.sum(codes == k)))
        f1.append(2 * tp / (float(np.sum(codes == k)) + float(np.sum(pred == k))))
    if len(classes) == 2:
        auc = roc_auc(codes == 1, proba[:, 1])
    else:
        aucs = [roc_auc(codes == k, proba[:, k]) for k in present]
        aucs = [a for a in aucs if math.isfinite(a)]
        auc = float(np.mean(aucs)) if aucs else float("nan")
    log_loss, accuracy = log_loss_and_accuracy(codes, proba)
    return {
        "accuracy": accuracy,
        "balanced accuracy": float(np.mean(recall)) if recall else float("nan"),
        "macro F1": float(np.mean(f1)) if f1 else float("nan"),
        "ROC AUC": auc,
        "log-loss": log_loss,
    }


def log_loss_and_accuracy(codes: np.ndarray, proba: np.ndarray) -> tuple[float, float]:
    """Log-loss and accuracy of ``proba`` for labels given as :func:`label_codes` (a code of -1
    counts as wrong, with probability ``EPS``): the two that training watches every epoch."""
    known = codes >= 0
    p_true = np.full(len(codes), EPS)
    p_true[known] = proba[np.flatnonzero(known), codes[known]]
    accuracy = float(np.mean(np.argmax(proba, axis=1) == codes))
    return float(-np.mean(np.log(np.clip(p_true, EPS, 1.0)))), accuracy


def as_json(doc: Any) -> str:
    """``doc`` as JSON text, a metric that is not a number (R² of a constant target, ROC AUC
    of a single class) written as null, which every JSON reader reads."""
    import json

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return json.dumps(clean(doc), indent=2, ensure_ascii=False)
