"""The fused (compiled) passes over the parameters equal the numpy sequences they replace.

Bitwise: the kernels perform the same IEEE operations in the same order, so anything short
of exact equality is a bug (a reassociation, a fused multiply-add, a scalar in the wrong
dtype).
"""

import warnings

import numpy as np
import pytest

from deltaprop import MLPClassifier, MLPRegressor
from deltaprop.core import optim
from deltaprop.core.activations import ACTIVATIONS
from deltaprop.core.optim import SGD, Adam
from deltaprop.speed import backprop as fast
from deltaprop.speed import fused

DTYPES = [np.float32, np.float64]
N = fused.FUSED_MIN_SIZE + 1001  # large enough for the compiled kernels, and odd


def _arrays(dtype, k, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(N).astype(dtype) for _ in range(k)]


def _work(like, k):
    return lambda: tuple(np.empty_like(like) for _ in range(k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mu,nesterov", [(0.0, True), (0.0, False), (0.9, True), (0.9, False), (0.5, True)])
def test_sgd_step_equals_numpy(dtype, mu, nesterov):
    w, g, v = _arrays(dtype, 3)
    w2, v2 = w.copy(), v.copy()
    for eta in (0.1, 0.0123):  # two steps, so the velocity carries over
        optim.sgd_step(w2, g, v2, mu, eta, nesterov, _work(w, 2))
        fused.sgd_step(w, g, v, mu, eta, nesterov, lambda: pytest.fail("no work array needed"))
    np.testing.assert_array_equal(w, w2)
    np.testing.assert_array_equal(v, v2)
    assert w.dtype == v.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_step_equals_numpy(dtype):
    w, g = _arrays(dtype, 2)
    m, s = np.zeros_like(w), np.zeros_like(w)
    g[:100] = 0.0  # s = 0 there: the step is 0 / ε, as in numpy
    w2, m2, s2 = w.copy(), m.copy(), s.copy()
    for lr in (1e-3, 3.3e-4, 2e-2):
        optim.adam_step(w2, g, m2, s2, 0.9, 0.999, 1e-8, lr, _work(w, 2))
        fused.adam_step(w, g, m, s, 0.9, 0.999, 1e-8, lr, lambda: pytest.fail("no work array needed"))
        g = g[::-1].copy()
        g[:100] = 0.0
    for a, b in ((w, w2), (m, m2), (s, s2)):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == dtype


def test_small_arrays_and_plain_paths_take_the_numpy_sequence():
    calls = []
    small = np.zeros(fused.FUSED_MIN_SIZE - 1)
    fused.add_l2_gradient(small, small, 1.0, 2.0, lambda: calls.append("small") or np.empty_like(small))
    big = np.zeros(N)
    with fast.plain_paths():
        fused.add_l2_gradient(big, big, 1.0, 2.0, lambda: calls.append("plain") or np.empty_like(big))
    fused.add_l2_gradient(big, big, 1.0, 2.0, lambda: calls.append("compiled") or np.empty_like(big))
    assert calls == ["small", "plain"]


def test_non_finite_values_propagate_as_in_numpy():
    # error_model="numpy": 0/0 and overflow give nan/inf, never an exception
    w = np.zeros(N)
    g = np.zeros(N)
    g[0], g[1] = np.inf, np.nan
    opt = Adam([w], 1e-3, step=fused.adam_step)
    with np.errstate(invalid="ignore"):
        opt.update([w], [g])
    assert np.isnan(w[0]) and np.isnan(w[1]) and np.all(w[2:] == 0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_training_a_large_network_equals_the_plain_path(solver, dtype):
    # 40-300-60-3 has 30,543 parameters, above FUSED_MIN_SIZE, so the
    # optimiser and the L2 gradient take the compiled passes
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 40)).astype(dtype)
    y = rng.integers(0, 3, 300)
    params = dict(hidden_layer_sizes=(300, 60), solver=solver, alpha=1e-3, max_iter=3,
                  batch_size=64, random_state=0, learning_rate_init=0.01)
    fit = MLPClassifier(**params).fit(X, y)
    assert fit.network_.n_parameters > fused.FUSED_MIN_SIZE
    with fast.plain_paths():
        plain = MLPClassifier(**params).fit(X, y)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(fit.loss_curve_, plain.loss_curve_, rtol=tol)
    np.testing.assert_allclose(fit.network_.get_flat(), plain.network_.get_flat(), rtol=tol, atol=tol)


def test_optimisers_allocate_work_arrays_only_on_the_numpy_path():
    w = np.zeros(N)
    for opt in (SGD([w], 0.1, step=fused.sgd_step), Adam([w], 0.1, step=fused.adam_step)):
        opt.update([w], [np.ones(N)])
        assert "_scratch_arrays" not in opt.__dict__
    small = np.zeros(10)
    opt = SGD([small], 0.1, step=fused.sgd_step)
    opt.update([small], [np.ones(10)])
    assert len(opt._scratch_arrays) == 1


def test_regressor_with_l2_on_a_large_network_matches_scikit_learn_order_of_roundings():
    # with one output and the same random_state deltaprop follows scikit-learn step for step;
    # the compiled passes keep its roundings, so the weights stay within float64 noise
    sklearn_mlp = pytest.importorskip("sklearn.neural_network")
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 30))
    y = X[:, 0] - 2 * X[:, 1] + rng.standard_normal(200) * 0.1
    params = dict(hidden_layer_sizes=(200, 60), solver="sgd", alpha=1e-2, max_iter=2, batch_size=50,
                  random_state=0, learning_rate_init=1e-3, shuffle=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPRegressor(**params).fit(X, y)
        theirs = sklearn_mlp.MLPRegressor(**params).fit(X, y)
    assert ours.network_.n_parameters > fused.FUSED_MIN_SIZE
    for l, W in zip(ours.network_.layers, theirs.coefs_):
        np.testing.assert_allclose(ours.network_.W[l], W.T, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["identity", "relu", "leaky_relu", "tanh", "logistic", "softplus"])
def test_hidden_layer_passes_equal_numpy(name, dtype):
    rng = np.random.default_rng(3)
    shape = (97, 211)  # 20,467 elements: above FUSED_MIN_SIZE
    u = (rng.standard_normal(shape) * 3).astype(dtype)
    u[0, :5] = [0.0, -0.0, np.nan, np.inf, -np.inf]
    b = rng.standard_normal(shape[0]).astype(dtype)
    b[0] = 0.0
    delta = rng.standard_normal(shape).astype(dtype)
    results = []
    for plain in (True, False):
        with fast.plain_paths() if plain else warnings.catch_warnings():
            forward, backward = fused.hidden_layer(name, dtype, u.size)
        a, d, t = u.copy(), delta.copy(), np.empty_like(u)
        with np.errstate(invalid="ignore", over="ignore"):
            forward(a, b, t)
            backward(d, a, t)
        results.append((a, d))
    (a_plain, d_plain), (a_fused, d_fused) = results
    np.testing.assert_array_equal(a_fused, a_plain)
    np.testing.assert_array_equal(d_fused, d_plain)
    assert a_fused.dtype == d_fused.dtype == dtype


def test_hidden_layer_below_the_size_takes_numpy():
    forward, backward = fused.hidden_layer("relu", np.float64, fused.FUSED_MIN_SIZE - 1)
    assert backward == ACTIVATIONS["relu"].backward_in_place
    with fast.plain_paths():
        forward, backward = fused.hidden_layer("relu", np.float64, 10**6)
    assert backward == ACTIVATIONS["relu"].backward_in_place


def test_a_layer_without_a_kernel_does_not_ask_for_numba(monkeypatch):
    # softplus, and the outputs softmax and exp that predict runs through hidden_layer, have
    # no kernel in either table: their layers must not load numba for nothing
    asked = []
    monkeypatch.setattr(fused, "_compiled_kernels", lambda size: asked.append(size))
    for name in ("softplus", "softmax", "exp"):
        forward, backward = fused.hidden_layer(name, np.float64, 10**6)
        assert backward == ACTIVATIONS[name].backward_in_place
    assert not asked
    fused.hidden_layer("relu", np.float64, 10**6)
    assert asked == [10**6]
