"""Drop-in replacements for scikit-learn's ``MLPRegressor`` and ``MLPClassifier``.

Change one import (``from deltaprop import MLPRegressor``) and keep the rest: the same parameters
and defaults, the same fitted attributes (``coefs_``/``intercepts_`` in scikit-learn's (n_in,
n_out) orientation) and methods, and the same random draws.  What deltaprop adds (``network_``
in the seed's notation, ``callback``, ``scoring``, ``validation_data`` …) and the one deliberate
difference (``loss_`` sums E_n over the outputs, scikit-learn's issue #8349) are in
``docs/dropin.md``.
"""

from __future__ import annotations

import copy
from typing import Any

from deltaprop.estimators.classifier import MLPClassifier
from deltaprop.estimators.fitted import FittedMLP
from deltaprop.estimators.regressor import MLPRegressor

__all__ = ["MLPRegressor", "MLPClassifier", "from_record"]


def from_record(fitted: FittedMLP) -> Any:
    """A new ``MLPRegressor`` or ``MLPClassifier`` fitted as the record says (its network shared);
    ValueError when the parameters or the attributes do not fit the class."""
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
