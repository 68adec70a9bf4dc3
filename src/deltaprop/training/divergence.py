"""Divergence: a loss or weights no longer finite (the run stops, with the weights from before the
epoch), or a loss above ``BLOWUP_FACTOR`` times the initial weights' (warned once; the run goes on,
so its numbers stay scikit-learn's)."""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["DivergenceWarning", "BLOWUP_FACTOR", "REFERENCE_ROWS", "NO_FINITE_WEIGHTS", "reference_loss",
           "blown_up", "warn_diverged", "after_epoch"]

#: an epoch's loss above this multiple of the initial loss is a blow-up
BLOWUP_FACTOR = 1e4
#: the initial loss is measured on at most this many training rows
REFERENCE_ROWS = 256
#: scikit-learn's error for a run that never had finite weights after a step
NO_FINITE_WEIGHTS = ("Solver produced non-finite parameter weights. The input data may contain large "
                     "values and need to be preprocessed.")


class DivergenceWarning(UserWarning):
    """Training stopped because the loss or the weights blew up or stopped being finite."""


def reference_loss(net, X, D, sample_weight, alpha) -> float:
    rows = slice(0, min(REFERENCE_ROWS, X.shape[0]))
    X_ref = X[rows]
    if hasattr(X_ref, "toarray"):
        X_ref = X_ref.toarray()
    sw = None if sample_weight is None else sample_weight[rows]
    if sw is not None and not sw.any():
        return math.nan  # no weight, no mean loss: no reference
    with np.errstate(all="ignore"):
        return float(net._batch_loss(net._forward(X_ref), D[rows], float(alpha), sw))


def blown_up(loss: float, reference: float) -> bool:
    """A finite ``loss`` above :data:`BLOWUP_FACTOR` × a finite, positive ``reference``."""
    return math.isfinite(reference) and reference > 0 and loss > BLOWUP_FACTOR * reference


def warn_diverged(what: str, learning_rate_init: float | None, *, stopped: bool = True,
                  stacklevel: int = 4) -> None:
    outcome = ("so training stopped and kept the weights from before" if stopped
               else "and the weights are unlikely to be useful")
    warnings.warn(
        f"Training diverged: {what}, {outcome}. "
        f"Lower learning_rate_init (now {learning_rate_init}) or scale the data.",
        DivergenceWarning,
        stacklevel=stacklevel,
    )


def after_epoch(net, last, finite: bool, params, loss: float, settings, state) -> bool:
    """True when the run must stop (θ ``last`` put back; scikit-learn's error when no epoch ever
    ended finite)."""
    if not finite or not all(np.isfinite(p).all() for p in params):
        net.set_flat(last)
        if state.finite_epochs == 0:
            raise ValueError(NO_FINITE_WEIGHTS)
        state.diverged = True
        what = "the weights" if finite else "the loss"
        warn_diverged(f"{what} stopped being finite", settings.learning_rate_init, stacklevel=7)
        return True
    if not state.blew_up and blown_up(loss, state.reference_loss):
        state.blew_up = True
        warn_diverged(f"the loss grew from {state.reference_loss:.3g} (at the initial weights) to {loss:.3g}",
                      settings.learning_rate_init, stopped=False, stacklevel=7)
    return False
