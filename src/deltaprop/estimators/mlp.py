"""Drop-in replacements for scikit-learn's ``MLPRegressor`` and ``MLPClassifier``.

Change one import (``from deltaprop import MLPRegressor``) and keep the rest: the same
parameters with the same defaults, the same fitted attributes (``coefs_``/``intercepts_`` in
scikit-learn's (n_in, n_out) orientation) and methods, and the same random draws, so that an
estimator of each library with the same ``random_state`` starts from the same weights and
visits the samples in the same order.

What deltaprop adds:

- ``network_``: the fitted :class:`~deltaprop.Network` (seed notation, ``W[l]`` of shape
  (n_l, n_{l-1})), so gradients, gradcheck and explain work on any fitted estimator;
  ``coefs_[k]`` is ``network_.W[k + 2].T``, a view, always in step with it.
- ``activation`` may list one name per hidden layer, and may also be "leaky_relu" or
  "softplus"; ``class_weight`` ("balanced" or a dict) for the classifier.
- ``validation_loss_curve_`` beside ``validation_scores_`` (early stopping);
  ``gradient_norms_``, per epoch, {l: ‖∂E/∂W^(l)‖_F} of the epoch's last mini-batch.
- ``callback(estimator)`` after every epoch: return True to stop.
- Ctrl-C stops cleanly (``interrupted_``); a run whose loss or weights stop being finite
  stops with the weights from before (``diverged_``), one whose loss blows up far above its
  start while finite is reported (``blew_up_``), each with a warning to lower
  ``learning_rate_init``.
- ``verbose`` prints scikit-learn's lines, or a progress bar on a terminal (or with
  ``verbose="bar"``); float32 input trains a float32 network.
- ``validation_stratify="classes"`` (classifier) stratifies early stopping's split for
  every single-label target, not only binary ones.

One deliberate difference: ``loss_`` sums E_n over the outputs (the seed's E_n), where
scikit-learn's squared error averages over them (its issue #8349, a loss whose gradient is
not the gradient reported).  With one output the two agree.
"""

from __future__ import annotations

import copy
from typing import Any

from deltaprop.estimators.classifier import MLPClassifier
from deltaprop.estimators.fitted import FittedMLP
from deltaprop.estimators.regressor import MLPRegressor

__all__ = ["MLPRegressor", "MLPClassifier", "from_record"]


def from_record(fitted: FittedMLP) -> Any:
    """A new ``MLPRegressor`` or ``MLPClassifier`` fitted as the record says (its network shared).

    Raises ValueError when the parameters or the attributes do not fit the class.
    """
    cls = {"MLPRegressor": MLPRegressor, "MLPClassifier": MLPClassifier}.get(fitted.kind)
    if cls is None:
        raise ValueError(f"unknown estimator class {fitted.kind!r}")
    try:
        est = cls(**fitted.params)
        est._validate_params()
    except (TypeError, ValueError) as e:
        raise ValueError(f"the parameters do not fit {fitted.kind} ({e})") from e
    for key, value in fitted.attributes.items():
        setattr(est, key, copy.deepcopy(value))
    est._restore_fitted_state(fitted.network, fitted.state)
    return est
