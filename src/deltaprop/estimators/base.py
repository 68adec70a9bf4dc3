"""What ``MLPRegressor`` and ``MLPClassifier`` share: ``fit``'s checks (scikit-learn's validation)
and driver (:func:`deltaprop.training.loop.fit`), and the network's views."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import fields
from numbers import Integral
from typing import Any, Self, TypeAlias

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import column_or_1d
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from deltaprop._memory import available_memory
from deltaprop.core.network import Network, _as_random_state
from deltaprop.speed import backprop as fast
from deltaprop.training import loop as training
from deltaprop.training.state import STOCHASTIC_SOLVERS, TrainingSettings, TrainingState, ValidationScore

__all__ = ["_BaseMLP", "_ScoreOnDask", "InputData", "on_dask"]

#: what ``fit`` and ``predict`` take as X: an array-like, or a sparse matrix
InputData: TypeAlias = ArrayLike | scipy.sparse.spmatrix | scipy.sparse.sparray

#: the training settings copied from the estimator's parameters of the same name
SETTING_NAMES = tuple(f.name for f in fields(TrainingSettings)
                      if f.name not in ("stratify", "score", "label", "on_epoch"))


def on_dask(*arrays):
    """:mod:`deltaprop.distributed` when an argument is a Dask collection, else None."""
    if any(callable(getattr(a, "__dask_graph__", None)) for a in arrays):
        from deltaprop import distributed

        return distributed
    return None


class _LayerViews(list):
    """``coefs_`` or ``intercepts_``: views of the network's arrays; an assigned item is written in."""

    def __init__(self, items: Iterable[np.ndarray], write: Callable[[int, Any], np.ndarray]):
        super().__init__(items)
        self._write = write

    def __setitem__(self, k, value):
        if isinstance(k, slice):
            raise TypeError("assign one layer at a time (coefs_[k] = W), or the whole list")
        k = range(len(self))[k]
        super().__setitem__(k, self._write(k, value))


def _layer_list(name: str, arrays: str, doc: str) -> Any:
    """The property ``coefs_`` (``arrays`` "W", transposed) or ``intercepts_`` ("b"): the network's
    views once fitted; before, the list last assigned."""
    assigned = "_assigned_" + name.rstrip("_")

    def view(net: Network, k: int) -> np.ndarray:
        a = getattr(net, arrays)[net.layers[k]]
        return a.T if arrays == "W" else a

    def write(net: Network, k: int, value: Any) -> np.ndarray:  # into layer k + 2, in place
        target, value = view(net, k), np.asarray(value, dtype=net.dtype)
        value = value if arrays == "W" else value.reshape(-1)
        if value.shape != target.shape:
            raise ValueError(f"{name}[{k}] has shape {target.shape}; got an array of shape {value.shape}")
        target[...] = value
        return target

    def get(self) -> list[np.ndarray]:
        net = self.__dict__.get("network_")
        if net is None:
            if assigned in self.__dict__:
                return self.__dict__[assigned]
            raise AttributeError(f"{name} exists once the estimator is fitted")
        return _LayerViews((view(net, k) for k in range(len(net.layers))), lambda k, v: write(net, k, v))

    def set(self, values: Iterable[Any]) -> None:
        values = list(values)
        net = self.__dict__.get("network_")
        if net is None:
            self.__dict__[assigned] = values
            return
        if len(values) != len(net.layers):
            raise ValueError(f"{name} needs {len(net.layers)} arrays, one per layer; got {len(values)}")
        for k, value in enumerate(values):
            write(net, k, value)

    return property(get, set, doc=doc)


