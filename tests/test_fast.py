"""The fast paths equal the plain ones: gradients, predictions and whole training runs.

Each fast path in ``deltaprop.speed.backprop`` sits beside the plain one; these tests hold them equal
(float64 to rounding, float32 to a looser tolerance).  No timings here: speed is measured in
``benchmarks/``.
"""

import numpy as np
import pytest

from _pairwise import cases
from deltaprop import Network
from deltaprop.core.activations import HIDDEN_ACTIVATIONS
from deltaprop.speed import backprop as fast

# (loss, output): the canonical pairs first, then non-canonical ones
PAIRS = [
    ("squared_error", "identity"),
    ("log_loss", "softmax"),
    ("binary_log_loss", "logistic"),
    ("poisson", "exp"),
    ("squared_error", "tanh"),
    ("squared_error", "softmax"),
    ("log_loss", "logistic"),
    ("binary_log_loss", "softmax"),
    ("poisson", "softplus"),
    ("absolute_error", "identity"),
    ("huber", "identity"),
    ("quantile", "tanh"),
]
TOL = {np.float64: 1e-11, np.float32: 2e-4}


def _targets(loss, n, k, rng):
    if loss in ("squared_error", "absolute_error", "huber", "quantile"):
        return rng.normal(size=(n, k))
    if loss == "log_loss":
        return np.eye(k)[rng.integers(0, k, n)]
    if loss == "poisson":
        return rng.poisson(2.0, size=(n, k)).astype(float)
    return rng.integers(0, 2, size=(n, k)).astype(float)


def _assert_gradients_equal(fast_result, plain, dtype):
    loss, grad_W, grad_b = fast_result
    tol = TOL[dtype]
    assert loss == pytest.approx(plain.loss, rel=tol, abs=tol)
    for l in plain.W:
        assert grad_W[l].dtype == dtype and grad_b[l].dtype == dtype
        scale = max(1.0, float(np.abs(plain.W[l]).max()))
        np.testing.assert_allclose(grad_W[l], plain.W[l], rtol=tol, atol=tol * scale)
        np.testing.assert_allclose(grad_b[l], plain.b[l], rtol=tol, atol=tol * scale)


# every hidden activation × every loss/output pair (the δ^(L) each takes differs), in full;
# dtype and packing chosen so that each of their values meets every activation, every pair
# and each other
@pytest.mark.parametrize(
    "activation,loss,output,dtype,packed",
    [
        (activation, loss, output, dtype, packed)
        for activation, (loss, output), dtype, packed in cases(
            {"activation": HIDDEN_ACTIVATIONS, "pair": PAIRS, "dtype": [np.float64, np.float32],
             "packed": [False, True]},
            full=("activation", "pair"),
        )
    ],
)
def test_batch_gradients_equal_network_backprop(activation, loss, output, dtype, packed):
    rng = np.random.default_rng(7)
    net = Network([5, 7, 6, 3], activation, output, loss, random_state=1, dtype=dtype)
    if packed:  # parameters as views of one vector, as the training loop leaves them
        fast.flat_parameters(net)
    backprop = fast.BatchBackprop(net, 16, alpha=0.3)
    X = rng.normal(size=(16, 5)).astype(dtype)
    D = _targets(loss, 16, 3, rng).astype(dtype)
    # the full batch, then a smaller last batch, each without and with sample weights:
    # the buffers are reused, so every call must overwrite all that it returns
    for n, weighted in [(16, False), (5, False), (16, True), (7, True), (16, False)]:
        s = rng.random(n).astype(dtype) if weighted else None
        result = backprop(X[:n], D[:n], s)
        _assert_gradients_equal(result, net.backprop(X[:n], D[:n], 0.3, s), dtype)


@pytest.mark.parametrize("sizes", [[3, 2], [4, 16, 3], [6, 9, 8, 7, 2]])
def test_batch_gradients_equal_for_any_depth_and_one_sample(sizes):
    rng = np.random.default_rng(3)
    net = Network(sizes, "tanh", random_state=0)
    backprop = fast.BatchBackprop(net, 8)
    X = rng.normal(size=(8, sizes[0]))
    D = rng.normal(size=(8, sizes[-1]))
    for n in (8, 1):
        _assert_gradients_equal(backprop(X[:n], D[:n]), net.backprop(X[:n], D[:n]), np.float64)


