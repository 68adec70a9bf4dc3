"""``fit`` and ``partial_fit`` of deltaprop's estimators on Dask collections: the partitions
checked and kept on their workers, the estimator set up as its numpy ``fit`` does, the solver
run on the cluster (``lbfgs`` exactly, ``sgd``/``adam`` as local SGD).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_class_weight

from deltaprop.distributed import cluster as _cluster
from deltaprop.distributed.lbfgs import fit_lbfgs
from deltaprop.distributed.local_sgd import fit_local_sgd
from deltaprop.distributed.partitions import _is_frame, aligned_tasks, prepare, summarise, targets
from deltaprop.errors import UserError

__all__ = ["fit", "partial_fit"]


def _prepared(ex, est, X, y, sample_weight):
    """Handles of the checked partitions (raw y), their :class:`Summary`s, X's string column
    names (else None) and the dtype of the fit."""
    import dask

    if y is None:
        raise UserError("fit needs y (the targets)")
    names = list(X.columns) if _is_frame(X) and hasattr(X, "columns") else None
    columns = None if names is None else [str(c) for c in names]
    dtypes = list(X.dtypes) if names is not None else [X.dtype]
    dtype = np.float32 if all(np.dtype(t) == np.float32 for t in dtypes) else np.float64
    tasks = [dask.delayed(prepare)(xb, yb, sb, i, dtype, columns, not is_classifier(est))
             for i, (xb, yb, sb) in enumerate(aligned_tasks(X, y, sample_weight))]
    handles = ex.persist(tasks)
    summaries = ex.map(summarise, handles, is_classifier(est))
    string_names = names is not None and all(isinstance(c, str) for c in names)
    return handles, summaries, columns if string_names else None, dtype


def _classes(est, summaries, first_pass):
    """Fit (or check) the label binarizer on the partitions' labels; ``(classes, class weights)`` or None."""
    if any(s.labels is None for s in summaries):
        raise UserError("multilabel (2-D) targets are not supported on Dask collections; pass 1-D labels")
    classes, where = np.unique(np.concatenate([s.labels for s in summaries]), return_inverse=True)
    counts = np.bincount(where, weights=np.concatenate([s.counts for s in summaries]))
    if first_pass or not hasattr(est, "classes_"):
        binarizer = LabelBinarizer().fit(classes)
        est._label_binarizer, est.classes_ = binarizer, binarizer.classes_
    elif set(classes) != set(est.classes_):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in the previous call to "
            f"fit. Previously got {est.classes_}, `y` has {classes}"
        )
    if est.class_weight is None:
        return None
    # the estimator's compute_sample_weight, per class: one row of each class weighing its count
    return classes, compute_class_weight(est.class_weight, classes=classes, y=classes, sample_weight=counts)


def fit(est, X, y, sample_weight=None, *, client=None, sync_every=None):
    """Fit ``est`` (MLPRegressor or MLPClassifier) to Dask collections X, y on the cluster.

    Parameters
    ----------
    est : MLPRegressor or MLPClassifier
    X : dask.array of shape (n_samples, n_features), or dask.dataframe
    y : dask.array or dask series (or numpy, cut to X's row chunks)
    sample_weight : the same kinds as y, or None
    client : distributed.Client, optional
        Default: the current client; without one, Dask's local scheduler in this process.
    sync_every : int, optional
        SGD/Adam: the mini-batches each worker takes between averagings (see
        :func:`deltaprop.distributed.local_sgd.fit_local_sgd`).

    Returns
    -------
    est : the fitted estimator
    """
    if est.solver != "lbfgs" and est.early_stopping:
        raise ValueError("early_stopping is not supported on Dask collections; hold out a validation "
                         "collection and score it, or set early_stopping=False")
    ex = _cluster.executor(client)
    handles, summaries, columns, dtype = _prepared(ex, est, X, y, sample_weight)
    first_pass = not est._has_weights() or not est.warm_start
    class_weight, binarizer = None, None
    if is_classifier(est):
        class_weight = _classes(est, summaries, first_pass)
        binarizer = est._label_binarizer
        n_out = 1 if len(est.classes_) == 2 else len(est.classes_)
    else:
        n_out = summaries[0].y_shape[0] if summaries[0].y_shape else 1
    if not first_pass and "network_" in est.__dict__:
        dtype = est.network_.dtype
    train = ex.transform(targets, handles, binarizer, dtype, class_weight)
    ex.release(handles)
    try:
        est.n_features_in_ = summaries[0].n_features
        if columns is not None:
            est.feature_names_in_ = np.asarray(columns, dtype=object)
        else:
            est.__dict__.pop("feature_names_in_", None)
        # the estimator's _fit after its input checks, with the solver on the cluster
        layer_units = [est.n_features_in_, *est._hidden_sizes(), n_out]
        settings, rng = est._training_settings(), est._random_state()
        if first_pass:
            est._initialize(layer_units, dtype, rng, settings)
        else:
            est._continue(layer_units, dtype)
        est.n_outputs_ = n_out
        state = est.__dict__.get("_training") or est._state_from_attributes()
        state.begin_call()
        if est.solver == "lbfgs":
            state = fit_lbfgs(est.network_, ex, train, settings, state)
        else:
            sizes = [s.n for s in summaries]
            state = fit_local_sgd(est.network_, ex, train, sizes, settings, state, rng, sync_every)
        est._training = state
        est._publish(state)
    finally:
        ex.release(train)
    return est


def _partial_fit_block(block, est, kwargs):
    est.partial_fit(block.X, block.y, sample_weight=block.s, **kwargs)
    return est


def partial_fit(est, X, y, sample_weight=None, classes=None, *, client=None):
    """One epoch of ``est.partial_fit`` over the partitions in order, each on its own worker (the
    estimator travels, the data stay): ``partial_fit`` on each partition's rows in turn."""
    ex = _cluster.executor(client)
    handles = _prepared(ex, est, X, y, sample_weight)[0]
    kwargs = {} if classes is None else {"classes": classes}
    try:
        fitted = ex.chain(_partial_fit_block, handles, est, kwargs)
    finally:
        ex.release(handles)
    est.__dict__.update(fitted.__dict__)
    return est
