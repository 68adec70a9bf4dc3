"""Backpropagation against central differences over the grid the engine promises.

Every hidden activation × every output/loss pairing (canonical and not: the derivation of
δ^(L) differs), in full; 1–4 hidden layers and 1 or 3 outputs chosen so that every value of
each meets every activation, every pairing and each other (``tests/_pairwise.py``); each case
with and without L2 and sample weights, in float64: the relative error of every weight and
bias is below 1e-6.
"""

import itertools
import zlib

import numpy as np
import pytest

from _pairwise import cases
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
    for activation, (output, loss), depth, n_outputs in cases(
        {"activation": HIDDEN_ACTIVATIONS, "pairing": PAIRINGS, "depth": [1, 2, 3, 4], "n_outputs": [1, 3]},
        full=("activation", "pairing"),
        allowed=lambda row: not (row.get("pairing", ("",))[0] == "softmax" and row.get("n_outputs") == 1),
    )
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
