"""The drop-in: the same numbers as scikit-learn's MLP, and its behaviour where users meet it.

Parity over the grid task × solver × early stopping (tiny data, few epochs); weights assigned
as scikit-learn accepts them; its error for a run without finite weights; its verbose lines;
its validation split; and deltaprop's own checks (layer sizes, memory, blow-ups).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

from deltaprop import MLPClassifier, MLPRegressor
from deltaprop.training.divergence import DivergenceWarning


def _data(task):
    if task == "regression":
        X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
        return X, y / y.std()
    if task == "multilabel":
        return make_multilabel_classification(n_samples=60, n_features=4, n_classes=3, random_state=0)
    n_classes = 2 if task == "binary" else 3
    return make_classification(n_samples=60, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=n_classes, random_state=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_same_trajectory_as_scikit_learn(task, solver, early_stopping):
    X, y = _data(task)
    # L-BFGS's line search amplifies rounding: a last-bit difference of one iteration's
    # gradient becomes a visible one some iterations later, so it is held for 3
    max_iter = 3 if solver == "lbfgs" else 12
    params = dict(hidden_layer_sizes=(5,), solver=solver, early_stopping=early_stopping, max_iter=max_iter,
                  n_iter_no_change=3, tol=1e-3, learning_rate_init=0.05, validation_fraction=0.2,
                  random_state=1)
    regression = task == "regression"
    ours_cls, theirs_cls = (MLPRegressor, SkRegressor) if regression else (MLPClassifier, SkClassifier)
    ours = ours_cls(**params).fit(X, y)
    theirs = theirs_cls(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    if solver == "lbfgs":  # scikit-learn keeps no loss curve for L-BFGS
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    else:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    if solver != "lbfgs" and early_stopping:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, rel=1e-12)
    if task == "regression":
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-8, atol=1e-10)
    else:
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8, atol=1e-12)


# ---------------------------------------------------------------------- coefs_ and intercepts_
def test_assigning_one_layer_of_coefs_changes_the_predictions():
    X, y = _data("regression")
    est = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    before = est.predict(X)
    est.coefs_[1] = np.zeros((3, 1))
    est.intercepts_[-1] = np.array([2.5])
    np.testing.assert_array_equal(est.network_.W[3], np.zeros((1, 3)))
    np.testing.assert_allclose(est.predict(X), 2.5)
    assert not np.allclose(before, 2.5)
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(4, 3\)"):
        est.coefs_[0] = np.zeros((3, 3))


def test_weights_assigned_before_fit_are_trained_by_partial_fit():
    X = np.array([[0.6, 0.8, 0.7]])
    est = MLPRegressor(hidden_layer_sizes=(2,), solver="sgd", learning_rate_init=0.1, momentum=0,
                       activation="logistic", alpha=0.0, random_state=1)
    est.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]), np.array([[0.1], [0.2]])]
    est.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    est.intercepts_[1] = np.array([0.0])  # item assignment before fit is kept too
    est.partial_fit(X, np.array([0.0]))
    # one SGD step from the assigned weights: the output bias moves by -η δ^(L) = -0.1 y
    z = 1 / (1 + np.exp(-(X @ np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]) + 0.1)))
    y_out = (z @ np.array([0.1, 0.2])).item()
    assert est.intercepts_[1][0] == pytest.approx(-0.1 * y_out)


# ---------------------------------------------------------------------- non-finite and blow-ups
def test_no_finite_weights_raise_scikit_learns_error():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
            MLPRegressor(max_iter=3).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_finite_blow_up_is_reported():
    X, y = _data("multiclass")
    est = MLPClassifier(solver="sgd", learning_rate_init=1e3, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(DivergenceWarning, match="the loss grew from .* to"):
            est.fit(X, y)
    assert est.diverged_ is True


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_sane_run_is_not_called_diverged():
    X, y = _data("multiclass")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, y)
    assert est.diverged_ is False


# ---------------------------------------------------------------------- verbose
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_prints_scikit_learns_lines(capsys, early_stopping):
    X, y = _data("binary")
    params = dict(hidden_layer_sizes=(4,), max_iter=3, verbose=True, random_state=0,
                  early_stopping=early_stopping)
    MLPClassifier(**params).fit(X, y)
    ours = capsys.readouterr().out
    SkClassifier(**params).fit(X, y)
    theirs = capsys.readouterr().out
    assert ours == theirs and ours.startswith("Iteration 1, loss = ")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_verbose_bar_draws_a_progress_bar(capsys):
    X, y = _data("binary")
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, verbose="bar", random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "3/3" in out and "Iteration" not in out


# ---------------------------------------------------------------------- the validation split
def test_multiclass_early_stopping_split_is_scikit_learns_by_default():
    X, y = _data("multiclass")
    params = dict(hidden_layer_sizes=(5,), early_stopping=True, max_iter=30, n_iter_no_change=3,
                  random_state=3)
    ours = MLPClassifier(**params).fit(X, y)
    theirs = SkClassifier(**params).fit(X, y)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)


def test_one_member_class_is_refused_for_binary_early_stopping():
    with pytest.raises(ValueError, match="least populated classes in y have only 1 member"):
        MLPClassifier(early_stopping=True).fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_stratifying_every_class_is_an_option():
    X, y = _data("multiclass")
    est = MLPClassifier(hidden_layer_sizes=(4,), early_stopping=True, validation_fraction=0.25,
                        max_iter=2, random_state=0, validation_stratify="classes").fit(X, y)
    assert est.validation_stratify == "classes" and est.n_iter_ == 2


# ---------------------------------------------------------------------- layer sizes
def test_fractional_layer_sizes_are_refused():
    X, y = _data("regression")
    with pytest.raises(ValueError, match=r"whole numbers of units, got \[3.5\]"):
        MLPRegressor(hidden_layer_sizes=(3.5,)).fit(X, y)


def test_a_network_too_large_for_memory_is_refused_before_allocating():
    X = np.zeros((4, 64))
    with pytest.raises(ValueError, match=r"needs about [\d,]+ bytes to train"):
        MLPRegressor(hidden_layer_sizes=(10**8,)).fit(X, np.zeros(4))


def test_output_is_not_a_terminal_in_tests():
    assert not io.StringIO().isatty()
