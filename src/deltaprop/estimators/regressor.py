"""``MLPRegressor``: scikit-learn's multilayer perceptron regressor, trained by deltaprop."""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from deltaprop.estimators.base import (
    _DOC_ATTRIBUTES,
    InputData,
    _BaseMLP,
    _ScoreOnDask,
    on_dask,
)
from deltaprop.estimators.parameters import DEFAULTS, EXTRA, SHARED, constraints, documentation

#: the parameters in signature order: those before ``*``, and those after
_POSITIONAL = ("loss", "hidden_layer_sizes", "activation")
_KEYWORD = (*SHARED, *EXTRA, "huber_epsilon", "quantile")

__all__ = ["MLPRegressor"]


class MLPRegressor(_ScoreOnDask, RegressorMixin, _BaseMLP):
    __doc__ = (
        """Multilayer perceptron regressor, trained by backpropagation.

    A drop-in replacement for ``sklearn.neural_network.MLPRegressor``.

    Parameters
    ----------
"""
        + documentation((*_POSITIONAL, *_KEYWORD))
        + """
    Attributes
    ----------"""
        + _DOC_ATTRIBUTES
        + """
    Examples
    --------
    >>> from deltaprop import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", random_state=1).fit(X, y)
    >>> reg.network_.sizes
    (5, 20, 1)
    """
    )

    def __init__(
        self,
        loss=DEFAULTS['loss'],
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
        scoring=DEFAULTS['scoring'],
        callback=DEFAULTS['callback'],
        dropout=DEFAULTS['dropout'],
        weight_decay=DEFAULTS['weight_decay'],
        max_grad_norm=DEFAULTS['max_grad_norm'],
        warmup_iter=DEFAULTS['warmup_iter'],
        huber_epsilon=DEFAULTS['huber_epsilon'],
        quantile=DEFAULTS['quantile'],
    ):
        self._keep(locals())

    _parameter_constraints: dict = constraints((*_POSITIONAL, *_KEYWORD))

    _metric = staticmethod(r2_score)

    def _network_loss(self):
        return ("poisson", "exp") if self.loss == "poisson" else (self.loss, "identity")

    def _loss_params(self):
        if self.loss == "huber":
            return {"epsilon": float(self.huber_epsilon)}
        return {"quantile": float(self.quantile)} if self.loss == "quantile" else {}

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._checked(X, y, reset, y_numeric=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        D = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, D, None

    def _quick_targets(self, y):
        """(D, None) for finite real targets (n,) or (n, k > 1); None else (a column warns)."""
        if y.dtype.kind not in "fiu" or not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] > 1)):
            return None
        if not np.isfinite(y).all() or (self.loss == "poisson" and (y < 0).any()):
            return None
        return (y.reshape(-1, 1) if y.ndim == 1 else y), None

    def _predictions(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    _targets_of = _predictions

    def _validation_targets(self, y_val):
        y_val = np.asarray(y_val, dtype=np.float64)
        D_val = y_val.reshape(-1, 1) if y_val.ndim == 1 else y_val
        if D_val.ndim != 2 or D_val.shape[1] != self.n_outputs_ or not np.isfinite(D_val).all():
            raise ValueError(f"validation_data's y must be finite targets with {self.n_outputs_} "
                             f"output(s), as the training y")
        return D_val

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: InputData, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train one epoch over the given data, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        if (dask := on_dask(X, y, sample_weight)) is not None:
            return dask.partial_fit(self, X, y, sample_weight)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
