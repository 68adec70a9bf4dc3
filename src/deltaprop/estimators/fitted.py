"""A fitted estimator as data, and the rules of ``fit`` that need no scikit-learn.

The estimators (:mod:`deltaprop.estimators.mlp`) subclass scikit-learn's ``BaseEstimator``,
so importing them imports scikit-learn (about 0.8 s).  A fitted model does not need it to
predict: :class:`FittedMLP` is a fitted ``MLPRegressor`` or ``MLPClassifier`` as data (the
class name, the parameters, the network, the fitted attributes by scikit-learn's names and
the private state a model file keeps), so that a model file loads and ``deltaprop predict``,
``evaluate`` and ``info`` run without importing scikit-learn.  It reads like the fitted
estimator for what a fitted model is asked (``network_``, ``loss_curve_`` …, ``classes_``,
``predict``, ``predict_proba``), and :func:`deltaprop.estimators.mlp.from_record` makes the
estimator itself.  Training always goes through the estimators' ``fit``.

The estimators' own rules that a record needs too live here, once: :func:`training_settings`,
:func:`hidden_sizes`, :func:`check_memory`, :func:`regression_pair`, :func:`loss_parameters`,
:func:`class_layout`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from numbers import Integral
from typing import Any

import numpy as np

from deltaprop.core import classes as class_coding
from deltaprop.core.losses import DEFAULT_PARAMS
from deltaprop.core.network import Network
from deltaprop.speed import backprop as fast
from deltaprop.training.state import TrainingSettings

__all__ = [
    "FittedMLP", "class_layout", "training_settings", "SETTING_NAMES", "hidden_sizes",
    "check_memory", "training_bytes", "regression_pair", "loss_parameters", "REGRESSOR", "CLASSIFIER",
    "DERIVED",
]

REGRESSOR, CLASSIFIER = "MLPRegressor", "MLPClassifier"

#: the training settings copied from the estimator's parameters of the same name: every field
#: of TrainingSettings but those only training sets
_TRAINING_ONLY = ("stratify", "score", "label", "on_epoch")
SETTING_NAMES = tuple(f.name for f in fields(TrainingSettings) if f.name not in _TRAINING_ONLY)

#: fitted attributes that are views of the network, never stored apart from it
DERIVED = frozenset({"network_", "coefs_", "intercepts_"})


def training_settings(params: Mapping[str, Any], **extra: Any) -> TrainingSettings:
    """The :class:`TrainingSettings` of the estimator parameters ``params`` (those left out
    take scikit-learn's defaults) and the training-only ``extra`` (label, on_epoch …)."""
    return TrainingSettings(**{name: params[name] for name in SETTING_NAMES if name in params}, **extra)


def hidden_sizes(sizes: Any) -> list[int]:
    """``hidden_layer_sizes`` as a list of ints; ValueError for anything but positive whole numbers."""
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    if all(type(n) is int and n > 0 for n in sizes):
        return sizes  # the common case, checked in well under a µs
    if any(isinstance(n, bool) or not isinstance(n, Integral) for n in sizes):
        raise ValueError(
            f"hidden_layer_sizes must be whole numbers of units, got {sizes}; e.g. (100,) or (64, 32)."
        )
    if np.any(np.array(sizes) <= 0):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return [int(n) for n in sizes]


def training_bytes(layer_units: list[int], itemsize: int, batch_size: int) -> int:
    """Bytes a network of ``layer_units`` needs to train, about: θ, ∂E/∂θ and an optimiser's
    two moments (4 · n_parameters), and u, z, δ of one mini-batch (3 · batch · Σ n_l)."""
    n_parameters = sum((n_in + 1) * n_out for n_in, n_out in zip(layer_units[:-1], layer_units[1:]))
    return itemsize * (4 * n_parameters + 3 * batch_size * sum(layer_units))


def _available_bytes() -> int | None:
    """The memory the system can still give (Linux's MemAvailable, else the physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def check_memory(params: Mapping[str, Any], layer_units: list[int], dtype: Any, n_samples: int) -> None:
    """Refuse (ValueError), before allocating, a network that cannot fit in the memory left."""
    settings = training_settings(params)
    if settings.stochastic:
        from deltaprop.training.loop import _batch_size  # the batch-size rule's one home

        batch = _batch_size(settings, n_samples)
    else:
        batch = n_samples
    need = training_bytes(layer_units, np.dtype(dtype).itemsize, batch)
    available = _available_bytes()
    if available is not None and need > available:
        raise ValueError(
            f"hidden_layer_sizes={tuple(layer_units[1:-1])} makes a network of layers {layer_units} "
            f"that needs about {need:,} bytes to train ({need / 2**30:.1f} GiB), more than the "
            f"{available:,} bytes available; use smaller hidden layers."
        )


def regression_pair(loss: str) -> tuple[str, str]:
    """``(loss, output)`` of a regressor's network: Poisson deviance with an exp output, any
    other loss with the identity output."""
    return ("poisson", "exp") if loss == "poisson" else (loss, "identity")


def loss_parameters(params: Mapping[str, Any]) -> dict[str, float]:
    """The loss's own parameters: Huber's ε or the quantile τ, their defaults the core's
    (:data:`deltaprop.core.losses.DEFAULT_PARAMS`)."""
    loss = params.get("loss", "squared_error")
    if loss == "huber":
        return {"epsilon": float(params.get("huber_epsilon", DEFAULT_PARAMS["huber"]["epsilon"]))}
    if loss == "quantile":
        return {"quantile": float(params.get("quantile", DEFAULT_PARAMS["quantile"]["quantile"]))}
    return {}


def class_layout(classes: Any, state: Mapping[str, Any], network: Network) -> tuple[np.ndarray, bool]:
    """``(classes, multilabel)`` of a fitted classifier's ``classes_`` and private state;
    ValueError when they do not fit the network's outputs."""
    if classes is None or len(classes) < 2:
        raise ValueError("a classifier needs at least two classes")
    classes = np.asarray(classes)
    label_type = str(state.get("label_type", "multiclass" if len(classes) > 2 else "binary"))
    multilabel = label_type.startswith("multilabel")
    n_out = network.sizes[-1]
    if class_coding.n_outputs(len(classes), multilabel) != n_out:
        raise ValueError(f"{len(classes)} classes do not fit a network with {n_out} outputs")
    return classes, multilabel


@dataclass
class FittedMLP:
    """A fitted ``MLPRegressor`` or ``MLPClassifier`` (``kind``) as data.

    Parameters
    ----------
    kind : {"MLPRegressor", "MLPClassifier"}
    params : dict
        The estimator's parameters (those left out take the estimator's defaults).
    network : Network
        The fitted network.
    attributes : dict
        The public fitted attributes by scikit-learn's names (``n_iter_``, ``loss_curve_``,
        ``classes_`` …), without those derived from the network (``coefs_``, ``intercepts_``).
    state : dict
        The private fitted state a model file keeps (the stopping rule's count, the label
        type of a classifier).
    """

    kind: str
    params: dict[str, Any]
    network: Network
    attributes: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_estimator(cls, est: Any) -> FittedMLP:
        """The record of a fitted deltaprop estimator (its network shared, not copied).

        ``callback`` is code, not data (a model file leaves it out too): the record never keeps
        it, so that a record, and an estimator made from it, never calls back into the run
        that trained it."""
        params = {key: value for key, value in est.get_params(deep=False).items() if key != "callback"}
        attributes = {
            key: value for key, value in vars(est).items()
            if key.endswith("_") and not key.startswith("_") and key not in DERIVED
        }
        return cls(type(est).__name__, params, est.network_, attributes, est._fitted_state())

    def copy(self) -> FittedMLP:
        """An independent copy (the network's arrays and the attributes copied)."""
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
