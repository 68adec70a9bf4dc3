"""The scikit-learn-free record of a fitted estimator (deltaprop.estimators.fitted,
deltaprop.core.classes) gives exactly what the estimator gives: the same targets, weights,
attributes and predictions, and makes the estimator it describes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight

import deltaprop as dp
from deltaprop.core import classes as class_coding
from deltaprop.estimators.fitted import FittedMLP
from deltaprop.estimators.mlp import from_record

RNG = np.random.default_rng(3)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("labels", [
    np.array(["b", "a", "b", "c", "a"]),
    np.array([3, 1, 3, 3]),
    np.array([True, False, False]),
    np.array([1.0, -1.0, 2.0, 1.0, 7.0]),
])
def test_class_coding_is_label_binarizers(labels):
    classes, codes = class_coding.class_codes(labels)
    binarizer = LabelBinarizer().fit(labels)
    np.testing.assert_array_equal(classes, binarizer.classes_)
    np.testing.assert_array_equal(classes[codes], labels)
    np.testing.assert_array_equal(class_coding.one_hot(codes, len(classes)), binarizer.transform(labels) == 1)
    np.testing.assert_allclose(class_coding.balanced_weights(codes, len(classes)),
                               compute_sample_weight("balanced", labels))


def test_predicted_codes_are_label_binarizers_inverse_including_ties():
    binarizer = LabelBinarizer().fit([0, 1, 2])
    Y = np.array([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2], [0.1, 0.1, 0.8]])
    np.testing.assert_array_equal(class_coding.predicted_codes(Y), binarizer.inverse_transform(Y))
    binary = LabelBinarizer().fit(["no", "yes"])
    y = np.array([[0.2], [0.5], [0.51]])
    predicted = binary.classes_[class_coding.predicted_codes(y)]
    assert predicted.tolist() == binary.inverse_transform(y.ravel()).tolist()
    np.testing.assert_allclose(class_coding.probabilities(y), [[0.8, 0.2], [0.5, 0.5], [0.49, 0.51]])


CASES = [
    ("MLPRegressor", {"loss": "squared_error"}, "float64", 1),
    ("MLPRegressor", {"loss": "huber", "huber_epsilon": 0.5}, "float64", 2),
    ("MLPRegressor", {"loss": "quantile", "quantile": 0.8, "activation": "tanh"}, "float32", 1),
    ("MLPRegressor", {"loss": "poisson", "solver": "sgd"}, "float64", 1),
    ("MLPClassifier", {}, "float64", 2),
    ("MLPClassifier", {"class_weight": "balanced"}, "float64", 3),
    ("MLPClassifier", {"activation": "logistic", "dropout": 0.2}, "float32", 4),
]


def _data(kind, n_targets, dtype, n=120):
    X = RNG.normal(size=(n, 5)).astype(dtype)
    if kind == "MLPRegressor":
        y = np.abs(X[:, :n_targets] * 2 + 0.5)
        return X, y[:, 0] if n_targets == 1 else y
    return X, np.array(["a", "b", "c", "d"])[(X[:, 0] > 0) + (X[:, 1] > 0.5) * (n_targets - 2)]


def _fit(kind, X, y, **params):
    params = {"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0, **params}
    return getattr(dp, kind)(**params).fit(X, y)


@pytest.mark.parametrize("kind, extra, dtype, n_targets", CASES)
def test_the_record_of_a_fit_predicts_as_its_estimator_and_makes_it_again(kind, extra, dtype, n_targets):
    X, y = _data(kind, n_targets, dtype)
    est = _fit(kind, X, y, hidden_layer_sizes=(7, 5), max_iter=15, random_state=4, batch_size=16,
               n_iter_no_change=4, **extra)
    fitted = FittedMLP.from_estimator(est).copy().check()
    np.testing.assert_array_equal(fitted.network.get_flat(), est.network_.get_flat())
    assert fitted.network is not est.network_ and fitted.network.dtype == np.dtype(dtype)
    assert "callback" not in fitted.params and fitted.state == est._fitted_state()
    assert fitted.loss_curve_ == est.loss_curve_ and fitted.n_iter_ == est.n_iter_
    np.testing.assert_array_equal(fitted.predict(X), est.predict(X))
    if kind == "MLPClassifier":
        np.testing.assert_array_equal(fitted.predict_proba(X), est.predict_proba(X))
    else:
        with pytest.raises(AttributeError, match="no predict_proba"):
            fitted.predict_proba(X)
    # the record makes the estimator it describes
    made = from_record(fitted)
    assert type(made) is type(est) and made.get_params() == est.get_params()
    np.testing.assert_array_equal(made.predict(X), est.predict(X))


def test_a_record_whose_classes_do_not_fit_its_network_is_refused():
    X, y = _data("MLPClassifier", 3, "float64")
    fitted = FittedMLP.from_estimator(_fit("MLPClassifier", X, y))
    fitted.attributes["classes_"] = np.array(["a", "b"])
    with pytest.raises(ValueError, match="2 classes do not fit a network with 3 outputs"):
        fitted.check()


def test_the_unconverged_warning_is_scikit_learns_once_it_is_loaded_and_costs_no_import_else():
    import subprocess
    import sys

    from sklearn.exceptions import ConvergenceWarning

    X, y = _data("MLPRegressor", 1, "float64", n=30)
    with pytest.warns(ConvergenceWarning):
        _fit("MLPRegressor", X, y)
    code = (
        "import sys, warnings, numpy as np\n"
        "from deltaprop import Network\n"
        "from deltaprop.training import loop\n"
        "from deltaprop.training.state import TrainingSettings, TrainingState\n"
        "net, s = Network([4, 3, 1], random_state=0), TrainingSettings(max_iter=2)\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    loop.fit(net, np.eye(4), np.arange(4.0).reshape(4, 1), None, s,\n"
        "             TrainingState.start(s, net.get_flat()), rng=np.random.RandomState(0))\n"
        "print(w[0].category.__module__, w[0].category.__name__, 'sklearn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["deltaprop.training.stopping", "ConvergenceWarning", "False"]


def test_a_tabular_models_estimator_may_be_set_to_a_record_or_an_estimator():
    from deltaprop.tabular import FeatureEncoder, TargetEncoder
    from deltaprop.tabular.model import TabularModel

    X, y = _data("MLPRegressor", 1, "float64", n=40)
    fitted = FittedMLP.from_estimator(_fit("MLPRegressor", X, y))
    del fitted.params["alpha"]
    model = TabularModel(FeatureEncoder(), TargetEncoder(["y"], "regression"), fitted)
    est = from_record(fitted)
    model.estimator = est
    assert model.estimator is est and model.fitted.network is est.network_
    assert model.network_ is est.network_
    model.estimator = fitted
    assert model.fitted is fitted and type(model.estimator).__name__ == "MLPRegressor"
    assert model.network_ is model.estimator.network_ is fitted.network
    # a record whose parameters leave alpha out explains with the estimators' default L2 strength
    from deltaprop.explanation.core import as_network

    assert "alpha" not in fitted.params and as_network(model)[1] == dp.MLPRegressor().alpha


def test_a_multilabel_records_predict_names_the_way_to_its_estimator():
    X, _ = _data("MLPRegressor", 1, "float64", n=40)
    Y = (X[:, :2] > 0).astype(int)
    est = dp.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, Y)
    record = FittedMLP.from_estimator(est)
    for ask in (record.predict, record.predict_proba):
        with pytest.raises(ValueError, match="from_record"):
            ask(X)
    np.testing.assert_array_equal(from_record(record).predict(X), est.predict(X))
