"""Losses E_n of one sample, their derivatives ∂E_n/∂y, and the output delta δ^(L).

Shapes follow the network: ``u``, ``y`` and ``d`` are ``(n_outputs, n_samples)``, one
sample per column.  ``per_sample(u, y, d, output)`` returns E_n for every sample, shape
``(n_samples,)``; the batch loss (a weighted mean plus L2) is assembled by the Network.

Canonical pairs.  For the pairs below, δ^(L) = ∂E_n/∂u^(L) collapses to y - d, because the
output's derivative cancels the loss's: for squared error with identity output, f' = 1; for
binary cross-entropy with a logistic output, ∂E/∂y = (y - d) / (y (1 - y)) and f' = y (1 - y);
for cross-entropy with softmax, Σ_k (-d_k / y_k) y_k (1[k=j] - y_j) = y_j - d_j when the
targets of a sample sum to one; for the Poisson loss with exp output, (1 - d/y) y = y - d.

    squared_error    identity   E_n = ½ Σ_k (y_k - d_k)²
    log_loss         softmax    E_n = -Σ_k d_k log y_k
    binary_log_loss  logistic   E_n = -Σ_k [d_k log y_k + (1 - d_k) log(1 - y_k)]
    poisson          exp        E_n = Σ_k [d_k log(d_k / y_k) - d_k + y_k]   (half deviance)

Every other pairing uses the general δ^(L) = f'(u^(L)) ⊙ ∂E_n/∂y (for softmax, the
Jacobian-vector product).  Logarithms of logistic and softmax outputs are computed from u
(log-sum-exp), so no loss overflows or takes log(0) for |u| up to 1e4.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, xlogy

from deltaprop.core import activations

__all__ = [
    "LOSSES", "CANONICAL_OUTPUT", "ALLOWED_OUTPUTS", "per_sample", "grad_y", "output_delta",
    "CANONICAL_IN_PLACE", "weighted_loss_and_delta",
]

#: each loss and the output activation that makes δ^(L) = y - d
CANONICAL_OUTPUT = {
    "squared_error": "identity",
    "log_loss": "softmax",
    "binary_log_loss": "logistic",
    "poisson": "exp",
}
LOSSES = tuple(CANONICAL_OUTPUT)

#: outputs each loss accepts: the log losses need 0 < y < 1 (y > 0 for Poisson)
ALLOWED_OUTPUTS = {
    "squared_error": activations.OUTPUT_ACTIVATIONS,
    "log_loss": ("softmax", "logistic"),
    "binary_log_loss": ("logistic", "softmax"),
    "poisson": ("exp", "softplus", "logistic", "softmax"),
}


def _softplus(u):
    return np.logaddexp(u.dtype.type(0), u)


def _log_y(u, y, output):
    """log y computed from u where the output allows it (no log(0))."""
    if output == "logistic":
        return -_softplus(-u)  # log σ(u)
    if output == "softmax":
        m = u.max(axis=0, keepdims=True)
        return u - (m + np.log(np.exp(u - m).sum(axis=0, keepdims=True)))
    if output == "exp":
        return u
    return np.log(y)


def _log_one_minus_y(u, y, output):
    if output == "logistic":
        return -_softplus(u)  # log(1 - σ(u)) = log σ(-u)
    return np.log1p(-y)


def per_sample(loss: str, u, y, d, output: str):
    """E_n for each sample (shape ``(n_samples,)``)."""
    if loss == "squared_error":
        r = y - d
        return 0.5 * (r * r).sum(axis=0)
    if loss == "log_loss":
        return -(d * _log_y(u, y, output)).sum(axis=0)
    if loss == "binary_log_loss":
        if output == "logistic":
            # -d log σ(u) - (1-d) log(1-σ(u)) = softplus(u) - d u
            return (_softplus(u) - d * u).sum(axis=0)
        return -(d * _log_y(u, y, output) + (1 - d) * _log_one_minus_y(u, y, output)).sum(axis=0)
    if loss == "poisson":
        return (xlogy(d, d) - d * _log_y(u, y, output) - d + y).sum(axis=0)
    raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")


def grad_y(loss: str, y, d):
    """∂E_n/∂y_k, element-wise (the general chain rule's first factor)."""
    if loss == "squared_error":
        return y - d
    if loss == "log_loss":
        return -d / y
    if loss == "binary_log_loss":
        return (y - d) / (y * (1 - y))
    if loss == "poisson":
        return 1 - d / y
    raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")


def is_canonical(loss: str, output: str) -> bool:
    return CANONICAL_OUTPUT.get(loss) == output


def output_delta(loss: str, output: str, u, y, d):
    """δ^(L) = ∂E_n/∂u^(L): y - d for a canonical pair, else f'(u) ⊙ ∂E_n/∂y."""
    if is_canonical(loss, output):
        return y - d
    return activations.ACTIVATIONS[output].backward(u, y, grad_y(loss, y, d))


# ---------------------------------------------------------------------------------------
# The canonical pairs in place, for the buffered fast path (deltaprop.speed.backprop): the
# same E_n and δ^(L) = y - d as above, written into preallocated arrays so a mini-batch
# allocates nothing.  Each takes u, d, δ and a work array t of shape (n_outputs, n), a work
# vector E of shape (n,) and the sample weights s (or None); it writes δ^(L) and returns
# Σ_n s_n E_n.  tests/test_registry.py holds each equal to per_sample and output_delta.


def _squared_error_identity(u, d, delta, t, E, s, lse):
    """E_n = ½ Σ_k (y_k - d_k)² with y = u; δ^(L) = y - d."""
    np.subtract(u, d, out=delta)
    if s is None:
        return 0.5 * float(np.vdot(delta, delta))
    np.multiply(delta, delta, out=t)
    np.add.reduce(t, axis=0, out=E)
    return 0.5 * float(np.dot(E, s))


def _log_loss_softmax(u, d, delta, t, E, s, lse):
    """E_n = -Σ_k d_k log y_k with y = softmax(u); δ^(L) = y - d.

    log y = u - lse(u), from u (no log 0); ``lse`` is one more work vector of shape (n,).
    """
    np.max(u, axis=0, out=E)  # m, for an exp that cannot overflow
    np.subtract(u, E, out=delta)
    np.exp(delta, out=delta)
    np.add.reduce(delta, axis=0, out=lse)  # S = Σ_k exp(u_k - m)
    np.divide(delta, lse, out=delta)  # y
    np.subtract(delta, d, out=delta)  # δ^(L) = y - d
    np.log(lse, out=lse)
    np.add(lse, E, out=lse)  # lse = m + log S
    np.subtract(lse, u, out=t)  # -log y_k
    np.multiply(t, d, out=t)
    np.add.reduce(t, axis=0, out=E)  # E_n
    return float(E.sum()) if s is None else float(np.dot(E, s))


def _binary_log_loss_logistic(u, d, delta, t, E, s, lse):
    """E_n = Σ_k [softplus(u_k) - d_k u_k] (= -d log σ(u) - (1-d) log(1-σ(u))); δ^(L) = σ(u) - d."""
    np.multiply(d, u, out=delta)  # d u, in δ's buffer until δ is computed
    np.logaddexp(0, u, out=t)  # softplus(u)
    np.subtract(t, delta, out=t)
    np.add.reduce(t, axis=0, out=E)  # E_n
    expit(u, out=delta)
    np.subtract(delta, d, out=delta)  # δ^(L) = σ(u) - d
    return float(E.sum()) if s is None else float(np.dot(E, s))


#: canonical (loss, output) → its in-place form, or None: through weighted_loss_and_delta
#: (which allocates), as every other pair
CANONICAL_IN_PLACE = {
    ("squared_error", "identity"): _squared_error_identity,
    ("log_loss", "softmax"): _log_loss_softmax,
    ("binary_log_loss", "logistic"): _binary_log_loss_logistic,
    ("poisson", "exp"): None,
}


def weighted_loss_and_delta(loss: str, output: str, u, d, delta, s) -> float:
    """Any pair: δ^(L) written into ``delta``, Σ_n s_n E_n returned (allocates)."""
    y = activations.ACTIVATIONS[output].f(u)
    per = per_sample(loss, u, y, d, output)
    delta[...] = output_delta(loss, output, u, y, d)
    return float(per.sum()) if s is None else float(per @ s)
