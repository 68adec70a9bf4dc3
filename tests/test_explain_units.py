"""core.units: the one definition of a dead and of a saturated unit, shared by explain and the report."""

from __future__ import annotations

import numpy as np

from deltaprop.core import activations
from deltaprop.core.units import SATURATED_SHARE, unit_activity


def _activity(name, u):
    f = activations.get(name)
    return unit_activity(f, u, f.f(u))


def test_a_unit_flat_on_every_sample_is_dead_whatever_its_activation():
    u = np.array([[-5.0, -1.0, -3.0], [1.0, -1.0, 2.0]])  # relu: unit 1 never fires
    assert _activity("relu", u)[:3] == (2, 1, 0)
    pinned = np.array([[30.0, 25.0, 40.0], [0.1, -0.2, 0.3]])  # tanh: unit 1 at +1 everywhere
    assert _activity("tanh", pinned)[:3] == (2, 1, 0)


def test_a_saturating_unit_flat_on_most_samples_is_saturated_but_relu_cannot_saturate():
    n = 50
    u = np.full((1, n), 20.0)
    u[0, 0] = 0.0  # flat on 49 of 50 samples (98% ≥ 90%), not all
    assert 49 / n >= SATURATED_SHARE
    tanh = _activity("tanh", u)
    assert (tanh.dead, tanh.saturated) == (0, 1) and tanh.saturated_share == 1.0
    off = -u
    off[0, 0] = 1.0
    relu = _activity("relu", off)  # off on 49 of 50 samples: sparse, not saturated, not dead
    assert (relu.dead, relu.saturated) == (0, 0)


def test_logistic_flatness_is_measured_against_its_own_largest_slope():
    # f'(u) = z(1 − z) ≤ ¼; u = 6 gives f' ≈ 0.0025 < 0.01 · ¼, u = 4 gives ≈ 0.018 > 0.0025
    assert _activity("logistic", np.array([[6.0, -6.5]])).dead == 1
    assert _activity("logistic", np.array([[4.0, -4.0]])).dead == 0


def test_leaky_relu_and_identity_are_never_flat_and_no_samples_count_nothing():
    u = np.array([[-5.0, -9.0]])
    assert _activity("leaky_relu", u)[:3] == (1, 0, 0)
    assert _activity("identity", u).flat_share == 0.0
    assert _activity("tanh", np.zeros((3, 0)))[:3] == (3, 0, 0)
