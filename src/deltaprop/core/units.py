"""Dead and saturated units: one definition for every report of them.

A unit passes (almost) no gradient back on a sample when its slope is flat there:

    f′(u_j) < FLAT · sup f′

(sup f′ is the activation's ``max_derivative``: ¼ for logistic, 1 for tanh and softplus; 1
for relu-like activations, whose slope is 0 or 1).  Over the samples of a batch, a unit is

- **dead** when it is flat on every sample: no gradient reaches its incoming weights at all
  (a relu unit with u ≤ 0 everywhere, a tanh unit pinned at ±1);
- **saturated** when it is flat on at least ``SATURATED_SHARE`` of the samples but not all,
  which only an activation that saturates (f′ → 0 as |u| grows: ``max_derivative`` is set)
  can be.  A relu unit that is off on most samples is sparse, which is its design: relu
  cannot saturate.

The identity never is either (f′ = 1).  The core, the command's report and explain all read
these numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from deltaprop.core.activations import Activation

__all__ = ["FLAT", "SATURATED_SHARE", "UnitActivity", "unit_activity"]

#: f′(u) below this share of sup f′ counts as passing no gradient
FLAT = 0.01
#: a unit flat on at least this share of the samples (but not all) is saturated
SATURATED_SHARE = 0.9


class UnitActivity(NamedTuple):
    """One layer's units on a batch: counts of dead and saturated units, and the flat share.

    ``flat_share`` is the share of (unit, sample) pairs whose f′ is flat (0 on no samples).
    """

    n_units: int
    dead: int
    saturated: int
    flat_share: float

    @property
    def dead_share(self) -> float:
        return self.dead / self.n_units if self.n_units else 0.0

    @property
    def saturated_share(self) -> float:
        return self.saturated / self.n_units if self.n_units else 0.0


def unit_activity(f: Activation, u: np.ndarray, z: np.ndarray) -> UnitActivity:
    """Dead and saturated units of one layer with activation ``f``.

    Parameters
    ----------
    f : Activation
        The layer's activation (element-wise: every hidden activation).
    u, z : ndarray of shape (n_l, n_samples)
        u^(l) and z^(l) = f(u^(l)), one sample per column.

    Returns
    -------
    UnitActivity
        (n_l, dead units, saturated units, share of flat (unit, sample) pairs).
    """
    n_units, n_samples = u.shape
    if n_samples == 0:
        return UnitActivity(n_units, 0, 0, 0.0)
    top = f.max_derivative
    flat = np.abs(f.derivative(u, z)) < FLAT * (1.0 if top is None else top)
    share = flat.mean(axis=1)
    saturated = 0 if top is None else int(((share >= SATURATED_SHARE) & (share < 1.0)).sum())
    return UnitActivity(n_units, int((share == 1.0).sum()), saturated, float(flat.mean()))
