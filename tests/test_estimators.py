"""MLPRegressor and MLPClassifier as drop-in replacements: parameters, errors, targets,
fitted attributes, and what deltaprop adds."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.utils.class_weight import compute_sample_weight

import deltaprop
from deltaprop import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _error(cls, X, y, **params):
    with pytest.raises(ValueError) as info:
        _fit(cls(**params), X, y)
    return str(info.value)


@pytest.mark.parametrize("params", [
    dict(learning_rate_init=0.0),
    dict(solver="newton"),
    dict(hidden_layer_sizes=(5, 0)),
    dict(activation="swish"),
    dict(momentum=1.5),
])
def test_bad_parameters_get_scikit_learns_error_message(iris, params):
    X, y = iris
    theirs = _error(SkClassifier, X, y, **params)
    ours = _error(MLPClassifier, X, y, **params)
    if "activation" in params:
        # we accept two more names (and lists), so the list of allowed values differs
        assert ours.startswith("The 'activation' parameter of MLPClassifier must be")
    else:
        if "solver" in params:  # we accept one more solver, AdamW
            theirs = theirs.replace("'adam'", "'adam', 'adamw'")
        assert _sorted_sets(ours) == _sorted_sets(theirs)


def _sorted_sets(message):
    """The message with every {...} set written sorted: a set's order is a hash's, and string
    hashes change from process to process, so two equal sets may print in different orders."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


def test_hidden_layer_sizes_with_a_zero_names_the_sizes(iris):
    X, y = iris
    assert _error(MLPRegressor, X, y[:, None] * 1.0, hidden_layer_sizes=(5, 0)) == (
        "hidden_layer_sizes must be > 0, got [5, 0]."
    )


def test_parameters_and_defaults_are_scikit_learns_plus_ours():
    added = {"callback", "scoring", "dropout", "weight_decay", "max_grad_norm", "warmup_iter"}
    for ours, theirs, extra in [(MLPRegressor(), SkRegressor(), added | {"huber_epsilon", "quantile"}),
                                (MLPClassifier(), SkClassifier(),
                                 added | {"class_weight", "validation_stratify"})]:
        mine = ours.get_params()
        assert set(mine) - set(theirs.get_params()) == extra
        assert {k: mine[k] for k in theirs.get_params()} == theirs.get_params()


def test_regressor_takes_loss_as_first_positional_parameter_like_scikit_learn():
    assert MLPRegressor("poisson").loss == "poisson"


@pytest.mark.parametrize("cls", [MLPRegressor, MLPClassifier])
def test_partial_fit_is_unavailable_for_lbfgs(cls):
    assert not hasattr(cls(solver="lbfgs"), "partial_fit")
    assert hasattr(cls(solver="sgd"), "partial_fit")


def test_classifier_partial_fit_needs_classes_on_the_first_call(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)


def test_classifier_partial_fit_accepts_a_batch_missing_some_classes(iris):
    X, y = iris
    est = MLPClassifier((8,), random_state=0).partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert est.predict_proba(X).shape == (150, 3)


def test_binary_classification_uses_one_logistic_output(iris):
    X, y = iris
    est = _fit(MLPClassifier((8,), max_iter=20, random_state=0), X, y == 2)
    assert est.out_activation_ == "logistic"
    assert est.network_.sizes[-1] == 1
    assert est.predict_proba(X).shape == (150, 2)


def test_multiclass_uses_softmax_and_probabilities_sum_to_one(iris):
    X, y = iris
    est = _fit(MLPClassifier((8,), max_iter=20, random_state=0), X, y)
    assert est.out_activation_ == "softmax"
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)


def test_multilabel_predicts_an_indicator_matrix():
    X, Y = make_multilabel_classification(n_samples=80, n_classes=4, random_state=0)
    est = _fit(MLPClassifier((8,), max_iter=30, random_state=0), X, Y)
    assert est.out_activation_ == "logistic"
    assert est.predict(X).shape == Y.shape
    assert set(np.unique(est.predict(X))) <= {0, 1}


def test_string_labels_come_back_as_strings(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = _fit(MLPClassifier((8,), solver="lbfgs", max_iter=50, random_state=0), X, names)
    assert list(est.classes_) == ["setosa", "versicolor", "virginica"]
    assert est.score(X, names) > 0.9


def test_pandas_input_records_feature_names(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = _fit(MLPClassifier((8,), max_iter=5, random_state=0), frame, y)
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"]


def test_multi_output_regression_predicts_every_output():
    X, Y = make_regression(n_samples=60, n_features=4, n_targets=3, random_state=0)
    est = _fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X, Y / Y.std())
    assert est.predict(X).shape == (60, 3)
    assert est.n_outputs_ == 3


def test_loss_sums_over_outputs_so_it_equals_the_networks_loss():
    X, Y = make_regression(n_samples=60, n_features=4, n_targets=3, random_state=0)
    Y = Y / Y.std()
    est = _fit(MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0), X, Y)
    assert est.loss_ == pytest.approx(est.network_.loss(X, Y, alpha=est.alpha), rel=1e-12)


