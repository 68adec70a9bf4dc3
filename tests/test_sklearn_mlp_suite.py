"""scikit-learn's own MLP tests, run on deltaprop with only the import switched.

The source of ``sklearn/neural_network/tests/test_mlp.py`` of the installed scikit-learn (it
ships in the wheel) is read, its one import of the two classes is replaced by deltaprop's,
and every test function it defines is collected here by pytest, parametrisations and marks
included.  Nothing else in the file is changed.

Tests left out, each with its reason and the deltaprop test that checks the same property
through the public API:

- ``test_gradient``: calls scikit-learn's private ``_loss_grad_lbfgs`` (and ``_unpack``,
  ``_backprop``); deltaprop's gradient is checked against central differences through
  ``Network.gradients`` on fitted estimators in
  ``test_fitted_estimators_gradients_match_finite_differences`` below.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import sklearn

_SOURCE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

#: test name -> why it is not run here (see the module docstring for its replacement)
EXCEPTED = {
    "test_gradient": "calls scikit-learn's private _loss_grad_lbfgs, _unpack and _backprop",
}


def _load_switched():
    """scikit-learn's test module with deltaprop's classes imported instead of its own."""
    source = _SOURCE.read_text(encoding="utf-8")
    if source.count(_IMPORT) != 1:
        raise RuntimeError(f"{_SOURCE} no longer imports the classes as {_IMPORT!r}")
    source = source.replace(_IMPORT, "from deltaprop import MLPClassifier, MLPRegressor")
    module = types.ModuleType("sklearn_test_mlp_on_deltaprop")
    module.__file__ = str(_SOURCE)
    exec(compile(source, str(_SOURCE), "exec"), module.__dict__)  # noqa: S102 - the installed file
    return module


_switched = _load_switched()
_NAMES = sorted(name for name in vars(_switched) if name.startswith("test_"))
for _name in _NAMES:
    if _name not in EXCEPTED:
        globals()[_name] = getattr(_switched, _name)


@pytest.fixture
def global_random_seed():
    """scikit-learn's default global seed for its tests."""
    return 42


def test_the_switched_file_is_scikit_learns_own_and_runs_on_deltaprop():
    from deltaprop import MLPClassifier

    assert _switched.MLPClassifier is MLPClassifier
    assert set(EXCEPTED) <= set(_NAMES)
    assert len(_NAMES) - len(EXCEPTED) >= 40  # the file holds 43 tests in scikit-learn 1.9


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls", ["MLPRegressor", "MLPClassifier"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_fitted_estimators_gradients_match_finite_differences(cls, activation):
    """What scikit-learn's test_gradient checks, through deltaprop's public API: on a
    network fitted one L-BFGS iteration, backpropagation's gradient of the loss the
    estimator minimises (L2 term included) equals central differences."""
    import deltaprop
    from deltaprop.core.gradcheck import gradcheck

    rng = np.random.RandomState(0)
    X = rng.normal(size=(10, 5))
    y = rng.randint(0, 3, size=10) if cls == "MLPClassifier" else rng.normal(size=10)
    est = getattr(deltaprop, cls)(hidden_layer_sizes=(4,), activation=activation, solver="lbfgs",
                                  alpha=0.1, max_iter=1, random_state=0).fit(X, y)
    D = y.reshape(-1, 1) if cls == "MLPRegressor" else np.eye(3)[y]
    report = gradcheck(est, X, D, alpha=est.alpha)
    assert report.passed, report
