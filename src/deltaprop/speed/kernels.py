"""Compiled elementwise passes (numba) for :mod:`deltaprop.speed.fused`, and :func:`jit`, the one
way this package compiles (:mod:`deltaprop.speed.compiled` uses it too).

Imported only when a compiled path is first used, so ``import deltaprop`` does not load numba.
Every kernel performs the same IEEE operations, in the same order, as the numpy sequence it
replaces (no ``fastmath``: no reassociation, no fused multiply-add), so with scalars of the
array's dtype its results are bitwise those of the plain path, in one pass over memory instead
of one per ufunc.  Each restates a formula of :mod:`deltaprop.core`, named by its
``# restates:`` marker (:data:`deltaprop.speed.registry.RESTATEMENTS`).
"""

from __future__ import annotations

import math

import numba


def jit(function, **options):
    """``numba.njit`` with numpy's error model (x/0 is inf or nan), cached on disk where numba
    finds a writable place, else compiled in memory once per process."""
    options = {"nogil": True, "error_model": "numpy", **options}
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # numba: "cannot cache function …: no locator available"
        return numba.njit(**options)(function)


@jit
def add_scaled(g, w, c):  # pragma: no cover - compiled
    """g ← g + w·c (the L2 gradient (α/N) W added to ∂E/∂W), 1-D arrays."""
    # restates: core.losses.l2_gradient
    for i in range(g.shape[0]):
        g[i] = g[i] + w[i] * c


@jit
def sgd_step(w, g, v, mu, eta, nesterov):  # pragma: no cover - compiled
    """:func:`deltaprop.core.optim.sgd_step`: v ← (μ v) - (η g); w ← w + v, or with Nesterov
    w ← w + ((μ v) - (η g))."""
    # restates: core.optim.sgd_step
    if mu == 0:
        neg_eta = -eta
        for i in range(w.shape[0]):
            vi = g[i] * neg_eta
            v[i] = vi
            w[i] = w[i] + vi
    elif nesterov:
        for i in range(w.shape[0]):
            eta_g = g[i] * eta
            vi = v[i] * mu - eta_g
            v[i] = vi
            w[i] = w[i] + (vi * mu - eta_g)
    else:
        for i in range(w.shape[0]):
            vi = v[i] * mu - g[i] * eta
            v[i] = vi
            w[i] = w[i] + vi


@jit
def adam_step(w, g, m, s, b1, one_minus_b1, b2, one_minus_b2, eps, neg_lr):  # pragma: no cover
    """:func:`deltaprop.core.optim.adam_step`: m ← β₁m + (1-β₁)g; s ← β₂s + (g g)(1-β₂);
    w ← w + (m·(-η_t)) / (√s + ε)."""
    # restates: core.optim.adam_step
    for i in range(w.shape[0]):
        gi = g[i]
        mi = m[i] * b1 + gi * one_minus_b1
        si = s[i] * b2 + (gi * gi) * one_minus_b2
        m[i] = mi
        s[i] = si
        w[i] = w[i] + (mi * neg_lr) / (math.sqrt(si) + eps)


# hidden layers, on (n_l, n) C-contiguous arrays: the bias added and f applied in one pass;
# f' (from z) multiplied into δ in one pass.


@jit
def add_bias(a, b):  # pragma: no cover - compiled
    """a ← a + b (b broadcast along the batch): the identity activation."""
    # restates: core.activations.Identity.f
    for j in range(a.shape[0]):
        bj = b[j]
        for k in range(a.shape[1]):
            a[j, k] = a[j, k] + bj


@jit
def add_bias_relu(a, b, zero):  # pragma: no cover - compiled
    """a ← max(a + b, 0), with np.maximum's NaN (kept) and -0 (kept)."""
    # restates: core.activations.Relu.f
    for j in range(a.shape[0]):
        bj = b[j]
        for k in range(a.shape[1]):
            x = a[j, k] + bj
            a[j, k] = x if (x >= zero or x != x) else zero


@jit
def add_bias_leaky_relu(a, b, slope):  # pragma: no cover - compiled
    """a ← max(x, slope·x) with x = a + b."""
    # restates: core.activations.LeakyRelu.f
    for j in range(a.shape[0]):
        bj = b[j]
        for k in range(a.shape[1]):
            x = a[j, k] + bj
            t = x * slope
            a[j, k] = x if (x >= t or x != x) else t


@jit
def relu_df(delta, z, one, zero, one_minus_slope, slope):  # pragma: no cover - compiled
    """δ ← δ · ([z > 0]·(1 - slope) + slope): leaky relu's f', and relu's at slope 0 (exactly
    δ · [z > 0])."""
    # restates: core.activations.Relu.derivative
    # restates: core.activations.LeakyRelu.derivative
    for j in range(delta.shape[0]):
        for k in range(delta.shape[1]):
            step = one if z[j, k] > zero else zero
            delta[j, k] = delta[j, k] * (step * one_minus_slope + slope)


@jit
def tanh_df(delta, z, one):  # pragma: no cover - compiled
    """δ ← δ · (1 - z²)."""
    # restates: core.activations.Tanh.derivative
    for j in range(delta.shape[0]):
        for k in range(delta.shape[1]):
            zz = z[j, k]
            delta[j, k] = delta[j, k] * (one - zz * zz)


@jit
def logistic_df(delta, z, one):  # pragma: no cover - compiled
    """δ ← δ · (z (1 - z))."""
    # restates: core.activations.Logistic.derivative
    for j in range(delta.shape[0]):
        for k in range(delta.shape[1]):
            zz = z[j, k]
            delta[j, k] = delta[j, k] * (zz * (one - zz))
