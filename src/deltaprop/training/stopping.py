"""The stopping rule: stop after more than ``patience`` epochs without improvement by ``tol``.

This is scikit-learn's rule (``_update_no_improvement_count`` of its MLP), the one rule the
estimators and the command share.  After each epoch the watched value v (the training loss,
a validation loss, or a validation score) is compared with the best value so far:

- lower is better (a loss):  the epoch improves when v <= best - tol;
- higher is better (a score): the epoch improves when v >= best + tol.

An epoch that does not improve adds one to ``bad_epochs``; one that improves sets it to 0.
Independently, v becomes the new ``best`` when it is strictly better than ``best`` (so an
epoch may set a new best without counting as an improvement by ``tol``).  Once
``bad_epochs > patience``, :attr:`StoppingRule.exhausted` is True: the caller stops, or
(SGD's adaptive learning rate) lowers the rate and calls :meth:`StoppingRule.restart`.

A value that is not finite never becomes the best.  By default it counts as scikit-learn's
comparisons count it (a NaN compares False, so the count is reset); with
``count_nonfinite=True`` it counts as an epoch without improvement.

API (stable)
------------
``StoppingRule(patience, tol, *, higher_is_better=False, count_nonfinite=False)``
    ``patience`` may be ``math.inf`` (never stop).  Attributes: ``best`` (±inf before the
    first epoch), ``best_epoch`` (1-based epoch of ``best``, 0 before), ``bad_epochs``,
    ``epochs`` (values seen).
``rule.update(value) -> bool``
    Account one epoch's value; True when it is the new best (the caller keeps its weights).
``rule.exhausted -> bool``
    ``bad_epochs > patience``.
``rule.restart()``
    ``bad_epochs = 0`` (after the learning rate was lowered).
``rule.state() -> dict`` and ``StoppingRule.from_state(state, patience, tol, ...)``
    The counters as plain numbers, for checkpoints and model files.
``convergence_warning() -> type``
    The class of the warning for a run that ends unconverged (see its docstring).

Examples
--------
>>> rule = StoppingRule(patience=1, tol=0.1)
>>> [rule.update(v) for v in (1.0, 0.95, 0.96)]
[True, True, False]
>>> rule.bad_epochs, rule.exhausted
(2, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

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
    count_nonfinite : bool, default=False
        True: a non-finite value counts as an epoch without improvement.  False: it is
        compared as scikit-learn compares it (NaN resets the count).
    """

    patience: float
    tol: float
    higher_is_better: bool = False
    count_nonfinite: bool = False
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
        finite = math.isfinite(v)
        if self.higher_is_better:
            worse = v < self.best + self.tol
            better = v > self.best
        else:
            worse = v > self.best - self.tol
            better = v < self.best
        if worse or (self.count_nonfinite and not finite):
            self.bad_epochs += 1
        else:
            self.bad_epochs = 0
        if better and finite:
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

    def state(self) -> dict[str, Any]:
        """``{"best", "best_epoch", "bad_epochs", "epochs"}`` as plain numbers."""
        return {"best": float(self.best), "best_epoch": int(self.best_epoch),
                "bad_epochs": int(self.bad_epochs), "epochs": int(self.epochs)}

    @classmethod
    def from_state(cls, state: dict[str, Any], patience: float, tol: float, *,
                   higher_is_better: bool = False, count_nonfinite: bool = False) -> StoppingRule:
        """A rule continuing from :meth:`state` (missing keys start afresh)."""
        rule = cls(patience, tol, higher_is_better=higher_is_better, count_nonfinite=count_nonfinite)
        if "best" in state:
            rule.best = float(state["best"])
        rule.best_epoch = int(state.get("best_epoch", 0))
        rule.bad_epochs = int(state.get("bad_epochs", 0))
        rule.epochs = int(state.get("epochs", 0))
        return rule


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