def test_poisson_loss_uses_an_exp_output_and_matches_scikit_learn(iris):
    X, _ = iris
    y = np.random.default_rng(0).poisson(np.exp(0.5 * X[:, 0]))
    params = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0)
    ours = _fit(MLPRegressor(loss="poisson", **params), X, y)
    theirs = _fit(SkRegressor(loss="poisson", **params), X, y)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)


def test_poisson_rejects_negative_targets(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(X, -np.ones(150))


def test_class_weight_balanced_equals_the_matching_sample_weights(iris):
    X, y = iris
    keep = np.r_[0:50, 50:70, 100:150]  # an unbalanced set
    X, y = X[keep], y[keep]
    params = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, random_state=0)
    weighted = _fit(MLPClassifier(class_weight="balanced", **params), X, y)
    by_hand = _fit(MLPClassifier(**params), X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_allclose(weighted.coefs_[0], by_hand.coefs_[0], rtol=1e-12)


def test_activation_may_name_one_function_per_hidden_layer(iris):
    X, y = iris
    est = _fit(MLPClassifier((8, 6), activation=["tanh", "relu"], max_iter=5, random_state=0), X, y)
    assert est.network_.activation == ("tanh", "relu")


def test_activation_list_of_the_wrong_length_is_rejected(iris):
    X, y = iris
    with pytest.raises(ValueError, match="hidden layers"):
        MLPClassifier((8, 6), activation=["tanh"]).fit(X, y)


def test_coefs_are_transposed_views_of_the_network_weights(iris):
    X, y = iris
    est = _fit(MLPClassifier((8,), max_iter=5, random_state=0), X, y)
    assert est.coefs_[0].shape == (4, 8)
    est.coefs_[0][1, 2] = 42.0
    assert est.network_.W[2][2, 1] == 42.0


def test_coefs_stay_in_step_with_the_network_after_partial_fit(iris):
    X, y = iris
    est = MLPClassifier((8,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    est.partial_fit(X, y)
    for k, l in enumerate(est.network_.layers):
        np.testing.assert_array_equal(est.coefs_[k], est.network_.W[l].T)
        np.testing.assert_array_equal(est.intercepts_[k], est.network_.b[l])


def test_network_gradients_work_on_a_fitted_estimator(iris):
    X, y = iris
    est = _fit(MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0), X, y * 1.0)
    g = est.network_.gradients(X, y * 1.0)
    assert g.W[2].shape == (6, 4)


def test_predict_log_proba_is_the_log_of_predict_proba(iris):
    X, y = iris
    est = _fit(MLPClassifier((8,), max_iter=10, random_state=0), X, y)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(est.predict_proba(X)))


def test_estimators_are_exported_lazily_from_the_package():
    assert deltaprop.MLPRegressor is MLPRegressor
    assert "MLPClassifier" in deltaprop.__all__
    assert re.match(r"MLPClassifier\(", repr(deltaprop.MLPClassifier()))


def test_the_random_state_conversion_is_the_cores_and_draws_as_scikit_learns():
    """One conversion of random_state (core.network._as_random_state), which the estimators
    call: the same generator, or one that draws the same, as scikit-learn's check_random_state."""
    from sklearn.utils import check_random_state

    from deltaprop.core.network import _as_random_state

    assert _as_random_state(None) is check_random_state(None)
    rs = np.random.RandomState(3)
    assert _as_random_state(rs) is check_random_state(rs) is MLPRegressor(random_state=rs)._random_state()
    for seed in (0, 7, np.int64(42), True):
        ours, theirs = _as_random_state(seed), check_random_state(seed)
        assert np.array_equal(ours.uniform(size=50), theirs.uniform(size=50))
        assert np.array_equal(ours.permutation(40), theirs.permutation(40))
        est = MLPRegressor(random_state=seed)
        for _ in range(2):  # the kept seeded state is restored, never drawn on
            draws = est._random_state().uniform(size=50)
            assert np.array_equal(draws, check_random_state(seed).uniform(size=50))
    # a Generator: the core takes it as it is; scikit-learn's validation refuses it by name
    gen = np.random.default_rng(0)
    assert _as_random_state(gen) is gen
    with pytest.raises(ValueError, match="random_state"):
        MLPRegressor(random_state=gen).fit(np.zeros((4, 2)), np.zeros(4))


def test_a_run_publishes_the_epoch_it_keeps_and_whether_its_rule_ended_it():
    """What ``deltaprop train`` says of a run is published once, by training: the epoch of the
    best validation score, whose weights early stopping keeps, and whether the stopping rule
    ended the run; a model made again from its record keeps both."""
    from deltaprop.estimators.fitted import FittedMLP
    from deltaprop.estimators.mlp import from_record

    X, y = make_regression(n_samples=120, n_features=4, noise=20.0, random_state=0)
    X, y = X / X.std(0), y / y.std()
    est = _fit(MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, n_iter_no_change=3, max_iter=300,
                            learning_rate_init=0.05, random_state=0), X, y)
    state = est._fitted_state()
    assert est.n_iter_ < 300 and state["stopped_early"] is True
    assert state["best_epoch"] == int(np.argmax(est.validation_scores_)) + 1 < est.n_iter_
    assert from_record(FittedMLP.from_estimator(est).copy())._fitted_state() == state
    plain = _fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X, y)
    assert plain._fitted_state()["best_epoch"] == 5 and plain._fitted_state()["stopped_early"] is False
