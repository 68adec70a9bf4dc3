"""The command's watch over a training run: validation loss, best weights, stopping, progress.

The stopping rule (:class:`~deltaprop.training.stopping.StoppingRule`) and the progress bar
(:class:`~deltaprop.training.progress.ProgressBar`) are the ones the estimators use; the
monitor adds what only the command needs: the validation rows the command chose, the best
weights, and checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import r2_score

from deltaprop.command.common import plain
from deltaprop.command.metrics import classification_metrics
from deltaprop.core import losses
from deltaprop.training.stopping import StoppingRule

__all__ = ["Monitor"]


class Monitor:
    """The estimator's callback: validation loss, best weights, early stopping, progress, checkpoints.

    After each epoch ``__call__(est)`` appends the validation loss (the network's loss on the
    validation rows: mean E_n, in the units the network was trained in) and the validation
    score (R² or accuracy), keeps a copy of the weights with the lowest validation loss (the
    training loss when there is no validation set), and returns True to stop when that has
    not improved by ``tol`` for more than ``patience`` epochs (the estimators' stopping rule,
    a non-finite loss counting as no improvement) and early stopping is on.
    """

    def __init__(
        self,
        X_val: np.ndarray | None,
        D_val: Any,
        *,
        early_stopping: bool,
        patience: int,
        tol: float,
        checkpoint_every: int = 0,
        on_checkpoint: Callable[[Any, Monitor], None] | None = None,
        progress: Any = None,
        task: str | None = None,
        state: dict[str, Any] | None = None,
    ):
        self.X_val, self.D_val = X_val, D_val
        self.early_stopping = early_stopping
        self.patience = patience
        self.tol = tol
        self.checkpoint_every = checkpoint_every
        self.on_checkpoint = on_checkpoint
        self.progress = progress
        self.task = task
        state = state or {}
        self.validation_loss: list[float] = list(state.get("validation_loss", []))
        self.validation_score: list[float] = list(state.get("validation_score", []))
        self.rule = StoppingRule(patience, tol, count_nonfinite=True)
        self.rule.best = float(state.get("best_loss", math.inf))
        self.rule.bad_epochs = int(state.get("bad_epochs", 0))
        self.best_epoch: int = state.get("best_epoch", 0)
        self.best_theta: np.ndarray | None = state.get("best_theta")
        self.stopped_early = False

    def state(self) -> dict[str, Any]:
        """What --resume needs to carry the watch on (the best weights are kept apart)."""
        return {
            "validation_loss": list(self.validation_loss),
            "validation_score": list(self.validation_score),
            "best_loss": self.rule.best,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.rule.bad_epochs,
        }

    def _validation(self, est: Any) -> tuple[float, float]:
        net = est.network_
        if self.task == "regression":
            # one forward pass gives the loss (mean E_n of the run's --loss, from the core) and R²
            fwd = net.forward(self.X_val)
            E = losses.per_sample(net.loss_name, fwd.u[net.L], fwd.y, self.D_val.T, net.output,
                                  net.loss_params)
            loss = float(E.mean())
            finite = np.isfinite(fwd.y).all()  # scikit-learn refuses outputs that overflowed
            return loss, float(r2_score(self.D_val, fwd.y.T)) if finite else float("nan")
        classes = [plain(c) for c in est.classes_]
        proba = est.predict_proba(self.X_val)
        if not np.isfinite(proba).all():
            return float("nan"), float("nan")
        m = classification_metrics(self.D_val, proba, classes)
        return m["log-loss"], m["accuracy"]

    def __call__(self, est: Any) -> bool:
        epoch = len(est.loss_curve_)
        train_loss = est.loss_curve_[-1]
        score: float | None = None
        if self.X_val is not None:
            loss, score = self._validation(est)
            self.validation_loss.append(loss)
            self.validation_score.append(score)
        else:
            loss = train_loss
        if self.rule.update(loss):
            self.best_epoch = epoch
            self.best_theta = est.network_.get_flat()
        if self.progress is not None:
            val = loss if self.X_val is not None else None
            self.progress.epoch(epoch, train_loss, validation_loss=val, validation_score=score)
        if self.checkpoint_every and epoch % self.checkpoint_every == 0 and self.on_checkpoint is not None:
            self.on_checkpoint(est, self)
        if self.early_stopping and self.rule.exhausted:
            self.stopped_early = True
            return True
        return False
