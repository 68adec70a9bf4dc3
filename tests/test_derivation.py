"""The seed's element-wise formulas against the vectorised δ recursion."""

import numpy as np
import pytest

from deltaprop import Network, derive
from deltaprop.core.derivation import parse_weight


def all_weights(net):
    for l in net.layers:
        n_l, n_prev = net.W[l].shape
        for j in range(1, n_l + 1):
            for i in range(0, n_prev + 1):
                yield l, j, i


def grad_of(g, l, j, i):
    return g.b[l][j - 1] if i == 0 else g.W[l][j - 1, i - 1]


@pytest.mark.parametrize("n_hidden", [1, 5, 8])
def test_elementwise_equals_vectorised_on_seed_network(n_hidden, rng):
    net = Network([4, n_hidden, 3], activation="tanh", random_state=1)
    X, D = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    g = net.gradients(X, D)
    for l, j, i in all_weights(net):
        expected = grad_of(g, l, j, i)
        assert derive(net, (l, j, i), X, D).value == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "sizes,activation,output,loss",
    [
        ([4, 6, 5, 3], "relu", None, "squared_error"),
        ([3, 5, 4, 4, 2], ["tanh", "softplus", "leaky_relu"], "logistic", "binary_log_loss"),
        ([5, 4, 4, 4, 4, 3], "logistic", None, "log_loss"),
        ([3, 4, 4, 3], "tanh", "softmax", "squared_error"),
        ([3, 4, 2], "relu", "exp", "poisson"),
    ],
)
def test_elementwise_equals_vectorised_on_deeper_networks(sizes, activation, output, loss, rng):
    net = Network(sizes, activation, output, loss, random_state=2)
    n = 4
    X = rng.normal(size=(n, sizes[0]))
    if loss == "log_loss":
        D = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    elif loss == "poisson":
        D = rng.poisson(1.5, (n, sizes[-1])).astype(float)
    else:
        D = rng.uniform(0, 1, (n, sizes[-1]))
    sw = rng.uniform(0.5, 2, n)
    g = net.gradients(X, D, alpha=0.2, sample_weight=sw)
    for l, j, i in all_weights(net):
        value = derive(net, (l, j, i), X, D, alpha=0.2, sample_weight=sw).value
        assert value == pytest.approx(grad_of(g, l, j, i), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "loss,params", [("absolute_error", {}), ("huber", {"epsilon": 0.4}), ("quantile", {"quantile": 0.3})]
)
def test_elementwise_equals_vectorised_for_the_robust_losses(loss, params, rng):
    net = Network([3, 4, 2], "tanh", loss=loss, random_state=5, **params)
    X = rng.normal(size=(6, 3))
    D = net.predict(X) + rng.choice([-1, 1], size=(6, 2)) * rng.uniform(0.05, 1.0, size=(6, 2))
    g = net.gradients(X, D, alpha=0.1)
    for l, j, i in all_weights(net):
        value = derive(net, (l, j, i), X, D, alpha=0.1).value
        assert value == pytest.approx(grad_of(g, l, j, i), rel=1e-12, abs=1e-15)


def test_elementwise_equals_vectorised_with_a_dropout_mask(rng):
    net = Network([3, 5, 4, 2], ["relu", "tanh"], random_state=6)
    X, D = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    mask = net.dropout_mask([0.3, 0.5], 5, random_state=2)
    g = net.gradients(X, D, dropout_mask=mask)
    for l, j, i in all_weights(net):
        d = derive(net, (l, j, i), X, D, dropout_mask=mask)
        assert d.value == pytest.approx(grad_of(g, l, j, i), rel=1e-12, abs=1e-15)
    sample = d.samples[0]
    assert sample.mask[2] == list(mask[2][0]) and sample.mask[3] == list(mask[3][0])


def test_seed_formulas_read_literally(rng):
    """The seed's two results, computed term by term from the forward pass:

    ∂E_n/∂w_ji^(3) = (y_j − d_j) z_i^(2)
    ∂E_n/∂w_ji^(2) = f'(u_j^(2)) Σ_k w_kj^(3) (u_k^(3) − d_k) z_i^(1)
    """
    net = Network([4, 5, 3], activation="tanh", random_state=3)
    x, d = rng.normal(size=(1, 4)), rng.normal(size=(1, 3))
    fwd = net.forward(x)
    u2, z2, u3 = fwd.u[2][:, 0], fwd.z[2][:, 0], fwd.u[3][:, 0]
    y = u3  # identity output
    g = net.gradients(x, d)
    for j in range(1, 4):
        for i in range(1, 6):
            assert g.W[3][j - 1, i - 1] == pytest.approx((y[j - 1] - d[0, j - 1]) * z2[i - 1], rel=1e-12)
    for j in range(1, 6):
        fprime = 1 - np.tanh(u2[j - 1]) ** 2
        back = sum(net.W[3][k - 1, j - 1] * (u3[k - 1] - d[0, k - 1]) for k in range(1, 4))
        for i in range(1, 5):
            assert g.W[2][j - 1, i - 1] == pytest.approx(fprime * back * x[0, i - 1], rel=1e-12)


@pytest.mark.parametrize(
    "weight,message",
    [
        ((1, 1, 1), "layers 2 … 3"),
        ((4, 1, 1), "layers 2 … 3"),
        ((3, 4, 1), "units 1 … 3"),
        ((2, 1, 5), "units 1 … 4"),
        ("3-2-1", "'l:j,i'"),
    ],
)
def test_parse_weight_names_the_valid_range(weight, message):
    net = Network([4, 5, 3])
    with pytest.raises(ValueError, match=message):
        parse_weight(net, weight)


def test_parse_weight_reads_the_string_form():
    assert parse_weight(Network([4, 5, 3]), "3:2,1") == (3, 2, 1)
    assert parse_weight(Network([4, 5, 3]), "2:5,0") == (2, 5, 0)


def test_a_weight_index_that_is_not_a_whole_number_is_refused_not_truncated():
    """(2, 1.7, 1) named no unit: int() made it w_11^(2); every caller of parse_weight (explain,
    gradcheck) now refuses it in one line, and numpy integers are whole numbers."""
    net = Network([4, 5, 3], "tanh", random_state=0)
    for weight in [(2, 1.7, 1), (2, 1, 2.0), (True, 1, 1)]:
        with pytest.raises(ValueError, match="the indices .l, j, i. must be whole numbers"):
            parse_weight(net, weight)
    assert parse_weight(net, (np.int64(3), 2, 1)) == (3, 2, 1)
