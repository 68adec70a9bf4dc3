"""The stopping rule: stop after more than ``patience`` epochs without improvement by ``tol``.

This is scikit-learn's rule (``_update_no_improvement_count`` of its MLP), the one rule the
estimators, the cluster and the command share.  After each epoch the watched value v (the
training loss, or with early stopping the validation score) is compared with the best so far:
lower is better for a loss (the epoch improves when v <= best - tol), higher for a score (when
v >= best + tol).  An epoch that does not improve adds one to ``bad_epochs``; one that does sets
it to 0.  Independently, v becomes ``best`` when it is strictly better (so an epoch may set a new
best without improving by ``tol``).  Once ``bad_epochs > patience`` the rule is
:attr:`~StoppingRule.exhausted`: the caller stops, or (SGD's adaptive learning rate) lowers the
rate and calls :meth:`~StoppingRule.restart`.

A value that is not finite never becomes the best, and counts as scikit-learn's comparisons
count it (a NaN compares False, so the count is reset).

>>> rule = StoppingRule(patience=1, tol=0.1)
>>> [rule.update(v) for v in (1.0, 0.95, 0.96)]
[True, True, False]
>>> rule.bad_epochs, rule.exhausted
(2, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["StoppingRule", "ConvergenceWarning", "convergence_warning"]


@dataclass
class StoppingRule:
    """More than ``patience`` epochs in a row without improving by ``tol`` ends training.

    Parameters
    ----------
    patience : int or float
        scikit-learn's ``n_iter_no_change`` (``math.inf``: never exhausted).
    tol : float
        The least change that counts as an improvement.
    higher_is_better : bool, default=False
        False for a loss, True for a score.

    ``best`` is ±inf before the first epoch, ``best_epoch`` the 1-based epoch of ``best`` (0
    before), ``epochs`` the values seen.
    """

    patience: float
    tol: float
    higher_is_better: bool = False
    best: float = field(default=math.nan)
    best_epoch: int = 0
    bad_epochs: int = 0
    epochs: int = 0

    def __post_init__(self) -> None:
        if math.isnan(self.best):
            self.best = -math.inf if self.higher_is_better else math.inf

    def update(self, value: float) -> bool:
        """Account one epoch's ``value``; True when it is the new best.

        Lower is better: the epoch improves when value <= best - tol; higher is better: when
        value >= best + tol.  Otherwise ``bad_epochs`` grows by one.
        """
        v = float(value)
        self.epochs += 1
        if self.higher_is_better:
            worse = v < self.best + self.tol
            better = v > self.best
        else:
            worse = v > self.best - self.tol
            better = v < self.best
        self.bad_epochs = self.bad_epochs + 1 if worse else 0
        if better and math.isfinite(v):
            self.best = value  # as given (a numpy float stays one, as in scikit-learn)
            self.best_epoch = self.epochs
            return True
        return False

    @property
    def exhausted(self) -> bool:
        """True when more than ``patience`` epochs in a row did not improve by ``tol``."""
        return self.bad_epochs > self.patience

    def restart(self) -> None:
        """Start counting epochs without improvement afresh (the best is kept)."""
        self.bad_epochs = 0


class ConvergenceWarning(UserWarning):
    """A run ended at its iteration limit without converging (stands in for scikit-learn's
    ``ConvergenceWarning`` where scikit-learn is not loaded; see :func:`convergence_warning`)."""


def convergence_warning() -> type[Warning]:
    """scikit-learn's ``ConvergenceWarning`` when scikit-learn is loaded (every estimator's fit,
    and any caller that filters that warning, has imported it), else deltaprop's own of the
    same name: a run of the command does not import scikit-learn (about 1 s) for a warning."""
    import sys

    if "sklearn" in sys.modules:
        from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

        return SklearnConvergenceWarning
    return ConvergenceWarning
