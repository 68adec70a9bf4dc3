"""A classifier's classes: targets d coded for the output layer, outputs y read as classes.

A classifier with K classes (labels ``classes``, sorted) has one logistic output when K = 2
(y_1 is the probability of ``classes[1]``, d_1 = 1 for it and 0 for ``classes[0]``) and K
softmax outputs otherwise (y_k the probability of ``classes[k]``, d the one-hot row of the
label) -- the canonical pairs of :mod:`deltaprop.core.losses`, so δ^(L) = y - d.  This is the
coding scikit-learn's ``LabelBinarizer`` makes for single-label targets, written in numpy so
that training and predicting a classifier need no scikit-learn; the estimators use it too.

The functions' names and signatures are stable API.

Examples
--------
>>> import numpy as np
>>> classes, codes = class_codes(np.array(["b", "a", "b"]))
>>> classes.tolist(), codes.tolist()
(['a', 'b'], [1, 0, 1])
>>> one_hot(codes, 2).ravel().tolist()
[True, False, True]
>>> probabilities(np.array([[0.25]])).tolist()
[[0.75, 0.25]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["class_codes", "one_hot", "n_outputs", "output_pair", "probabilities", "predicted_codes",
           "balanced_weights"]


def class_codes(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, codes)``: the sorted distinct labels of ``y`` (n,) and ``classes[codes] == y``."""
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    return classes, codes.reshape(-1)


def one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Targets d (bool): shape (n, 1), d_1 = [code == 1], for two classes; (n, K) one-hot else."""
    codes = np.asarray(codes)
    return (codes == 1)[:, None] if n_classes == 2 else codes[:, None] == np.arange(n_classes)


def n_outputs(n_classes: int, multilabel: bool = False) -> int:
    """The network's outputs for ``n_classes`` classes: one for two single-label classes, one
    per class otherwise."""
    return 1 if n_classes == 2 and not multilabel else n_classes


def output_pair(n_classes: int, multilabel: bool = False) -> tuple[str, str]:
    """``(loss, output)``: ("log_loss", "softmax") for more than two single-label classes,
    ("binary_log_loss", "logistic") for two classes and for multilabel targets."""
    return ("log_loss", "softmax") if n_classes > 2 and not multilabel else ("binary_log_loss", "logistic")


def probabilities(Y: np.ndarray) -> np.ndarray:
    """Class probabilities (n, K) of a single-label classifier's outputs Y (n, n_outputs):
    [1 - y_1, y_1] for one logistic output, the softmax outputs as they are otherwise."""
    return np.column_stack([1 - Y[:, 0], Y[:, 0]]) if Y.shape[1] == 1 else Y


def predicted_codes(Y: np.ndarray) -> np.ndarray:
    """The predicted class index of each row of outputs Y (n, n_outputs): ``classes[1]`` when
    y_1 > 0.5 for one logistic output, the largest output otherwise (the first on ties)."""
    return (Y[:, 0] > 0.5).astype(np.intp) if Y.shape[1] == 1 else np.argmax(Y, axis=1)


def balanced_weights(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Each row's weight (n,) under ``class_weight="balanced"``: class k weighs n / (K · n_k),
    so every class carries the same total weight (scikit-learn's ``compute_sample_weight``)."""
    codes = np.asarray(codes)
    counts = np.bincount(codes, minlength=n_classes)
    per_class = codes.shape[0] / (n_classes * np.maximum(counts, 1))
    return per_class[codes].astype(np.float64)
