"""Fused elementwise passes over the parameters: the L2 gradient and the optimiser steps.

A numpy expression such as SGD's Nesterov step, ``v ← μ v - η g; w ← w + (μ v - η g)``,
is six ufunc calls, and each call is one pass over every parameter.  On a large network
those passes are what is left beside the matrix products.  For the 784-512-512-10 network
(670,000 parameters, float32) one numpy step took 0.40 ms (SGD with Nesterov momentum) or
1.0 ms (Adam), and adding the L2 gradient 0.12 ms, against about 3 ms for a batch of 128;
the functions here take 0.12, 0.21 and 0.06 ms.  Each does its job in one pass, in a
compiled loop (:mod:`deltaprop.speed.kernels`, numba) that performs the same operations in the
same order as the numpy sequence, so the results are bitwise equal; the numpy sequence stays
beside it as the plain path (``*_plain``), taken inside :func:`deltaprop.speed.backprop.plain_paths` and for
arrays below :data:`FUSED_MIN_SIZE` elements, where a few numpy calls cost less than
loading numba (about 0.3 s, once per process).

Division and square roots follow numpy's error model (0/0 is nan, x/0 is ±inf, no
exception).  The kernels run on one thread.  numba's parallel loops would halve the time again on two
cores, but its threading layers either abort when two Python threads train at once
(workqueue) or hang in a process forked after use (GNU OpenMP); a library cannot impose
either on its users.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from deltaprop.core.activations import LEAKY_RELU_SLOPE
from deltaprop.speed import backprop as fast

__all__ = ["FUSED_MIN_SIZE", "add_scaled", "sgd_step", "adam_step", "hidden_layer"]

#: arrays with fewer elements take the numpy sequence.  The kernels win at every size
#: (float64, one step: SGD-Nesterov 3.8 µs numpy / 0.9 µs compiled at 1,000 elements,
#: 6.8 / 1.7 at 4,000, 76 / 29 at 65,536; Adam 8.6 / 1.9, 17 / 4.5, 215 / 62), but the first
#: use in a process loads numba (about 0.3 s), which a small network's fit of a few thousand
#: steps would not win back.
FUSED_MIN_SIZE = 4096


def _compiled_kernels(size):
    """The module of compiled kernels for arrays of ``size`` elements: None below
    FUSED_MIN_SIZE, inside :func:`deltaprop.speed.backprop.plain_paths`, and where numba cannot be
    imported.  numba is imported, and the kernels compiled or read from its cache, on first
    use."""
    if fast._plain or size < FUSED_MIN_SIZE or not numba_available():
        return None
    from deltaprop.speed import kernels as _kernels

    return _kernels


@functools.cache
def numba_available():
    """Whether numba imports.  It is a dependency, but an installation can still break it (a
    numpy newer than the numba release supports makes ``import numba`` raise): then deltaprop
    warns once and runs its numpy paths, which compute the same numbers."""
    try:
        import numba  # noqa: F401
    except Exception as error:  # ImportError, or numba's own check of numpy's version
        warnings.warn(
            f"numba could not be imported ({error}); deltaprop runs on its numpy paths, which "
            "are slower for small networks and large ones. Reinstall numba to get them back.",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def _flat(a):
    """A 1-D view of a C-contiguous array (callers check the flag: reshape then never copies)."""
    return a.reshape(-1)


def add_scaled_plain(g, w, c, work):
    """g ← g + w·c with numpy; ``work()`` returns a work array of w's shape."""
    scratch = work()
    np.multiply(w, c, out=scratch)
    np.add(g, scratch, out=g)


def add_scaled(g, w, c, work):
    """g ← g + w·c in place: the L2 gradient (α/N) W added to ∂E/∂W."""
    k = _compiled_kernels(g.size)
    if k is None or not (g.flags.c_contiguous and w.flags.c_contiguous):
        add_scaled_plain(g, w, c, work)
        return
    k.add_scaled(_flat(g), _flat(w), g.dtype.type(c))


