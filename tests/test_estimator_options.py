"""The estimators' options beyond scikit-learn's that the core derives: robust losses,
AdamW, clipping, the cosine schedule and dropout (each formula is tested in test_network,
test_derivation and test_optim; here, that the estimators wire them through)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from deltaprop import MLPClassifier, MLPRegressor
from deltaprop.core.optim import cosine_rate
from deltaprop.speed import compiled


@pytest.fixture
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] - 0.5 * X[:, 1] + 0.1 * rng.normal(size=120)
    return X, y


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        return est.fit(X, y)


@pytest.mark.parametrize("loss,params", [("absolute_error", {}), ("huber", {"huber_epsilon": 0.5}),
                                         ("quantile", {"quantile": 0.8})])
def test_robust_losses_train_and_report_their_own_loss(loss, params, regression):
    X, y = regression
    est = _fit(MLPRegressor(hidden_layer_sizes=(8,), loss=loss, max_iter=30, random_state=0,
                            learning_rate_init=0.01, **params), X, y)
    net = est.network_
    assert net.loss_name == loss and net.output == "identity"
    assert net.loss_params == {"epsilon": 0.5} if loss == "huber" else True
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    # the reported loss is the network's (alpha term included), on the last weights
    assert net.loss(X, y, alpha=est.alpha) == pytest.approx(est.loss_curve_[-1], rel=0.2)


def test_quantile_regression_puts_the_high_quantile_above_the_low_one(regression):
    X, y = regression
    fits = [_fit(MLPRegressor(hidden_layer_sizes=(8,), loss="quantile", quantile=q, max_iter=150,
                              learning_rate_init=0.01, random_state=0), X, y) for q in (0.1, 0.9)]
    low, high = (f.predict(X) for f in fits)
    assert (high > low).mean() > 0.9
    assert 0.75 < (y <= high).mean() and (y <= low).mean() < 0.25


def test_adamw_without_decay_trains_as_adam(regression):
    X, y = regression
    settings = dict(hidden_layer_sizes=(6,), max_iter=5, random_state=0, batch_size=16)
    adam = _fit(MLPRegressor(solver="adam", **settings), X, y)
    adamw = _fit(MLPRegressor(solver="adamw", weight_decay=0.0, **settings), X, y)
    np.testing.assert_allclose(adamw.loss_curve_, adam.loss_curve_, rtol=1e-10)
    decayed = _fit(MLPRegressor(solver="adamw", weight_decay=0.5, **settings), X, y)
    assert np.linalg.norm(decayed.network_.get_flat()) < np.linalg.norm(adam.network_.get_flat())


def test_clipping_and_cosine_reach_the_optimiser(regression):
    X, y = regression
    est = _fit(MLPRegressor(solver="sgd", learning_rate="cosine", warmup_iter=2, max_iter=6,
                            max_grad_norm=0.1, random_state=0, learning_rate_init=0.05), X, y)
    opt = est._optimizer
    assert opt.max_grad_norm == 0.1
    assert opt.learning_rate == pytest.approx(cosine_rate(0.05, est.n_iter_, 6, 2))
    adam = _fit(MLPRegressor(learning_rate="cosine", max_iter=4, random_state=0), X, y)
    assert adam._optimizer.base_rate == pytest.approx(cosine_rate(0.001, 4, 4, 0))


def test_dropout_is_reproducible_never_compiled_and_absent_at_prediction(regression, monkeypatch,
                                                                        compiled_kernels):
    X, y = regression
    epochs = []
    run_epoch = compiled.run_epoch
    monkeypatch.setattr(compiled, "run_epoch", lambda *a, **k: epochs.append(1) or run_epoch(*a, **k))
    settings = dict(hidden_layer_sizes=(10,), max_iter=5, batch_size=8, random_state=3)
    a = _fit(MLPRegressor(dropout=0.3, **settings), X, y)
    b = _fit(MLPRegressor(dropout=0.3, **settings), X, y)
    assert not epochs  # the plain path, with masks
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.network_.get_flat(), b.network_.get_flat())
    plain = _fit(MLPRegressor(**settings), X, y)
    assert epochs  # without dropout the small network takes the compiled epoch
    assert a.loss_curve_ != plain.loss_curve_
    np.testing.assert_array_equal(a.predict(X), a.network_.predict(X).ravel())
    clf = _fit(MLPClassifier(dropout=[0.2, 0.0], hidden_layer_sizes=(6, 4), max_iter=3, random_state=0),
               X, y > 0)
    assert np.isfinite(clf.loss_)


@pytest.mark.parametrize("option", [dict(dropout=0.2), dict(max_grad_norm=1.0)])
def test_lbfgs_refuses_dropout_and_clipping(option, regression):
    X, y = regression
    with pytest.raises(ValueError, match="need a stochastic solver"):
        MLPRegressor(solver="lbfgs", **option).fit(X, y)


def test_bad_new_options_are_refused_by_name(regression):
    X, y = regression
    for option, name in [(dict(loss="huber", huber_epsilon=0.0), "huber_epsilon"),
                         (dict(loss="quantile", quantile=1.5), "quantile"),
                         (dict(dropout=1.0), "dropout"), (dict(warmup_iter=-1), "warmup_iter")]:
        with pytest.raises(ValueError, match=name):
            MLPRegressor(**option).fit(X, y)


# ---------------------------------------------------------------------- the command's defaults
#: each option of ``deltaprop train`` that sets an estimator parameter, and the parameter
COMMAND_PARAMETERS = {
    "hidden": "hidden_layer_sizes", "activation": "activation", "solver": "solver",
    "epochs": "max_iter", "batch_size": "batch_size", "learning_rate": "learning_rate_init",
    "alpha": "alpha", "dropout": "dropout", "early_stopping": "early_stopping",
    "patience": "n_iter_no_change", "validation_fraction": "validation_fraction",
}


def test_the_commands_defaults_are_the_estimators_or_its_help_says_why_not():
    """One set of defaults: an option's default is the estimator's, or the parameter table's
    ``command`` column gives the command's default and why, and its --help says both;
    TrainOptions (the Python API of the command) has the defaults --help shows, and Huber's ε
    and τ are the core's."""
    import dataclasses

    from deltaprop.command.commands import train as train_command
    from deltaprop.command.train import TrainOptions
    from deltaprop.core.losses import DEFAULT_PARAMS
    from deltaprop.estimators.parameters import PARAMETERS

    options = {p.name: p for p in train_command.params}
    fields = {f.name: f.default for f in dataclasses.fields(TrainOptions)}
    estimator = MLPRegressor().get_params()
    differing = {row.command[0]: (name, row.command) for name, row in PARAMETERS.items() if row.command}
    assert set(differing) <= set(COMMAND_PARAMETERS)
    for name, parameter in COMMAND_PARAMETERS.items():
        option = options[name]
        default = option.to_info_dict()["default"]  # None where click has none to give
        if name == "hidden":
            default = tuple(int(w) for w in default.split(","))
        assert default == fields[name], name
        help_text = " ".join(option.help.split())
        if name not in differing:
            assert default == estimator[parameter], name
            continue
        table_name, (_, command_default, why) = differing[name]
        assert table_name == parameter and default != estimator[parameter], name
        assert why in help_text and "estimators" in help_text.split(why)[0], name
        assert default is None or default == command_default, name
        assert default is not None or f"default: {command_default}" in help_text, name
    assert f"[default: {DEFAULT_PARAMS['huber']['epsilon']}]" in options["huber_epsilon"].help
    assert f"[default: {DEFAULT_PARAMS['quantile']['quantile']}]" in options["quantile"].help
    assert estimator["huber_epsilon"] == DEFAULT_PARAMS["huber"]["epsilon"]
    assert estimator["quantile"] == DEFAULT_PARAMS["quantile"]["quantile"]


