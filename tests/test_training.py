"""The training loop: reproducibility, partial_fit, warm_start, stopping rules, history,
callbacks, Ctrl-C, divergence and progress output."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SkRegressor

from deltaprop import MLPClassifier, MLPRegressor, Network
from deltaprop.training.loop import DivergenceWarning, _split_validation
from deltaprop.training.state import TrainingSettings


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    return X, y / y.std()


@pytest.fixture(scope="module")
def classification():
    return make_classification(n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0)


def _quiet_fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_fixed_random_state_refits_bit_for_bit(regression, solver):
    X, y = regression
    a = _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=15, random_state=3), X, y)
    b = _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=15, random_state=3), X, y)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(ca, cb)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_loss_curve_equals_scikit_learns_with_one_output(regression, solver):
    X, y = regression
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=20, random_state=1,
                  learning_rate_init=0.01)
    ours = _quiet_fit(MLPRegressor(**params), X, y)
    theirs = _quiet_fit(SkRegressor(**params), X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)


def test_initial_weights_equal_scikit_learns_for_the_same_seed(regression):
    X, y = regression
    # a step of 1e-300 leaves every weight as it was drawn: scikit-learn's initial weights
    theirs = _quiet_fit(SkRegressor(hidden_layer_sizes=(8, 4), activation="tanh", solver="sgd",
                                    momentum=0.0, learning_rate_init=1e-300, max_iter=1,
                                    random_state=7), X, y)
    ours = _quiet_fit(MLPRegressor(hidden_layer_sizes=(8, 4), activation="tanh", solver="sgd",
                                   momentum=0.0, learning_rate_init=1e-300, max_iter=1,
                                   random_state=7), X, y)
    net = Network([5, 8, 4, 1], "tanh", random_state=7)
    for l, c_ours, c_theirs in zip(net.layers, ours.coefs_, theirs.coefs_):
        np.testing.assert_array_equal(c_ours, c_theirs)
        np.testing.assert_array_equal(net.W[l].T, c_theirs)


def test_two_partial_fits_equal_a_two_epoch_fit_without_shuffling(regression):
    X, y = regression
    params = dict(hidden_layer_sizes=(8,), shuffle=False, random_state=0, learning_rate_init=0.01)
    stepwise = MLPRegressor(**params)
    stepwise.partial_fit(X, y)
    stepwise.partial_fit(X, y)
    whole = _quiet_fit(MLPRegressor(max_iter=2, **params), X, y)
    for a, b in zip(stepwise.coefs_, whole.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_partial_fit_counts_one_epoch_per_call_and_accumulates_t(regression):
    X, y = regression
    est = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(3):
        est.partial_fit(X, y)
    assert est.n_iter_ == 1
    assert est.t_ == 3 * X.shape[0]
    assert len(est.loss_curve_) == 3


def test_warm_start_continues_from_the_previous_weights(regression):
    X, y = regression
    # plain SGD without momentum has no optimiser state, so 5 + 5 epochs equal 10
    params = dict(hidden_layer_sizes=(8,), solver="sgd", momentum=0.0, shuffle=False,
                  learning_rate_init=0.01, random_state=0, tol=0.0, n_iter_no_change=100)
    est = _quiet_fit(MLPRegressor(max_iter=5, warm_start=True, **params), X, y)
    _quiet_fit(est, X, y)
    ten = _quiet_fit(MLPRegressor(max_iter=10, **params), X, y)
    for a, b in zip(est.coefs_, ten.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert est.t_ == 10 * X.shape[0]


def test_reaching_max_iter_warns_and_sets_n_iter_to_max_iter(regression):
    X, y = regression
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=7, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(7\) reached"):
        est.fit(X, y)
    assert est.n_iter_ == 7
    assert est.t_ == 7 * X.shape[0]


def test_no_improvement_beyond_tol_stops_after_n_iter_no_change_plus_two_epochs(regression):
    X, y = regression
    # with a huge tol no epoch after the first counts as an improvement; training stops
    # once more than n_iter_no_change epochs in a row have not improved (scikit-learn's rule)
    est = MLPRegressor(hidden_layer_sizes=(8,), tol=1e6, n_iter_no_change=3, max_iter=100, random_state=0)
    est.fit(X, y)
    assert est.n_iter_ == 3 + 2


def test_stopping_epoch_matches_scikit_learn(regression):
    X, y = regression
    params = dict(hidden_layer_sizes=(8,), tol=1e-2, n_iter_no_change=4, max_iter=300,
                  random_state=0, learning_rate_init=0.01)
    ours = MLPRegressor(**params).fit(X, y)
    theirs = SkRegressor(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 300


def test_adaptive_learning_rate_is_divided_by_5_when_loss_stalls(regression):
    X, y = regression
    est = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive",
                       learning_rate_init=0.01, tol=1e6, n_iter_no_change=2, max_iter=7, random_state=0)
    _quiet_fit(est, X, y)
    # stalls are detected after epochs 4 and 7 (count > 2 twice): 0.01 / 5 / 5
    assert est._optimizer.learning_rate == pytest.approx(0.01 / 25)


def test_early_stopping_restores_the_weights_of_the_best_validation_score(classification):
    X, y = classification
    snapshots = []
    est = MLPClassifier((16,), early_stopping=True, n_iter_no_change=3, max_iter=60, random_state=0,
                        learning_rate_init=0.05,
                        callback=lambda e: snapshots.append(e.network_.get_flat()) and False)
    _quiet_fit(est, X, y)
    best = int(np.argmax(est.validation_scores_))
    np.testing.assert_array_equal(est.network_.get_flat(), snapshots[best])
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_validation_loss_curve_has_one_entry_per_epoch(classification):
    X, y = classification
    est = _quiet_fit(MLPClassifier((8,), early_stopping=True, max_iter=12, random_state=0), X, y)
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == est.n_iter_
    assert all(np.isfinite(est.validation_loss_curve_))


def test_early_stopping_split_is_stratified_for_multiclass_on_request(classification):
    X, y = classification
    est = MLPClassifier((8,), early_stopping=True, max_iter=1, random_state=0, validation_stratify="classes")
    _quiet_fit(est, X, y)
    D = est._label_binarizer.transform(y).astype(float)
    settings = TrainingSettings(early_stopping=True, stratify=est._stratify())
    D_val = _split_validation(X, D, None, settings, np.random.RandomState(0)).D_val
    # 10% of 150 samples, 50 per class: 5 of each class held out
    np.testing.assert_array_equal(D_val.sum(axis=0), [5, 5, 5])


def test_gradient_norms_are_those_of_the_last_mini_batch(regression):
    X, y = regression
    # one full-batch epoch: its only (so last) batch is taken at the initial weights
    est = MLPRegressor(hidden_layer_sizes=(8, 4), solver="sgd", batch_size=len(X), max_iter=1,
                       shuffle=False, random_state=5)
    _quiet_fit(est, X, y)
    net = Network([5, 8, 4, 1], "relu", random_state=5)
    grads = net.gradients(X, y, alpha=est.alpha)
    assert list(est.gradient_norms_[0]) == [2, 3, 4]
    for l in (2, 3, 4):
        assert est.gradient_norms_[0][l] == pytest.approx(np.linalg.norm(grads.W[l]), rel=1e-10)


def test_gradient_norms_have_one_entry_per_epoch(regression):
    X, y = regression
    est = _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=6, random_state=0), X, y)
    assert len(est.gradient_norms_) == est.n_iter_ == 6


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callback_returning_true_stops_without_convergence_warning(regression, solver):
    X, y = regression
    est = MLPRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=50, random_state=0,
                       callback=lambda e: len(e.loss_curve_) >= 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.n_iter_ == 3


def test_keyboard_interrupt_stops_cleanly_and_keeps_weights(regression):
    X, y = regression

    def interrupt(est):
        if len(est.loss_curve_) == 4:
            raise KeyboardInterrupt

    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, random_state=0, callback=interrupt)
    with pytest.warns(UserWarning, match="interrupted"):
        returned = est.fit(X, y)
    assert returned is est
    assert est.interrupted_ is True
    assert est.n_iter_ == 4
    assert np.isfinite(est.predict(X)).all()


def test_divergence_stops_with_finite_weights_and_advice(regression):
    X, y = regression
    est = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=10.0, max_iter=50,
                       random_state=0)
    with pytest.warns(DivergenceWarning, match="learning_rate_init"):
        est.fit(X, 1e3 * y)
    assert est.diverged_ is True
    assert all(np.isfinite(w).all() for w in est.coefs_ + est.intercepts_)


def test_float32_input_trains_a_float32_network(regression):
    X, y = regression
    X32 = X.astype(np.float32)
    est = _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0), X32, y)
    assert est.network_.dtype == np.float32
    assert est.coefs_[0].dtype == np.float32
    assert est.predict(X.astype(np.float32)).dtype == np.float32


def test_float64_input_trains_a_float64_network(regression):
    X, y = regression
    est = _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0), X, y)
    assert est.network_.dtype == np.float64


def test_verbose_shows_a_progress_bar(regression, capsys):
    X, y = regression
    _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0, verbose=True), X, y)
    assert "loss" in capsys.readouterr().out


def test_not_verbose_prints_nothing(regression, capsys):
    X, y = regression
    _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0), X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_lbfgs_max_fun_stops_before_max_iter_with_a_warning(regression):
    X, y = regression
    est = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_fun=5, max_iter=100, random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        est.fit(X, y)
    assert est.n_iter_ <= 5


# --- partial_fit's quick input path ----------------------------------------------------------


def _partial_fits(est, X, y, as_list, first_kwargs=None, batch=16):
    """partial_fit over X in batches; as lists (scikit-learn's full validation) or arrays."""
    for k, start in enumerate(range(0, X.shape[0], batch)):
        Xb, yb = X[start : start + batch], y[start : start + batch]
        if as_list:
            Xb, yb = Xb.tolist(), yb.tolist()
        est.partial_fit(Xb, yb, **(first_kwargs if k == 0 and first_kwargs else {}))
    return est


@pytest.mark.parametrize("kind", ["regression", "two outputs", "binary", "multiclass", "strings"])
def test_partial_fit_on_arrays_equals_partial_fit_through_full_validation(kind, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 5))
    kwargs = {}
    if kind == "regression":
        cls, y = MLPRegressor, X[:, 0] - X[:, 1]
    elif kind == "two outputs":
        cls, y = MLPRegressor, np.c_[X[:, 0], X[:, 1] * 2]
    else:
        cls = MLPClassifier
        y = {"binary": (X[:, 0] > 0).astype(int), "multiclass": rng.integers(0, 4, 96),
             "strings": np.array(["cat", "dog", "eel"])[rng.integers(0, 3, 96)]}[kind]
        kwargs = {"classes": np.unique(y)}
    params = dict(hidden_layer_sizes=(7,), solver="sgd", random_state=3, learning_rate_init=0.05)
    validated = []
    full_check = cls._validate_input
    monkeypatch.setattr(cls, "_validate_input", lambda *a, **k: validated.append(1) or full_check(*a, **k))
    quick = _partial_fits(cls(**params), X, y, as_list=False, first_kwargs=kwargs)
    assert len(validated) == 1  # the first call only: the other five took the quick path
    full = _partial_fits(cls(**params), X, y, as_list=True, first_kwargs=kwargs)
    assert len(validated) == 1 + 6
    np.testing.assert_array_equal(quick.network_.get_flat(), full.network_.get_flat())
    assert quick.loss_curve_ == full.loss_curve_
    assert quick.t_ == full.t_ == 96


