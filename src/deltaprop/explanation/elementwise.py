"""The derivation's element-wise formulas, every sample at once.

The same sums as :func:`deltaprop.core.derivation.sample_derivation`, unit by unit, with each
scalar replaced by the vector of its values over the samples (one sample per column):

    u_j^(l) = Σ_i w_ji^(l) z_i^(l−1) + w_j0^(l)            z_j^(l) = f(u_j^(l))
    δ_j^(L) = y_j − d_j   (canonical pair; else f′(u_j) ∂E_n/∂y_j, or softmax's Jacobian)
    δ_j^(l) = m_j f′(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1)   (m_j: a fixed dropout mask, else 1)
    ∂E_n/∂w_ji^(l) = δ_j^(l) z_i^(l−1)

The loops run over units, never over samples, so 2,000 samples cost what one does.  The forward
and backward pass (:func:`batch_pass`) is every weight's; :func:`batch_derivation` reads one
weight off it.  The one sample the page walks through is derived again by the core's per-sample
oracle (:meth:`BatchPass.sample`), and the two are shown side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deltaprop.core.derivation import SampleDerivation, batch_gradient, dE_dy, sample_derivation
from deltaprop.core.losses import is_canonical
from deltaprop.core.network import Network

__all__ = ["BatchPass", "BatchDerivation", "batch_pass", "batch_derivation"]


@dataclass
class BatchPass:
    """u, z, f′(u) and δ of every unit and sample: ``u[m]``, ``z[m]``, ``fprime[m]`` and
    ``delta[m]`` have shape (n_m, n_samples) (``z[1]`` is x, ``fprime[L]`` is None for a softmax
    output); ``mask`` the fixed dropout mask m^(l) of each hidden
    layer, (n_l, n_samples), empty without dropout."""

    net: Network
    X: np.ndarray
    D: np.ndarray
    u: dict[int, np.ndarray]
    z: dict[int, np.ndarray]
    fprime: dict[int, np.ndarray | None]
    delta: dict[int, np.ndarray]
    mask: dict[int, np.ndarray]

    def sample(self, n: int) -> SampleDerivation:
        """Sample n (0-based) derived alone by the core's per-sample oracle."""
        return sample_derivation(self.net, self.X[n], self.D[n], {l: m[:, n] for l, m in self.mask.items()})


@dataclass
class BatchDerivation(BatchPass):
    """The pass and ∂(loss)/∂w_ji^(l) of the batch: ``z_in`` is z_i^(l−1) of every sample (1 for
    the bias), ``delta_j`` is δ_j^(l), ``per_sample`` their product ∂E_n/∂w_ji^(l), and ``value``
    = Σ_n s_n ∂E_n/∂w / Σ_n s_n + ``l2_term``."""

    z_in: np.ndarray
    delta_j: np.ndarray
    per_sample: np.ndarray
    weight: float
    l2_term: float
    value: float


def _output_delta(net: Network, u: np.ndarray, y: np.ndarray, d: np.ndarray) -> np.ndarray:
    """δ^(L): y − d for a canonical pair, else the chain rule through the output activation:
    f′(u_j) ∂E_n/∂y_j, or for softmax Σ_k ∂E_n/∂y_k y_k (1[k=j] − y_j) (its ``backward``)."""
    if is_canonical(net.loss_name, net.output):
        return y - d
    # ∂E_n/∂y_k: the oracle's scalar formula (robust losses branch at their kinks), every entry
    g = np.vectorize(lambda yk, dk: dE_dy(net.loss_name, yk, dk, net.loss_params), otypes=[np.float64])(y, d)
    return net.f(net.L).backward(u, y, g)


def batch_pass(net: Network, X: np.ndarray, D: np.ndarray, mask: dict[int, np.ndarray]) -> BatchPass:
    """The forward and backward pass unit by unit (``mask``: {l: (n_l, n_samples)} of hidden layers)."""
    z: dict[int, np.ndarray] = {1: X.T.copy()}
    u: dict[int, np.ndarray] = {}
    fprime: dict[int, np.ndarray | None] = {}
    for l in net.layers:
        W, b, f = net.W[l], net.b[l], net.f(l)
        u[l] = np.array([W[j] @ z[l - 1] + b[j] for j in range(net.sizes[l - 1])])
        fz = f.f(u[l])
        fprime[l] = f.derivative(u[l], fz) if f.elementwise else None  # f′ from f(u), before the mask
        z[l] = fz * mask[l] if l in mask else fz  # dropout: z_j = m_j f(u_j)
    L = net.L
    delta = {L: _output_delta(net, u[L], z[L], D.T)}
    for m in range(L - 1, 1, -1):
        W_next, f_m = net.W[m + 1], fprime[m]
        assert f_m is not None  # hidden activations are element-wise
        # δ_j^(m) = m_j f′(u_j^(m)) Σ_k w_kj^(m+1) δ_k^(m+1), one unit j at a time (m_j = 1 without dropout)
        m_m = mask.get(m, np.ones_like(f_m))
        delta[m] = np.array(
            [m_m[jj] * f_m[jj] * (W_next[:, jj] @ delta[m + 1]) for jj in range(net.sizes[m - 1])]
        )
    return BatchPass(net, X, D, u, z, fprime, delta, mask)


def batch_derivation(p: BatchPass, weight: tuple[int, int, int], s: np.ndarray,
                     alpha: float) -> BatchDerivation:
    """∂(loss)/∂w_ji^(l) of the batch off the pass ``p`` (``s``: sample weights)."""
    l, j, i = weight
    z_in = np.ones(p.X.shape[0]) if i == 0 else p.z[l - 1][i - 1]
    delta_j = p.delta[l][j - 1]
    per_sample = delta_j * z_in  # ∂E_n/∂w_ji^(l) = δ_j^(l) z_i^(l−1)
    w, l2, value = batch_gradient(p.net, weight, per_sample, s, alpha)
    return BatchDerivation(**vars(p), z_in=z_in, delta_j=delta_j, per_sample=per_sample, weight=w,
                           l2_term=l2, value=value)
