"""A fitted estimator as data, and a fresh fit, neither needing scikit-learn.

The estimators (:mod:`deltaprop.estimators.mlp`) subclass scikit-learn's ``BaseEstimator``,
so importing them imports scikit-learn (about 0.8 s).  What they compute does not need it:
this module holds the part of ``fit`` that does (the hyperparameters handed to training,
the targets of each kind, the network's initial draw, the run) and a record of the result,
so that the ``deltaprop`` command trains and predicts without importing scikit-learn while
producing exactly what the estimators produce.

:class:`FittedMLP`
    A fitted ``MLPRegressor`` or ``MLPClassifier`` as data: the class name, the parameters,
    the network, the fitted attributes (scikit-learn's names) and the private state a model
    file keeps.  It reads like the fitted estimator for what a fitted model is asked
    (``network_``, ``loss_curve_`` …, ``classes_``, ``predict``, ``predict_proba``), and
    :func:`deltaprop.estimators.mlp.from_record` makes the estimator itself.
:func:`fit_new`
    What ``MLPRegressor(**params).fit(X, y)`` or ``MLPClassifier(**params).fit(X, y)`` does
    for dense, checked X and single-label y (the same draws, the same weights), returned as
    a :class:`FittedMLP`.

The estimators use the same functions (:func:`training_settings`, :func:`hidden_sizes`,
:func:`check_memory`, :func:`regression_pair`, :func:`loss_parameters`), so each rule is
written once.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np

from deltaprop.core import classes as class_coding
from deltaprop.core.network import Network
from deltaprop.speed import backprop as fast
from deltaprop.training import loop as training
from deltaprop.training.state import TrainingSettings, TrainingState

__all__ = [
    "FittedMLP", "fit_new", "class_layout", "training_settings", "SETTING_NAMES", "hidden_sizes",
    "check_memory", "training_bytes", "regression_pair", "loss_parameters", "REGRESSOR", "CLASSIFIER",
    "DERIVED",
]

REGRESSOR, CLASSIFIER = "MLPRegressor", "MLPClassifier"

#: the training settings copied from the estimator's parameters of the same name
SETTING_NAMES = (
    "solver", "alpha", "batch_size", "learning_rate", "learning_rate_init", "power_t", "max_iter",
    "shuffle", "tol", "momentum", "nesterovs_momentum", "early_stopping", "validation_fraction",
    "beta_1", "beta_2", "epsilon", "n_iter_no_change", "max_fun", "verbose",
    "weight_decay", "max_grad_norm", "warmup_iter", "dropout",
)

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
    if params.get("solver", "adam") == "lbfgs":
        batch = n_samples
    else:
        batch_size = params.get("batch_size", "auto")
        batch = min(200 if batch_size == "auto" else int(batch_size), n_samples)
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
    """The loss's own parameters: Huber's ε or the quantile τ (see :mod:`deltaprop.core.losses`)."""
    loss = params.get("loss", "squared_error")
    if loss == "huber":
        return {"epsilon": float(params.get("huber_epsilon", 1.35))}
    return {"quantile": float(params.get("quantile", 0.5))} if loss == "quantile" else {}


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


#: the real-valued parameters and the ranges the estimators' parameter check allows:
#: (least, least allowed, largest, largest allowed); every value must be finite
_REAL_RANGES = {
    "alpha": (0.0, True, math.inf, False), "learning_rate_init": (0.0, False, math.inf, False),
    "power_t": (0.0, True, math.inf, False), "tol": (0.0, True, math.inf, False),
    "momentum": (0.0, True, 1.0, True), "validation_fraction": (0.0, True, 1.0, False),
    "beta_1": (0.0, True, 1.0, False), "beta_2": (0.0, True, 1.0, False),
    "epsilon": (0.0, False, math.inf, False), "weight_decay": (0.0, True, math.inf, False),
    "max_grad_norm": (0.0, False, math.inf, False), "huber_epsilon": (0.0, False, math.inf, False),
    "quantile": (0.0, False, 1.0, False),
}


def _check_params(kind: str, params: Mapping[str, Any]) -> None:
    """ValueError for what fit_new cannot do, and for a real parameter that is not a finite
    number in its range (what the estimators' ``_validate_params`` refuses, checked without
    scikit-learn: a NaN or an infinity would otherwise train, or fail late, in other words)."""
    if params.get("early_stopping"):
        raise ValueError("early_stopping=True needs the estimator (MLPRegressor or MLPClassifier): "
                         "fit_new holds out no validation rows")
    for name, (low, low_in, high, high_in) in _REAL_RANGES.items():
        value = params.get(name)
        if value is None or isinstance(value, str):
            continue
        v = float(value)
        inside = (v >= low if low_in else v > low) and (v <= high if high_in else v < high)
        if not (math.isfinite(v) and inside):
            raise ValueError(f"The {name!r} parameter of {kind} must be a finite number in the range "
                             f"{'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}; got {value!r}")
    dropout = params.get("dropout", 0.0)
    rates = list(dropout) if isinstance(dropout, (list, tuple)) else [dropout]
    if not all(math.isfinite(float(r)) and 0.0 <= float(r) < 1.0 for r in rates):
        raise ValueError(f"The 'dropout' parameter of {kind} must be in the range [0.0, 1.0); "
                         f"got {dropout!r}")


def _targets(kind: str, params: Mapping[str, Any], y: np.ndarray, dtype: Any
             ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any], dict[str, Any], tuple[str, str]]:
    """``(D, sample_weight, attributes, state, (loss, output))`` of targets y for ``kind``."""
    if kind == CLASSIFIER:
        y = np.asarray(y).reshape(-1)
        if y.dtype.kind == "f" and not np.array_equal(y, np.floor(y)):
            # scikit-learn's type_of_target: "continuous", which the estimator refuses (and a
            # record with such classes_ could never become its estimator)
            raise ValueError("Unknown label type: continuous; class labels that are fractions "
                             "are not classes (a classifier needs discrete labels)")
        labels, codes = class_coding.class_codes(y)
        if len(labels) < 2:
            raise ValueError(f"a classifier needs at least two classes; y has {len(labels)}")
        weight = params.get("class_weight")
        if weight not in (None, "balanced"):
            raise ValueError("class_weight other than 'balanced' needs the estimator (MLPClassifier)")
        sw = class_coding.balanced_weights(codes, len(labels)).astype(dtype) if weight else None
        label_type = "binary" if len(labels) == 2 else "multiclass"
        D = class_coding.one_hot(codes, len(labels))
        return D, sw, {"classes_": labels}, {"label_type": label_type}, class_coding.output_pair(len(labels))
    pair = regression_pair(params.get("loss", "squared_error"))
    y = np.asarray(y, dtype=dtype)
    if pair[0] == "poisson" and np.any(y < 0):
        raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
    return y.reshape(y.shape[0], -1), None, {}, {}, pair


def fit_new(kind: str, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray, *,
            callback: Callable[[FittedMLP], Any] | None = None) -> FittedMLP:
    """``MLPRegressor(**params).fit(X, y)`` (``kind`` "MLPRegressor") or the classifier's, as data.

    For what the estimators' fit does beyond checking its input: X a finite 2-D float32 or
    float64 ndarray (its dtype is the network's), y values (n,) or (n, k) for a regressor,
    single-label classes (n,) for a classifier (``class_weight`` None or "balanced"),
    ``params`` given by name (``random_state`` an int, a RandomState or None, as scikit-learn
    reads it).  The draws are the
    estimator's, so the weights are the same, bit for bit.  ``callback(fitted)`` runs after
    every epoch with the record up to date (True stops the run), as the estimators'
    ``callback(estimator)``.
    """
    X = np.ascontiguousarray(X)
    if X.ndim != 2 or X.dtype not in (np.float32, np.float64):
        raise ValueError("X must be a 2-D float32 or float64 array")
    dtype = X.dtype
    _check_params(kind, params)
    D, sw, attributes, state, (loss, output) = _targets(kind, params, y, dtype)
    D = np.ascontiguousarray(D, dtype=dtype)
    layer_units = [X.shape[1], *hidden_sizes(params.get("hidden_layer_sizes", (100,))), D.shape[1]]
    check_memory(params, layer_units, dtype, X.shape[0])
    seed = params.get("random_state")
    # check_random_state's meaning: an int seeds a new generator, None is numpy's global one
    rng = seed if isinstance(seed, np.random.RandomState) else (
        np.random.mtrand._rand if seed is None else np.random.RandomState(int(seed)))
    activation = params.get("activation", "relu")
    loss_params = loss_parameters(params) if kind == REGRESSOR else {}
    net = Network(layer_units, activation if isinstance(activation, str) else list(activation), output,
                  loss, random_state=rng, dtype=dtype, **loss_params)
    fitted = FittedMLP(kind, dict(params), net, {
        "n_features_in_": X.shape[1], "n_layers_": len(layer_units), "out_activation_": output,
        "n_outputs_": D.shape[1], **attributes,
    }, state)

    def publish(run: TrainingState) -> None:
        published = run.fitted_attributes()
        fitted.state["no_improvement_count"] = int(published.pop("_no_improvement_count", 0))
        fitted.attributes.update(published)

    def on_epoch(run: TrainingState) -> bool:
        publish(run)
        assert callback is not None
        return bool(callback(fitted))

    settings = training_settings(params, label=kind, on_epoch=None if callback is None else on_epoch)
    run = TrainingState.start(settings, net.get_flat())
    publish(run)
    run = training.fit(net, X, D, sw, settings, run, incremental=False, rng=rng)
    publish(run)
    return fitted
