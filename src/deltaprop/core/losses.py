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

Robust and quantile regression losses (default output identity), with r = y - d:

    absolute_error   E_n = Σ_k |r_k|                               ∂E_n/∂y_k = sign(r_k)
    huber (ε)        E_n = Σ_k ½ r_k² where |r_k| ≤ ε,             ∂E_n/∂y_k = clip(r_k, -ε, ε)
                           ε (|r_k| - ½ ε) elsewhere
    quantile (τ)     E_n = Σ_k max(τ (d_k - y_k), (τ - 1)(d_k - y_k))
                                                                   ∂E_n/∂y_k = 1 - τ where y_k > d_k,
                                                                               -τ where y_k < d_k

At a kink (r_k = 0 for absolute_error and quantile) E_n has no derivative; there ∂E_n/∂y_k is
0, the subgradient of least magnitude (as numpy's sign(0) = 0).  Huber's loss is
differentiable everywhere (at |r_k| = ε both branches give ±ε).  absolute_error is twice the
quantile loss at τ = ½.  Their parameters ε and τ come in ``params`` (a dict; defaults
:data:`DEFAULT_PARAMS`).

Every other pairing uses the general δ^(L) = f'(u^(L)) ⊙ ∂E_n/∂y (for softmax, the
Jacobian-vector product).  The fast paths' forms are listed in :mod:`deltaprop.speed.registry`.
Logarithms of logistic and softmax outputs are computed from u (log-sum-exp), so no loss
overflows or takes log(0) for |u| up to 1e4.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from deltaprop.core import activations

__all__ = [
    "LOSSES", "CANONICAL_OUTPUT", "ALLOWED_OUTPUTS", "per_sample", "grad_y", "output_delta",
    "CANONICAL_IN_PLACE", "weighted_loss_and_delta", "DEFAULT_OUTPUT", "DEFAULT_PARAMS", "loss_params",
    "l2_penalty", "l2_gradient", "total_weight",
]

#: each loss and the output activation that makes δ^(L) = y - d
CANONICAL_OUTPUT = {
    "squared_error": "identity",
    "log_loss": "softmax",
    "binary_log_loss": "logistic",
    "poisson": "exp",
}
#: each loss and the output a network takes when none is given
DEFAULT_OUTPUT = {**CANONICAL_OUTPUT, **dict.fromkeys(("absolute_error", "huber", "quantile"), "identity")}
LOSSES = tuple(DEFAULT_OUTPUT)

#: the parameters of the losses that have some, and their defaults: Huber's ε (where the
#: loss turns from quadratic to linear, in units of y) and the quantile τ in (0, 1)
DEFAULT_PARAMS: dict[str, dict[str, float]] = {"huber": {"epsilon": 1.35}, "quantile": {"quantile": 0.5}}

#: outputs each loss accepts: the log losses need 0 < y < 1 (y > 0 for Poisson)
ALLOWED_OUTPUTS = {
    **dict.fromkeys(("squared_error", "absolute_error", "huber", "quantile"), activations.OUTPUT_ACTIVATIONS),
    "log_loss": ("softmax", "logistic"),
    "binary_log_loss": ("logistic", "softmax"),
    "poisson": ("exp", "softplus", "logistic", "softmax"),
}


def _softplus(u):
    return activations.ACTIVATIONS["softplus"].f(u)  # log(1 + e^u): the activation's own f


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
    return -_softplus(u) if output == "logistic" else np.log1p(-y)  # log(1 - σ(u)) = log σ(-u)


def loss_params(loss: str, epsilon: float | None = None, quantile: float | None = None) -> dict[str, float]:
    """The parameters of ``loss`` (its defaults where None); ValueError for a value out of range."""
    given = {"huber": {"epsilon": epsilon}, "quantile": {"quantile": quantile}}.get(loss, {})
    params = {**DEFAULT_PARAMS.get(loss, {}), **{k: v for k, v in given.items() if v is not None}}
    value = params.get("epsilon", params.get("quantile"))
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, np.floating))):
        raise ValueError(f"{loss} needs a number for its parameter; got {value!r}")
    if loss == "huber" and not params["epsilon"] > 0:
        raise ValueError(f"huber needs epsilon > 0; got epsilon={params['epsilon']!r}")
    if loss == "quantile" and not 0 < params["quantile"] < 1:
        raise ValueError(f"quantile needs 0 < quantile < 1; got quantile={params['quantile']!r}")
    return {k: float(v) for k, v in params.items()}


def _param(loss: str, params: Mapping[str, float] | None, name: str) -> float:
    return float((params or DEFAULT_PARAMS[loss]).get(name, DEFAULT_PARAMS[loss][name]))


