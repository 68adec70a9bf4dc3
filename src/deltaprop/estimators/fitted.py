"""A fitted estimator as data: :class:`FittedMLP`, without scikit-learn.

The estimators subclass scikit-learn's ``BaseEstimator``, so importing them imports scikit-learn
(about 0.8 s).  A fitted model does not need it to predict: :class:`FittedMLP` holds a fitted
``MLPRegressor`` or ``MLPClassifier`` as data (class name, parameters, network, fitted attributes
and the private state a model file keeps), so that a model file loads and ``deltaprop predict``,
``evaluate`` and ``info`` run without scikit-learn; :func:`deltaprop.estimators.mlp.from_record`
makes the estimator itself.  Training always goes through the estimators' ``fit``.
"""

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
    """``(classes, multilabel)`` of a fitted classifier's ``classes_`` and private state;
    ValueError when they do not fit the network's outputs."""
    if classes is None or len(classes) < 2:
        raise ValueError("a classifier needs at least two classes")
    classes = np.asarray(classes)
    multilabel = str(state.get("label_type", "")).startswith("multilabel")
    if class_coding.n_outputs(len(classes), multilabel) != network.sizes[-1]:
        raise ValueError(f"{len(classes)} classes do not fit a network with {network.sizes[-1]} outputs")
    return classes, multilabel


@dataclass
class FittedMLP:
    """A fitted ``MLPRegressor`` or ``MLPClassifier`` (``kind``) as data: its parameters (those
    left out take the estimator's defaults), its network, its public fitted attributes by
    scikit-learn's names but those derived from the network (``coefs_``, ``intercepts_``), and the
    private state a model file keeps (the stopping rule's outcome, a classifier's label type)."""

    kind: str
    params: dict[str, Any]
    network: Network
    attributes: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_estimator(cls, est: Any) -> FittedMLP:
        """The record of a fitted deltaprop estimator (its network shared, not copied), without
        ``callback``: code, not data, so that a record and an estimator made from it never call
        back into the run that trained it."""
        params = {key: value for key, value in est.get_params(deep=False).items() if key != "callback"}
        attributes = {
            key: value for key, value in vars(est).items()
            if key.endswith("_") and not key.startswith("_") and key not in DERIVED
        }
        return cls(type(est).__name__, params, est.network_, attributes, est._fitted_state())

    def copy(self) -> FittedMLP:
        """An independent copy."""
        return FittedMLP(self.kind, dict(self.params), self.network.copy(),
                         copy.deepcopy(self.attributes), copy.deepcopy(self.state))

    def check(self) -> FittedMLP:
        """Itself; ValueError when the kind is unknown or a classifier's classes do not fit
        its network."""
        if self.kind not in (REGRESSOR, CLASSIFIER):
            raise ValueError(f"unknown estimator class {self.kind!r}")
        if self.kind == CLASSIFIER:
            class_layout(self.attributes.get("classes_"), self.state, self.network)
        return self

    # -- what a fitted estimator is asked
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
        """The network's outputs y for inputs X (n, n_inputs), shape (n, n_outputs)."""
        return fast.predict(self.network, X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The estimator's ``predict``: values (n,) or (n, k), or class labels (n,)."""
        Y = self.outputs(X)
        if self.kind == CLASSIFIER:
            self._single_label()
            return np.asarray(self.attributes["classes_"])[class_coding.predicted_codes(Y)]
        return Y[:, 0] if Y.shape[1] == 1 else Y

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """The classifier's ``predict_proba``: (n, n_classes), columns in ``classes_`` order."""
        if self.kind != CLASSIFIER:
            raise AttributeError("a regressor has no predict_proba")
        self._single_label()
        return class_coding.probabilities(self.outputs(X))

    def _single_label(self) -> None:
        if class_layout(self.attributes.get("classes_"), self.state, self.network)[1]:
            raise ValueError("a multilabel classifier's record does not predict; make its estimator "
                             "(deltaprop.estimators.mlp.from_record) and predict with that")
