"""The validation split: which rows are held out, drawn as scikit-learn draws them.

One split shared by the estimators (early stopping) and the command (``--validation-fraction``).
The rows are those ``sklearn.model_selection.train_test_split(..., test_size=test_size,
random_state=random_state, stratify=stratify)`` picks, so an estimator of each library with
the same ``random_state`` holds out the same rows.  The draw is made here with numpy alone,
step by step as scikit-learn makes it (``ShuffleSplit`` / ``StratifiedShuffleSplit``, whose
``_iter_indices`` and ``_approximate_mode`` it follows; errors are raised as ``ValueError``
as there), so that the command does not import scikit-learn (most of a second):

- n_val = ⌈test_size · n⌉ rows for a float ``test_size`` in (0, 1), or ``test_size`` rows
  for an int in [1, n); the rest train (at least one row);
- ``random_state``: an int seeds a new ``RandomState``, a ``RandomState`` draws (and is
  advanced as scikit-learn advances it), None draws from numpy's global one;
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
import numbers
import operator
from typing import Any

import numpy as np

__all__ = ["split_rows", "n_validation", "can_stratify", "stratification"]


def n_validation(n_samples: int, test_size: float) -> int:
    """Rows held out: ⌈test_size · n_samples⌉ for a float, ``test_size`` for an int."""
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        return int(test_size)
    return math.ceil(test_size * n_samples)


def split_rows(n_samples: int, test_size: float | None, *, random_state: Any,
               stratify: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(train, val)``: row indices of the training and validation parts.

    The draw of ``train_test_split(np.arange(n_samples), test_size=test_size,
    random_state=random_state, stratify=stratify)`` (scikit-learn 1.x), made with numpy alone:
    scikit-learn takes most of a second to import, which the command does not spend.  A
    ``RandomState`` passed in is left in the state scikit-learn leaves it in.

    Parameters
    ----------
    n_samples : int
        The rows are 0 … n_samples - 1.
    test_size : float in (0, 1), int in [1, n_samples) or None
        The fraction (rounded up) or the number of rows held out; None: 0.25.  A numpy
        float other than float64 (which ``train_test_split``'s parameter check refuses)
        draws as scikit-learn draws it with that check skipped, as in its estimators.
    random_state : int, RandomState or None
        Draws the split (one draw, as ``train_test_split`` makes it); None: numpy's global
        ``RandomState``.
    stratify : array-like of shape (n_samples,) or (n_samples, k), default=None
        Class labels to hold out in proportion.

    Returns
    -------
    train : ndarray of shape (n_samples - n_val,)
    val : ndarray of shape (n_val,)

    Raises
    ------
    ValueError
        As ``train_test_split`` does: a ``test_size`` that leaves no row to either part, a
        ``random_state`` that cannot seed a ``RandomState``, ``stratify`` of another length,
        of more than two dimensions or with NaN, a class with a single row, or fewer
        training or validation rows than classes.
    """
    n = operator.index(n_samples)
    if n < 0:
        raise ValueError(f"n_samples={n} should be a count of rows (>= 0)")
    n_train, n_test = _sizes(n, test_size)
    if stratify is None:
        rng = _random_state(random_state)
        permutation = rng.permutation(n)                        # ShuffleSplit
        return permutation[n_test:n_test + n_train], permutation[:n_test]
    return _stratified(n, n_train, n_test, _labels(stratify, n), random_state)


def _sizes(n_samples: int, test_size: Any) -> tuple[int, int]:
    """(n_train, n_test): scikit-learn's ``_validate_shuffle_split`` for ``train_size=None``."""
    if test_size is None:
        test_size = 0.25                                        # train_test_split's default
    kind = np.asarray(test_size).dtype.kind
    if (kind == "i" and (test_size >= n_samples or test_size <= 0)) or (
            kind == "f" and (test_size <= 0 or test_size >= 1)):
        raise ValueError(
            f"test_size={test_size} should be either positive and smaller than the number of "
            f"samples {n_samples} or a float in the (0, 1) range")
    if kind == "f":
        n_test = math.ceil(test_size * n_samples)
    elif kind == "i":
        n_test = int(test_size)
    else:
        raise ValueError(f"Invalid value for test_size: {test_size}")
    n_train = n_samples - n_test
    if n_train == 0:
        raise ValueError(
            f"With n_samples={n_samples}, test_size={test_size} and train_size=None, the "
            "resulting train set will be empty. Adjust any of the aforementioned parameters.")
    return n_train, n_test


def _random_state(seed: Any) -> np.random.RandomState:
    """scikit-learn's ``check_random_state``: None (or ``np.random``) the global
    ``RandomState``, an int a new one, a ``RandomState`` itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(seed)                      # type: ignore[arg-type]
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def _labels(stratify: Any, n_samples: int) -> np.ndarray:
    """``stratify`` as one label per row, checked as scikit-learn checks it (``check_array``
    with ``ensure_2d=False, dtype=None``, then a length equal to ``n_samples``); the rows of
    a 2-D array joined into strings, as ``StratifiedShuffleSplit`` joins them."""
    y = np.asarray(stratify)
    if y.ndim == 0:
        raise ValueError(f"The 'stratify' parameter of train_test_split must be an array-like or "
                         f"None. Got {stratify!r} instead.")
    if y.ndim > 2:
        raise ValueError(f"Found array with dim {y.ndim}, while dim <= 2 is required.")
    if y.ndim == 2 and y.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={y.shape}) while a minimum of 1 "
                         "is required.")
    if y.dtype.kind == "c":
        raise ValueError(f"Complex data not supported\n{y}\n")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("Input y contains NaN." if np.isnan(y).any() else
                         f"Input y contains infinity or a value too large for {y.dtype!r}.")
    if y.dtype == object and (y != y).any():
        raise ValueError("Input contains NaN")
    if y.shape[0] != n_samples:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{n_samples}, {y.shape[0]}]")
    if y.ndim == 2:
        # str(row) would elide a row of over 1000 labels; join does not
        y = np.array([" ".join(row.astype("str")) for row in y])
    return y


def _stratified(n_samples: int, n_train: int, n_test: int, y: np.ndarray,
                random_state: Any) -> tuple[np.ndarray, np.ndarray]:
    """``StratifiedShuffleSplit``'s first split: per class, a permutation of its rows cut at
    the class's share of each part (``_approximate_mode``), then each part permuted."""
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    n_classes = classes.shape[0]
    if np.min(class_counts) < 2:
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too few. The minimum "
            "number of groups for any class cannot be less than 2. Classes with too few members "
            f"are: {classes[class_counts < 2].tolist()}")
    if n_train < n_classes:
        raise ValueError(f"The train_size = {n_train} should be greater or equal to the number "
                         f"of classes = {n_classes}")
    if n_test < n_classes:
        raise ValueError(f"The test_size = {n_test} should be greater or equal to the number "
                         f"of classes = {n_classes}")
    class_indices = np.split(np.argsort(y_indices.ravel(), kind="stable"),
                             np.cumsum(class_counts)[:-1])
    rng = _random_state(random_state)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(n_classes):
        permutation = rng.permutation(class_counts[i])
        rows = class_indices[i].take(permutation, mode="clip")
        train.append(rows[:n_i[i]])
        test.append(rows[n_i[i]:n_i[i] + t_i[i]])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _approximate_mode(class_counts: np.ndarray, n_draws: int,
                      rng: np.random.RandomState) -> np.ndarray:
    """scikit-learn's ``_approximate_mode``: the floors of each class's share of ``n_draws``,
    the rows left over added by decreasing remainder, ties broken by ``rng.choice``."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


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
