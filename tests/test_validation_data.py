"""A validation set the user chooses (``fit(..., validation_data=...)``, routed by scikit-learn's
metadata routing) and early stopping on any scikit-learn scorer (``scoring=``)."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import f1_score, make_scorer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def classes():
    X, y = make_classification(n_samples=90, n_features=5, n_informative=3, n_classes=3, random_state=0)
    return X[:60], y[:60], X[60:], y[60:]


def _params(**kw):
    return {**dict(hidden_layer_sizes=(6,), early_stopping=True, max_iter=15, n_iter_no_change=3,
                   random_state=0), **kw}


def test_validation_data_is_what_early_stopping_scores(classes):
    X, y, X_val, y_val = classes
    est = MLPClassifier(**_params()).fit(X, y, validation_data=(X_val, y_val))
    # the restored weights are those of the best epoch on the given rows
    assert est.score(X_val, y_val) == pytest.approx(max(est.validation_scores_))
    assert est.best_validation_score_ == max(est.validation_scores_)
    # and every training row trained: no rows held out of X
    again = MLPClassifier(**_params()).fit(X, y, validation_data=(X_val, y_val))
    assert again.validation_scores_ == est.validation_scores_


def test_validation_data_weights_are_used(classes):
    X, y, X_val, y_val = classes
    weights = np.where(y_val == 0, 5.0, 1.0)
    est = MLPClassifier(**_params(max_iter=2)).fit(X, y, validation_data=(X_val, y_val, weights))
    assert est.validation_scores_[-1] == pytest.approx(est.score(X_val, y_val, sample_weight=weights))


def test_validation_data_for_regression():
    X, y = make_regression(n_samples=80, n_features=4, noise=1.0, random_state=0)
    y = y / y.std()
    est = MLPRegressor(**_params()).fit(X[:60], y[:60], validation_data=(X[60:], y[60:]))
    assert est.score(X[60:], y[60:]) == pytest.approx(max(est.validation_scores_))


@pytest.mark.parametrize("bad,message", [
    (dict(early_stopping=False), "pass early_stopping=True"),
    (dict(solver="lbfgs"), "solver='lbfgs' does not have"),
])
def test_validation_data_is_refused_where_early_stopping_cannot_use_it(classes, bad, message):
    X, y, X_val, y_val = classes
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**{**_params(), **bad}).fit(X, y, validation_data=(X_val, y_val))


def test_validation_data_of_other_features_or_classes_is_refused(classes):
    X, y, X_val, y_val = classes
    with pytest.raises(ValueError, match=r"Inside a Pipeline.*pipeline\[:-1\]\.transform"):
        MLPClassifier(**_params()).fit(X, y, validation_data=(X_val[:, :3], y_val))
    with pytest.raises(ValueError, match="classes not seen in training"):
        MLPClassifier(**_params()).fit(X, y, validation_data=(X_val, y_val + 7))
    with pytest.raises(ValueError, match="must be a tuple"):
        MLPClassifier(**_params()).fit(X, y, validation_data=X_val)


def test_validation_data_is_routed_through_a_pipeline(classes):
    X, y, X_val, y_val = classes
    scaler = StandardScaler().fit(X)
    direct = MLPClassifier(**_params()).fit(scaler.transform(X), y,
                                            validation_data=(scaler.transform(X_val), y_val))
    with sklearn.config_context(enable_metadata_routing=True):
        mlp = MLPClassifier(**_params()).set_fit_request(validation_data=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)])
        pipe.fit(X, y, validation_data=(scaler.transform(X_val), y_val))
    assert pipe[-1].validation_scores_ == direct.validation_scores_
    np.testing.assert_array_equal(pipe.predict(X_val), direct.predict(scaler.transform(X_val)))


def test_validation_data_unrequested_in_a_pipeline_is_refused_by_routing(classes):
    X, y, X_val, y_val = classes
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("mlp", MLPClassifier(**_params()))])
        with pytest.raises((TypeError, ValueError), match="validation_data"):
            pipe.fit(X, y, validation_data=(X_val, y_val))


def test_scoring_by_name_drives_early_stopping(classes):
    X, y, X_val, y_val = classes
    est = MLPClassifier(**_params(scoring="neg_log_loss")).fit(X, y, validation_data=(X_val, y_val))
    from sklearn.metrics import log_loss

    assert all(s <= 0 for s in est.validation_scores_)
    assert -log_loss(y_val, est.predict_proba(X_val)) == pytest.approx(max(est.validation_scores_))


def test_scoring_by_callable_on_the_drawn_split(classes):
    X, y, _, _ = classes
    macro_f1 = make_scorer(f1_score, average="macro")
    est = MLPClassifier(**_params(scoring=macro_f1)).fit(X, y)
    default = MLPClassifier(**_params()).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_
    assert est.validation_scores_ != default.validation_scores_  # f1, not accuracy, on the same rows


@pytest.mark.parametrize("sample_weight", [False, True])
def test_scoring_loss_watches_the_validation_loss_with_alpha_and_weights(classes, sample_weight):
    """scoring="loss": early stopping watches the one validation loss (the batch loss, with
    alpha and the validation rows' weights) and keeps the weights of its lowest value."""
    X, y, X_val, y_val = classes
    w = np.where(y_val == 0, 3.0, 1.0) if sample_weight else None
    validation = (X_val, y_val) if w is None else (X_val, y_val, w)
    est = MLPClassifier(**_params(scoring="loss", alpha=0.5, max_iter=30)).fit(
        X, y, validation_data=validation)
    assert est.validation_scores_ == [-v for v in est.validation_loss_curve_]
    D_val = est._label_binarizer.transform(y_val).astype(float)
    kept = est.network_.loss(X_val, D_val, alpha=0.5, sample_weight=w)
    assert kept == pytest.approx(min(est.validation_loss_curve_), rel=1e-12)
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_scoring_none_is_the_default_behaviour(classes):
    X, y, _, _ = classes
    a = MLPClassifier(**_params()).fit(X, y)
    b = MLPClassifier(**_params(scoring=None)).fit(X, y)
    assert a.validation_scores_ == b.validation_scores_


def test_an_unknown_scorer_is_refused(classes):
    X, y, _, _ = classes
    with pytest.raises(ValueError, match="not_a_scorer"):
        MLPClassifier(**_params(scoring="not_a_scorer")).fit(X, y)
