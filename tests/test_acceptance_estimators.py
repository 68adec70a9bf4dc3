"""Acceptance tests: the estimators, explain, gradcheck and model files used the way a new user
would, on data, networks and settings the other test files do not cover."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

import deltaprop as dp


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of short runs
        return est.fit(X, y)


def test_explain_does_not_flag_the_gradient_of_a_dead_relu_unit(iris):
    # a deep ReLU network: unit 1 of layer 2 is off on every sample, so its weights' gradient
    # is only the L2 term α·w/N (~1e-7), below what a central difference resolves
    X, y = iris
    est = _fit(dp.MLPClassifier(hidden_layer_sizes=(30,) * 6, max_iter=10, random_state=0), X, y)
    assert (est.network_._forward(X[:20]).u[2][0] <= 0).all()
    ex = dp.explain(est, "2:1,1", X[:20], y[:20])
    assert ex.value == pytest.approx(est.alpha * est.network_.W[2][0, 0] / 20, rel=1e-9)
    assert ex.relative_error < 1e-5
    assert "DISAGREE" not in ex.to_html()


def test_explain_still_flags_a_wrong_gradient(iris):
    X, y = iris
    est = _fit(dp.MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0), X, y)
    ex = dp.explain(est, "3:2,1", X[:20], y[:20])
    assert ex.relative_error < 1e-5
    assert abs(ex.value) > 1e-3
    wrong = dataclasses.replace(ex, backprop=ex.backprop * 1.001)
    assert wrong.relative_error > 1e-4
    assert "DISAGREE" in wrong.to_html()


@pytest.mark.parametrize("cls", [dp.MLPClassifier, SkMLPClassifier])
def test_explain_a_multilabel_classifier_on_one_sample(cls):
    # classes_ of a multilabel model is [0, 1, 2]: one sample's indicator row is no list of labels
    X, Y = make_multilabel_classification(60, 5, n_classes=3, random_state=0)
    est = _fit(cls(hidden_layer_sizes=(4,), max_iter=20, random_state=0), X, Y)
    one = dp.explain(est, "3:1,2", X[0], Y[0])
    assert one.D.tolist() == [Y[0].tolist()]
    assert one.value == pytest.approx(dp.explain(est, "3:1,2", X[:1], Y[:1]).value, rel=1e-12)
    assert one.relative_error < 1e-5


@pytest.mark.parametrize("cls", [dp.MLPClassifier, SkMLPClassifier])
def test_explain_a_multiclass_classifier_on_one_sample_with_a_one_hot_row(iris, cls):
    X, y = iris
    est = _fit(cls(hidden_layer_sizes=(4,), max_iter=20, random_state=0), X, y)
    by_label = dp.explain(est, "3:1,2", X[50], y[50])
    by_row = dp.explain(est, "3:1,2", X[50], np.array([0.0, 1.0, 0.0]))
    assert by_row.D.tolist() == by_label.D.tolist() == [[0.0, 1.0, 0.0]]
    assert by_row.value == by_label.value


@pytest.mark.parametrize("continue_", ["warm_start", "partial_fit"])
def test_continuing_with_a_changed_activation_uses_it_as_scikit_learn_does(iris, continue_):
    X, y = iris
    runs = []
    for cls in (dp.MLPClassifier, SkMLPClassifier):
        est = cls(hidden_layer_sizes=(5,), max_iter=5, random_state=0, warm_start=True)
        if continue_ == "warm_start":
            _fit(est, X, y).set_params(activation="tanh")
            _fit(est, X, y)
        else:
            est.partial_fit(X, y, classes=[0, 1, 2]).set_params(activation="tanh")
            est.partial_fit(X, y)
        runs.append(est.predict_proba(X))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-9, atol=1e-12)
    assert est.activation == "tanh"


def test_continuing_with_another_activation_list_and_a_changed_loss(iris):
    X, y = iris
    est = _fit(dp.MLPRegressor(hidden_layer_sizes=(4, 3), max_iter=3, random_state=0, warm_start=True), X, y)
    _fit(est.set_params(activation=["tanh", "softplus"]), X, y)
    assert est.network_.activation == ("tanh", "softplus")
    with pytest.raises(ValueError, match="activation lists 1 names"):
        _fit(est.set_params(activation=["tanh"]), X, y)
    with pytest.raises(ValueError, match="squared_error.*poisson.*without warm_start"):
        _fit(est.set_params(activation="relu", loss="poisson"), X, y)


def test_explain_names_a_label_count_that_does_not_fit_x_and_unknown_labels_plainly(iris):
    X, y = iris
    est = _fit(dp.MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0), X, y)
    with pytest.raises(ValueError, match="D holds 3 class labels for the 2 samples of X"):
        dp.explain(est, "2:1,1", X[:2], y[:3])
    with pytest.raises(ValueError, match=r"label 7, which is not one of the model.s classes \[0, 1, 2\]$"):
        dp.explain(est, "2:1,1", X[:2], [7, 0])


def test_lbfgs_callback_sees_the_current_iteration_and_loss():
    seen = []
    X, y = load_iris(return_X_y=True)
    clf = dp.MLPClassifier(solver="lbfgs", max_iter=5, random_state=0,
                           callback=lambda e: seen.append((e.n_iter_, e.loss_)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert [n for n, _ in seen] == list(range(1, len(seen) + 1)) and len(seen) >= 3
    assert [loss for _, loss in seen] == clf.loss_curve_[: len(seen)]


def test_loss_is_a_numpy_float_as_in_scikit_learn():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = dp.MLPClassifier(max_iter=3, random_state=0).fit(X, y)
        theirs = SkMLPClassifier(max_iter=3, random_state=0).fit(X, y)
    assert type(ours.loss_) is type(theirs.loss_)
    assert type(ours.loss_curve_[-1]) is type(theirs.loss_curve_[-1])
