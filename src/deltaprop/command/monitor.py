"""The command's watch over a training run: the progress bar and checkpoints after each epoch.

The validation loss and score, early stopping and the best weights are the estimator's own
(``fit(..., validation_data=...)`` with ``early_stopping=True``: :mod:`deltaprop.training.loop`);
the monitor shows them, writes checkpoints, and says afterwards how the run ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Monitor"]


class Monitor:
    """The estimator's callback: after every epoch, the validation rows' ``score``, the progress
    bar, and every ``checkpoint_every`` epochs ``on_checkpoint(est, monitor)``; it never stops
    the run.  ``best_epoch`` and ``stopped_early`` are set from the fitted record afterwards."""

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