class _ScoreOnDask:
    """``score`` of scikit-learn's mixin, or the cluster's for Dask collections (the first base)."""

    def score(self, X, y, sample_weight=None):
        """R² (a regressor) or accuracy (a classifier) of ``predict(X)``, as scikit-learn's; for
        Dask collections the cluster's, from per-partition sums.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        if (dask := on_dask(X, y, sample_weight)) is not None:
            return dask.score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight)  # type: ignore[misc]


class _BaseMLP(BaseEstimator):
    """The fit/partial_fit driver and the network; each estimator adds its task's parts
    (``_network_loss``, ``_validate_input``, ``_quick_targets``, ``_targets_of``,
    ``_validation_targets``, ``_predictions``, ``_metric``)."""

    _parameter_constraints: dict = {}  # each estimator's: parameters.constraints(its names)

    def _keep(self, arguments: dict[str, Any]) -> None:
        for name in self._parameter_constraints:
            setattr(self, name, arguments[name])

    coefs_ = _layer_list("coefs_", "W", """W^(l)ᵀ for l = 2 … L: views of ``network_.W``, shape
        (n_{l-1}, n_l) (scikit-learn's).

        ``coefs_[k] = A`` writes A into ``network_.W[k + 2]``; before fit, the assigned list
        is kept and becomes the network of the next ``partial_fit`` (or warm-started fit).
        """)
    intercepts_ = _layer_list("intercepts_", "b", """b^(l) for l = 2 … L: the arrays of ``network_.b``,
        shape (n_l,); assignable as ``coefs_``.""")

    @property
    def _optimizer(self) -> Any:  # the stochastic optimiser of the run (kept for partial_fit)
        state = self.__dict__.get("_training")
        if state is None or state.optimizer is None:
            raise AttributeError("_optimizer exists once a stochastic solver has trained")
        return state.optimizer

    def _loss_params(self) -> dict[str, float]:  # the loss's parameters (Huber's ε, the quantile τ)
        return {}

    def _checked(self, X, y, reset: bool, **kwargs):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset, **kwargs)
        return X, (column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y)

    def _with_class_weight(self, sample_weight, y_labels, dtype):
        return sample_weight

    def _stratify(self) -> str | None:  # the validation split's policy: "binary", "classes" or None
        return None

    def _early_stopping_score(self) -> ValidationScore:
        """``scoring``'s scorer; None: ``score``'s metric (NaN for outputs not finite)."""
        if self.scoring is None:
            def metric(X_val, Y, D, sample_weight):
                if not np.isfinite(Y).all():
                    return np.nan
                return self._metric(self._targets_of(D), self._predictions(Y), sample_weight=sample_weight)

            return metric
        from sklearn.metrics import check_scoring

        scorer = check_scoring(self, scoring=self.scoring)

        def score(X_val, Y, D, sample_weight):
            kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
            with warnings.catch_warnings():
                # the held-out rows are the fit's own X, checked already (names dropped)
                warnings.filterwarnings("ignore", message="X does not have valid feature names")
                return float(scorer(self, X_val, self._targets_of(D), **kwargs))

        return score

    def _validation_rows(self, validation_data: Any, dtype) -> tuple[np.ndarray, np.ndarray, Any]:
        """``(X_val, D_val, sw_val)`` of ``fit``'s ``validation_data``, checked."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise ValueError("validation_data is used by early stopping, which solver='lbfgs' does not "
                             "have; use solver='adam' or 'sgd', or leave validation_data out")
        if not self.early_stopping:
            raise ValueError("validation_data is used by early stopping; pass early_stopping=True, "
                             "or leave validation_data out")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                             "sample_weight_val)")
        X_val, y_val, *rest = validation_data
        try:
            X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"],
                                  dtype=(np.float64, np.float32), reset=False)
        except ValueError as e:
            raise ValueError(
                f"validation_data's X does not fit the training X: {str(e).rstrip('.')}. Inside a "
                "Pipeline the validation rows reach the estimator untransformed: pass them through "
                "the earlier steps first (pipeline[:-1].transform(X_val))"
            ) from e
        X_val = np.ascontiguousarray(X_val.toarray() if hasattr(X_val, "toarray") else X_val, dtype=dtype)
        D_val = np.ascontiguousarray(self._validation_targets(y_val), dtype=dtype)
        if D_val.shape[0] != X_val.shape[0]:
            raise ValueError(f"validation_data has {X_val.shape[0]} rows of X but {D_val.shape[0]} targets")
        sw_val = _check_sample_weight(rest[0], X_val, dtype=dtype) if rest and rest[0] is not None else None
        return X_val, D_val, sw_val

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if all(type(n) is int and n > 0 for n in sizes):
            return sizes  # the common case, checked in well under a µs
        if any(isinstance(n, bool) or not isinstance(n, Integral) for n in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be whole numbers of units, got {sizes}; e.g. (100,) or (64, 32)."
            )
        if np.any(np.array(sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(n) for n in sizes]

    def _check_memory(self, layer_units: list[int], dtype, n_samples: int, settings: TrainingSettings):
        """Refuse a network that cannot fit in the memory left: θ, ∂E/∂θ and two moments (4 ·
        n_parameters), and u, z, δ of one mini-batch (3 · batch · Σ n_l)."""
        batch = n_samples if not settings.stochastic else training.resolve_batch_size(settings, n_samples,
                                                                                      warn=False)
        n_parameters = sum((n_in + 1) * n_out for n_in, n_out in zip(layer_units[:-1], layer_units[1:]))
        need = np.dtype(dtype).itemsize * (4 * n_parameters + 3 * batch * sum(layer_units))
        available = available_memory()
        if available is not None and need > available:
            raise ValueError(
                f"hidden_layer_sizes={tuple(layer_units[1:-1])} makes a network of layers {layer_units} "
                f"that needs about {need:,} bytes to train ({need / 2**30:.1f} GiB), more than the "
                f"{available:,} bytes available; use smaller hidden layers."
            )

    def _training_settings(self) -> TrainingSettings:
        callback: Any = getattr(self, "callback", None)

        def on_epoch(state: TrainingState) -> bool:  # callback(estimator), its attributes up to date
            self._publish(state)
            return bool(callback(self))

        return TrainingSettings(
            **{name: getattr(self, name) for name in SETTING_NAMES},
            stratify=self._stratify(),
            score=self._early_stopping_score() if self.early_stopping and self.scoring != "loss" else None,
            label=type(self).__name__,
            on_epoch=None if callback is None else on_epoch,
        )

    def _initialize(self, layer_units: list[int], dtype, rng, settings: TrainingSettings) -> None:
        """A fresh network (scikit-learn's draws) and training state."""
        self.n_layers_ = len(layer_units)
        loss, output = self._network_loss()
        self.out_activation_ = output
        activation = self.activation if isinstance(self.activation, str) else list(self.activation)
        self.__dict__.pop("_assigned_coefs", None)
        self.__dict__.pop("_assigned_intercepts", None)
        self.network_ = Network(layer_units, activation, output, loss, random_state=rng, dtype=dtype,
                                **self._loss_params())
        self._training = TrainingState.start(settings, self.network_.get_flat())
        self._publish(self._training)

    def _network_from_assigned(self, layer_units: list[int], dtype) -> None:
        coefs = self.__dict__.pop("_assigned_coefs")
        intercepts = self.__dict__.pop("_assigned_intercepts")
        loss, output = self._network_loss()
        W = [np.asarray(c, dtype=dtype).T for c in coefs]
        try:
            net = Network.from_weights(W, [np.asarray(b, dtype=dtype) for b in intercepts],
                                       activation=self.activation, output=output, loss=loss)
        except (ValueError, IndexError) as e:
            raise ValueError(f"the assigned coefs_ and intercepts_ do not make a network: {e}") from e
        if list(net.sizes) != layer_units:
            raise ValueError(
                f"the assigned coefs_ and intercepts_ make layers {list(net.sizes)} but this data and "
                f"hidden_layer_sizes need {layer_units}"
            )
        self.n_layers_ = len(layer_units)
        self.out_activation_ = output
        self.network_ = net.astype(dtype) if net.dtype != dtype else net

    def _state_from_attributes(self) -> TrainingState:
        """The training state of a run not kept (a loaded model, weights assigned by hand), read
        from the fitted attributes there are."""
        get = self.__dict__.get
        settings = TrainingSettings(solver=self.solver, early_stopping=bool(self.early_stopping),
                                    n_iter_no_change=self.n_iter_no_change, tol=self.tol)
        state = TrainingState.start(settings, self.network_.get_flat())
        state.n_iter = state.finite_epochs = int(get("n_iter_", 0))
        state.t, state.loss = int(get("t_", 0)), get("loss_", math.nan)
        state.loss_curve = list(get("loss_curve_", None) or [])
        state.gradient_norms = list(get("gradient_norms_", None) or [])
        for name in ("validation_scores", "validation_loss_curve"):
            if get(name + "_") is not None:
                setattr(state, name, get(name + "_"))
        rule = state.stopping
        if rule is not None:  # the rule goes on from its count, best and epochs
            watched = list((state.validation_scores if rule.higher_is_better else state.loss_curve) or [])
            rule.bad_epochs, rule.epochs = int(get("_no_improvement_count", 0)), len(watched)
            best = get("best_validation_score_" if rule.higher_is_better else "best_loss_")
            if best is not None:
                rule.best, rule.best_epoch = best, watched.index(best) + 1 if best in watched else 0
        return state

    def _publish(self, state: TrainingState) -> None:
        self.__dict__.update(state.fitted_attributes())

    def __getstate__(self):
        # the seeded RandomState is made again when needed
        state = dict(super().__getstate__())  # a copy: the estimator keeps its own
        state.pop("_seeded_random_state", None)
        return state

    def _random_state(self):
        """``check_random_state(self.random_state)``; an integer seed's state is kept and restored
        rather than seeded again (≈0.1 ms)."""
        seed = self.random_state
        if not isinstance(seed, Integral) or isinstance(seed, bool):
            return _as_random_state(seed)
        cached = self.__dict__.get("_seeded_random_state")
        if cached is None or cached[0] != seed:
            rng = np.random.RandomState(int(seed))
            cached = self._seeded_random_state = (seed, rng, rng.get_state())
        seed, rng, state = cached
        rng.set_state(state)
        return rng

    def _quick_input(self, X, y):
        """``(X, D, labels)`` of partial_fit in a loop (finite X of the network's dtype and width, no
        feature names, plain targets) checked in a few µs, not 0.4 ms; else None."""
        net = self.__dict__.get("network_")
        if (
            net is None
            or type(X) is not np.ndarray
            or type(y) is not np.ndarray
            or X.ndim != 2
            or y.ndim == 0
            or X.dtype != net.dtype
            or X.shape[0] < 1
            or X.shape[0] != y.shape[0]
            or X.shape[1] != getattr(self, "n_features_in_", None)
            or hasattr(self, "feature_names_in_")
            or not np.isfinite(X).all()
        ):
            return None
        targets = self._quick_targets(y)
        return None if targets is None else (X, *targets)

    def _fitted_state(self) -> dict[str, Any]:
        """The private fitted state a model file keeps (:mod:`deltaprop.files.archive`)."""
        attrs = (self.__dict__.get("_training") or self._state_from_attributes()).fitted_attributes()
        return {"no_improvement_count": int(attrs.get("_no_improvement_count", 0)),
                "best_epoch": int(attrs["_best_epoch"]), "stopped_early": bool(attrs["_stopped_early"])}

    def _restore_fitted_state(self, network: Network, state: dict[str, Any]) -> None:
        """Attach a loaded ``network`` and :meth:`_fitted_state`'s state (ValueError: they do not fit)."""
        if getattr(self, "n_outputs_", network.sizes[-1]) != network.sizes[-1]:
            raise ValueError("n_outputs_ does not match the network")
        self.network_ = network
        self._no_improvement_count = int(state.get("no_improvement_count", 0))
        self._training = self._state_from_attributes()

    def _has_weights(self) -> bool:
        return "network_" in self.__dict__ or (
            "_assigned_coefs" in self.__dict__ and "_assigned_intercepts" in self.__dict__
        )

    def _prepare(self, X, y, sample_weight, incremental: bool, first_pass: bool):
        quick = self._quick_input(X, y) if incremental and not first_pass else None
        if quick is not None:
            X, D, y_labels = quick
        else:
            X, D, y_labels = self._validate_input(X, y, incremental, reset=first_pass)
        # X is float32 or float64 (both paths above see to it): float32 trains a float32
        # network, and a network keeps its dtype over warm starts and partial fits
        net = self.__dict__.get("network_")
        dtype = X.dtype if first_pass or net is None else net.dtype
        if X.dtype != dtype:
            X = X.astype(dtype)
        if not hasattr(X, "toarray"):
            X = np.ascontiguousarray(X)  # the fast path wants C-ordered rows
        D = np.ascontiguousarray(D, dtype=dtype)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype)
        sample_weight = self._with_class_weight(sample_weight, y_labels, dtype)
        return X, D, sample_weight

    def _fit(self, X, y, sample_weight=None, incremental: bool = False, validation_data=None):
        hidden = self._hidden_sizes()
        first_pass = not self._has_weights() or (not self.warm_start and not incremental)
        X, D, sample_weight = self._prepare(X, y, sample_weight, incremental, first_pass)
        layer_units = [X.shape[1], *hidden, D.shape[1]]
        settings = self._training_settings()
        # a continuing call draws only its shuffles: the generator is made when first needed
        rng = self._random_state() if first_pass else self._random_state
        if first_pass:
            self._check_memory(layer_units, X.dtype, X.shape[0], settings)
            self._initialize(layer_units, X.dtype, rng, settings)
        else:
            self._continue(layer_units, X.dtype)
        self.n_outputs_ = D.shape[1]
        validation = None if validation_data is None else self._validation_rows(validation_data, X.dtype)
        state = self.__dict__.get("_training") or self._state_from_attributes()
        self._training = training.fit(self.network_, X, D, sample_weight, settings, state,
                                      incremental=incremental, rng=rng, validation=validation)
        self._publish(self._training)
        return self

    def _continue(self, layer_units: list[int], dtype) -> None:
        """Continue from the weights there are with the current ``activation``, as scikit-learn
        does; a changed ``loss`` needs another output, so it is refused."""
        if "network_" not in self.__dict__:
            self._network_from_assigned(layer_units, dtype)
        elif list(self.network_.sizes) != layer_units:
            raise ValueError(
                f"the network has layers {list(self.network_.sizes)} but this data and "
                f"hidden_layer_sizes need {layer_units}; fit without warm_start to start afresh"
            )
        net = self.network_
        loss, output = self._network_loss()
        if (loss, output) != (net.loss_name, net.output):
            raise ValueError(
                f"the network was trained with loss {net.loss_name!r} ({net.output} output) but "
                f"loss is now {self.loss!r}; fit without warm_start to start afresh"
            )
        net.set_hidden_activation(self.activation)
        net.loss_params.update(self._loss_params())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: InputData, y: ArrayLike, sample_weight: ArrayLike | None = None,
            validation_data: tuple | None = None) -> Self:
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data; float32 trains a float32 network, anything else float64.
            Sparse input is densified one mini-batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets (class labels for the classifier, real numbers for the regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights: the loss is the weighted mean of E_n.
        validation_data : tuple (X_val, y_val) or (X_val, y_val, sample_weight_val), default=None
            The held-out rows early stopping scores after every epoch, instead of
            ``validation_fraction`` of X (needs ``early_stopping=True`` and a stochastic
            solver).  A fit parameter that scikit-learn's metadata routing carries, e.g.
            ``set_fit_request(validation_data=True)`` inside a Pipeline; the rows reach the
            estimator as given, not through the Pipeline's earlier steps.  deltaprop only.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if (dask := on_dask(X, y, sample_weight)) is not None:
            return dask.fit(self, X, y, sample_weight)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         validation_data=validation_data)

    def _check_solver(self) -> bool:
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    def predict(self, X: InputData) -> np.ndarray:
        """Predict with the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The regressor's output y of the network (one column as a vector); the
            classifier's class labels (an indicator matrix for multilabel targets).
        """
        check_is_fitted(self)
        if (dask := on_dask(X)) is not None:
            return dask.predict(self, X)
        return self._predictions(self._forward_pass_fast(X))

    def _forward_pass_fast(self, X, check_input: bool = True) -> np.ndarray:  # y, (n_samples, n_outputs)
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        if hasattr(X, "toarray"):
            X = X.toarray()
        return fast.predict(self.network_, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_DOC_ATTRIBUTES = """
    loss_ : float
        The loss of the last epoch: the mean over samples of E_n, where E_n sums over the
        outputs (scikit-learn averages its squared error over outputs; with one output they
        agree), plus alpha/(2N) Σ_l ‖W^(l)‖².
    best_loss_ : float or None
        The smallest loss_ reached (None with early stopping; absent for L-BFGS).
    loss_curve_ : list of float
        loss_ of every epoch (L-BFGS: of every iteration).
    validation_scores_ : list of float or None
        The score on the held-out set after every epoch (early stopping only).
    validation_loss_curve_ : list of float or None
        The loss on the held-out set after every epoch (early stopping only).  deltaprop only.
    best_validation_score_ : float or None
        The best validation score (early stopping only).
    gradient_norms_ : list of dict
        Per epoch, {l: Frobenius norm of ∂E/∂W^(l)} of the epoch's last mini-batch (L-BFGS:
        of the last evaluation of each iteration).  deltaprop only.
    t_ : int
        Training samples seen by the stochastic solvers, over all calls.
    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the latest fit or partial_fit.
    coefs_ : list of ndarray of shape (n_{l-1}, n_l)
        Weights in scikit-learn's orientation: ``coefs_[k]`` is ``network_.W[k + 2].T``.
    intercepts_ : list of ndarray of shape (n_l,)
        Biases: ``intercepts_[k]`` is ``network_.b[k + 2]``.
    network_ : deltaprop.Network
        The fitted network, in the seed's notation.  deltaprop only.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has feature names that are all strings.
    n_layers_ : int
        Layers, input and output included.
    n_outputs_ : int
    out_activation_ : str
        f of the output layer.
    interrupted_ : bool
        True when the latest fit was ended by Ctrl-C.  deltaprop only.
    blew_up_ : bool
        True when in the latest fit the loss grew far (10⁴ times) above that of the initial
        weights while staying finite; a DivergenceWarning said so.  deltaprop only.
    diverged_ : bool
        True when the latest fit stopped on a non-finite loss or weights.  deltaprop only.
"""
