"""Central-difference check of every gradient of a Network.

For each weight and bias θ the central difference (loss(θ + h) - loss(θ - h)) / (2h) of
exactly the loss that :meth:`Network.loss` reports is compared with backpropagation's
:meth:`Network.gradients`, on a float64 copy of the network (differences of float32 losses
carry only a few significant digits).  The relative error of one parameter is

    |analytic - numerical| / max(|analytic|, |numerical|, floor · max(1, |loss|))

A float64 central difference resolves a derivative only to about 2e-16 · |loss| / h in
absolute terms (about 2e-11 · |loss| for the default h = 1e-5), so gradients smaller than
``floor`` times the loss are compared absolutely, at that scale, instead of relatively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from deltaprop.core.derivation import parse_weight

if TYPE_CHECKING:
    from deltaprop.core.network import Network

__all__ = ["gradcheck", "central_difference", "GradcheckReport", "GradcheckRow"]


@dataclass
class GradcheckRow:
    """One parameter: ``name`` in the seed's notation (w_ji^(l), i = 0 for a bias)."""

    l: int
    j: int
    i: int
    analytic: float
    numerical: float
    relative_error: float

    @property
    def name(self):
        return f"w_{self.j},{self.i}^({self.l})"


@dataclass
class GradcheckReport:
    """The per-parameter result of :func:`gradcheck`; prints as a table."""

    rows: list
    tolerance: float

    @property
    def max_relative_error(self):
        return max((r.relative_error for r in self.rows), default=0.0)

    @property
    def passed(self):
        return self.max_relative_error < self.tolerance

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def worst(self, n=10):
        return sorted(self.rows, key=lambda r: -r.relative_error)[:n]

    def to_text(self, max_rows=None):
        rows = self.rows if max_rows is None or len(self.rows) <= max_rows else self.worst(max_rows)
        head = f"{'parameter':<16}{'backprop':>16}{'numerical':>16}{'rel. error':>12}"
        lines = [head, "-" * len(head)]
        lines += [f"{r.name:<16}{r.analytic:>16.8e}{r.numerical:>16.8e}{r.relative_error:>12.1e}"
                  for r in rows]
        if len(rows) < len(self.rows):
            lines.append(f"… {len(self.rows) - len(rows)} more (showing the worst {len(rows)})")
        lines.append(f"{len(self.rows)} parameters, max relative error {self.max_relative_error:.1e} "
                     f"(tolerance {self.tolerance:.0e}): {'passed' if self.passed else 'FAILED'}")
        return "\n".join(lines)

    __str__ = to_text

    def __repr__(self):
        return (f"<GradcheckReport {len(self.rows)} parameters, max relative error "
                f"{self.max_relative_error:.1e}>")


def relative_error(a, n, floor):
    return abs(a - n) / max(abs(a), abs(n), floor)


def _central(loss, param, index, h):  # for the entry ``index`` of ``param``, restored after
    old = param[index]
    try:
        param[index] = old + h
        plus = loss()
        param[index] = old - h
        minus = loss()
    finally:
        param[index] = old
    return (plus - minus) / (2 * h)


def central_difference(net: Network, weight: Any, X: ArrayLike, D: ArrayLike, *, alpha: float = 0.0,
                       sample_weight: ArrayLike | None = None, h: float = 1e-5,
                       dropout_mask: Any = None) -> float:
    """The central difference of ``net.loss`` with respect to one weight w_ji^(l), ``weight``
    (l, j, i) or "l:j,i" (i = 0: the bias), on ``net`` itself, in its dtype (the weight restored)."""
    l, j, i = parse_weight(net, weight)
    param, index = (net.b[l], (j - 1,)) if i == 0 else (net.W[l], (j - 1, i - 1))
    def loss() -> float:
        return net.loss(X, D, alpha=alpha, sample_weight=sample_weight, dropout_mask=dropout_mask)

    return _central(loss, param, index, h)


def gradcheck(net: Network, X: ArrayLike, D: ArrayLike, *, alpha: float = 0.0,
              sample_weight: ArrayLike | None = None, h: float = 1e-5, floor: float = 1e-4,
              tolerance: float = 1e-6, dropout_mask: Any = None) -> GradcheckReport:
    """Compare backpropagation with central differences for every weight and bias.

    Parameters
    ----------
    net : Network
        The network (or a fitted estimator's ``network_``); it is not modified.
    X : array of shape (n_samples, n_1)
    D : array of shape (n_samples, n_L)
    alpha, sample_weight, dropout_mask : as in :meth:`Network.loss` (a fixed mask: the
        thinned network's loss is then an ordinary function of the weights).
    h : float
        Step of the central difference.
    floor : float
        Gradients below ``floor · max(1, |loss|)`` are compared absolutely (module docstring).
    tolerance : float
        ``report.passed`` is ``max_relative_error < tolerance``.

    Returns
    -------
    GradcheckReport
    """
    net = getattr(net, "network_", net)
    net64 = net.astype(np.float64)
    X, D, s, mask = net64._checked(X, D, sample_weight, dropout_mask)
    grads = net64.backprop(X, D, float(alpha), s, mask)
    scale = floor * max(1.0, abs(grads.loss))
    rows = []
    for kind, l, param in net64.parameters():
        analytic = grads.W[l] if kind == "W" else grads.b[l]
        for index in np.ndindex(param.shape):
            numerical = _central(lambda: net64._batch_loss(net64._forward(X, mask), D, float(alpha), s),
                                 param, index, h)
            a = float(analytic[index])
            i = index[1] + 1 if kind == "W" else 0
            rows.append(GradcheckRow(l, index[0] + 1, i, a, numerical, relative_error(a, numerical, scale)))
    return GradcheckReport(rows, tolerance)
