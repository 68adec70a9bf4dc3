"""Quality against scikit-learn: the same hyperparameters, the same splits, the same seeds.

For every data set bundled with scikit-learn that the issue names (and make_friedman1), each
solver, and 5 seeds, both libraries fit the same network on the same standardised training
split; deltaprop's mean test score (R² or accuracy) must be at least scikit-learn's minus
0.02.  Scores are compared, never times.  Iteration counts are kept small (a few hundred
samples, tens of epochs) so the whole module runs in seconds; both libraries get the same
budget, and ConvergenceWarnings are expected at these budgets.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import StandardScaler

from deltaprop import MLPClassifier, MLPRegressor

SEEDS = range(5)
SOLVERS = {
    # solver: the hyperparameters both libraries get (beyond hidden_layer_sizes)
    "adam": dict(solver="adam", learning_rate_init=0.01, max_iter=60),
    "sgd": dict(solver="sgd", learning_rate_init=0.05, max_iter=60),
    "lbfgs": dict(solver="lbfgs", max_iter=80),
}


def _load(name):
    """(X, y, is_classification) with at most 500 samples."""
    if name == "friedman1":
        X, y = datasets.make_friedman1(n_samples=400, noise=0.5, random_state=0)
        return X, y, False
    loader = getattr(datasets, f"load_{name}")
    X, y = loader(return_X_y=True)
    if name == "digits":
        # every third image: 599 of 1797, enough to learn 10 classes in tens of epochs
        X, y = X[::3], y[::3]
    classification = name in ("iris", "wine", "breast_cancer", "digits")
    if not classification:
        # standardised targets (R² does not change): diabetes' raw targets (25 … 346) make
        # SGD at these learning rates diverge in both libraries
        y = StandardScaler().fit_transform(y.reshape(len(y), -1)).squeeze()
    return X, y, classification


#: per data set, what differs from hidden_layer_sizes=(32,), alpha=1e-4
NETWORK = {
    # 20 samples, 3 outputs: with 15 training samples the test R² rewards stopping early.
    # Weakly regularised, scikit-learn stops earlier than we do -- its loss averages the 3
    # outputs while its gradient sums them (its #8349), so its tol is 3x looser and its
    # L-BFGS line search sees a loss that is not the one it differentiates -- and on 15
    # samples that early stop acts as regularisation (at alpha=1: R² -1.5 against -0.8).
    # Regularised enough, both reach the same optimum and the comparison is of training.
    "linnerud": dict(hidden_layer_sizes=(8,), alpha=10.0),
}

DATASETS = ["diabetes", "linnerud", "friedman1", "iris", "wine", "breast_cancer", "digits"]


def _mean_scores(name, solver):
    X, y, classification = _load(name)
    ours, theirs = [], []
    for seed in SEEDS:
        split = dict(test_size=0.25, random_state=seed)
        if classification:
            split["stratify"] = y
        X_train, X_test, y_train, y_test = train_test_split(X, y, **split)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        params = dict(hidden_layer_sizes=(32,), random_state=seed, **SOLVERS[solver])
        params.update(NETWORK.get(name, {}))
        if classification:
            ours_cls, theirs_cls = MLPClassifier, SkClassifier
        else:
            ours_cls, theirs_cls = MLPRegressor, SkRegressor
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours.append(ours_cls(**params).fit(X_train, y_train).score(X_test, y_test))
            theirs.append(theirs_cls(**params).fit(X_train, y_train).score(X_test, y_test))
    return float(np.mean(ours)), float(np.mean(theirs))


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("name", DATASETS)
def test_mean_test_score_is_at_least_scikit_learns_minus_0_02(name, solver):
    ours, theirs = _mean_scores(name, solver)
    assert np.isfinite(ours)
    assert ours >= theirs - 0.02, f"{name}/{solver}: deltaprop {ours:.4f} < scikit-learn {theirs:.4f} - 0.02"
