"""The compiled epoch (deltaprop.speed.compiled) trains as the numpy path does.

Every test fits twice, once with the compiled epoch and once inside ``fast.plain_paths()``
(Network.backprop per batch and the numpy optimisers), and compares the fitted estimators.
Sums run in another order in each, so they agree to rounding, not to the bit:

* float64: 1e-10 relative (observed differences are a few units of 1e-16 after a fit).
* float32: 1e-4 relative and absolute (the weights are of order 1).  float32's unit roundoff
  is 6e-8; each of the up to 90 steps of a fit here adds a few roundings of difference
  (another order of the sums, and numpy's vectorised tanh/expm1 against the C library's,
  which differ by an ulp), and the steps carry them along.  Most fits differ by under 1e-6;
  the largest difference observed, 2e-5, is an identity network with momentum 0.9 at batch
  size 1, where the momentum amplifies each step's rounding differences about tenfold.

The optimiser steps alone are compared bit for bit.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning

from deltaprop import MLPClassifier, MLPRegressor
from deltaprop.core.network import Network
from deltaprop.core.optim import SGD, Adam
from deltaprop.speed import backprop as fast
from deltaprop.speed import compiled

N_SAMPLES = 30

# (task, activation): each canonical output/loss pair with two or three hidden activations
PAIRS = [
    ("squared_error", "tanh"),
    ("squared_error", "relu"),
    ("squared_error", "identity"),
    ("log_loss", "logistic"),
    ("log_loss", "leaky_relu"),
    ("binary_log_loss", "softplus"),
    ("binary_log_loss", "tanh"),
    ("poisson", "relu"),
    ("poisson", "softplus"),
]
OPTIMIZERS = {
    "sgd": dict(solver="sgd", momentum=0.0, learning_rate_init=0.05),
    "momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.02),
    "nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.02),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-4)}


def _data(task, dtype, n=N_SAMPLES, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(dtype)
    if task == "squared_error":
        y = np.stack([np.sin(X[:, 0]) + X[:, 1], X[:, 1] * X[:, 2]], axis=1)
    elif task == "poisson":
        y = rng.poisson(np.exp(0.5 * X[:, :2])).astype(float)
    elif task == "log_loss":
        y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)  # three classes: softmax
    else:
        y = (X[:, 0] + X[:, 2] > 0).astype(int)  # two classes: one logistic unit
    weights = rng.random(n) + 0.5
    return X, y, weights


def _estimator(task, **params):
    if task in ("squared_error", "poisson"):
        return MLPRegressor(loss=task, **params)
    return MLPClassifier(**params)


def _fit(est, X, y, weights=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        return est.fit(X, y, sample_weight=weights)


@pytest.fixture
def epochs(monkeypatch):
    """Counts the compiled epochs (the fits must take the path they claim)."""
    calls = []
    run_epoch = compiled.run_epoch

    def counting(*args, **kwargs):
        calls.append(1)
        return run_epoch(*args, **kwargs)

    monkeypatch.setattr(compiled, "run_epoch", counting)
    return calls


def _assert_same_fit(a, b, dtype):
    tol = TOL[dtype]
    assert a.n_iter_ == b.n_iter_
    assert a.t_ == b.t_
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, **tol)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert p.dtype == q.dtype == dtype
        np.testing.assert_allclose(p, q, **tol)
    # the last batch's gradient, per layer
    for p, q in zip(a.gradient_norms_, b.gradient_norms_):
        assert p.keys() == q.keys()
        np.testing.assert_allclose(list(p.values()), list(q.values()), rtol=10 * tol["rtol"],
                                   atol=tol["atol"])


def _pairwise(factors):
    """Cases covering every pair of levels of every two factors: greedily, the case of the full
    grid that covers the most pairs not yet covered, until none is left."""
    grid = list(itertools.product(*factors))

    def pairs(case):
        return {(i, case[i], j, case[j]) for i, j in itertools.combinations(range(len(case)), 2)}

    uncovered, cases = set().union(*map(pairs, grid)), []
    while uncovered:
        best = max(grid, key=lambda case: len(pairs(case) & uncovered))
        cases.append(best)
        uncovered -= pairs(best)
    return cases


# (pair, optimiser, dtype, batch size, weighted, alpha): every pair of levels of any two, each
# (task, activation) pair (the derivations that differ) with every optimiser and every other
# level; plus the interactions that matter beyond two: float32 with sample weights and the L2
# term (α/N with N = Σ s_n) under every optimiser, and momentum on an identity network at batch
# size 1, where rounding differences grow most
FIT_CASES = _pairwise([PAIRS, list(OPTIMIZERS), [np.float64, np.float32], [1, 7], [False, True], [0.0, 0.01]])
FIT_CASES += [(("squared_error", "tanh"), name, np.float32, 7, True, 0.01) for name in OPTIMIZERS]
FIT_CASES += [(("squared_error", "identity"), "momentum", np.float32, 1, False, 0.0)]


@pytest.mark.parametrize("pair,optimizer,dtype,batch_size,weighted,alpha", FIT_CASES)
def test_compiled_fit_equals_plain_fit(pair, optimizer, dtype, batch_size, weighted, alpha, epochs):
    task, activation = pair
    X, y, weights = _data(task, dtype)
    weights = weights if weighted else None
    settings = dict(hidden_layer_sizes=(5, 4), activation=activation, batch_size=batch_size, alpha=alpha,
                    max_iter=3, tol=0.0, n_iter_no_change=100, random_state=1, **OPTIMIZERS[optimizer])
    compiled_fit = _fit(_estimator(task, **settings), X, y, weights)
    n_epochs = len(epochs)
    assert n_epochs == compiled_fit.n_iter_ + compiled_fit.diverged_ >= 1
    with fast.plain_paths():
        plain_fit = _fit(_estimator(task, **settings), X, y, weights)
    assert len(epochs) == n_epochs  # none inside plain_paths
    assert compiled_fit.diverged_ == plain_fit.diverged_
    _assert_same_fit(compiled_fit, plain_fit, dtype)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_keeps_the_optimiser_state_alike(solver, epochs):
    X, y, _ = _data("squared_error", np.float64, n=40)
    settings = dict(hidden_layer_sizes=(6,), solver=solver, batch_size=16, random_state=0,
                    learning_rate_init=0.02)
    fits = []
    for plain in (False, True):
        est = MLPRegressor(**settings)
        with fast.plain_paths() if plain else _nothing():
            for _ in range(4):
                est.partial_fit(X, y)
        fits.append(est)
    assert len(epochs) == 4
    _assert_same_fit(*fits, np.float64)
    if solver == "adam":
        assert fits[0]._optimizer.t == fits[1]._optimizer.t == 4 * 3
        assert fits[0]._optimizer.learning_rate == fits[1]._optimizer.learning_rate


def _nothing():
    import contextlib

    return contextlib.nullcontext()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_divergence_is_caught_as_on_the_numpy_path(dtype, epochs):
    X, y, _ = _data("squared_error", dtype, n=50)
    y = 1e3 * y
    settings = dict(hidden_layer_sizes=(8,), solver="sgd", momentum=0.0, learning_rate_init=1e3,
                    batch_size=10, max_iter=20, random_state=0)
    fits = []
    for plain in (False, True):
        with fast.plain_paths() if plain else _nothing():
            # one finite epoch first: a run that never had finite weights raises instead
            gentle = MLPRegressor(**{**settings, "learning_rate_init": 1e-3, "max_iter": 1})
            est = _fit_diverging(gentle, X, y)
            with pytest.warns(UserWarning, match="diverged"):
                fits.append(_fit_diverging(est.set_params(**settings, warm_start=True), X, y))
    assert epochs
    a, b = fits
    assert a.diverged_ and b.diverged_
    assert a.n_iter_ == b.n_iter_
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert np.isfinite(p).all()
        np.testing.assert_allclose(p, q, **TOL[dtype])


def _fit_diverging(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        return est.fit(X, y)


def _net_and_optimizer(sizes=(3, 5, 2), activation="tanh", output=None, loss="squared_error",
                       dtype=np.float64):
    net = Network(list(sizes), activation, output, loss, random_state=0, dtype=dtype)
    return net, SGD([fast.flat_parameters(net)], 0.1)


def test_supported_accepts_a_small_dense_network():
    net, optimizer = _net_and_optimizer()
    X = np.zeros((10, 3))
    assert compiled.supported(net, optimizer, X, None, 4)
    assert compiled.supported(net, optimizer, X, np.ones(10), 4)
    assert compiled.supported(net, Adam([fast.flat_parameters(net)]), X, None, 4)
    net32, optimizer32 = _net_and_optimizer(dtype=np.float32)
    assert compiled.supported(net32, optimizer32, X.astype(np.float32), None, 4)


def test_supported_refuses_what_it_does_not_compile():
    net, optimizer = _net_and_optimizer()
    X = np.zeros((10, 3))
    assert not compiled.supported(net, optimizer, scipy.sparse.csr_matrix(X), None, 4)
    assert not compiled.supported(net, optimizer, X.astype(np.float32), None, 4)  # not the net's dtype
    with fast.plain_paths():
        assert not compiled.supported(net, optimizer, X, None, 4)
    assert not compiled.supported(net, object(), X, None, 4)
    # non-canonical output/loss pairs take the general δ^(L) of the numpy path
    pair, pair_optimizer = _net_and_optimizer(output="logistic", loss="squared_error")
    assert not compiled.supported(pair, pair_optimizer, X, None, 4)
    pair, pair_optimizer = _net_and_optimizer(output="softmax", loss="binary_log_loss")
    assert not compiled.supported(pair, pair_optimizer, X, None, 4)
    # a network too large for the loops to beat BLAS
    big, big_optimizer = _net_and_optimizer(sizes=(3, 400, 400, 2))
    assert not compiled.supported(big, big_optimizer, X, None, 200)


def test_sparse_data_and_large_networks_train_on_the_numpy_path(epochs):
    X, y, _ = _data("squared_error", np.float64, n=40)
    sparse_fit = _fit(MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", max_iter=2, random_state=0),
                      scipy.sparse.csr_matrix(X), y)
    dense_fit = _fit(MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", max_iter=2, random_state=0), X, y)
    assert len(epochs) == 2  # the dense fit only
    _assert_same_fit(sparse_fit, dense_fit, np.float64)
    big = MLPRegressor(hidden_layer_sizes=(400, 400), solver="sgd", max_iter=1, random_state=0)
    big_fit = _fit(big, X, y)
    assert len(epochs) == 2
    assert big_fit.n_iter_ == 1 and np.isfinite(big_fit.loss_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adam"])
def test_the_compiled_optimiser_step_is_numpy_s_to_the_bit(kind, dtype):
    ep = compiled.kernel()
    rng = np.random.default_rng(0)
    theta = rng.normal(size=50).astype(dtype)
    copy = theta.copy()
    if kind == "adam":
        reference, twin = (Adam([p], 0.003, 0.85, 0.995, 1e-7) for p in (theta, copy))
    else:
        mu = 0.0 if kind == "sgd" else 0.87
        reference, twin = (SGD([p], 0.013, momentum=mu, nesterov=kind == "nesterov") for p in (theta, copy))
    net = Network([49, 1], "identity", random_state=0, dtype=dtype)  # 50 parameters
    for _ in range(30):
        g = rng.normal(size=50).astype(dtype)
        reference.update([theta], [g])
        # one compiled step, with the constants set as run_epoch sets them
        ws = compiled._workspace(twin, net, 1)
        c = ws.c
        if kind == "adam":
            c[ep.C_B1], c[ep.C_ONE_MINUS_B1] = 0.85, 1 - 0.85
            c[ep.C_B2], c[ep.C_ONE_MINUS_B2] = 0.995, 1 - 0.995
            c[ep.C_EPS] = 1e-7
            twin.t += 1
            twin.learning_rate = ep.adam(copy, g, twin.ms[0], twin.vs[0], c, 0.003, 0.85, 0.995, twin.t)
        else:
            c[ep.C_ETA], c[ep.C_MU] = 0.013, twin.momentum
            code = 0 if kind == "sgd" else (2 if kind == "nesterov" else 1)
            ep.sgd(code, copy, g, twin.velocities[0], c)
        np.testing.assert_array_equal(copy, theta)
    if kind == "adam":
        assert twin.learning_rate == reference.learning_rate


def test_import_does_not_load_numba():
    import subprocess
    import sys

    code = "import sys, deltaprop; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_kernels_tanh_is_within_two_ulp_of_numpys():
    ep = compiled.kernel()
    x = np.concatenate([np.linspace(-30, 30, 20001), [0.0, -0.0, 0.6249999, 0.625, 21.99, 22.01, 1e-300,
                                                       -1e-300, 710.0, -710.0, np.inf, -np.inf]])
    ours = np.array([ep.tanh(float(v)) for v in x])
    ref = np.tanh(x)
    assert np.all(np.abs(ours - ref) <= 2 * np.spacing(np.abs(ref)))
    assert np.signbit(ep.tanh(-0.0)) and np.isnan(ep.tanh(np.nan))


def _run(script):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_threads_fitting_their_first_small_networks_at_once_all_succeed():
    # the kernel is compiled on first use; four threads arriving together once crashed with
    # "A jit decorator was called on an already jitted function"
    done = _run("""
