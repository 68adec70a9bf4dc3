"""Network: shapes, dtypes, reproducibility, stability, normalisation and bad arguments."""

import warnings

import numpy as np
import pytest

from deltaprop import Network, gradcheck, gradient_descent
from deltaprop.core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS


def test_seed_network_shapes_follow_the_seed_numbering():
    net = Network([4, 5, 3])
    assert list(net.layers) == [2, 3]
    assert net.W[2].shape == (5, 4) and net.b[2].shape == (5,)
    assert net.W[3].shape == (3, 5) and net.b[3].shape == (3,)
    assert net.n_parameters == 5 * 4 + 5 + 3 * 5 + 3


def test_fixed_random_state_reproduces_every_array_bit_for_bit():
    a = Network([4, 7, 6, 3], "relu", random_state=42)
    b = Network([4, 7, 6, 3], "relu", random_state=42)
    for l in a.layers:
        assert a.W[l].tobytes() == b.W[l].tobytes()
        assert a.b[l].tobytes() == b.b[l].tobytes()
    c = Network([4, 7, 6, 3], "relu", random_state=43)
    assert not np.array_equal(a.W[2], c.W[2])


def test_initialisation_is_glorot_uniform_as_scikit_learn_draws_it():
    # scikit-learn draws coef (fan_in, fan_out) then intercept per layer from one RandomState,
    # bound sqrt(6 / (fan_in + fan_out)), sqrt(2 / …) for logistic
    for activation, factor in [("tanh", 6.0), ("logistic", 2.0)]:
        net = Network([4, 5, 3], activation, random_state=0)
        rs = np.random.RandomState(0)
        for l, (fan_in, fan_out) in zip([2, 3], [(4, 5), (5, 3)]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            np.testing.assert_array_equal(net.W[l], rs.uniform(-bound, bound, (fan_in, fan_out)).T)
            np.testing.assert_array_equal(net.b[l], rs.uniform(-bound, bound, fan_out))


def test_float32_in_float32_out(rng):
    net = Network([4, 6, 3], "tanh", random_state=0, dtype=np.float32)
    X = rng.normal(size=(10, 4))  # float64 input is converted to the network's dtype
    D = rng.normal(size=(10, 3))
    assert all(w.dtype == np.float32 for w in net.W.values())
    assert net.predict(X).dtype == np.float32
    fwd = net.forward(X)
    assert all(u.dtype == np.float32 for u in fwd.u.values())
    g = net.gradients(X, D, alpha=0.5, sample_weight=np.linspace(0.5, 2, 10))
    assert all(gw.dtype == np.float32 for gw in g.W.values())
    assert all(gb.dtype == np.float32 for gb in g.b.values())
    g64 = net.copy()
    g64.dtype = np.dtype(np.float64)
    g64.W = {l: w.astype(np.float64) for l, w in net.W.items()}
    g64.b = {l: v.astype(np.float64) for l, v in net.b.items()}
    ref = g64.gradients(X.astype(np.float32), D.astype(np.float32), alpha=0.5,
                        sample_weight=np.linspace(0.5, 2, 10).astype(np.float32))
    for l in net.layers:
        np.testing.assert_allclose(g.W[l], ref.W[l], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("n_outputs", [2, 3, 5])
def test_multi_output_squared_error_loss_and_gradient_share_one_normalisation(n_outputs, rng):
    """The loss is the mean over samples of ½ Σ_k (y_k - d_k)², summed over outputs, and the
    gradient is its derivative.  Dividing the loss by n_outputs (scikit-learn #8349) while
    returning the undivided gradient would fail both assertions."""
    net = Network([3, 4, n_outputs], "tanh", random_state=1)
    X, D = rng.normal(size=(8, 3)), rng.normal(size=(8, n_outputs))
    y = net.predict(X)
    assert net.loss(X, D) == pytest.approx(np.mean(0.5 * ((y - D) ** 2).sum(axis=1)), rel=1e-14)
    assert gradcheck(net, X, D).max_relative_error < 1e-6


def test_loss_with_sample_weights_and_l2_is_the_documented_formula(rng):
    net = Network([3, 4, 2], "tanh", random_state=1)
    X, D = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    s, alpha = rng.uniform(0.5, 2, 8), 0.7
    E = 0.5 * ((net.predict(X) - D) ** 2).sum(axis=1)
    penalty = 0.5 * alpha * sum((w**2).sum() for w in net.W.values())  # biases not penalised
    expected = (E @ s + penalty) / s.sum()
    assert net.loss(X, D, alpha=alpha, sample_weight=s) == pytest.approx(expected, rel=1e-14)


def test_gradients_report_the_loss_they_are_the_gradient_of(rng):
    net = Network([3, 4, 2], "relu", random_state=1)
    X, D = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    assert net.gradients(X, D, alpha=0.1).loss == net.loss(X, D, alpha=0.1)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_central_difference(name):
    act = ACTIVATIONS[name]
    u = np.array([[-3.0, -1.2, -0.3, 0.4, 1.1, 2.5]]).T  # a column of units (kinks avoided)
    u = np.hstack([u, u[::-1] * 0.5])
    g = np.linspace(-1, 1, u.size).reshape(u.shape)  # any upstream ∂E/∂z
    h = 1e-6
    # central difference of Σ g ⊙ f(u) with respect to each u gives the backward product
    numerical = np.zeros_like(u)
    for idx in np.ndindex(u.shape):
        up, um = u.copy(), u.copy()
        up[idx] += h
        um[idx] -= h
        numerical[idx] = ((g * act.f(up)).sum() - (g * act.f(um)).sum()) / (2 * h)
    np.testing.assert_allclose(act.backward(u, act.f(u), g), numerical, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "output,loss",
    [("logistic", "binary_log_loss"), ("softmax", "log_loss"), ("logistic", "squared_error"),
     ("logistic", "log_loss"), ("identity", "squared_error")],
)
def test_no_overflow_for_inputs_up_to_1e4(output, loss):
    net = Network([2, 3, 2], "logistic", output, loss, random_state=0)
    net.W[3][:] = [[1e4, -1e4, 1e4], [-1e4, 1e4, -1e4]]  # drives |u^(3)| to about 1e4
    X = np.array([[50.0, -50.0], [-50.0, 50.0], [0.0, 1.0]])
    D = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            z = net.forward(X).z
            for l in net.layers:
                assert np.isfinite(z[l]).all()
            loss_value = net.loss(X, D)
    assert np.isfinite(loss_value)


def test_log_losses_are_computed_from_u_without_clipping():
    # a confidently wrong logistic output: y = σ(-800) underflows to 0, yet E = 800 exactly
    net = Network([1, 1], output="logistic", loss="binary_log_loss")
    net.W[2][:] = 1.0
    net.b[2][:] = 0.0
    assert net.loss([[-800.0]], [[1.0]]) == pytest.approx(800.0)
    net = Network([1, 2], output="softmax", loss="log_loss")
    net.W[2][:] = [[1.0], [-1.0]]
    net.b[2][:] = 0.0
    assert net.loss([[-400.0]], [[1.0, 0.0]]) == pytest.approx(800.0)


def test_gradient_descent_makes_the_loss_fall(rng):
    X = rng.uniform(-1, 1, (50, 4))
    D = np.column_stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2], X[:, 3]])
    net = Network([4, 5, 3], "tanh", random_state=0)
    history = gradient_descent(net, X, D, learning_rate=0.2, n_epochs=300)
    assert len(history) == 301
    assert history[-1] < 0.5 * history[0]
    assert history[-1] == pytest.approx(net.loss(X, D))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(sizes=[4, 5, 3], activation="sigmoid"), "unknown hidden activation 'sigmoid'; allowed:"),
        (dict(sizes=[4, 5, 3], activation=["tanh", "relu"]), "2 names but the network has 1 hidden"),
        (dict(sizes=[4, 5, 3], loss="mse"), "unknown loss 'mse'; allowed: squared_error"),
        (dict(sizes=[4, 5, 3], output="softmax", loss="binary_log_loss", activation="bogus"),
         "unknown hidden activation"),
        (dict(sizes=[4, 5, 3], output="identity", loss="log_loss"), "allowed: softmax, logistic"),
        (dict(sizes=[4, 5, 1], output="softmax", loss="log_loss"), "at least 2 output units"),
        (dict(sizes=[4]), "at least two layers"),
        (dict(sizes=[4, 0, 3]), "positive integer"),
        (dict(sizes=[4, -2, 3]), "positive integer"),
        (dict(sizes=[4, 2.5, 3]), "positive integer"),
        (dict(sizes=[4, 5, 3], dtype=np.int32), "float32 or float64"),
        (dict(sizes=[4, 5, 3], loss="huber", epsilon=0.0), "huber needs epsilon > 0"),
        (dict(sizes=[4, 5, 3], loss="quantile", quantile=1.0), "0 < quantile < 1"),
    ],
)
def test_bad_constructor_arguments_name_the_problem(kwargs, message):
    sizes = kwargs.pop("sizes")
    with pytest.raises(ValueError, match=message):
        Network(sizes, **kwargs)