def test_flat_gradient_is_packed_like_the_parameters():
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], "relu", random_state=0)
    backprop = fast.BatchBackprop(net, 10, alpha=0.1)
    X, D = rng.normal(size=(10, 4)), rng.normal(size=(10, 3))
    backprop(X, D)
    np.testing.assert_allclose(backprop.flat_grad, net.backprop(X, D, 0.1).flat(), rtol=1e-12, atol=1e-14)


def test_batch_larger_than_its_buffers_is_refused():
    net = Network([2, 3, 1], random_state=0)
    backprop = fast.BatchBackprop(net, 4)
    with pytest.raises(ValueError, match="max_batch_size"):
        backprop(np.zeros((5, 2)), np.zeros((5, 1)))


def test_plain_paths_selects_the_plain_batch_backprop():
    net = Network([2, 3, 1], random_state=0)
    assert type(fast.batch_backprop(net, 4)) is fast.BatchBackprop
    with fast.plain_paths():
        assert type(fast.batch_backprop(net, 4)) is fast.PlainBatchBackprop
    assert type(fast.batch_backprop(net, 4)) is fast.BatchBackprop


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "activation,output,loss",
    [
        ("relu", "identity", "squared_error"),
        ("tanh", "softmax", "log_loss"),
        ("logistic", "logistic", "binary_log_loss"),
        ("leaky_relu", "exp", "poisson"),
        ("softplus", "tanh", "squared_error"),
        ("identity", "identity", "squared_error"),
    ],
)
def test_chunked_predict_equals_network_predict(activation, output, loss, dtype, compiled_kernels):
    rng = np.random.default_rng(1)
    net = Network([6, 8, 5, 3], activation, output, loss, random_state=2, dtype=dtype)
    X = rng.normal(size=(1001, 6))
    # chunks of 128 rows take the numpy passes; of 1001, the compiled ones (8 × 1001 elements)
    for chunk_size in (128, 1001):
        y = fast.predict(net, X, chunk_size=chunk_size)
        assert y.dtype == dtype and y.shape == (1001, 3)
        np.testing.assert_allclose(y, net.predict(X), rtol=TOL[dtype], atol=TOL[dtype])
    with fast.plain_paths():
        np.testing.assert_array_equal(fast.predict(net, X), net.predict(X))


def test_flat_parameters_makes_the_network_views_of_one_vector():
    net = Network([4, 5, 3], "tanh", random_state=0)
    before = net.get_flat()
    theta = fast.flat_parameters(net)
    np.testing.assert_array_equal(theta, before)
    assert fast.flat_parameters(net) is theta  # already flat: the same vector
    theta[0] = 123.0
    assert net.W[2][0, 0] == 123.0
    net.b[3][...] = 7.0
    np.testing.assert_array_equal(theta[-3:], 7.0)
    net.W[3] = net.W[3].copy()  # replaced from outside: packed afresh
    assert fast.flat_parameters(net) is not theta


# ------------------------------------------------------------------ whole training runs
def _fit(estimator, X, y, sample_weight=None):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kind,params",
    [
        ("regressor", dict(solver="sgd", activation="tanh", batch_size=32, momentum=0.0)),
        ("regressor", dict(solver="sgd", activation="relu", batch_size=50, momentum=0.9)),
        ("regressor", dict(solver="adam", activation="logistic", batch_size=64)),
        ("regressor", dict(solver="lbfgs", activation="tanh")),
        ("classifier", dict(solver="adam", activation="relu", batch_size=40)),
        ("classifier", dict(solver="sgd", activation="softplus", batch_size=30, early_stopping=True)),
    ],
)
def test_training_run_on_fast_path_equals_plain_path(kind, params, dtype):
    from deltaprop import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    # 301 samples: the last batch is smaller than the others
    X = rng.normal(size=(301, 6)).astype(dtype)
    if kind == "regressor":
        y = np.stack([np.sin(X[:, 0]) + X[:, 1], X[:, 2] * X[:, 3]], axis=1)
        make = MLPRegressor
    else:
        y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
        make = MLPClassifier
    weights = rng.random(301) + 0.5
    settings = dict(hidden_layer_sizes=(9, 7), max_iter=15, random_state=3, alpha=1e-3, **params)
    fast_est = _fit(make(**settings), X, y, weights)
    with fast.plain_paths():
        plain_est = _fit(make(**settings), X, y, weights)
    tol = 1e-8 if dtype == np.float64 else 2e-3
    assert fast_est.n_iter_ == plain_est.n_iter_
    np.testing.assert_allclose(fast_est.loss_curve_, plain_est.loss_curve_, rtol=tol)
    for a, b in zip(fast_est.coefs_ + fast_est.intercepts_, plain_est.coefs_ + plain_est.intercepts_):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    np.testing.assert_allclose(fast_est.predict(X), plain_est.predict(X), rtol=tol, atol=tol)