def test_the_documented_defaults_are_the_estimators_and_the_training_rings():
    """The parameters have one table (estimators.parameters.PARAMETERS, whose training
    defaults are training.state.TrainingSettings'): the signatures, the constraints and the
    docstrings are made from it and state the same values."""
    import ast
    import dataclasses
    import inspect
    import re
    import sys

    from deltaprop.estimators.parameters import PARAMETERS
    from deltaprop.training.state import TrainingSettings

    settings = {f.name: f.default for f in dataclasses.fields(TrainingSettings)}
    for est in (MLPRegressor(), MLPClassifier()):
        params = est.get_params()
        assert set(params) == set(type(est)._parameter_constraints)
        assert all(type(est)._parameter_constraints[k] is PARAMETERS[k].constraint for k in params)
        assert all(params[k] == PARAMETERS[k].default for k in params)
        shared = set(params) & set(settings)
        assert len(shared) >= 20 and all(params[k] == settings[k] for k in shared)
        doc = " ".join((type(est).__doc__ or "").split())
        assert all(" ".join(PARAMETERS[k].doc.split()) in doc for k in params)
        documented = re.findall(r"^    (\w+) : .*?default=(.+)$", type(est).__doc__ or "", re.M)
        assert {name for name, _ in documented} == set(params)
        for name, value in documented:
            assert ast.literal_eval(value) == params[name], name
        # the written-out signature: the documented order, keyword-only after the positional ones
        module = sys.modules[type(est).__module__]
        signature = inspect.signature(type(est).__init__).parameters
        assert list(signature)[1:] == [*module._POSITIONAL, *module._KEYWORD]
        assert [p.kind for p in signature.values()][1:] == (
            [inspect.Parameter.POSITIONAL_OR_KEYWORD] * len(module._POSITIONAL)
            + [inspect.Parameter.KEYWORD_ONLY] * len(module._KEYWORD))
    with pytest.raises(ValueError, match="momentum"):
        MLPRegressor(momentum=1.5).fit(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(TypeError, match=r"^MLPClassifier\.__init__\(\) got an unexpected keyword "):
        MLPClassifier(loss="huber")
