"""``MLPClassifier``: scikit-learn's multilayer perceptron classifier, trained by deltaprop."""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted

from deltaprop.core import classes as class_coding
from deltaprop.estimators.base import (
    _DOC_ATTRIBUTES,
    InputData,
    _BaseMLP,
    _ScoreOnDask,
    on_dask,
)
from deltaprop.estimators.fitted import class_layout
from deltaprop.estimators.parameters import DEFAULTS, EXTRA, SHARED, constraints, documentation

#: the parameters in signature order: those before ``*``, and those after
_POSITIONAL = ("hidden_layer_sizes", "activation")
_KEYWORD = (*SHARED, "class_weight", "validation_stratify", *EXTRA)

__all__ = ["MLPClassifier"]


class MLPClassifier(_ScoreOnDask, ClassifierMixin, _BaseMLP):
    __doc__ = (
        """Multilayer perceptron classifier, trained by backpropagation.

    A drop-in replacement for ``sklearn.neural_network.MLPClassifier``.  Binary and
    multilabel targets use logistic outputs with binary cross-entropy; multiclass targets a
    softmax output with cross-entropy (the canonical pairs, so δ^(L) = y - d).

    Parameters
    ----------
"""
        + documentation((*_POSITIONAL, *_KEYWORD))
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels."""
        + _DOC_ATTRIBUTES
        + """
    Examples
    --------
    >>> from deltaprop import MLPClassifier
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """
    )

    def __init__(
        self,
        hidden_layer_sizes=DEFAULTS['hidden_layer_sizes'],
        activation=DEFAULTS['activation'],
        *,
        solver=DEFAULTS['solver'],
        alpha=DEFAULTS['alpha'],
        batch_size=DEFAULTS['batch_size'],
        learning_rate=DEFAULTS['learning_rate'],
        learning_rate_init=DEFAULTS['learning_rate_init'],
        power_t=DEFAULTS['power_t'],
        max_iter=DEFAULTS['max_iter'],
        shuffle=DEFAULTS['shuffle'],
        random_state=DEFAULTS['random_state'],
        tol=DEFAULTS['tol'],
        verbose=DEFAULTS['verbose'],
        warm_start=DEFAULTS['warm_start'],
        momentum=DEFAULTS['momentum'],
        nesterovs_momentum=DEFAULTS['nesterovs_momentum'],
        early_stopping=DEFAULTS['early_stopping'],
        validation_fraction=DEFAULTS['validation_fraction'],
        beta_1=DEFAULTS['beta_1'],
        beta_2=DEFAULTS['beta_2'],
        epsilon=DEFAULTS['epsilon'],
        n_iter_no_change=DEFAULTS['n_iter_no_change'],
        max_fun=DEFAULTS['max_fun'],
        class_weight=DEFAULTS['class_weight'],
        validation_stratify=DEFAULTS['validation_stratify'],
        scoring=DEFAULTS['scoring'],
        callback=DEFAULTS['callback'],
        dropout=DEFAULTS['dropout'],
        weight_decay=DEFAULTS['weight_decay'],
        max_grad_norm=DEFAULTS['max_grad_norm'],
        warmup_iter=DEFAULTS['warmup_iter'],
    ):
        self._keep(locals())

    _parameter_constraints: dict = constraints((*_POSITIONAL, *_KEYWORD))

    # scikit-learn's loss name, for code that reads it
    loss = "log_loss"
    _metric = staticmethod(accuracy_score)

    def _is_multilabel(self):
        return self._label_binarizer.y_type_.startswith("multilabel")

    def _network_loss(self):
        binarizer = self._label_binarizer
        return class_coding.output_pair(len(binarizer.classes_), multilabel=binarizer.y_type_ != "multiclass")

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._checked(X, y, reset)
        # as scikit-learn: a fresh fit (re)defines classes_; warm_start and partial_fit check y's
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                    f"'y' has {classes}."
                )
        D = self._label_binarizer.transform(y).astype(bool)
        return X, D, y

    def _quick_targets(self, y):
        """(D, y) for 1-D labels of known classes of a binary or multiclass model, coded as
        LabelBinarizer codes them; None else (the full path's errors and warm_start's check)."""
        binarizer = self.__dict__.get("_label_binarizer")
        classes = getattr(self, "classes_", None)
        if (
            binarizer is None
            or classes is None
            or self.warm_start
            or y.ndim != 1
            or binarizer.y_type_ not in ("binary", "multiclass")
            or y.dtype.kind not in "iuU"
            or y.dtype.kind != classes.dtype.kind
        ):
            return None
        index = np.searchsorted(classes, y)
        if not (classes[np.minimum(index, len(classes) - 1)] == y).all():
            return None
        return class_coding.one_hot(index, len(classes)), y

    def _fitted_state(self):
        state = super()._fitted_state()
        state["label_type"] = str(self._label_binarizer.y_type_)
        return state

    def _restore_fitted_state(self, network, state):
        classes, multilabel = class_layout(getattr(self, "classes_", None), state, network)
        binarizer = LabelBinarizer().fit(np.eye(len(classes), dtype=int) if multilabel else classes)
        self.n_outputs_ = network.sizes[-1]
        super()._restore_fitted_state(network, state)
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_

    def _with_class_weight(self, sample_weight, y_labels, dtype):
        if self.class_weight is None:
            return sample_weight
        from sklearn.utils.class_weight import compute_sample_weight

        weights = compute_sample_weight(self.class_weight, y_labels).astype(dtype)
        return weights if sample_weight is None else sample_weight * weights

    def _targets_of(self, D):
        return self._label_binarizer.inverse_transform(D.ravel() if D.shape[1] == 1 else D)

    def _validation_targets(self, y_val):
        y_val = np.asarray(y_val)
        y_val = y_val.ravel() if y_val.ndim == 2 and y_val.shape[1] == 1 else y_val
        unknown = np.setdiff1d(unique_labels(y_val), self.classes_)
        if len(unknown):
            raise ValueError(f"validation_data's y has classes not seen in training: {unknown}")
        return self._label_binarizer.transform(y_val)

    def _stratify(self):
        if self.validation_stratify == "classes" and self._is_multilabel():
            return None  # multilabel targets have no one class per row
        return self.validation_stratify

    def _predictions(self, Y):
        if self._is_multilabel() or len(self.classes_) < 2:
            return self._targets_of(Y)
        return self.classes_[class_coding.predicted_codes(Y)]

    def predict_proba(self, X: InputData) -> np.ndarray:
        """Probability of each class, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        if (dask := on_dask(X)) is not None:
            return dask.predict_proba(self, X)
        return class_coding.probabilities(self._forward_pass_fast(X))

    def predict_log_proba(self, X: InputData) -> np.ndarray:
        """log of :meth:`predict_proba`, shape (n_samples, n_classes)."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: InputData, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> Self:
        """Train one epoch over the given data, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array of shape (n_classes,), default=None
            Every class of all calls; required on the first call, optional afterwards.

        Returns
        -------
        self : object
        """
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if (dask := on_dask(X, y, sample_weight)) is not None:
            return dask.partial_fit(self, X, y, sample_weight, classes)
        if classes is not None:
            if getattr(self, "classes_", None) is not None:
                if not np.array_equal(self.classes_, unique_labels(classes)):
                    raise ValueError(
                        f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                        f"was: {self.classes_!r}"
                    )
            else:  # the first call
                self.classes_ = unique_labels(classes)
                self._label_binarizer = LabelBinarizer().fit(
                    y if type_of_target(y).startswith("multilabel") else classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

