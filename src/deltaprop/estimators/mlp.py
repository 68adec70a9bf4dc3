"""Drop-in replacements for scikit-learn's ``MLPRegressor`` and ``MLPClassifier``: the same
parameters, fitted attributes, methods and random draws; what deltaprop adds and its one
deliberate difference are in ``docs/dropin.md``."""

from __future__ import annotations

import copy
from typing import Any

from deltaprop.estimators.classifier import MLPClassifier
from deltaprop.estimators.fitted import FittedMLP
from deltaprop.estimators.regressor import MLPRegressor

__all__ = ["MLPRegressor", "MLPClassifier", "from_record"]


def from_record(fitted: FittedMLP) -> Any:
    """A new estimator fitted as the record says (its network shared); ValueError: it does not fit."""
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
