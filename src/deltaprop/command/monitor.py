"""The command's watch over a training run: the progress bar and checkpoints after each epoch.

The validation loss and score, early stopping and the best weights are the estimator's own
(``fit(..., validation_data=...)`` with ``early_stopping=True``: :mod:`deltaprop.training.loop`);
the monitor shows them, writes checkpoints, and says afterwards how the run ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Monitor"]


class Monitor:
    """The estimator's callback: after every epoch, the validation rows' score by the
    estimator's ``score``, the progress bar (training loss, the validation loss of early
    stopping, the score) and every ``checkpoint_every`` epochs
    ``on_checkpoint(est, monitor)``; it never stops the run itself.

    After the fit, :meth:`finish` reads from the estimator the epoch whose weights it kept
    (``best_epoch``) and whether its stopping rule ended the run (``stopped_early``)."""

    def __init__(self, validation: tuple[Any, Any] | None = None, *, checkpoint_every: int = 0,
                 on_checkpoint: Callable[[Any, Monitor], None] | None = None, progress: Any = None,
                 scores: list[float] | None = None):
        self.validation = validation
        self.checkpoint_every = checkpoint_every
        self.on_checkpoint = on_checkpoint
        self.progress = progress
        #: the estimator's own score (R² or accuracy) of the validation rows after every epoch
        self.validation_score: list[float] = list(scores or [])
        self.best_epoch = 0
        self.stopped_early = False

    def __call__(self, est: Any) -> bool:
        epoch = len(est.loss_curve_)
        score = None
        if self.validation is not None:
            try:
                score = float(est.score(*self.validation))
            except ValueError:  # outputs that overflowed: scikit-learn refuses to score them
                score = float("nan")
            self.validation_score.append(score)
        if self.progress is not None:
            losses = getattr(est, "validation_loss_curve_", None)
            self.progress.epoch(epoch, est.loss_curve_[-1], validation_loss=losses[-1] if losses else None,
                                validation_score=score)
        if self.checkpoint_every and epoch % self.checkpoint_every == 0 and self.on_checkpoint is not None:
            self.on_checkpoint(est, self)
        return False

    @staticmethod
    def best_theta(est: Any) -> np.ndarray:
        """θ of the best validation score so far (early stopping), else the current θ."""
        state = est.__dict__.get("_training")
        best = None if state is None or not est.early_stopping else state.best_theta
        return est.network_.get_flat() if best is None else best

    def finish(self, est: Any) -> None:
        """``best_epoch`` and ``stopped_early`` as the training run published them in the fitted
        estimator's record (a FittedMLP's private state)."""
        self.best_epoch = int(est.state["best_epoch"])
        self.stopped_early = bool(est.state["stopped_early"])
