"""The metrics the command prints, writes as JSON and puts in the report: ``sklearn.metrics``'
own, regression per target in its own units.  A label the model never saw counts as a class
of its own that is never predicted.  scikit-learn loads on the first call only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["regression_metrics", "classification_metrics", "label_codes", "confusion_matrix", "as_json"]


def regression_metrics(Y_true: Any, Y_pred: Any, names: Sequence[str]) -> dict[str, float]:
    """{metric name: value}: RMSE, R² and MAE per target (in the targets' own units)."""
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    Y_true = np.asarray(Y_true, dtype=np.float64).reshape(len(Y_true), -1)
    Y_pred = np.asarray(Y_pred, dtype=np.float64).reshape(Y_true.shape)
    out = {}
    for k, name in enumerate(names):
        suffix = f" ({name})" if len(names) > 1 else ""
        # in units of a power of two near max |t|, |p|: exact, and squares near 1e300 do not overflow
        top = np.abs(np.r_[Y_true[:, k], Y_pred[:, k]]).max(initial=1.0)
        unit = np.ldexp(1.0, np.frexp(top)[1] - 1) if np.isfinite(top) and top > 0 else 1.0
        t, p = Y_true[:, k] / unit, Y_pred[:, k] / unit
        if not np.isfinite(p).all():  # a prediction that overflowed: no metric is a number
            out.update({f"{m}{suffix}": math.nan for m in ("RMSE", "R²", "MAE")})
            continue
        out[f"RMSE{suffix}"] = float(root_mean_squared_error(t, p) * unit)
        out[f"R²{suffix}"] = float(r2_score(t, p)) if len(t) > 1 else math.nan
        out[f"MAE{suffix}"] = float(mean_absolute_error(t, p) * unit)
    return out


def label_codes(labels: Sequence[Any], classes: Sequence[Any]) -> np.ndarray:
    """The index in ``classes`` of each label; ``len(classes)`` for a label not among them."""
    index = {c: k for k, c in enumerate(classes)}
    return np.array([index.get(v, len(classes)) for v in labels], dtype=np.int64)


def confusion_matrix(labels: Sequence[Any], proba: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """C[i, j]: rows of class i predicted as class j, shape (n_classes, n_classes); rows whose
    label is not among ``classes`` are left out."""
    from sklearn.metrics import confusion_matrix as matrix

    from deltaprop.command.common import plain

    codes = label_codes([plain(v) for v in labels], [plain(c) for c in classes])
    return matrix(codes, np.argmax(proba, axis=1), labels=list(range(len(classes))))


def classification_metrics(labels: Sequence[Any], proba: np.ndarray,
                           classes: Sequence[Any]) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro F1, ROC AUC (binary, or one-vs-rest) and log-loss of
    probabilities ``proba`` (n, n_classes) for ``labels``; ROC AUC of a single class is NaN."""
    from sklearn import metrics

    k = len(classes)
    codes = label_codes(labels, classes)
    pred = np.argmax(proba, axis=1)
    if (codes == k).any():
        proba = np.hstack([proba, np.zeros((len(proba), 1))])
    every = list(range(proba.shape[1]))
    try:
        auc = (metrics.roc_auc_score(codes == 1, proba[:, 1]) if k == 2
               else metrics.roc_auc_score(codes, proba, multi_class="ovr", labels=every))
    except ValueError:  # one class only: the AUC is undefined
        auc = math.nan
    return {
        "accuracy": float(metrics.accuracy_score(codes, pred)),
        "balanced accuracy": float(metrics.balanced_accuracy_score(codes, pred)),
        "macro F1": float(metrics.f1_score(codes, pred, average="macro")),
        "ROC AUC": float(auc),
        "log-loss": float(metrics.log_loss(codes, proba, labels=every)),
    }


def as_json(doc: Any) -> str:
    """``doc`` as JSON text, a metric that is not a number written as null."""
    import json

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return json.dumps(clean(doc), indent=2, ensure_ascii=False)
