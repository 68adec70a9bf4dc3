"""numba is loaded only where it pays: a fit or a prediction too small to win back loading it
(about 0.45 s a process) runs on the numpy paths (``deltaprop.speed.fused.kernels_pay_off``),
unless the kernels are loaded already, when they run whatever the size."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from deltaprop import MLPRegressor
from deltaprop.speed import compiled, fused
from deltaprop.speed.switch import numpy_paths


def _run(script: str) -> str:
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        return est.fit(X, y)


def test_a_small_fit_and_its_predictions_load_no_numba():
    # the command's default network on 150 rows, and a network small enough for the compiled
    # epoch: each would save milliseconds, where loading numba costs about 0.45 s
    out = _run("""
import sys
import numpy as np
from deltaprop import MLPClassifier, MLPRegressor
X = np.random.default_rng(0).normal(size=(150, 4))
y = X[:, 0] - 2 * X[:, 1]
reg = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=45, random_state=0).fit(X, y)
reg.predict(X)
reg.partial_fit(X, y)
clf = MLPClassifier(hidden_layer_sizes=(16,), batch_size=8, max_iter=5, random_state=0).fit(X, y > 0)
clf.predict_proba(X)
lbfgs = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=20, random_state=0).fit(X, y)
assert 'numba' not in sys.modules, sorted(m for m in sys.modules if m.startswith("numba"))
print("ok")
""")
    assert out == "ok"


def test_a_fit_large_enough_loads_the_kernels():
    # 60 rows, batch 1, max_iter 1,000: up to 60,000 steps, about 0.9 s saved by the compiled
    # epoch (the size counted is max_iter's; tol makes this run stop after a few epochs)
    out = _run("""
import sys
import numpy as np
from deltaprop import MLPRegressor
X = np.random.default_rng(0).normal(size=(60, 4))
est = MLPRegressor(hidden_layer_sizes=(16,), batch_size=1, max_iter=1000, tol=1e9, n_iter_no_change=1,
                   random_state=0).fit(X, X[:, 0])
assert est.n_iter_ < 5, est.n_iter_
print("deltaprop.speed.epoch" in sys.modules, "numba" in sys.modules)
""")
    assert out == "True True"


@pytest.fixture
def epochs(monkeypatch):
    """Counts the compiled epochs."""
    calls = []
    run_epoch = compiled.run_epoch
    monkeypatch.setattr(compiled, "run_epoch", lambda *a, **k: calls.append(1) or run_epoch(*a, **k))
    return calls


def test_with_the_kernels_loaded_a_small_fit_takes_them(compiled_kernels, epochs):
    assert fused.kernels_loaded()
    X = np.random.default_rng(0).normal(size=(30, 3))
    est = _fit(MLPRegressor(hidden_layer_sizes=(5,), batch_size=4, max_iter=2, random_state=0), X, X[:, 0])
    assert len(epochs) == est.n_iter_ == 2


def test_a_small_fit_on_numpy_is_bitwise_the_fused_fit(compiled_kernels, monkeypatch):
    # the command's default network: too large for the compiled epoch, so the fused passes
    # (bitwise numpy's) are all that loading numba changes
    handed_out = []
    kernels = fused._compiled_kernels
    monkeypatch.setattr(fused, "_compiled_kernels", lambda size: handed_out.append(k := kernels(size)) or k)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(135, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(scale=0.1, size=135)
    settings = dict(hidden_layer_sizes=(64, 64), max_iter=20, alpha=1e-4, random_state=0)
    fast = _fit(MLPRegressor(**settings), X, y)
    assert any(k is not None for k in handed_out)
    handed_out.clear()
    with numpy_paths():
        slow = _fit(MLPRegressor(**settings), X, y)
    assert handed_out and all(k is None for k in handed_out)
    np.testing.assert_array_equal(fast.network_.get_flat(), slow.network_.get_flat())
    assert fast.loss_curve_ == slow.loss_curve_
    np.testing.assert_array_equal(fast.predict(X), slow.predict(X))


def test_the_rule_weighs_steps_and_work_against_loading_numba(monkeypatch):
    monkeypatch.setattr(fused, "kernels_loaded", lambda: False)
    # the command's default fit: 4,545 parameters, 135 rows, 200 epochs at most of one batch
    assert not fused.kernels_pay_off(200, 200 * 135, 4545)
    # the compiled epoch saves about 15 µs a step: 30,000 steps pay for loading numba
    assert not fused.kernels_pay_off(29_000, 29_000 * 32, 97)
    assert fused.kernels_pay_off(30_000, 30_000 * 32, 97)
    # the fused passes: about 1.5e10 samples × parameters
    assert fused.kernels_pay_off(100, 20_000 * 200, 19329)
    assert not fused.predict_kernels_pay_off(150, 129)
    assert fused.predict_kernels_pay_off(1_000_000, 257)
    monkeypatch.setattr(fused, "kernels_loaded", lambda: True)
    assert fused.kernels_pay_off(1, 1, 1) and fused.predict_kernels_pay_off(1, 1)


def test_a_loop_of_partial_fits_takes_the_kernels_once_it_would_have_paid(monkeypatch, epochs):
    # one row a call is one step; with loading numba priced at 100 steps, the calls from the
    # 100th on (state.t + 1 ≥ 100 samples seen) take the compiled epoch
    monkeypatch.setattr(fused, "kernels_loaded", lambda: False)
    monkeypatch.setattr(fused, "NUMBA_LOAD_SECONDS", 100 * fused.SAVED_SECONDS_PER_STEP)
    X = np.random.default_rng(0).normal(size=(120, 3))
    est = MLPRegressor(hidden_layer_sizes=(3,), random_state=0)
    counts = []
    for i in range(120):
        est.partial_fit(X[i : i + 1], X[i : i + 1, 0])
        counts.append(len(epochs))
    assert counts[98] == 0 and counts[99] == 1 and counts[-1] == 21
