"""Worked examples whose every number is derived by hand or published."""

import numpy as np
import pytest

from deltaprop import Network, derive


def seed_network_by_hand():
    """The seed's network (4 inputs, 3 outputs, identity output, squared error) with 2 relu
    hidden units: piecewise linear, so every number below is exact decimal arithmetic."""
    net = Network([4, 2, 3], activation="relu")
    net.W[2] = np.array([[0.1, 0.2, 0.0, -0.1], [-0.2, 0.1, 0.3, 0.2]])
    net.b[2] = np.array([0.1, -0.1])
    net.W[3] = np.array([[1.0, 0.5], [-1.0, 2.0], [0.5, -0.5]])
    net.b[3] = np.array([0.0, 0.5, 1.0])
    x = np.array([[1.0, 2.0, 0.0, -1.0]])
    d = np.array([[1.0, 0.0, 2.0]])
    return net, x, d


def test_seed_network_forward_pass_by_hand():
    net, x, d = seed_network_by_hand()
    fwd = net.forward(x)
    # u_1^(2) = 0.1·1 + 0.2·2 + 0.0·0 + (-0.1)(-1) + 0.1 = 0.7
    # u_2^(2) = -0.2·1 + 0.1·2 + 0.3·0 + 0.2·(-1) - 0.1 = -0.3
    np.testing.assert_allclose(fwd.u[2][:, 0], [0.7, -0.3], atol=1e-15)
    # z^(2) = relu(u^(2)) = (0.7, 0): hidden unit 2 is off for this sample
    np.testing.assert_allclose(fwd.z[2][:, 0], [0.7, 0.0], atol=1e-15)
    # y = u^(3): y_1 = 1.0·0.7 + 0.5·0 + 0 = 0.7, y_2 = -0.7 + 0 + 0.5 = -0.2,
    # y_3 = 0.35 - 0 + 1.0 = 1.35
    np.testing.assert_allclose(fwd.y[:, 0], [0.7, -0.2, 1.35], atol=1e-15)
    # E_n = ½[(0.7-1)² + (-0.2-0)² + (1.35-2)²] = ½(0.09 + 0.04 + 0.4225) = 0.27625
    assert net.loss(x, d) == pytest.approx(0.27625, abs=1e-15)


def test_seed_network_output_layer_gradient_by_hand():
    net, x, d = seed_network_by_hand()
    g = net.gradients(x, d)
    # δ^(3) = y - d = (-0.3, -0.2, -0.65)
    np.testing.assert_allclose(g.delta[3][:, 0], [-0.3, -0.2, -0.65], atol=1e-15)
    # ∂E/∂w_ji^(3) = (y_j - d_j) z_i^(2), z^(2) = (0.7, 0):
    # row j = δ_j (0.7, 0) → (-0.21, 0), (-0.14, 0), (-0.455, 0)
    np.testing.assert_allclose(g.W[3], [[-0.21, 0.0], [-0.14, 0.0], [-0.455, 0.0]], atol=1e-15)
    # ∂E/∂w_j0^(3) = (y_j - d_j) · 1
    np.testing.assert_allclose(g.b[3], [-0.3, -0.2, -0.65], atol=1e-15)


def test_seed_network_hidden_layer_gradient_by_hand():
    net, x, d = seed_network_by_hand()
    g = net.gradients(x, d)
    # δ_1^(2) = f'(u_1^(2)) Σ_k w_k1^(3) (u_k^(3) - d_k)
    #         = 1 · [1.0·(-0.3) + (-1.0)·(-0.2) + 0.5·(-0.65)] = -0.3 + 0.2 - 0.325 = -0.425
    # δ_2^(2) = f'(-0.3) · (…) = 0: the relu is off, nothing flows back through unit 2
    np.testing.assert_allclose(g.delta[2][:, 0], [-0.425, 0.0], atol=1e-15)
    # ∂E/∂w_1i^(2) = δ_1^(2) x_i = -0.425 · (1, 2, 0, -1)
    np.testing.assert_allclose(
        g.W[2], [[-0.425, -0.85, 0.0, 0.425], [0.0, 0.0, 0.0, 0.0]], atol=1e-15
    )
    np.testing.assert_allclose(g.b[2], [-0.425, 0.0], atol=1e-15)
    # and the seed's element-wise formula gives the same number for w_12^(2)
    assert derive(net, (2, 1, 2), x, d).value == pytest.approx(-0.85, abs=1e-15)


def mazur_network():
    """Mazur, "A Step by Step Backpropagation Example": 2-2-2, logistic everywhere, squared error.

    Mazur's w1..w4 feed the hidden layer (w1: i1→h1, w2: i2→h1, w3: i1→h2, w4: i2→h2),
    w5..w8 the output layer (w5: h1→o1, w6: h2→o1, w7: h1→o2, w8: h2→o2); in the seed's
    orientation W[l][j-1, i-1] is the link from unit i to unit j.
    """
    net = Network([2, 2, 2], activation="logistic", output="logistic", loss="squared_error")
    net.W[2] = np.array([[0.15, 0.20], [0.25, 0.30]])
    net.b[2] = np.array([0.35, 0.35])
    net.W[3] = np.array([[0.40, 0.45], [0.50, 0.55]])
    net.b[3] = np.array([0.60, 0.60])
    return net, np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])


def test_mazur_total_error():
    net, x, d = mazur_network()
    assert net.loss(x, d) == pytest.approx(0.298371109, abs=1e-9)


def test_mazur_output_weight_w5():
    net, x, d = mazur_network()
    # logistic output with squared error is not a canonical pair:
    # δ_1^(3) = (y_1 - d_1) y_1 (1 - y_1), and ∂E/∂w5 = δ_1^(3) z_1^(2)
    assert net.gradients(x, d).W[3][0, 0] == pytest.approx(0.082167041, abs=1e-9)
    assert derive(net, (3, 1, 1), x, d).value == pytest.approx(0.082167041, abs=1e-9)


def test_mazur_hidden_weight_w1():
    net, x, d = mazur_network()
    assert net.gradients(x, d).W[2][0, 0] == pytest.approx(0.000438568, abs=1e-9)
    assert derive(net, (2, 1, 1), x, d).value == pytest.approx(0.000438568, abs=1e-9)