import threading, numpy as np
from deltaprop import MLPRegressor
X = np.random.default_rng(0).normal(size=(64, 3))
barrier, errors = threading.Barrier(4), []
def fit():
    barrier.wait()
    try:
        MLPRegressor(hidden_layer_sizes=(8,), batch_size=4, max_iter=2, random_state=0).fit(X, X[:, 0])
    except Exception as error:
        errors.append(repr(error))
threads = [threading.Thread(target=fit) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors)
""")
    assert done.stdout.strip() == "[]"


def test_without_numba_fits_take_the_numpy_paths_after_one_warning():
    done = _run("""
import sys, warnings
sys.modules["numba"] = None  # import numba raises ImportError
import numpy as np
from deltaprop import MLPRegressor
X = np.random.default_rng(0).normal(size=(300, 3))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    small = MLPRegressor(hidden_layer_sizes=(8,), batch_size=4, max_iter=2, random_state=0).fit(X, X[:, 0])
    large = MLPRegressor(hidden_layer_sizes=(200, 100), max_iter=2, random_state=0).fit(X, X[:, 0])
numba_warnings = [w for w in caught if "numba could not be imported" in str(w.message)]
assert len(numba_warnings) == 1, [str(w.message) for w in caught]
assert np.isfinite(small.loss_) and np.isfinite(large.loss_)
print("ok")
""")
    assert done.stdout.strip() == "ok"


def test_zero_sample_weights_send_the_fit_to_the_numpy_path():
    net, optimizer = _net_and_optimizer()
    X = np.zeros((10, net.sizes[0]))
    assert compiled.supported(net, optimizer, X, np.ones(10), 2)
    assert not compiled.supported(net, optimizer, X, np.r_[np.zeros(2), np.ones(8)], 2)