@pytest.mark.parametrize(
    "X,D,message",
    [
        (np.zeros((5, 3)), np.zeros((5, 3)), r"X must have shape \(n_samples, 4\)"),
        (np.zeros((5, 4)), np.zeros((5, 2)), r"D must have shape \(5, 3\)"),
        (np.zeros((5, 4)), np.zeros((4, 3)), r"D must have shape \(5, 3\)"),
        (np.full((5, 4), np.nan), np.zeros((5, 3)), "X contains NaN or infinity"),
        (np.zeros((5, 4)), np.full((5, 3), np.inf), "D contains NaN or infinity"),
        (np.array([["a"] * 4] * 5), np.zeros((5, 3)), "X must be numeric"),
    ],
)
def test_bad_data_names_the_problem(X, D, message):
    net = Network([4, 5, 3])
    with pytest.raises(ValueError, match=message):
        net.gradients(X, D)
    with pytest.raises(ValueError, match=message):
        net.loss(X, D)


def test_log_loss_targets_must_be_distributions():
    net = Network([2, 3, 3], loss="log_loss")
    with pytest.raises(ValueError, match="sum to 1"):
        net.loss(np.zeros((2, 2)), [[1, 1, 0], [0, 0, 1]])


def test_from_weights_copies_and_checks_shapes():
    W = [np.ones((3, 2)), np.ones((1, 3))]
    b = [np.zeros(3), np.zeros(1)]
    net = Network.from_weights(W, b, activation="relu")
    assert net.sizes == (2, 3, 1)
    W[0][0, 0] = 5.0
    assert net.W[2][0, 0] == 1.0
    with pytest.raises(ValueError, match="layer 3"):
        Network.from_weights([np.ones((3, 2)), np.ones((1, 4))], b)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_torch_autograd_agrees(activation, rng):
    torch = pytest.importorskip("torch")
    net = Network([4, 6, 5, 3], activation, output="softmax", loss="log_loss", random_state=4)
    X = rng.normal(size=(9, 4))
    D = np.eye(3)[rng.integers(0, 3, 9)]
    s = rng.uniform(0.5, 2, 9)
    alpha = 0.3
    g = net.gradients(X, D, alpha=alpha, sample_weight=s)

    functions = {
        "identity": lambda u: u, "logistic": torch.sigmoid, "tanh": torch.tanh,
        "relu": torch.relu, "leaky_relu": lambda u: torch.nn.functional.leaky_relu(u, 0.01),
        "softplus": torch.nn.functional.softplus,
    }
    Ws = {l: torch.tensor(net.W[l], requires_grad=True) for l in net.layers}
    bs = {l: torch.tensor(net.b[l], requires_grad=True) for l in net.layers}
    z = torch.tensor(X)
    for l in net.layers:
        u = z @ Ws[l].T + bs[l]
        z = functions[activation](u) if l < net.L else u
    E = -(torch.tensor(D) * torch.log_softmax(z, dim=1)).sum(dim=1)
    sw = torch.tensor(s)
    loss = ((E * sw).sum() + 0.5 * alpha * sum((w**2).sum() for w in Ws.values())) / sw.sum()
    loss.backward()
    assert net.loss(X, D, alpha=alpha, sample_weight=s) == pytest.approx(loss.item(), rel=1e-12)
    for l in net.layers:
        np.testing.assert_allclose(g.W[l], Ws[l].grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(g.b[l], bs[l].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_astype_copies_parameters_into_the_new_dtype_and_leaves_the_original_alone():
    net = Network([3, 4, 2], random_state=0, dtype=np.float32)
    net64 = net.astype(np.float64)
    assert net64.dtype == np.float64 and net.dtype == np.float32
    for l in net.layers:
        assert net64.W[l].dtype == np.float64 and net64.b[l].dtype == np.float64
        np.testing.assert_array_equal(net64.W[l], net.W[l])
        np.testing.assert_array_equal(net64.b[l], net.b[l])
    net64.W[2][0, 0] += 1.0
    assert net64.W[2][0, 0] != net.W[2][0, 0]
    assert net.W[2].dtype == np.float32


def test_central_difference_of_one_weight_matches_backprop_and_restores_it(rng):
    from deltaprop.core.gradcheck import central_difference

    net = Network([3, 4, 2], "tanh", random_state=1)
    X, D = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    before = net.W[2].copy()
    g = net.gradients(X, D, alpha=0.2)
    assert central_difference(net, "2:3,2", X, D, alpha=0.2) == pytest.approx(g.W[2][2, 1], rel=1e-7)
    assert central_difference(net, (3, 1, 0), X, D, alpha=0.2) == pytest.approx(g.b[3][0], rel=1e-7)
    np.testing.assert_array_equal(net.W[2], before)


ROBUST = [("absolute_error", {}), ("huber", {"epsilon": 0.3}), ("quantile", {"quantile": 0.8})]


def test_robust_losses_are_their_formulas_with_zero_slope_at_the_kinks():
    # one output, three samples: residuals r = y - d of -2, 0 and 0.1
    net = Network.from_weights([np.zeros((1, 1))], [np.zeros(1)], activation="identity")
    X, D = np.zeros((3, 1)), np.array([[2.0], [0.0], [-0.1]])
    for loss, params, per_sample, slope in [
        ("absolute_error", {}, [2.0, 0.0, 0.1], [-1.0, 0.0, 1.0]),
        ("huber", {"epsilon": 0.5}, [0.5 * (2 - 0.25), 0.0, 0.5 * 0.01], [-0.5, 0.0, 0.1]),
        ("quantile", {"quantile": 0.8}, [0.8 * 2, 0.0, 0.2 * 0.1], [-0.8, 0.0, 0.2]),
    ]:
        robust = Network([1, 1], "identity", loss=loss, random_state=0, **params)
        robust.W[2][...], robust.b[2][...] = net.W[2], net.b[2]
        assert robust.loss(X, D) == pytest.approx(np.mean(per_sample), rel=1e-14)
        g = robust.gradients(X, D)
        np.testing.assert_allclose(g.delta[2][0], slope, rtol=1e-14)


@pytest.mark.parametrize("loss,params", ROBUST)
@pytest.mark.parametrize("output", ["identity", "tanh"])
def test_robust_losses_pass_gradcheck_away_from_the_kinks(loss, params, output, rng):
    net = Network([3, 5, 2], "tanh", output, loss, random_state=3, **params)
    X = rng.normal(size=(12, 3))
    y = net.predict(X)
    # targets a clear distance from y (and, for huber, residuals on both sides of ε)
    offsets = rng.choice([-1, 1], size=y.shape) * rng.uniform(0.05, 0.6, size=y.shape)
    report = gradcheck(net, X, y + offsets, alpha=0.01)
    assert report.passed, report.to_text(5)


def test_dropout_mask_is_inverted_reproducible_and_checked(rng):
    net = Network([3, 400, 2, 2], random_state=0)
    a = net.dropout_mask([0.25, 0.0], 50, random_state=7)
    b = net.dropout_mask([0.25, 0.0], 50, random_state=7)
    assert a.keys() == {2} and a[2].shape == (50, 400)
    np.testing.assert_array_equal(a[2], b[2])
    assert set(np.unique(a[2])) == {0.0, 1 / 0.75}
    assert abs((a[2] == 0).mean() - 0.25) < 0.02
    with pytest.raises(ValueError, match="one rate, or one per hidden layer"):
        net.dropout_mask([0.1], 5)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        net.dropout_mask(1.0, 5)
    with pytest.raises(ValueError, match="only hidden layers 2 … 3"):
        net.gradients(np.zeros((5, 3)), np.zeros((5, 2)), dropout_mask={4: np.ones((5, 2))})


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_dropout_gradients_pass_gradcheck_with_a_fixed_mask(activation, rng):
    net = Network([3, 6, 5, 2], activation, random_state=4)
    X, D = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    mask = net.dropout_mask(0.4, 8, random_state=1)
    report = gradcheck(net, X, D, alpha=0.05, dropout_mask=mask)
    assert report.passed, report.to_text(5)
    g = net.gradients(X, D, dropout_mask=mask)
    dropped = mask[2] == 0
    # a dropped unit passes no signal: δ_j = m_j f'(u_j) Σ_k w_kj δ_k = 0 there
    assert np.all(g.delta[2].T[dropped] == 0)
    assert g.loss == net.loss(X, D, dropout_mask=mask) != net.loss(X, D)


def test_the_l2_term_has_one_definition_that_the_loss_and_the_fast_path_use():
    from deltaprop.core.losses import l2_penalty
    from deltaprop.speed.backprop import batch_backprop

    assert l2_penalty(0.5, [np.array([[1.0, 2.0]]), np.array([3.0])]) == 0.5 * 0.5 * 14
    assert l2_penalty(0.0, [np.array([np.nan])]) == 0.0
    net = Network([3, 4, 2], activation="tanh", random_state=0)
    X, D = np.random.default_rng(0).normal(size=(5, 3)), np.random.default_rng(1).normal(size=(5, 2))
    plain = net.loss(X, D)
    penalised = net.loss(X, D, alpha=0.3)
    assert penalised - plain == pytest.approx(l2_penalty(0.3, net.W.values()) / 5, rel=1e-12)
    assert batch_backprop(net, 5, 0.3)(X, D)[0] == pytest.approx(penalised, rel=1e-12)