def test_batches_gathered_in_blocks_of_any_size_train_alike(monkeypatch):
    from deltaprop import MLPRegressor
    from deltaprop.training import loop as training

    rng = np.random.default_rng(1)
    X = rng.normal(size=(250, 5))
    y = X @ rng.normal(size=5)
    weights = rng.random(250) + 0.5
    settings = dict(hidden_layer_sizes=(8,), solver="sgd", batch_size=32, max_iter=5, random_state=0)
    runs = []
    # the whole epoch in one block; a block of 3 batches (the last one partial); one batch
    for block_bytes in (2**20, 3 * 32 * 6 * 8, 0):
        monkeypatch.setattr(training, "_GATHER_BLOCK_BYTES", block_bytes)
        runs.append(_fit(MLPRegressor(**settings), X, y, weights))
    for run in runs[1:]:
        assert run.loss_curve_ == runs[0].loss_curve_
        np.testing.assert_array_equal(run.network_.get_flat(), runs[0].network_.get_flat())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dropout_backprop_is_the_network_gradient_with_the_mask_it_draws(dtype):
    # each call draws a fresh mask; the result is Network.gradients with that very mask
    net = Network([3, 5, 4, 2], activation=["tanh", "relu"], random_state=0, dtype=dtype)
    rng = np.random.default_rng(2)
    X, D = rng.normal(size=(7, 3)).astype(dtype), rng.normal(size=(7, 2)).astype(dtype)
    s = rng.uniform(0.5, 2.0, size=7).astype(dtype)
    backprop = fast.batch_backprop(net, 7, 0.1, dropout=[0.3, 0.5], random_state=np.random.RandomState(4))
    assert isinstance(backprop, fast.DropoutBatchBackprop)
    draws = np.random.RandomState(4)
    for _ in range(2):
        loss, gW, gb = backprop(X, D, s)
        mask = net.dropout_mask([0.3, 0.5], 7, draws)
        expected = net.gradients(X, D, alpha=0.1, sample_weight=s, dropout_mask=mask)
        assert loss == expected.loss
        for l in net.layers:
            np.testing.assert_array_equal(gW[l], expected.W[l])
            np.testing.assert_array_equal(gb[l], expected.b[l])


def test_the_l2_loss_has_the_same_bits_whether_or_not_the_parameters_are_packed():
    """The penalty is summed layer by layer in either layout: a network whose W and b are views of
    one θ (after a stochastic fit) and a copy that is not (an L-BFGS refit of a loaded model)
    report the same loss and gradient bits for the same weights."""
    from deltaprop.speed.backprop import BatchBackprop, flat_parameters

    rng = np.random.default_rng(3)
    X, D = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    for seed in range(20):
        loose = Network([3, 5, 4, 2], "tanh", random_state=seed)
        packed = Network([3, 5, 4, 2], "tanh", random_state=seed)
        flat_parameters(packed)
        (loss_a, gW_a, _), (loss_b, gW_b, _) = (BatchBackprop(net, 16, alpha=0.37)(X, D)
                                                for net in (loose, packed))
        assert loss_a == loss_b, seed
        for l in loose.layers:
            np.testing.assert_array_equal(gW_a[l], gW_b[l])
