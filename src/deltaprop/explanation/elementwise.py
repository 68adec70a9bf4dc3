"""The derivation's element-wise formulas, every sample at once.

The same sums as :func:`deltaprop.core.derivation.sample_derivation`, unit by unit, with each
scalar replaced by the vector of its values over the samples (one sample per column):

    u_j^(l) = Σ_i w_ji^(l) z_i^(l−1) + w_j0^(l)            z_j^(l) = f(u_j^(l))
    δ_j^(L) = y_j − d_j   (canonical pair; else f′(u_j) ∂E_n/∂y_j, or softmax's Jacobian)
    δ_j^(l) = m_j f′(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1)   (m_j: a fixed dropout mask, else 1)
    ∂E_n/∂w_ji^(l) = δ_j^(l) z_i^(l−1)

The loops run over units, never over samples, so 2,000 samples cost what one does.  The one
sample the page walks through is derived again by the core's per-sample oracle
(:meth:`BatchDerivation.sample`), and the two are shown side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deltaprop.core.derivation import SampleDerivation, batch_gradient, dE_dy, sample_derivation
from deltaprop.core.losses import is_canonical
from deltaprop.core.network import Network

__all__ = ["BatchDerivation", "batch_derivation"]


@dataclass
class BatchDerivation:
    """u, z, f′(u) and δ of every unit and sample, and ∂(loss)/∂w_ji^(l) of the batch.

    ``u[m]``, ``z[m]``, ``fprime[m]`` and ``delta[m]`` have shape (n_m, n_samples) (``z[1]`` is
    x, ``fprime[L]`` is None for a softmax output); ``d`` is (n_L, n_samples).  ``z_in`` is
    z_i^(l−1) of every sample (1 for the bias), ``delta_j`` is δ_j^(l), ``per_sample`` is
    their product ∂E_n/∂w_ji^(l).  ``value`` = Σ_n s_n ∂E_n/∂w / Σ_n s_n + ``l2_term``.
    """

    net: Network
    X: np.ndarray
    D: np.ndarray
    u: dict[int, np.ndarray]
    z: dict[int, np.ndarray]
    fprime: dict[int, np.ndarray | None]
    delta: dict[int, np.ndarray]
    d: np.ndarray
    z_in: np.ndarray
    delta_j: np.ndarray
    per_sample: np.ndarray
    weight: float
    l2_term: float
    value: float
    #: the fixed dropout mask m^(l) of each hidden layer, (n_l, n_samples); empty without dropout
    mask: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def samples(self) -> list[SampleDerivation]:
        """Every sample derived alone by the per-sample oracle (one Python pass per sample)."""
        return [self.sample(n) for n in range(self.X.shape[0])]

    def sample(self, n: int) -> SampleDerivation:
        """Sample n (0-based) derived alone by the core's per-sample oracle."""
        return sample_derivation(self.net, self.X[n], self.D[n], {l: m[:, n] for l, m in self.mask.items()})


def _forward(net: Network, X: np.ndarray, mask: dict[int, np.ndarray]) -> tuple[dict, dict, dict]:
    """u, z and f′(u) unit by unit: u_j = Σ_i w_ji z_i + w_j0, z_j = m_j f(u_j) (m_j = 1 without
    dropout)."""
    z: dict[int, np.ndarray] = {1: X.T.copy()}
    u: dict[int, np.ndarray] = {}
    fprime: dict[int, np.ndarray | None] = {}
    for l in net.layers:
        W, b = net.W[l], net.b[l]
        u[l] = np.array([W[j] @ z[l - 1] + b[j] for j in range(net.sizes[l - 1])])
        f = net.f(l)
        fz = f.f(u[l])
        fprime[l] = f.derivative(u[l], fz) if f.elementwise else None  # f′ from f(u), before the mask
        z[l] = fz * mask[l] if l in mask else fz
    return u, z, fprime


def _output_delta(net: Network, u: np.ndarray, y: np.ndarray, d: np.ndarray) -> np.ndarray:
    """δ^(L): y − d for a canonical pair, else the chain rule through the output activation:
    f′(u_j) ∂E_n/∂y_j, or for softmax Σ_k ∂E_n/∂y_k y_k (1[k=j] − y_j) (its ``backward``)."""
    if is_canonical(net.loss_name, net.output):
        return y - d
    # ∂E_n/∂y_k: the oracle's scalar formula (robust losses branch at their kinks), every entry
    g = np.vectorize(lambda yk, dk: dE_dy(net.loss_name, yk, dk, net.loss_params), otypes=[np.float64])(y, d)
    return net.f(net.L).backward(u, y, g)


def batch_derivation(
    net: Network, weight: tuple[int, int, int], X: np.ndarray, D: np.ndarray, s: np.ndarray, alpha: float,
    mask: dict[int, np.ndarray] | None = None,
) -> BatchDerivation:
    """∂(loss)/∂w_ji^(l) of the batch by the element-wise formulas (``s``: sample weights;
    ``mask``: a fixed dropout mask {l: (n_l, n_samples)} of hidden layers)."""
    l, j, i = weight
    L = net.L
    mask = mask or {}
    u, z, fprime = _forward(net, X, mask)
    d = D.T
    delta = {L: _output_delta(net, u[L], z[L], d)}
    for m in range(L - 1, 1, -1):
        W_next, f_m = net.W[m + 1], fprime[m]
        assert f_m is not None  # hidden activations are element-wise
        # δ_j^(m) = m_j f′(u_j^(m)) Σ_k w_kj^(m+1) δ_k^(m+1), one unit j at a time (m_j = 1 without dropout)
        m_m = mask.get(m, np.ones_like(f_m))
        delta[m] = np.array(
            [m_m[jj] * f_m[jj] * (W_next[:, jj] @ delta[m + 1]) for jj in range(net.sizes[m - 1])]
        )
    z_in = np.ones(X.shape[0]) if i == 0 else z[l - 1][i - 1]
    delta_j = delta[l][j - 1]
    per_sample = delta_j * z_in  # ∂E_n/∂w_ji^(l) = δ_j^(l) z_i^(l−1)
    w, l2, value = batch_gradient(net, weight, per_sample, s, alpha)
    return BatchDerivation(net, X, D, u, z, fprime, delta, d, z_in, delta_j, per_sample, w, l2, value, mask)
