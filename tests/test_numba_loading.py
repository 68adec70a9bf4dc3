"""The path a call takes depends on its arguments only: a fit takes the kernels wherever they
apply, from the first fit of a process on, so the same fit gives the same bits in a fresh
process and after any other work; a prediction of a small table stays off numba by its size
(``deltaprop.speed.fused.PREDICT_MIN_WORK``), whatever the process loaded before."""

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
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        return est.fit(X, y)


# the fits whose bits are compared, each printed as the sha-256 of its coefs_ and intercepts_
SAME_FITS = """
import hashlib
import numpy as np
from deltaprop import MLPClassifier, MLPRegressor

def digest(est):
    h = hashlib.sha256()
    for a in est.coefs_ + est.intercepts_:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4))
y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=200)
fits = [
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(X, y),
    MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", batch_size=32, max_iter=30,
                  random_state=0).fit(X, (y > 0) + (y > 1)),
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=30, alpha=0.01,
                 random_state=0).fit(X.astype(np.float32), y, sample_weight=rng.random(200) + 0.5),
]
print(" ".join(digest(f) for f in fits))
"""

OTHER_WORK = """
from deltaprop import MLPClassifier, MLPRegressor
import numpy as np
big = np.random.default_rng(1).normal(size=(3000, 20))
MLPRegressor(hidden_layer_sizes=(128, 128), max_iter=2, random_state=1).fit(big, big[:, 0])
# up to 300,000 steps (tol stops it after two epochs): a fit that loads the kernels whatever the rule
online = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", batch_size=1, max_iter=1000, tol=1e9,
                       n_iter_no_change=1, random_state=2)
online.fit(big[:300], big[:300, 1] > 0)
for seed in range(5):
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=seed).fit(big[:100, :4], big[:100, 2])
"""


def test_the_same_fit_gives_the_same_bits_in_a_fresh_process_and_after_other_fits():
    fresh = _run(SAME_FITS)
    after_other_fits = _run(OTHER_WORK + SAME_FITS)
    assert len(fresh.split()) == 3
    assert fresh == after_other_fits
    # and in this process, after whatever the tests before this one ran
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from contextlib import redirect_stdout
        from io import StringIO

        out = StringIO()
        with redirect_stdout(out):
            exec(SAME_FITS, namespace)
    assert out.getvalue().strip() == fresh


def test_the_first_fit_of_a_process_takes_the_compiled_epoch_even_where_numba_can_cache_nowhere():
    # one process for both (each costs a process and a compile of the epoch):
    # - a fit of a few milliseconds: no estimate of what loading numba costs keeps it off the
    #   kernels, so the first fit of a process takes the compiled epoch;
    # - a read-only install run without a writable home: numba finds no cache locator and
    #   njit(cache=True) raises; the kernels, the epoch's and the fused passes', are then
    #   compiled in memory instead
    out = _run("""
import sys
import numba.core.caching as caching
caching.CacheImpl._locator_classes = []
import numpy as np
from deltaprop import MLPRegressor
X = np.random.default_rng(0).normal(size=(30, 3))
est = MLPRegressor(hidden_layer_sizes=(5,), batch_size=4, max_iter=2, random_state=0).fit(X, X[:, 0])
print("deltaprop.speed.epoch" in sys.modules, np.isfinite(est.loss_))
from deltaprop.core.optim import SGD
from deltaprop.speed import fused
w = np.zeros(fused.FUSED_MIN_SIZE)
SGD([w], 0.1, step=fused.sgd_step).update([w], [np.ones_like(w)])
assert abs(w[0] + 0.19) < 1e-12, w[0]  # Nesterov: 0.9·(-0.1) - 0.1
print("ok")
""")
    assert out.split() == ["True", "True", "ok"]


def test_a_small_prediction_loads_no_numba():
    # deltaprop predict's path: a model's Network, 150 rows; the rule reads rows × units only
    out = _run("""
import sys
import numpy as np
from deltaprop.core.network import Network
from deltaprop.speed.backprop import predict
net = Network([4, 64, 64, 1], "relu", random_state=0)
X = np.random.default_rng(0).normal(size=(150, 4))
assert np.array_equal(predict(net, X), net.predict(X))
print("numba" in sys.modules)
""")
    assert out == "False"
    assert not fused.predict_uses_kernels(150, 129)
    assert fused.predict_uses_kernels(fused.PREDICT_MIN_WORK // 129 + 1, 129)


@pytest.fixture
def epochs(monkeypatch):
    """Counts the compiled epochs."""
    calls = []
    run_epoch = compiled.run_epoch
    monkeypatch.setattr(compiled, "run_epoch", lambda *a, **k: calls.append(1) or run_epoch(*a, **k))
    return calls


def test_a_loop_of_partial_fits_takes_the_compiled_epoch_from_its_first_call(epochs):
    X = np.random.default_rng(0).normal(size=(20, 3))
    est = MLPRegressor(hidden_layer_sizes=(3,), random_state=0)
    for i in range(20):
        est.partial_fit(X[i : i + 1], X[i : i + 1, 0])
        assert len(epochs) == i + 1


def test_a_fit_on_numpy_is_bitwise_the_fused_fit(monkeypatch):
    # the command's default network: too large for the compiled epoch, so the fused passes
    # (bitwise numpy's) are all that numpy_paths changes
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
