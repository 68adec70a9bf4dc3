"""The stopping rule: stop after more than ``patience`` epochs without improvement by ``tol``.

scikit-learn's rule (``_update_no_improvement_count`` of its MLP), the one rule the estimators,
the cluster and the command share.  Once it is :attr:`~StoppingRule.exhausted` the caller stops,
or (SGD's adaptive learning rate) lowers the rate and calls :meth:`~StoppingRule.restart`.

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
    """``patience`` (``n_iter_no_change``; ``math.inf``: never exhausted) epochs in a row without
    improving by ``tol`` end training; the watched value is a loss, or a score with
    ``higher_is_better``.  ``best_epoch`` is 1-based (0 before the first)."""

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
        """Account one epoch's ``value``; True when it is the new (finite, strictly better) best.
        Not improving by ``tol`` counts a bad epoch; a NaN compares False, as in scikit-learn."""
        sign = 1.0 if self.higher_is_better else -1.0  # a loss as a score (exact: rounding is symmetric)
        v, best = sign * float(value), sign * self.best
        self.epochs += 1
        worse, better = v < best + self.tol, v > best
        self.bad_epochs = self.bad_epochs + 1 if worse else 0
        if better and math.isfinite(v):
            self.best = value  # as given (a numpy float stays one, as in scikit-learn)
            self.best_epoch = self.epochs
            return True
        return False

    @property
    def exhausted(self) -> bool:
        return self.bad_epochs > self.patience

    def restart(self) -> None:  # count bad epochs afresh, keeping the best
        self.bad_epochs = 0


class ConvergenceWarning(UserWarning):
    """A run ended at its iteration limit without converging (scikit-learn's, where it is not loaded)."""


def convergence_warning() -> type[Warning]:
    """scikit-learn's ``ConvergenceWarning`` when scikit-learn is loaded, else deltaprop's own of
    the same name: the training ring alone does not import scikit-learn (about 1 s) for a warning."""
    import sys

    if "sklearn" in sys.modules:
        from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

        return SklearnConvergenceWarning
    return ConvergenceWarning