def sgd_step_plain(w, g, v, mu, eta, nesterov, work):
    """One SGD step with numpy, in scikit-learn's order of roundings.

    ``work()`` returns two work arrays of w's shape; it is called only when they are needed.
    """
    if mu == 0:
        # μ = 0: v = 0·v - η g is exactly -(η g), and so is the Nesterov step
        np.multiply(g, -eta, out=v)
        w += v
        return
    eta_g, step = work()
    np.multiply(g, eta, out=eta_g)
    v *= mu
    v -= eta_g
    if nesterov:
        np.multiply(v, mu, out=step)
        step -= eta_g
        w += step
    else:
        w += v


def sgd_step(w, g, v, mu, eta, nesterov, work):
    """v ← μ v - η g; w ← w + v (Nesterov: w ← w + (μ v - η g)), in place."""
    k = _compiled_kernels(w.size)
    if k is None or not (w.flags.c_contiguous and g.flags.c_contiguous and v.flags.c_contiguous):
        sgd_step_plain(w, g, v, mu, eta, nesterov, work)
        return
    t = w.dtype.type
    k.sgd_step(_flat(w), _flat(g), _flat(v), t(mu), t(eta), bool(nesterov))


def adam_step_plain(w, g, m, s, b1, b2, eps, lr, work):
    """One Adam step with numpy, with the roundings of the plain formulas.

    ``work()`` returns two work arrays of w's shape.
    """
    t, step = work()
    m *= b1
    np.multiply(g, 1 - b1, out=t)
    m += t  # first moment: running mean of g
    s *= b2
    np.multiply(g, g, out=t)
    t *= 1 - b2
    s += t  # second moment: running mean of g²
    np.sqrt(s, out=t)
    t += eps
    np.multiply(m, -lr, out=step)
    step /= t
    w += step


def adam_step(w, g, m, s, b1, b2, eps, lr, work):
    """m ← β₁m + (1-β₁)g; s ← β₂s + (1-β₂)g²; w ← w - η_t m / (√s + ε), in place."""
    k = _compiled_kernels(w.size)
    if k is None or not all(a.flags.c_contiguous for a in (w, g, m, s)):
        adam_step_plain(w, g, m, s, b1, b2, eps, lr, work)
        return
    t = w.dtype.type
    k.adam_step(_flat(w), _flat(g), _flat(m), _flat(s), t(b1), t(1 - b1), t(b2), t(1 - b2),
                t(eps), t(-lr))


def hidden_layer(name, dtype, size):
    """``(forward, backward)`` for a hidden layer of activation ``name`` in the seed's
    orientation, used by :class:`deltaprop.speed.backprop.BatchBackprop`.

    ``forward(a, b, t)`` turns ``a = W z`` into ``z = f(a + b)`` in place (b added along the
    batch, axis 1); ``backward(delta, z, t)`` multiplies δ by f'(u), computed from z, in
    place; ``t`` is a work array of a's shape.  For arrays of ``size`` ≥ FUSED_MIN_SIZE
    elements outside :func:`deltaprop.speed.backprop.plain_paths`, relu and leaky relu take one
    compiled pass forward, and relu, leaky relu, tanh and logistic one compiled pass
    backward (numpy: two to four); exp-based functions (tanh, logistic and softplus
    forward, softplus backward) stay numpy's, whose vectorised exp a compiled loop's call to
    the C library cannot match.
    """
    numpy_f, numpy_df = fast._HIDDEN[name]

    def plain_forward(a, b, t):
        np.add(a, b[:, None], out=a)
        numpy_f(a, t)

    k = _compiled_kernels(size)
    if k is None:
        return plain_forward, numpy_df
    T = np.dtype(dtype).type
    zero, one, slope = T(0), T(1), T(LEAKY_RELU_SLOPE)
    one_minus_slope = T(1 - LEAKY_RELU_SLOPE)
    forward = {
        "identity": lambda a, b, t: k.add_bias(a, b),
        "relu": lambda a, b, t: k.add_bias_relu(a, b, zero),
        "leaky_relu": lambda a, b, t: k.add_bias_leaky_relu(a, b, slope),
    }.get(name, plain_forward)
    backward = {
        "relu": lambda d, z, t: k.relu_df(d, z, one, zero),
        "leaky_relu": lambda d, z, t: k.leaky_relu_df(d, z, one, zero, one_minus_slope, slope),
        "tanh": lambda d, z, t: k.tanh_df(d, z, one),
        "logistic": lambda d, z, t: k.logistic_df(d, z),
    }.get(name, numpy_df)
    return forward, backward
