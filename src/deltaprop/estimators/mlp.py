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
- Ctrl-C stops cleanly (``interrupted_``); a diverging run stops with its last finite
  weights (``diverged_``) and a warning to lower ``learning_rate_init``.
- ``verbose=True`` shows a progress bar; float32 input trains a float32 network.

One deliberate difference: ``loss_`` sums E_n over the outputs (design.md), where
scikit-learn's squared error averages over them (its issue #8349, a loss whose gradient is
not the gradient reported).  With one output the two agree.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from deltaprop.core.activations import HIDDEN_ACTIVATIONS
from deltaprop.core.network import Network
from deltaprop.speed import backprop as fast
from deltaprop.training import loop as training

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)

__all__ = ["MLPRegressor", "MLPClassifier"]

_STOCHASTIC_SOLVERS = ("sgd", "adam")


def _on_dask(*arrays):
    """:mod:`deltaprop.distributed` when an argument is a Dask collection (it has a task
    graph), else None: the estimators hand such input to the cluster (the ``dask`` extra)."""
    if any(callable(getattr(a, "__dask_graph__", None)) for a in arrays):
        from deltaprop import distributed

        return distributed
    return None


class _BaseMLP(BaseEstimator):
    """What both estimators share: parameters, the fit/partial_fit driver, the network."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), list, tuple],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "callback": [callable, None],
    }

    # ------------------------------------------------------------------ the network's views
    @property
    def coefs_(self):
        """W^(l)ᵀ for l = 2 … L: views of ``network_.W``, shape (n_{l-1}, n_l) (scikit-learn's)."""
        net = self.__dict__.get("network_")
        if net is None:
            raise AttributeError("coefs_ exists once the estimator is fitted")
        return [net.W[l].T for l in net.layers]

    @coefs_.setter
    def coefs_(self, coefs):
        net = self.network_
        for l, c in zip(net.layers, coefs):
            net.W[l] = np.ascontiguousarray(np.asarray(c, dtype=net.dtype).T)

    @property
    def intercepts_(self):
        """b^(l) for l = 2 … L: the arrays of ``network_.b``, shape (n_l,)."""
        net = self.__dict__.get("network_")
        if net is None:
            raise AttributeError("intercepts_ exists once the estimator is fitted")
        return [net.b[l] for l in net.layers]

    @intercepts_.setter
    def intercepts_(self, intercepts):
        net = self.network_
        for l, v in zip(net.layers, intercepts):
            net.b[l] = np.asarray(v, dtype=net.dtype).reshape(-1).copy()

    # ------------------------------------------------------------------ hooks per task
    def _is_classifier(self):
        return is_classifier(self)

    def _is_multilabel(self):
        return False

    def _network_loss(self):
        """(loss name, output activation name) of the network for this task."""
        raise NotImplementedError

    # ------------------------------------------------------------------ fitting
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if np.any(np.array(sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(n) for n in sizes]

    def _initialize(self, layer_units, dtype, rng):
        """A fresh network (Glorot-uniform, scikit-learn's draws) and fresh training state."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        loss, output = self._network_loss()
        self.out_activation_ = output
        activation = self.activation if isinstance(self.activation, str) else list(self.activation)
        self.network_ = Network(layer_units, activation, output, loss, random_state=rng, dtype=dtype)
        self._best_theta = self.network_.get_flat()
        self.gradient_norms_ = []
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None

    def __getstate__(self):
        # partial_fit's kept BatchBackprop (buffers, compiled-pass closures) and seeded
        # RandomState are no part of a fitted model; they are made again when needed
        state = dict(super().__getstate__())  # a copy: the estimator keeps its own
        state.pop("_batch_backprop", None)
        state.pop("_seeded_random_state", None)
        return state

    def _random_state(self):
        """``check_random_state(self.random_state)``: for an integer seed a RandomState in the
        seed's initial state, as every call of scikit-learn's fit and partial_fit draws from;
        seeding one costs ≈0.1 ms, so the seeded state is kept and restored instead."""
        seed = self.random_state
        if not isinstance(seed, Integral) or isinstance(seed, bool):
            return check_random_state(seed)
        cached = self.__dict__.get("_seeded_random_state")
        if cached is None or cached[0] != seed:
            rng = np.random.RandomState(seed)
            cached = self._seeded_random_state = (seed, rng, rng.get_state())
        seed, rng, state = cached
        rng.set_state(state)
        return rng

    def _quick_input(self, X, y):
        """``(X, D, labels)`` for the commonest continuing call (partial_fit in a loop): X a
        finite 2-D ndarray of the network's dtype with the known number of features and no
        feature names, y an ndarray of plain targets -- checked here in a few µs instead of by
        scikit-learn's validation (about 0.4 ms a call).  None sends every other case,
        errors included, through :meth:`_validate_input`."""
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

    def _quick_targets(self, y):  # pragma: no cover - each estimator has its own
        return None

    def _fitted_state(self):
        """What a model file keeps of the private fitted state (see :mod:`deltaprop.files.archive`)."""
        return {"no_improvement_count": int(getattr(self, "_no_improvement_count", 0))}

    def _restore_fitted_state(self, network, state):
        """Attach a loaded ``network`` and the private state :meth:`_fitted_state` returned.

        Raises ValueError when the state does not fit the network.
        """
        if getattr(self, "n_outputs_", network.sizes[-1]) != network.sizes[-1]:
            raise ValueError("n_outputs_ does not match the network")
        self.network_ = network
        self._best_theta = network.get_flat()
        self._no_improvement_count = int(state.get("no_improvement_count", 0))

    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden = self._hidden_sizes()
        first_pass = "network_" not in self.__dict__ or (not self.warm_start and not incremental)
        quick = self._quick_input(X, y) if incremental and not first_pass else None
        if quick is not None:
            X, D, y_labels = quick
        else:
            X, D, y_labels = self._validate_input(X, y, incremental, reset=first_pass)
        # X is float32 or float64 (both paths above see to it): float32 trains a float32
        # network, and a network keeps its dtype over warm starts and partial fits
        dtype = X.dtype if first_pass else self.network_.dtype
        if X.dtype != dtype:
            X = X.astype(dtype)
        if not hasattr(X, "toarray"):
            X = np.ascontiguousarray(X)  # the fast path wants C-ordered rows
        D = np.ascontiguousarray(D, dtype=dtype)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype)
        sample_weight = self._with_class_weight(sample_weight, y_labels, dtype)

        layer_units = [X.shape[1], *hidden, D.shape[1]]
        # a continuing call draws only its shuffles: the generator is made when first needed
        rng = self._random_state() if first_pass else self._random_state
        if first_pass:
            self._initialize(layer_units, dtype, rng)
        elif list(self.network_.sizes) != layer_units:
            raise ValueError(
                f"the network has layers {list(self.network_.sizes)} but this data and "
                f"hidden_layer_sizes need {layer_units}; fit without warm_start to start afresh"
            )
        else:
            self._follow_parameters()
        self.n_outputs_ = D.shape[1]
        self.interrupted_ = False
        self.diverged_ = False

        if self.solver in _STOCHASTIC_SOLVERS:
            training.fit_stochastic(self, X, D, sample_weight, incremental=incremental, rng=rng)
        else:
            training.fit_lbfgs(self, X, D, sample_weight)
        return self

    def _follow_parameters(self):
        """Continue (warm_start, partial_fit) with the current ``activation``, as scikit-learn
        does: the weights stay, f changes.  A changed ``loss`` needs another output, so it is
        refused rather than ignored."""
        net = self.network_
        loss, output = self._network_loss()
        if (loss, output) != (net.loss_name, net.output):
            raise ValueError(
                f"the network was trained with loss {net.loss_name!r} ({net.output} output) but "
                f"loss is now {self.loss!r}; fit without warm_start to start afresh"
            )
        net.set_hidden_activation(self.activation)

    def _with_class_weight(self, sample_weight, y_labels, dtype):
        return sample_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
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

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if (dask := _on_dask(X, y, sample_weight)) is not None:
            return dask.fit(self, X, y, sample_weight)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    # ------------------------------------------------------------------ prediction
    def _forward_pass_fast(self, X, check_input=True):
        """The network's output y, shape (n_samples, n_outputs)."""
        if check_input:
            X = _validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        if hasattr(X, "toarray"):
            X = X.toarray()
        return fast.predict(self.network_, X)

    def _score_output(self, Y, D, sample_weight):
        """The validation score of outputs Y (n, n_outputs) against targets D."""
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_DOC_PARAMETERS = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The number of units of each hidden layer.
    activation : str or list of str, default="relu"
        f of the hidden layers: "identity", "logistic", "tanh", "relu" (scikit-learn's), or
        "leaky_relu", "softplus"; one name for all, or a list with one per hidden layer.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        L-BFGS (scipy, full batch), SGD with momentum, or Adam.
    alpha : float, default=0.0001
        L2 strength: the loss gets alpha / (2N) Σ_l ‖W^(l)‖² (biases not penalised).
    batch_size : int or "auto", default="auto"
        Mini-batch size of the stochastic solvers; "auto" is min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        SGD's schedule: constant; learning_rate_init / (t + 1)^power_t after each epoch (t =
        samples seen); or divided by 5 whenever n_iter_no_change epochs do not improve.
    learning_rate_init : float, default=0.001
        The initial step size of SGD and Adam.
    power_t : float, default=0.5
        The exponent of "invscaling".
    max_iter : int, default=200
        Epochs of SGD/Adam (each sample seen once per epoch), or iterations of L-BFGS.
    shuffle : bool, default=True
        Reshuffle the samples every epoch (SGD/Adam).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split and the shuffles, in scikit-learn's
        order of draws.
    tol : float, default=1e-4
        Improvement below tol for more than n_iter_no_change epochs ends training (or lowers
        the adaptive learning rate); for L-BFGS, the largest gradient component to stop at.
    verbose : bool, default=False
        Show a progress bar with epoch, loss and validation score.
    warm_start : bool, default=False
        Continue from the weights of the previous fit.
    momentum : float, default=0.9
        SGD's momentum μ.
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum (SGD with momentum > 0).
    early_stopping : bool, default=False
        Hold out validation_fraction of the training data (stratified for single-label
        classification), stop when its score stops improving, and restore the best weights.
    validation_fraction : float, default=0.1
        The held-out fraction for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates of the first and second moments.
    epsilon : float, default=1e-8
        Adam's ε.
    n_iter_no_change : int, default=10
        Epochs without improvement by tol before stopping.
    max_fun : int, default=15000
        Most loss evaluations for L-BFGS.
    callback : callable or None, default=None
        Called as ``callback(estimator)`` after every epoch (L-BFGS: every iteration), with
        ``loss_curve_`` and the network up to date; returning True stops training without a
        ConvergenceWarning.  deltaprop only.
"""

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
    diverged_ : bool
        True when the latest fit stopped on a non-finite loss or weights.  deltaprop only.
"""


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = (
        """Multilayer perceptron regressor, trained by backpropagation.

    A drop-in replacement for ``sklearn.neural_network.MLPRegressor``.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        E_n = ½ Σ_k (y_k - d_k)² with an identity output, or the half Poisson deviance
        Σ_k [d_k log(d_k / y_k) - d_k + y_k] with an exp output (needs d >= 0).
"""
        + _DOC_PARAMETERS
        + """
    Attributes
    ----------"""
        + _DOC_ATTRIBUTES
        + """
    Examples
    --------
    >>> from deltaprop import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", random_state=1).fit(X, y)
    >>> reg.network_.sizes
    (5, 20, 1)
    """
    )

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        callback=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.callback = callback

    def _network_loss(self):
        return ("poisson", "exp") if self.loss == "poisson" else ("squared_error", "identity")

    def _validate_input(self, X, y, incremental, reset):
        X, y = _validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
            dtype=(np.float64, np.float32), reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        D = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, D, None

    def _quick_targets(self, y):
        """(D, None) for finite real targets of shape (n,) or (n, n_outputs > 1); None else
        (a column vector warns in the full path, as in scikit-learn)."""
        if y.dtype.kind not in "fiu" or not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] > 1)):
            return None
        if not np.isfinite(y).all() or (self.loss == "poisson" and (y < 0).any()):
            return None
        return (y.reshape(-1, 1) if y.ndim == 1 else y), None

    def _score_output(self, Y, D, sample_weight):
        if not np.isfinite(Y).all():
            return np.nan
        return r2_score(D, Y, sample_weight=sample_weight)

    def predict(self, X):
        """Predict using the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The output y of the network (one column is returned as a vector).
        """
        check_is_fitted(self)
        if (dask := _on_dask(X)) is not None:
            return dask.predict(self, X)
        y = self._forward_pass_fast(X)
        return y.ravel() if y.shape[1] == 1 else y

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch over the given data, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        if (dask := _on_dask(X, y, sample_weight)) is not None:
            return dask.partial_fit(self, X, y, sample_weight)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def score(self, X, y, sample_weight=None):
        """R² of ``predict(X)`` against y (averaged over outputs), as scikit-learn's."""
        if (dask := _on_dask(X, y, sample_weight)) is not None:
            return dask.score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = (
        """Multilayer perceptron classifier, trained by backpropagation.

    A drop-in replacement for ``sklearn.neural_network.MLPClassifier``.  Binary and
    multilabel targets use logistic outputs with binary cross-entropy; multiclass targets a
    softmax output with cross-entropy (the canonical pairs, so δ^(L) = y - d).

    Parameters
    ----------"""
        + _DOC_PARAMETERS
        + """    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights: {label: weight}, or
        "balanced" for n_samples / (n_classes * count of the class).  deltaprop only.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels."""
        + _DOC_ATTRIBUTES
        + """
    Examples
    --------
    >>> from deltaprop import MLPClassifier
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """
    )

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        callback=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.callback = callback

    # scikit-learn's loss name, for code that reads it
    loss = "log_loss"

    def _is_multilabel(self):
        return self._label_binarizer.y_type_.startswith("multilabel")

    def _network_loss(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "log_loss", "softmax"
        return "binary_log_loss", "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y = _validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=(np.float64, np.float32), reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # the same table as scikit-learn: a fresh fit (re)defines classes_; warm_start and
        # partial_fit check that y's classes are known
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                    f"'y' has {classes}."
                )
        D = self._label_binarizer.transform(y).astype(bool)
        return X, D, y

    def _quick_targets(self, y):
        """(D, y) for 1-D labels that are all known classes of a binary or multiclass model,
        coded as LabelBinarizer codes them; None else (an unknown class gets the full path's
        error, warm_start its stricter check)."""
        binarizer = self.__dict__.get("_label_binarizer")
        classes = getattr(self, "classes_", None)
        if (
            binarizer is None
            or classes is None
            or self.warm_start
            or y.ndim != 1
            or binarizer.y_type_ not in ("binary", "multiclass")
            or y.dtype.kind not in "iuU"
            or y.dtype.kind != classes.dtype.kind
        ):
            return None
        index = np.searchsorted(classes, y)
        if not (classes[np.minimum(index, len(classes) - 1)] == y).all():
            return None
        if binarizer.y_type_ == "binary":
            return (index == 1)[:, None], y  # the column of classes_[1]
        D = np.zeros((y.shape[0], len(classes)), dtype=bool)
        D[np.arange(y.shape[0]), index] = True
        return D, y

    def _fitted_state(self):
        state = super()._fitted_state()
        state["label_type"] = str(self._label_binarizer.y_type_)
        return state

    def _restore_fitted_state(self, network, state):
        """As the base class, and the label binarizer rebuilt from ``classes_``."""
        classes = getattr(self, "classes_", None)
        if classes is None or len(classes) < 2:
            raise ValueError("a classifier needs at least two classes")
        classes = np.asarray(classes)
        label_type = str(state.get("label_type", "multiclass" if len(classes) > 2 else "binary"))
        binarizer = LabelBinarizer()
        if label_type.startswith("multilabel"):
            binarizer.fit(np.eye(len(classes), dtype=int))
            expected = len(classes)
        else:
            binarizer.fit(classes)
            expected = 1 if len(classes) == 2 else len(classes)
        n_out = network.sizes[-1]
        if expected != n_out:
            raise ValueError(f"{len(classes)} classes do not fit a network with {n_out} outputs")
        self.n_outputs_ = n_out
        super()._restore_fitted_state(network, state)
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_

    def _with_class_weight(self, sample_weight, y_labels, dtype):
        if self.class_weight is None:
            return sample_weight
        from sklearn.utils.class_weight import compute_sample_weight

        weights = compute_sample_weight(self.class_weight, y_labels).astype(dtype)
        return weights if sample_weight is None else sample_weight * weights

    def _labels(self, Y):
        if self.n_outputs_ == 1:
            Y = Y.ravel()
        return self._label_binarizer.inverse_transform(Y)

    def _score_output(self, Y, D, sample_weight):
        if not np.isfinite(Y).all():
            return np.nan
        return accuracy_score(self._labels(D.astype(Y.dtype)), self._labels(Y), sample_weight=sample_weight)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes (an indicator matrix for multilabel targets).
        """
        check_is_fitted(self)
        if (dask := _on_dask(X)) is not None:
            return dask.predict(self, X)
        return self._labels(self._forward_pass_fast(X))

    def predict_proba(self, X):
        """Probability of each class, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        if (dask := _on_dask(X)) is not None:
            return dask.predict_proba(self, X)
        y = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            p = y.ravel()
            return np.vstack([1 - p, p]).T
        return y

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba`, shape (n_samples, n_classes)."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train one epoch over the given data, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array of shape (n_classes,), default=None
            Every class of all calls; required on the first call, optional afterwards.

        Returns
        -------
        self : object
        """
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if (dask := _on_dask(X, y, sample_weight)) is not None:
            return dask.partial_fit(self, X, y, sample_weight, classes)
        if classes is not None:
            if getattr(self, "classes_", None) is not None:
                if not np.array_equal(self.classes_, unique_labels(classes)):
                    raise ValueError(
                        f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                        f"was: {self.classes_!r}"
                    )
            else:  # the first call
                self.classes_ = unique_labels(classes)
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)`` against y, as scikit-learn's."""
        if (dask := _on_dask(X, y, sample_weight)) is not None:
            return dask.score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