def per_sample(loss: str, u: np.ndarray, y: np.ndarray, d: np.ndarray, output: str,
               params: Mapping[str, float] | None = None) -> np.ndarray:
    """E_n for each sample (shape ``(n_samples,)``); ``params``: the loss's ε or τ, if any."""
    if loss == "squared_error":
        r = y - d
        return 0.5 * (r * r).sum(axis=0)
    if loss == "absolute_error":
        return np.abs(y - d).sum(axis=0)
    if loss == "huber":
        eps = _param(loss, params, "epsilon")
        a = np.abs(y - d)
        return np.where(a <= eps, 0.5 * a * a, eps * (a - 0.5 * eps)).sum(axis=0)
    if loss == "quantile":
        tau = _param(loss, params, "quantile")
        r = d - y
        return np.maximum(tau * r, (tau - 1) * r).sum(axis=0)
    if loss == "log_loss":
        return -(d * _log_y(u, y, output)).sum(axis=0)
    if loss == "binary_log_loss":
        if output == "logistic":
            # -d log σ(u) - (1-d) log(1-σ(u)) = softplus(u) - d u
            return (_softplus(u) - d * u).sum(axis=0)
        return -(d * _log_y(u, y, output) + (1 - d) * _log_one_minus_y(u, y, output)).sum(axis=0)
    if loss == "poisson":
        from scipy.special import xlogy  # here, as every scipy.special use: start-up time

        return (xlogy(d, d) - d * _log_y(u, y, output) - d + y).sum(axis=0)
    raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")


def grad_y(loss: str, y: np.ndarray, d: np.ndarray, params: Mapping[str, float] | None = None) -> np.ndarray:
    """∂E_n/∂y_k, element-wise (the general chain rule's first factor); 0 at a kink."""
    if loss == "squared_error":
        return y - d
    if loss == "absolute_error":
        return np.sign(y - d)
    if loss == "huber":
        eps = _param(loss, params, "epsilon")
        return np.clip(y - d, -eps, eps)
    if loss == "quantile":
        tau = _param(loss, params, "quantile")
        r = y - d
        return np.where(r > 0, 1 - tau, np.where(r < 0, -tau, 0)).astype(r.dtype, copy=False)
    if loss == "log_loss":
        return -d / y
    if loss == "binary_log_loss":
        return (y - d) / (y * (1 - y))
    if loss == "poisson":
        return 1 - d / y
    raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")


def is_canonical(loss: str, output: str) -> bool:
    """Whether (loss, output) is a canonical pair, δ^(L) = y - d."""
    return CANONICAL_OUTPUT.get(loss) == output


def output_delta(loss: str, output: str, u: np.ndarray, y: np.ndarray, d: np.ndarray,
                 params: Mapping[str, float] | None = None) -> np.ndarray:
    """δ^(L) = ∂E_n/∂u^(L): y - d for a canonical pair, else f'(u) ⊙ ∂E_n/∂y."""
    if is_canonical(loss, output):
        return y - d
    return activations.ACTIVATIONS[output].backward(u, y, grad_y(loss, y, d, params))


# The canonical pairs in place, for the buffered fast path (deltaprop.speed.backprop): from u, d
# and work arrays t (like u), E and lse (n,), each writes δ^(L) and returns Σ_n s_n E_n.


def _squared_error_identity(u, d, delta, t, E, s, lse):
    """E_n = ½ Σ_k (y_k - d_k)² with y = u; δ^(L) = y - d."""
    np.subtract(u, d, out=delta)
    if s is None:
        return 0.5 * float(np.vdot(delta, delta))
    np.multiply(delta, delta, out=t)
    np.add.reduce(t, axis=0, out=E)
    return 0.5 * float(np.dot(E, s))


def _log_loss_softmax(u, d, delta, t, E, s, lse):
    """E_n = -Σ_k d_k log y_k with y = softmax(u), log y = u - lse(u) (no log 0); δ^(L) = y - d."""
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
    from scipy.special import expit  # here, as every scipy.special use: start-up time

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


def weighted_loss_and_delta(loss: str, output: str, u: np.ndarray, d: np.ndarray, delta: np.ndarray,
                            s: np.ndarray | None, params: Mapping[str, float] | None = None) -> float:
    """Any pair: δ^(L) written into ``delta``, Σ_n s_n E_n returned (allocates)."""
    y = activations.ACTIVATIONS[output].f(u)
    per = per_sample(loss, u, y, d, output, params)
    delta[...] = output_delta(loss, output, u, y, d, params)
    return float(per.sum()) if s is None else float(per @ s)


def l2_penalty(alpha: float, weights: Iterable[np.ndarray]) -> float:
    """½ α Σ_l ‖W^(l)‖², the L2 term of a batch's loss before the division by N.

    The batch loss is (Σ_n s_n E_n + ½ α Σ_l ‖W^(l)‖²) / Σ_n s_n (biases are not penalised).
    ``weights`` are the W^(l), or any arrays holding exactly their entries (a packed θ with its
    biases set to 0).  0 when α is 0.
    """
    return 0.5 * alpha * sum(float(np.vdot(w, w)) for w in weights) if alpha else 0.0


def l2_gradient(alpha: float, N: float, W: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """∂/∂W of the L2 term α/(2N) ‖W‖²: (α/N) W, in W's dtype (into ``out`` when given)."""
    return np.multiply(W, alpha / N, out=out)


def total_weight(n_samples: int, sample_weight: np.ndarray | None) -> float:
    """N = Σ_n s_n, what a batch's loss is divided by: ``n_samples`` without sample weights
    (every s_n = 1); the sum runs in the weights' dtype."""
    return float(n_samples) if sample_weight is None else float(sample_weight.sum())
