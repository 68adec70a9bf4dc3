"""Prediction and scores on Dask collections: the estimator's numpy methods mapped lazily over
X's blocks; ``score`` adds a few sums per partition on the client.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier

from deltaprop.distributed.partitions import _is_frame, aligned_tasks

__all__ = ["predict", "predict_proba", "score"]


def _as_input(est, X):
    """A dataframe block as is for an estimator fitted on named columns, else its numpy array."""
    if hasattr(X, "columns") and not hasattr(est, "feature_names_in_"):
        return X.to_numpy()
    return X


def _lazy(est, method: str, X):
    import dask.array as da

    proba = method == "predict_proba"
    dtype = est.classes_.dtype if method == "predict" and is_classifier(est) else est.network_.dtype
    one = not proba and (est.n_outputs_ == 1 or (is_classifier(est) and not est._is_multilabel()))
    columns = list(est.classes_) if proba else list(range(est.n_outputs_))

    def block_output(block):
        return np.asarray(getattr(est, method)(_as_input(est, block)), dtype=dtype)

    if _is_frame(X):
        import pandas as pd

        def frame_block(part):
            out = block_output(part)
            if one:
                return pd.Series(out.reshape(-1), index=part.index, dtype=dtype)
            return pd.DataFrame(out, index=part.index, columns=columns)

        meta = (pd.Series([], dtype=dtype) if one
                else pd.DataFrame({c: pd.Series([], dtype=dtype) for c in columns}))
        return X.map_partitions(frame_block, meta=meta)
    X = da.asarray(X)
    if X.ndim == 2:
        X = X.rechunk({1: -1})
    if one:
        return X.map_blocks(block_output, dtype=dtype, drop_axis=1 if X.ndim == 2 else None,
                            meta=np.empty((0,), dtype=dtype))
    return X.map_blocks(block_output, dtype=dtype, chunks=(X.chunks[0], (len(columns),)),
                        meta=np.empty((0, 0), dtype=dtype))


def predict(est, X):
    """``est.predict`` of every block of X, lazily: a Dask array (or series) of labels/values."""
    return _lazy(est, "predict", X)


def predict_proba(est, X):
    """``est.predict_proba`` of every block, lazily: (n, n_classes), columns in ``classes_``'s order."""
    return _lazy(est, "predict_proba", X)


def _score_sums(est, X, y, s):
    X = _as_input(est, X)
    y = np.asarray(y)
    w = np.ones(y.shape[0]) if s is None else np.asarray(s, dtype=np.float64)
    if is_classifier(est):
        pred = est.predict(X)
        hit = pred == y if pred.ndim == 1 else (pred == y).all(axis=1)
        return np.array([w @ hit, w.sum()])
    pred = est.predict(X).reshape(y.shape[0], -1)
    d = y.reshape(y.shape[0], -1).astype(np.float64)
    total = w.sum()
    mean = w @ d / total if total > 0 else np.zeros(d.shape[1])
    return np.stack([np.full(d.shape[1], total), mean, w @ (d - mean) ** 2, w @ (d - pred) ** 2])


def r2_of_sums(parts: list[np.ndarray]) -> float:
    """scikit-learn's ``r2_score`` (uniform average over outputs; a constant target scores 1
    when predicted exactly, else 0) of the rows whose partitions' sums are ``parts``.

    The partitions' (Σ s, mean, Σ s (y − mean)², Σ s (y − ŷ)²) per output are added (Chan et
    al.) into each output's total and residual sums of squares T_k and R_k; ``r2_score`` is then
    called on three rows per output that have exactly those sums: targets 1, −1, 0 with weights
    T_k/2, T_k/2, 1, predicted 1, −1, √R_k (every other output 0 there).
    """
    from sklearn.metrics import r2_score

    weight, means, squares, residual = np.stack(parts).transpose(1, 0, 2)
    n = weight.sum(axis=0)
    mean = (weight * means).sum(axis=0) / np.where(n > 0, n, 1)
    total = squares.sum(axis=0) + (weight * (means - mean) ** 2).sum(axis=0)
    k = total.size
    d, y = np.zeros((3 * k, k)), np.zeros((3 * k, k))
    for j in range(k):
        d[3 * j : 3 * j + 3, j] = (1.0, -1.0, 0.0)
        y[3 * j : 3 * j + 3, j] = (1.0, -1.0, np.sqrt(residual.sum(axis=0)[j]))
    return float(r2_score(d, y, sample_weight=np.column_stack([total / 2, total / 2, np.ones(k)]).ravel()))


def score(est, X, y, sample_weight=None):
    """Accuracy (classifier) or R² averaged over outputs (regressor), as ``est.score`` on numpy."""
    import dask

    tasks = [dask.delayed(_score_sums)(est, xb, yb, sb) for xb, yb, sb in aligned_tasks(X, y, sample_weight)]
    parts = list(dask.compute(*tasks))
    if is_classifier(est):
        hits, total = sum(parts)
        return float(hits / total)
    return r2_of_sums(parts)
