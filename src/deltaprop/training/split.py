"""The validation split: which rows are held out, drawn as scikit-learn draws them.

One split shared by the estimators (early stopping) and the command (``--validation-fraction``).
The rows are those ``sklearn.model_selection.train_test_split(..., test_size=test_size,
random_state=random_state, stratify=stratify)`` picks, so an estimator of each library with
the same ``random_state`` holds out the same rows:

- n_val = ⌈test_size · n⌉ rows for a float ``test_size`` in (0, 1), or ``test_size`` rows
  for an int; the rest train;
- ``stratify`` None: a seeded permutation (``ShuffleSplit``); else labels, one per row (an
  array of shape (n,), or (n, k) whose rows are joined as scikit-learn joins them), held
  out in proportion (``StratifiedShuffleSplit``, which raises when a class has one row).

Which targets to stratify is the caller's policy; :func:`stratification` states the two in
use: scikit-learn's (``"binary"``: single-output classification only, i.e. binary targets
coded as one column) and ``"classes"`` (every single-label classification, where each class
has two rows and both parts can hold every class; otherwise no stratification).

API (stable)
------------
``split_rows(n_samples, test_size, *, random_state, stratify=None) -> (train, val)``
    Index arrays (in scikit-learn's order, not sorted) of the training and validation rows.
``n_validation(n_samples, test_size) -> int``
    How many rows :func:`split_rows` holds out.
``can_stratify(labels, n_val) -> bool``
    Every class has at least two rows, and both parts can hold one row of every class.
``stratification(policy, labels, n_val) -> labels or None``
    The ``stratify`` argument for :func:`split_rows` under ``policy`` ("binary", "classes"
    or None).

Examples
--------
>>> train, val = split_rows(10, 0.2, random_state=0)
>>> len(train), len(val)
(8, 2)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["split_rows", "n_validation", "can_stratify", "stratification"]


def n_validation(n_samples: int, test_size: float) -> int:
    """Rows held out: ⌈test_size · n_samples⌉ for a float, ``test_size`` for an int."""
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        return int(test_size)
    return math.ceil(test_size * n_samples)


def split_rows(n_samples: int, test_size: float, *, random_state: Any,
               stratify: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(train, val)``: row indices of the training and validation parts.

    Parameters
    ----------
    n_samples : int
        The rows are 0 … n_samples - 1.
    test_size : float in (0, 1) or int
        The fraction (rounded up) or the number of rows held out.
    random_state : int, RandomState or None
        Draws the split (one draw, as ``train_test_split`` makes it).
    stratify : array-like of shape (n_samples,) or (n_samples, k), default=None
        Class labels to hold out in proportion.

    Returns
    -------
    train : ndarray of shape (n_samples - n_val,)
    val : ndarray of shape (n_val,)
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(n_samples)
    train, val = train_test_split(rows, test_size=test_size, random_state=random_state,
                                  stratify=stratify)
    return train, val


def can_stratify(labels: Any, n_val: int) -> bool:
    """True when each class has two rows and both parts can hold a row of every class."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = np.array([" ".join(row.astype(str)) for row in labels])
    _, counts = np.unique(labels, return_counts=True)
    n = labels.shape[0]
    return bool(counts.min() >= 2 and min(n_val, n - n_val) >= counts.size)


def stratification(policy: str | None, labels: Any, n_val: int) -> Any:
    """The ``stratify`` argument of :func:`split_rows` under ``policy``.

    Parameters
    ----------
    policy : {"binary", "classes"} or None
        "binary": scikit-learn's rule: stratify by ``labels`` when they are one column
        (binary classification), always (a class of one row raises, as in scikit-learn).
        "classes": stratify single-label classification when :func:`can_stratify`, else
        not.  None: never.
    labels : ndarray of shape (n,) or (n, k)
        The classes: labels, or the binarised targets D (one column for binary, one-hot
        for multiclass; multilabel targets are never stratified by "classes", so the
        caller passes None for them).
    n_val : int
        The rows held out (:func:`n_validation`).
    """
    if policy is None or labels is None:
        return None
    labels = np.asarray(labels)
    if policy == "binary":
        return labels if labels.ndim == 1 or labels.shape[1] == 1 else None
    if policy == "classes":
        if labels.ndim == 2:
            labels = labels[:, 0] if labels.shape[1] == 1 else labels.argmax(axis=1)
        return labels if can_stratify(labels, n_val) else None
    raise ValueError(f"unknown stratification {policy!r}; use 'binary', 'classes' or None")
