"""What a training run is given (:class:`TrainingSettings`) and what it keeps between the calls
that continue it (:class:`TrainingState`, whence the estimators' fitted attributes); the training
code never reads or writes an estimator."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deltaprop.training.stopping import StoppingRule

__all__ = ["TrainingSettings", "TrainingState", "ValidationScore", "STOCHASTIC_SOLVERS"]

#: the solvers that train by epochs of mini-batches (the rest: L-BFGS)
STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw")

#: ``score(X_val, Y, D, sample_weight)``: the validation score of held-out rows X whose outputs
#: are Y, against targets D (R², accuracy, or a scikit-learn scorer's value)
ValidationScore = Callable[[np.ndarray, np.ndarray, np.ndarray, "np.ndarray | None"], float]


@dataclass(frozen=True)
class TrainingSettings:
    """The hyperparameters, by scikit-learn's names; ``stratify`` (the split's policy), ``score``
    (early stopping's; None watches the validation loss), ``label`` (the display's name) and
    ``on_epoch`` (called with the state after every epoch; True stops the run)."""

    solver: str = "adam"
    alpha: float = 0.0001
    batch_size: int | str = "auto"
    learning_rate: str = "constant"
    learning_rate_init: float = 0.001
    power_t: float = 0.5
    max_iter: int = 200
    shuffle: bool = True
    tol: float = 1e-4
    momentum: float = 0.9
    nesterovs_momentum: bool = True
    early_stopping: bool = False
    validation_fraction: float = 0.1
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    n_iter_no_change: float = 10
    max_fun: int = 15000
    stratify: str | None = None
    score: ValidationScore | None = None
    verbose: Any = False
    label: str = "MLP"
    on_epoch: Callable[[TrainingState], bool] | None = None
    # beyond scikit-learn's: AdamW's decoupled decay, clipping by global norm, the cosine
    # schedule's warm-up (epochs), and the dropout rate(s) of the hidden layers
    weight_decay: float = 0.01
    max_grad_norm: float | None = None
    warmup_iter: int = 0
    dropout: Any = 0.0

    @property
    def stochastic(self) -> bool:  # SGD, Adam and AdamW (epochs of mini-batches), not L-BFGS
        return self.solver in STOCHASTIC_SOLVERS


@dataclass
class TrainingState:
    """A run's progress: ``n_iter`` epochs of the latest call, ``t`` samples seen over all calls,
    ``stopping`` (stochastic solvers) watching the loss or the validation score (best θ
    ``best_theta``), ``reference_loss`` that a blow-up is judged against, and ``backprop`` the
    ``(network, key, BatchBackprop)`` a loop of ``partial_fit`` calls reuses (never pickled)."""

    n_iter: int = 0
    t: int = 0
    loss: float = math.nan
    loss_curve: list[float] = field(default_factory=list)
    gradient_norms: list[dict[int, float]] = field(default_factory=list)
    validation_scores: list[float] | None = None
    validation_loss_curve: list[float] | None = None
    stopping: StoppingRule | None = None
    best_theta: np.ndarray | None = None
    optimizer: Any = None
    interrupted: bool = False
    diverged: bool = False
    blew_up: bool = False
    finite_epochs: int = 0
    reference_loss: float = math.nan
    backprop: tuple[Any, ...] | None = None

    @classmethod
    def start(cls, settings: TrainingSettings, theta: np.ndarray) -> TrainingState:
        """A fresh run from θ (scikit-learn's ``_initialize``)."""
        state = cls(best_theta=theta)
        if settings.stochastic:  # with early stopping the rule watches the validation score
            state.stopping = StoppingRule(settings.n_iter_no_change, settings.tol,
                                          higher_is_better=settings.early_stopping)
            if settings.early_stopping:
                state.validation_scores, state.validation_loss_curve = [], []
        return state

    def fitted_attributes(self) -> dict[str, Any]:
        """The fitted attributes, and the private ones: ``_no_improvement_count``, ``_best_epoch``
        (whose weights the run keeps) and ``_stopped_early``."""
        rule = self.stopping
        attrs: dict[str, Any] = {
            "n_iter_": self.n_iter, "t_": self.t, "loss_": self.loss, "loss_curve_": self.loss_curve,
            "gradient_norms_": self.gradient_norms, "interrupted_": self.interrupted,
            "diverged_": self.diverged, "blew_up_": self.blew_up,
            "_best_epoch": rule.best_epoch if rule and rule.higher_is_better else len(self.loss_curve),
            "_stopped_early": bool(rule and rule.exhausted),
        }
        if rule is not None:
            attrs["_no_improvement_count"] = rule.bad_epochs
            attrs["validation_scores_"] = self.validation_scores
            attrs["validation_loss_curve_"] = self.validation_loss_curve
            attrs["best_validation_score_"] = rule.best if rule.higher_is_better else None
            attrs["best_loss_"] = None if rule.higher_is_better else rule.best
        return attrs

    def begin_call(self) -> None:  # clear the previous call's outcome
        self.interrupted = self.diverged = self.blew_up = False

    def __getstate__(self) -> dict[str, Any]:
        # the kept BatchBackprop (buffers, compiled closures) is made again when needed
        state = dict(self.__dict__)
        state["backprop"] = None
        return state
