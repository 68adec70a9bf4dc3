"""A fitted estimator as data: :class:`FittedMLP`, so that a model file loads and ``deltaprop
predict``, ``evaluate`` and ``info`` run without importing scikit-learn (about 0.8 s);
:func:`deltaprop.estimators.mlp.from_record` makes the estimator itself."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deltaprop.core import classes as class_coding
from deltaprop.core.network import Network
from deltaprop.speed import backprop as fast

__all__ = ["FittedMLP", "class_layout", "REGRESSOR", "CLASSIFIER", "DERIVED"]

REGRESSOR, CLASSIFIER = "MLPRegressor", "MLPClassifier"

#: fitted attributes that are views of the network, never stored apart from it
DERIVED = frozenset({"network_", "coefs_", "intercepts_"})


def class_layout(classes: Any, state: Mapping[str, Any], network: Network) -> tuple[np.ndarray, bool]:
    """``(classes, multilabel)`` of a classifier's ``classes_`` and state; ValueError: they do not fit."""
    if classes is None or len(classes) < 2:
        raise ValueError("a classifier needs at least two classes")
    classes = np.asarray(classes)
    multilabel = str(state.get("label_type", "")).startswith("multilabel")
    if class_coding.n_outputs(len(classes), multilabel) != network.sizes[-1]:
        raise ValueError(f"{len(classes)} classes do not fit a network with {network.sizes[-1]} outputs")
    return classes, multilabel


@dataclass
class FittedMLP:
    """A fitted ``MLPRegressor`` or ``MLPClassifier`` (``kind``): its parameters (those left out
    take the defaults), network, public fitted attributes but those derived from the network, and
    the private state a model file keeps."""

    kind: str
    params: dict[str, Any]
    network: Network
    attributes: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_estimator(cls, est: Any) -> FittedMLP:
        """The record of a fitted estimator (its network shared), without ``callback``: code, not
        data, so that a record never calls back into the run that trained it."""
        params = {key: value for key, value in est.get_params(deep=False).items() if key != "callback"}
        attributes = {
            key: value for key, value in vars(est).items()
            if key.endswith("_") and not key.startswith("_") and key not in DERIVED
        }
        return cls(type(est).__name__, params, est.network_, attributes, est._fitted_state())

    def copy(self) -> FittedMLP:
        return FittedMLP(self.kind, dict(self.params), self.network.copy(),
                         copy.deepcopy(self.attributes), copy.deepcopy(self.state))

    def check(self) -> FittedMLP:
        """Itself; ValueError for an unknown kind or classes that do not fit the network."""
        if self.kind not in (REGRESSOR, CLASSIFIER):
            raise ValueError(f"unknown estimator class {self.kind!r}")
        if self.kind == CLASSIFIER:
            class_layout(self.attributes.get("classes_"), self.state, self.network)
        return self

    @property
    def network_(self) -> Network:
        return self.network

    def __getattr__(self, name: str) -> Any:
        # the fitted attributes by their estimator names (only called for names not found)
        attributes = self.__dict__.get("attributes", {})
        if name.endswith("_") and not name.startswith("_") and name in attributes:
            return attributes[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def outputs(self, X: np.ndarray) -> np.ndarray:
        """The network's outputs y, shape (n, n_outputs)."""
        return fast.predict(self.network, X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        Y = self.outputs(X)
        if self.kind == CLASSIFIER:
            self._single_label()
            return np.asarray(self.attributes["classes_"])[class_coding.predicted_codes(Y)]
        return Y[:, 0] if Y.shape[1] == 1 else Y

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.kind != CLASSIFIER:
            raise AttributeError("a regressor has no predict_proba")
        self._single_label()
        return class_coding.probabilities(self.outputs(X))

    def _single_label(self) -> None:
        if class_layout(self.attributes.get("classes_"), self.state, self.network)[1]:
            raise ValueError("a multilabel classifier's record does not predict; make its estimator "
                             "(deltaprop.estimators.mlp.from_record) and predict with that")