def test_partial_fit_on_arrays_still_gets_the_full_checks_errors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    est = MLPClassifier((4,), solver="sgd", random_state=0)
    est.partial_fit(X, np.arange(20) % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes not in `self.classes_`"):
        est.partial_fit(X, np.full(20, 7))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(bad, np.arange(20) % 3)
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:, :2], np.arange(20) % 3)


def test_partial_fit_in_a_loop_matches_scikit_learn():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 4))
    y = np.sin(X[:, 0]) + X[:, 1]
    params = dict(hidden_layer_sizes=(6,), solver="sgd", random_state=0, learning_rate_init=0.01)
    ours = _partial_fits(MLPRegressor(**params), X, y, as_list=False)
    theirs = _partial_fits(SkRegressor(**params), X, y, as_list=False)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    for l, W in zip(ours.network_.layers, theirs.coefs_):
        np.testing.assert_allclose(ours.network_.W[l], W.T, rtol=1e-10, atol=1e-13)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimators_pickle_without_the_training_loops_caches():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5000, 3)).astype(np.float32)
    est = MLPRegressor(hidden_layer_sizes=(64, 64), solver="adam", random_state=0, batch_size=200)
    est.partial_fit(X, X[:, 0]).partial_fit(X, X[:, 1])
    assert est._training.backprop is not None and "_seeded_random_state" in est.__dict__
    again = pickle.loads(pickle.dumps(est))
    assert again._training.backprop is None
    np.testing.assert_array_equal(again.predict(X[:10]), est.predict(X[:10]))
    again.partial_fit(X, X[:, 0])  # and it trains on
    assert est._training.backprop is not None  # pickling left the live estimator as it was
    est.set_params(max_iter=1).fit(X, X[:, 0])
    assert est._training.backprop is None  # a fit keeps no buffers once it is done
