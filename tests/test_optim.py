"""Optimisers: one step of each equals its closed form, computed here; schedules; L-BFGS."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.core.optim import SGD, Adam, AdamW, clip_by_global_norm, cosine_rate, lbfgs


@pytest.fixture
def params_and_grads():
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3, 2)), rng.normal(size=3)]
    grads = [rng.normal(size=(3, 2)), rng.normal(size=3)]
    return params, grads


def test_sgd_without_momentum_steps_minus_learning_rate_times_gradient(params_and_grads):
    params, grads = params_and_grads
    before = [p.copy() for p in params]
    SGD(params, learning_rate_init=0.1, momentum=0.0, nesterov=False).update(params, grads)
    for w, w0, g in zip(params, before, grads):
        np.testing.assert_allclose(w, w0 - 0.1 * g, rtol=0, atol=1e-15)


def test_sgd_momentum_second_step_adds_mu_times_first_velocity(params_and_grads):
    params, grads = params_and_grads
    before = [p.copy() for p in params]
    eta, mu = 0.1, 0.9
    opt = SGD(params, learning_rate_init=eta, momentum=mu, nesterov=False)
    opt.update(params, grads)
    grads2 = [2 * g + 1 for g in grads]
    opt.update(params, grads2)
    for w, w0, g1, g2 in zip(params, before, grads, grads2):
        v1 = -eta * g1  # v ← μ·0 - η g1
        v2 = mu * v1 - eta * g2  # v ← μ v1 - η g2
        np.testing.assert_allclose(w, w0 + v1 + v2, rtol=0, atol=1e-14)


def test_nesterov_first_step_is_minus_eta_one_plus_mu_times_gradient(params_and_grads):
    params, grads = params_and_grads
    before = [p.copy() for p in params]
    eta, mu = 0.1, 0.9
    SGD(params, learning_rate_init=eta, momentum=mu, nesterov=True).update(params, grads)
    for w, w0, g in zip(params, before, grads):
        # v1 = -η g, then the look-ahead step μ v1 - η g = -η (1 + μ) g
        np.testing.assert_allclose(w, w0 - eta * (1 + mu) * g, rtol=0, atol=1e-15)


def test_adam_first_step_matches_bias_corrected_closed_form(params_and_grads):
    params, grads = params_and_grads
    before = [p.copy() for p in params]
    eta, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    Adam(params, eta, b1, b2, eps).update(params, grads)
    for w, w0, g in zip(params, before, grads):
        m = (1 - b1) * g
        s = (1 - b2) * g**2
        m_hat, s_hat = m / (1 - b1), s / (1 - b2)  # bias-corrected moments
        # the paper's efficient form (η_t folds in the corrections) puts ε/√(1-β₂ᵗ) here
        expected = w0 - eta * m_hat / (np.sqrt(s_hat) + eps / math.sqrt(1 - b2))
        np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-15)


def test_adam_first_step_moves_every_weight_by_about_eta(params_and_grads):
    params, grads = params_and_grads
    before = [p.copy() for p in params]
    Adam(params, 0.01).update(params, grads)
    for w, w0, g in zip(params, before, grads):
        # m̂/√ŝ = g/|g| at t = 1: Adam's first step is η sign(g)
        np.testing.assert_allclose(w0 - w, 0.01 * np.sign(g), rtol=1e-5)


def test_adam_counts_steps(params_and_grads):
    params, grads = params_and_grads
    opt = Adam(params, 0.01)
    for _ in range(3):
        opt.update(params, grads)
    assert opt.t == 3


def test_optimiser_state_follows_parameter_positions_not_array_identity(params_and_grads):
    params, grads = params_and_grads
    opt = Adam(params, 0.01)
    opt.update(params, grads)
    reference, reference_params = copy.deepcopy(opt), [p.copy() for p in params]
    reference.update(reference_params, grads)
    moved = [p.copy() for p in params]  # new arrays (new ids) holding the same values
    opt.update(moved, grads)
    for a, b in zip(moved, reference_params):
        np.testing.assert_array_equal(a, b)


def test_float32_parameters_stay_float32_after_adam():
    params = [np.ones((2, 2), dtype=np.float32)]
    Adam(params, 0.01).update(params, [np.full((2, 2), 0.5, dtype=np.float32)])
    assert params[0].dtype == np.float32
    assert Adam(params, 0.01).ms[0].dtype == np.float32


def test_invscaling_sets_rate_to_init_over_t_plus_one_to_power_t():
    opt = SGD([np.zeros(2)], learning_rate_init=0.5, schedule="invscaling", power_t=0.25)
    opt.iteration_ends(99)
    assert opt.learning_rate == pytest.approx(0.5 / 100**0.25)


def test_constant_schedule_stops_when_loss_stalls():
    opt = SGD([np.zeros(2)], learning_rate_init=0.5, schedule="constant")
    opt.iteration_ends(1000)
    assert opt.learning_rate == 0.5
    assert opt.trigger_stopping() is True


def test_adaptive_schedule_divides_rate_by_5_instead_of_stopping():
    opt = SGD([np.zeros(2)], learning_rate_init=0.5, schedule="adaptive")
    assert opt.trigger_stopping() is False
    assert opt.learning_rate == pytest.approx(0.1)


def test_adaptive_schedule_stops_once_rate_is_at_most_1e_minus_6():
    opt = SGD([np.zeros(2)], learning_rate_init=1e-6, schedule="adaptive")
    assert opt.trigger_stopping() is True


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError, match="schedule"):
        SGD([np.zeros(2)], schedule="exponential")
    with pytest.raises(ValueError, match="cosine schedule needs n_epochs"):
        SGD([np.zeros(2)], schedule="cosine")
    with pytest.raises(ValueError, match="warm-up"):
        Adam([np.zeros(2)], schedule="cosine", n_epochs=5, warmup=5)


def test_lbfgs_finds_the_minimum_of_a_quadratic():
    A = np.diag([1.0, 4.0, 9.0])
    c = np.array([1.0, -2.0, 0.5])

    def fun(theta):
        r = theta - c
        return 0.5 * r @ A @ r, A @ r

    result = lbfgs(fun, np.zeros(3), max_iter=100, tol=1e-10)
    np.testing.assert_allclose(result.x, c, atol=1e-8)


def test_lbfgs_callback_returning_true_ends_the_run_after_that_iteration():
    seen = []

    def fun(theta):
        return float(np.sum(np.cosh(theta))), np.sinh(theta)

    lbfgs(fun, np.full(4, 3.0), max_iter=100, tol=1e-12,
          callback=lambda theta, loss: seen.append(loss) or len(seen) == 2)
    assert len(seen) == 2


def test_lbfgs_on_a_network_lowers_its_loss():
    rng = np.random.default_rng(1)
    X, D = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    net = Network([3, 4, 2], random_state=0)
    before = net.loss(X, D)

    def fun(theta):
        net.set_flat(theta)
        g = net.gradients(X, D)
        return g.loss, g.flat()

    result = lbfgs(fun, net.get_flat(), max_iter=50)
    net.set_flat(result.x)
    assert net.loss(X, D) < 0.5 * before


def test_adamw_first_step_decays_the_weights_then_takes_adam_s_step(params_and_grads):
    params, grads = params_and_grads
    before = [p.copy() for p in params]
    eta, b1, b2, eps, lam = 0.01, 0.9, 0.999, 1e-8, 0.1
    AdamW(params, eta, b1, b2, eps, weight_decay=lam).update(params, grads)
    for w, w0, g in zip(params, before, grads):
        m, s = (1 - b1) * g, (1 - b2) * g * g
        eta_1 = eta * math.sqrt(1 - b2) / (1 - b1)
        # decoupled: w0 (1 - η λ), and the decay never enters m or s
        expected = w0 * (1 - eta * lam) - eta_1 * m / (np.sqrt(s) + eps)
        np.testing.assert_allclose(w, expected, rtol=1e-13, atol=1e-15)


def test_adamw_without_decay_is_adam_to_the_bit(params_and_grads):
    params, grads = params_and_grads
    twins = [p.copy() for p in params]
    AdamW(params, 0.01, weight_decay=0.0).update(params, grads)
    Adam(twins, 0.01).update(twins, grads)
    for a, b in zip(params, twins):
        np.testing.assert_array_equal(a, b)


def test_weight_decay_differs_from_l2_in_adam(params_and_grads):
    # L2 adds λ w to g, which Adam's moments rescale; AdamW's decay does not pass through them
    params, grads = params_and_grads
    l2 = [p.copy() for p in params]
    AdamW(params, 0.01, weight_decay=0.5).update(params, grads)
    Adam(l2, 0.01).update(l2, [g + 0.5 * w for g, w in zip(grads, l2)])
    assert not np.allclose(params[0], l2[0])


def test_clipping_by_global_norm_scales_every_gradient_by_c_over_the_norm(params_and_grads):
    params, grads = params_and_grads
    before = [p.copy() for p in params]
    norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
    c = 0.5 * norm
    expected = [w0 - 0.1 * g * (c / norm) for w0, g in zip(before, grads)]
    SGD(params, 0.1, momentum=0.0, max_grad_norm=c).update(params, [g.copy() for g in grads])
    for w, e in zip(params, expected):
        np.testing.assert_allclose(w, e, rtol=1e-14, atol=1e-15)
    small = [g.copy() for g in grads]
    assert clip_by_global_norm(small, 2 * norm) == pytest.approx(norm)
    for a, b in zip(small, grads):
        np.testing.assert_array_equal(a, b)  # below c: untouched


def test_adam_clips_before_its_moments(params_and_grads):
    params, grads = params_and_grads
    twins = [p.copy() for p in params]
    norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
    Adam(params, 0.01, max_grad_norm=1.0).update(params, [g.copy() for g in grads])
    Adam(twins, 0.01).update(twins, [g / norm for g in grads])
    for a, b in zip(params, twins):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-16)


def test_cosine_schedule_with_warm_up_follows_its_closed_form():
    eta0, E, W = 0.1, 10, 2
    assert cosine_rate(eta0, 0, E, W) == pytest.approx(0.05)  # warm-up: η0 (e + 1) / W
    assert cosine_rate(eta0, 1, E, W) == pytest.approx(0.1)
    assert cosine_rate(eta0, 2, E, W) == pytest.approx(0.1)  # the cosine starts at η0
    assert cosine_rate(eta0, 6, E, W) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 4 / 8)))
    sgd = SGD([np.zeros(2)], eta0, schedule="cosine", n_epochs=E, warmup=W)
    adam = Adam([np.zeros(2)], eta0, schedule="cosine", n_epochs=E, warmup=W)
    rates = [(sgd.learning_rate, adam.base_rate)]
    for t in range(1, E):
        sgd.iteration_ends(t)
        adam.iteration_ends(t)
        rates.append((sgd.learning_rate, adam.base_rate))
    for e, (a, b) in enumerate(rates):
        assert a == b == pytest.approx(cosine_rate(eta0, e, E, W))
    assert rates[-1][0] < 0.01  # near 0 at the end


def test_adam_s_first_step_uses_the_scheduled_rate(params_and_grads):
    params, grads = params_and_grads
    twins = [p.copy() for p in params]
    Adam(params, 0.01, schedule="cosine", n_epochs=4, warmup=2).update(params, grads)
    Adam(twins, 0.005).update(twins, grads)  # warm-up epoch 0: η0 / 2
    for a, b in zip(params, twins):
        np.testing.assert_array_equal(a, b)


def test_bad_optimiser_options_name_the_problem():
    with pytest.raises(ValueError, match="max_grad_norm"):
        SGD([np.zeros(2)], max_grad_norm=0)
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW([np.zeros(2)], weight_decay=-1)
