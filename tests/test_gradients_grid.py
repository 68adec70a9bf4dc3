"""Backpropagation against central differences over the grid the engine promises.

Every hidden activation × every output/loss pairing (canonical and not) × 1–4 hidden layers
× 1 and 3 outputs × with and without L2 and sample weights, in float64: the relative error
of every weight and bias is below 1e-6.
"""

import itertools
import zlib

import numpy as np
import pytest

from deltaprop import Network, gradcheck
from deltaprop.core.activations import HIDDEN_ACTIVATIONS

# (output, loss): the four canonical pairs, then non-canonical ones that use the general
# δ^(L) = f'(u^(L)) ⊙ ∂E/∂y (softmax through its Jacobian-vector product).
PAIRINGS = [
    ("identity", "squared_error"),
    ("softmax", "log_loss"),
    ("logistic", "binary_log_loss"),
    ("exp", "poisson"),
    ("logistic", "squared_error"),
    ("softmax", "squared_error"),
    ("tanh", "squared_error"),
    ("logistic", "log_loss"),
    ("softmax", "binary_log_loss"),
    ("softplus", "poisson"),
]


def targets(loss, output, n_samples, n_outputs, rng):
    """Targets D that the loss accepts."""
    if loss == "log_loss" and output == "softmax":
        return np.eye(n_outputs)[rng.integers(0, n_outputs, n_samples)]
    if loss in ("log_loss", "binary_log_loss"):
        return rng.uniform(0, 1, (n_samples, n_outputs))
    if loss == "poisson":
        return rng.poisson(2.0, (n_samples, n_outputs)).astype(float)
    return rng.normal(size=(n_samples, n_outputs))


# softmax over a single unit is constant 1, and Network refuses it: those cases are not built
CASES = [
    (activation, output, loss, depth, n_outputs)
    for activation, (output, loss), depth, n_outputs in itertools.product(
        HIDDEN_ACTIVATIONS, PAIRINGS, [1, 2, 3, 4], [1, 3]
    )
    if not (output == "softmax" and n_outputs == 1)
]


@pytest.mark.parametrize("activation,output,loss,n_hidden_layers,n_outputs", CASES)
def test_backprop_matches_central_differences(activation, output, loss, n_hidden_layers, n_outputs):
    seed = zlib.crc32(repr((activation, output, loss, n_hidden_layers, n_outputs)).encode())
    rng = np.random.default_rng(seed)
    sizes = [3] + [4] * n_hidden_layers + [n_outputs]
    net = Network(sizes, activation, output, loss, random_state=seed % 1000)
    X = rng.normal(size=(6, 3))
    D = targets(loss, output, 6, n_outputs, rng)
    for alpha, weighted in itertools.product([0.0, 0.3], [False, True]):
        sw = rng.uniform(0.2, 3.0, 6) if weighted else None
        report = gradcheck(net, X, D, alpha=alpha, sample_weight=sw)
        assert len(report) == net.n_parameters
        assert report.max_relative_error < 1e-6, (alpha, weighted, report.to_text(max_rows=5))
