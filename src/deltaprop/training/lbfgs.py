"""Training by L-BFGS on the whole training set (scikit-learn's ``solver="lbfgs"``); a run whose
loss or weights stop being finite ends with the best finite weights it evaluated."""

from __future__ import annotations

import math
import warnings

import numpy as np

from deltaprop.core.optim import lbfgs
from deltaprop.speed.backprop import foreign_blas_single_threaded
from deltaprop.training import divergence, progress
from deltaprop.training.state import TrainingSettings, TrainingState

__all__ = ["fit_lbfgs", "gradient_norms"]


def gradient_norms(grad_W) -> dict[int, float]:
    """{l: Frobenius norm of ∂E/∂W^(l)}."""
    return {l: float(np.linalg.norm(g)) for l, g in grad_W.items()}


class _Objective:
    """E(θ) and ∂E/∂θ for scipy, remembering the best finite θ and the latest gradient norms."""

    def __init__(self, net, X, D, sample_weight, backprop):
        self.net, self.X, self.D, self.sample_weight = net, X, D, sample_weight
        self.backprop = backprop
        self.best_loss = math.inf
        self.best_theta = net.get_flat()
        self.norms: dict[int, float] = {}

    def __call__(self, theta):
        self.net.set_flat(theta)
        loss, grad_W, _ = self.backprop(self.X, self.D, self.sample_weight)
        grad = self.backprop.flat_grad  # packed as get_flat packs θ
        self.norms = gradient_norms(grad_W)
        if math.isfinite(loss) and loss < self.best_loss and np.isfinite(grad).all():
            self.best_loss, self.best_theta = loss, np.array(theta, copy=True)
        # scipy's L-BFGS-B works in float64; a copy, as the buffer is reused
        return loss, np.array(grad, dtype=np.float64)


def fit_lbfgs(net, X, D, sample_weight, settings: TrainingSettings, state: TrainingState,
              backprop) -> TrainingState:
    """Train ``net`` in place by L-BFGS (``backprop`` gives E and ∂E/∂θ); returns ``state``."""
    X = X.toarray() if hasattr(X, "toarray") else X
    objective = _Objective(net, X, D, sample_weight, backprop)
    state.loss_curve, state.gradient_norms = [], []
    n_iter = 0
    stopped_by_callback = False

    def after_iteration(theta, loss):
        nonlocal n_iter, stopped_by_callback
        n_iter += 1
        state.n_iter, state.loss = n_iter, float(loss)
        state.loss_curve.append(float(loss))
        state.gradient_norms.append(objective.norms)
        display.epoch(n_iter, float(loss))
        if settings.on_epoch is not None:
            net.set_flat(theta)  # on_epoch sees the run as far as it got
            stopped_by_callback = bool(settings.on_epoch(state))
        return stopped_by_callback

    label = settings.label + " (lbfgs)"
    quiet = np.errstate(over="ignore", invalid="ignore")
    with progress.for_verbose(settings.verbose, label, settings.max_iter) as display, quiet:
        try:
            # scipy's own BLAS on one thread, so it does not fight numpy's
            with foreign_blas_single_threaded():
                result = lbfgs(objective, net.get_flat(), max_iter=settings.max_iter,
                               max_fun=settings.max_fun, tol=settings.tol, callback=after_iteration)
        except KeyboardInterrupt:
            state.interrupted = True
            warnings.warn("Training interrupted by user.", stacklevel=4)
            net.set_flat(objective.best_theta)
            state.n_iter, state.loss = n_iter, objective.best_loss
            return state
    _finish(net, result, objective, settings, state, n_iter if stopped_by_callback else None)
    return state


def _finish(net, result, objective: _Objective, settings, state: TrainingState, n_callback) -> None:
    """Keep the result's θ (or, when it is not finite, the best finite θ evaluated)."""
    theta, loss = result.x, float(result.fun)
    if math.isfinite(objective.best_loss):
        state.finite_epochs += 1
    if not (math.isfinite(loss) and np.isfinite(theta).all()):
        state.diverged = True
        divergence.warn_diverged("the loss stopped being finite", settings.learning_rate_init, stacklevel=5)
        theta, loss = objective.best_theta, objective.best_loss
        state.n_iter = min(result.nit, settings.max_iter)
    elif n_callback is not None:
        state.n_iter = n_callback
    else:  # the iterations made, with scikit-learn's warning when it did not converge
        from sklearn.utils.optimize import _check_optimize_result

        state.n_iter = _check_optimize_result("lbfgs", result, settings.max_iter)
    state.loss = loss
    net.set_flat(theta)
