"""The seed's derivation, element by element: ∂E/∂w_ji^(l) for one weight.

This module does not use the vectorised pass of :mod:`deltaprop.core.network`.  It walks one
sample at a time, one unit at a time, with the sums written as sums (``docs/derivation.md``):

    ∂E_n/∂w_ji^(l) = δ_j^(l) z_i^(l-1),   δ_j^(L) = y_j - d_j   (canonical pair),
    δ_j^(l) = f'(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1)

with z_0^(l-1) = 1 for the bias (i = 0).  With dropout (a fixed mask m_j^(l) ∈ {0, 1/(1-p)}
per hidden unit), z_j^(l) = m_j f(u_j^(l)) and δ_j^(l) = m_j f'(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1).

It is the tests' independent oracle for the backward pass and the source of ``explain``.  The
batch value is Σ_n s_n ∂E_n/∂w / Σ_n s_n, plus (alpha / Σ_n s_n) w_ji for a weight (i ≥ 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from deltaprop.core.losses import is_canonical, l2_gradient, total_weight

if TYPE_CHECKING:
    from deltaprop.core.network import Network

__all__ = [
    "SampleDerivation", "WeightDerivation", "sample_derivation", "derive", "batch_gradient", "parse_weight",
    "dE_dy",
]


@dataclass
class SampleDerivation:
    """u, z and δ of one sample, unit by unit.

    ``u[l][j-1]``, ``z[l][j-1]`` and ``delta[l][j-1]`` are u_j^(l), z_j^(l) and δ_j^(l) as
    Python floats (``z[1]`` is x); ``dE_dy[k-1]`` is ∂E_n/∂y_k and ``fprime[l][j-1]`` is
    f'(u_j^(l)) (None for a softmax output, whose derivative is not element-wise).
    """

    u: dict
    z: dict
    delta: dict
    fprime: dict
    dE_dy: list
    d: list
    #: the dropout mask of each hidden layer, ``mask[l][j-1]`` = m_j^(l); empty without dropout
    mask: dict = field(default_factory=dict)


def dE_dy(loss, y, d, params):
    """∂E_n/∂y_k for one output unit (``params``: the loss's ε or τ): the scalar twin of
    ``losses.grad_y``, written again on purpose (this oracle shares none of the vectorised
    path's formulas).  A new loss goes in both places (until it does, derive raises)."""
    if loss == "squared_error":  # E_n = ½ Σ_k (y_k - d_k)²
        return y - d
    if loss == "log_loss":  # E_n = -Σ_k d_k log y_k
        return -d / y
    if loss == "binary_log_loss":  # E_n = -Σ_k [d_k log y_k + (1 - d_k) log(1 - y_k)]
        return (y - d) / (y * (1 - y))
    if loss == "poisson":  # E_n = Σ_k [d_k log(d_k / y_k) - d_k + y_k]
        return 1 - d / y
    # the robust losses have kinks; there the subgradient of least magnitude, 0
    if loss == "absolute_error":  # E_n = Σ_k |y_k - d_k|
        return 1.0 if y > d else (-1.0 if y < d else 0.0)
    if loss == "huber":  # E_n = Σ_k ½ r² (|r| ≤ ε), ε (|r| - ½ ε) (|r| > ε), r = y_k - d_k
        eps = params["epsilon"]
        return y - d if abs(y - d) <= eps else (eps if y > d else -eps)
    if loss == "quantile":  # E_n = Σ_k max(τ (d_k - y_k), (τ - 1)(d_k - y_k))
        tau = params["quantile"]
        return 1.0 - tau if y > d else (-tau if y < d else 0.0)
    raise ValueError(f"unknown loss {loss!r}")


def sample_derivation(net: Network, x: ArrayLike, d: ArrayLike,
                      mask: dict[int, Any] | None = None) -> SampleDerivation:
    """Forward and backward pass of one sample ``x`` (n_1,) with target ``d`` (n_L,).

    ``mask`` (dropout): {l: m^(l) of shape (n_l,)} for hidden layers; z_j^(l) = m_j f(u_j^(l)).
    """
    L = net.L
    masks = {l: [float(v) for v in np.asarray(m, dtype=np.float64).reshape(-1)]
             for l, m in (mask or {}).items()}
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    d = [float(v) for v in np.asarray(d, dtype=np.float64).reshape(-1)]
    z = {1: [float(v) for v in x]}
    u: dict[int, list[float]] = {}
    fprime: dict[int, list[float] | None] = {}
    for l in net.layers:
        W, b = net.W[l].astype(np.float64), net.b[l].astype(np.float64)
        zl = np.array(z[l - 1])
        # u_j^(l) = Σ_i w_ji^(l) z_i^(l-1) + w_j0^(l), one unit j at a time
        u[l] = [float(np.dot(W[j], zl) + b[j]) for j in range(net.sizes[l - 1])]
        f = net.f(l)
        if f.elementwise:  # z_j^(l) = f(u_j^(l)) and f'(u_j^(l)), unit by unit
            fz = [float(f.f(np.array([v]))[0]) for v in u[l]]
            fprime[l] = [float(f.derivative(np.array([uj]), np.array([zj]))[0]) for uj, zj in zip(u[l], fz)]
            # dropout: z_j^(l) = m_j f(u_j^(l))
            z[l] = [m * v for m, v in zip(masks[l], fz)] if l in masks else fz
        else:  # softmax: every y_k depends on every u_j, and f' is not element-wise
            z[l] = [float(v) for v in f.f(np.array(u[l])[:, None])[:, 0]]
            fprime[l] = None

    y = z[L]
    grad_y = [dE_dy(net.loss_name, yk, dk, net.loss_params) for yk, dk in zip(y, d)]  # ∂E_n/∂y_k
    if is_canonical(net.loss_name, net.output):
        delta_L = [yk - dk for yk, dk in zip(y, d)]
    elif (fprime_L := fprime[L]) is not None:
        delta_L = [fp * g for fp, g in zip(fprime_L, grad_y)]
    else:  # softmax: ∂E/∂u_j = Σ_k ∂E/∂y_k ∂y_k/∂u_j,  ∂y_k/∂u_j = y_k (1[k=j] - y_j)
        delta_L = [
            sum(g * yk * ((1.0 if k == j else 0.0) - y[j]) for k, (g, yk) in enumerate(zip(grad_y, y)))
            for j in range(len(y))
        ]
    delta = {L: delta_L}
    for l in range(L - 1, 1, -1):
        W_next = net.W[l + 1].astype(np.float64)
        fprime_l = fprime[l]
        assert fprime_l is not None  # hidden activations are element-wise
        m = masks.get(l, [1.0] * net.sizes[l - 1])
        # δ_j^(l) = m_j f'(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1)   (m_j = 1 without dropout)
        delta[l] = [
            m[j] * fprime_l[j] * math.fsum(W_next[k, j] * delta[l + 1][k] for k in range(net.sizes[l]))
            for j in range(net.sizes[l - 1])
        ]
    return SampleDerivation(u=u, z=z, delta=delta, fprime=fprime, dE_dy=grad_y, d=d, mask=masks)


@dataclass
class WeightDerivation:
    """∂(loss)/∂w_ji^(l) of a batch, with every sample's factors.

    ``z_in[n]`` is z_i^(l-1) of sample n (1 for the bias), ``delta[n]`` is δ_j^(l), and
    ``per_sample[n] = delta[n] * z_in[n]`` is ∂E_n/∂w_ji^(l).  ``value`` is the batch
    gradient: Σ_n s_n ∂E_n/∂w / Σ_n s_n + ``l2_term``.
    """

    l: int
    j: int
    i: int
    weight: float
    samples: list
    z_in: np.ndarray
    delta: np.ndarray
    per_sample: np.ndarray
    sample_weight: np.ndarray
    l2_term: float
    value: float


def parse_weight(net: Network, weight: Any) -> tuple[int, int, int]:
    """(l, j, i) from a tuple or from the string "l:j,i"; ValueError naming the valid range."""
    if isinstance(weight, str):
        try:
            layer, units = weight.split(":")
            unit_j, unit_i = units.split(",")
            l, j, i = int(layer), int(unit_j), int(unit_i)
        except ValueError:
            raise ValueError(f"weight {weight!r} is not of the form 'l:j,i' (e.g. '3:2,1' for w_21^(3))"
                             ) from None
    else:
        try:
            values = tuple(weight)
        except TypeError:
            raise ValueError(f"weight must be (l, j, i) or 'l:j,i'; got {weight!r}") from None
        for v in values:  # int() would make a unit of 1.7
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"weight {values!r}: the indices (l, j, i) must be whole numbers, got "
                                 f"{v!r}; e.g. (3, 2, 1) for w_21^(3)")
        if len(values) != 3:
            raise ValueError(f"weight must be (l, j, i) or 'l:j,i'; got {weight!r}")
        l, j, i = (int(v) for v in values)
    if not 2 <= l <= net.L:
        raise ValueError(f"layer l={l} out of range: weights live in layers 2 … {net.L}")
    n_l, n_prev = net.sizes[l - 1], net.sizes[l - 2]
    if not 1 <= j <= n_l:
        raise ValueError(f"unit j={j} out of range: layer {l} has units 1 … {n_l}")
    if not 0 <= i <= n_prev:
        raise ValueError(f"unit i={i} out of range: layer {l - 1} has units 1 … {n_prev}, and i=0 is "
                         "the bias")
    return l, j, i


def batch_gradient(net: Network, weight: tuple[int, int, int], per_sample: np.ndarray, s: np.ndarray,
                   alpha: float) -> tuple[float, float, float]:
    """(w_ji^(l), its L2 term, the batch value Σ_n s_n ∂E_n/∂w / Σ_n s_n + (alpha / Σ_n s_n) w_ji,
    biases not penalised) from the per-sample ∂E_n/∂w_ji^(l) and the sample weights s."""
    l, j, i = weight
    w = float(net.b[l][j - 1]) if i == 0 else float(net.W[l][j - 1, i - 1])
    total = total_weight(len(s), s)
    l2 = 0.0 if i == 0 else float(l2_gradient(alpha, total, np.array(w)))
    return w, l2, math.fsum(s * per_sample) / total + l2


def derive(net: Network, weight: Any, X: ArrayLike, D: ArrayLike, *, alpha: float = 0.0,
           sample_weight: ArrayLike | None = None, dropout_mask: Any = None) -> WeightDerivation:
    """∂(loss)/∂w_ji^(l) by the seed's element-wise formulas.

    ``weight`` is (l, j, i) in the seed's numbering (i = 0: the bias w_j0^(l) = b[l][j-1]) or
    "l:j,i".  X is (n_samples, n_1) or one sample (n_1,); D likewise.  ``dropout_mask``:
    {l: (n_samples, n_l)}, as in :meth:`Network.gradients`.
    """
    l, j, i = parse_weight(net, weight)
    X = np.asarray(X, dtype=np.float64)
    X = X[None, :] if X.ndim == 1 else X
    D = np.asarray(D, dtype=np.float64)
    if D.ndim == 1 and X.shape[0] == 1 and net.sizes[-1] != 1:
        D = D[None, :]
    # mask: {l: (n_l, n_samples)}
    X, D, s, mask = net._checked(X, D, sample_weight, dropout_mask)
    X, D = X.astype(np.float64), D.astype(np.float64)
    s = np.ones(X.shape[0]) if s is None else s.astype(np.float64)
    samples = [sample_derivation(net, x, d, {l: m[:, n] for l, m in mask.items()})
               for n, (x, d) in enumerate(zip(X, D))]
    z_in = np.array([1.0 if i == 0 else sd.z[l - 1][i - 1] for sd in samples])
    delta = np.array([sd.delta[l][j - 1] for sd in samples])
    per_sample = delta * z_in  # ∂E_n/∂w_ji^(l) = δ_j^(l) z_i^(l-1)
    w, l2, value = batch_gradient(net, (l, j, i), per_sample, s, alpha)
    return WeightDerivation(l=l, j=j, i=i, weight=w, samples=samples, z_in=z_in, delta=delta,
                            per_sample=per_sample, sample_weight=s, l2_term=l2, value=value)
