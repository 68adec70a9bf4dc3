"""The estimators' parameters, one table: default, scikit-learn's constraint, the docstring's type
and meaning, and where ``deltaprop train``'s default differs, that default and why.  Tests hold
each written-out ``__init__`` and the command's click options to it."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from deltaprop.core.activations import HIDDEN_ACTIVATIONS
from deltaprop.core.losses import DEFAULT_PARAMS
from deltaprop.training.progress import VERBOSE_BAR
from deltaprop.training.state import TrainingSettings

__all__ = ["PARAMETERS", "DEFAULTS", "constraints", "documentation"]

_S = TrainingSettings()


class Parameter(NamedTuple):
    """``command``: ``(option, its default, why it differs)``."""

    kind: str
    default: Any
    constraint: list
    doc: str
    command: tuple[str, Any, str] | None = None


def _positive(kind: type, low: float = 0, closed: str = "left") -> Interval:
    return Interval(kind, low, None, closed=closed)


def _unit(closed: str = "left") -> Interval:
    return Interval(Real, 0, 1, closed=closed)


P = Parameter
PARAMETERS: dict[str, Parameter] = {
    "loss": P('{"squared_error", "poisson", "absolute_error", "huber", "quantile"}', "squared_error",
              [StrOptions({"squared_error", "poisson", "absolute_error", "huber", "quantile"})],
              "E_n = ½ Σ_k (y_k - d_k)² with an identity output, or the half Poisson deviance Σ_k "
              "[d_k log(d_k / y_k) - d_k + y_k] with an exp output (needs d >= 0).  deltaprop adds, "
              'with an identity output and r = y - d: "absolute_error", E_n = Σ_k abs(r_k); "huber", '
              "½ r_k² where abs(r_k) ≤ huber_epsilon and huber_epsilon (abs(r_k) - ½ huber_epsilon) "
              'beyond; "quantile", Σ_k max(τ (d_k - y_k), (τ - 1)(d_k - y_k)) with τ = quantile.  '
              "Where E_n has a kink (r_k = 0) its slope is taken as 0."),
    "hidden_layer_sizes": P("array-like of shape (n_layers - 2,)", (100,),
                            ["array-like", _positive(Integral, 1)],
                            "The number of units of each hidden layer.",
                            ("hidden", (64, 64), "two narrower layers suit tables of a few columns")),
    "activation": P("str or list of str", "relu", [StrOptions(set(HIDDEN_ACTIVATIONS)), list, tuple],
                    'f of the hidden layers: "identity", "logistic", "tanh", "relu" (scikit-learn\'s), or '
                    '"leaky_relu", "softplus"; one name for all, or a list with one per hidden layer.'),
    "solver": P('{"lbfgs", "sgd", "adam", "adamw"}', _S.solver,
                [StrOptions({"lbfgs", "sgd", "adam", "adamw"})],
                "L-BFGS (scipy, full batch), SGD with momentum, Adam, or AdamW (Adam with decoupled weight "
                "decay, weight_decay; deltaprop only)."),
    "alpha": P("float", _S.alpha, [_positive(Real)],
               "L2 strength: the loss gets alpha / (2N) Σ_l ‖W^(l)‖² (biases not penalised)."),
    "batch_size": P('int or "auto"', _S.batch_size, [StrOptions({"auto"}), _positive(Integral, 1)],
                    'Mini-batch size of the stochastic solvers; "auto" is min(200, n_samples).',
                    ("batch_size", "rows/50, within 32 … 200",
                     "that gives a table of up to 200 rows one step per epoch")),
    "learning_rate": P('{"constant", "invscaling", "adaptive", "cosine"}', _S.learning_rate,
                       [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
                       "SGD's schedule: constant; learning_rate_init / (t + 1)^power_t after each epoch "
                       "(t = samples seen); or divided by 5 whenever n_iter_no_change epochs do not "
                       'improve.  "cosine" (SGD, Adam and AdamW; deltaprop only): half a cosine from '
                       "learning_rate_init towards 0 over max_iter epochs, after warmup_iter epochs of "
                       "linear warm-up."),
    "learning_rate_init": P("float", _S.learning_rate_init, [_positive(Real, closed="neither")],
                            "The initial step size of SGD and Adam."),
    "power_t": P("float", _S.power_t, [_positive(Real)], 'The exponent of "invscaling".'),
    "max_iter": P("int", _S.max_iter, [_positive(Integral, 1)],
                  "Epochs of SGD/Adam (each sample seen once per epoch), or iterations of L-BFGS."),
    "shuffle": P("bool", _S.shuffle, ["boolean"], "Reshuffle the samples every epoch (SGD/Adam)."),
    "random_state": P("int, RandomState instance or None", None, ["random_state"],
                      "Seeds the initial weights, the validation split and the shuffles, in "
                      "scikit-learn's order of draws."),
    "tol": P("float", _S.tol, [_positive(Real)],
             "Improvement below tol for more than n_iter_no_change epochs ends training (or lowers the "
             "adaptive learning rate); for L-BFGS, the largest gradient component to stop at."),
    "verbose": P('bool, int or "bar"', _S.verbose, ["verbose", StrOptions({VERBOSE_BAR})],
                 "Print scikit-learn's lines (``Iteration N, loss = …``, the validation score) after every "
                 'epoch; where stdout is a terminal, or with "bar", a progress bar instead.'),
    "warm_start": P("bool", False, ["boolean"], "Continue from the weights of the previous fit."),
    "momentum": P("float", _S.momentum, [_unit("both")], "SGD's momentum μ."),
    "nesterovs_momentum": P("bool", _S.nesterovs_momentum, ["boolean"],
                            "Use Nesterov's momentum (SGD with momentum > 0)."),
    "early_stopping": P("bool", _S.early_stopping, ["boolean"],
                        "Hold out validation_fraction of the training data (drawn as scikit-learn draws "
                        "it: stratified for binary classification), stop when its score stops improving, "
                        "and restore the best weights.",
                        ("early_stopping", True, "the command holds out validation rows anyway, for its "
                         "metrics")),
    "validation_fraction": P("float", _S.validation_fraction, [_unit()],
                             "The held-out fraction for early stopping.",
                             ("validation_fraction", 0.2, "0.2 leaves a small table enough rows to judge "
                              "the model by")),
    "beta_1": P("float", _S.beta_1, [_unit()], "Adam's decay rate of the first moment."),
    "beta_2": P("float", _S.beta_2, [_unit()], "Adam's decay rate of the second moment."),
    "epsilon": P("float", _S.epsilon, [_positive(Real, closed="neither")], "Adam's ε."),
    "n_iter_no_change": P("int", _S.n_iter_no_change, [_positive(Integral, 1), Options(Real, {np.inf})],
                          "Epochs without improvement by tol before stopping.",
                          ("patience", 20, "a small table's validation loss is noisy, and 10 stops runs "
                           "at their first plateau")),
    "max_fun": P("int", _S.max_fun, [_positive(Integral, 1)], "Most loss evaluations for L-BFGS."),
    "class_weight": P('dict, "balanced" or None', None, [StrOptions({"balanced"}), dict, None],
                      "Weights of the classes, multiplied into the sample weights: {label: weight}, or "
                      '"balanced" for n_samples / (n_classes * count of the class).  deltaprop only.'),
    "validation_stratify": P('{"binary", "classes"}', "binary", [StrOptions({"binary", "classes"})],
                             'How early stopping\'s validation rows are drawn: "binary" as scikit-learn '
                             "draws them (stratified for binary targets, a plain shuffle split otherwise); "
                             '"classes" stratified for every single-label target, where each class has two '
                             "rows and both parts can hold every class.  deltaprop only."),
    "scoring": P("str, callable or None", None, [str, callable, None],
                 "What early stopping watches on the held-out rows: a scikit-learn scorer (a name such as "
                 '"neg_log_loss" or "f1_macro", or a callable ``scorer(estimator, X, y)``), higher being '
                 'better; None is scikit-learn\'s (accuracy, or R²); "loss" is the validation loss itself '
                 "(the batch loss, with alpha and sample weights; ``validation_scores_`` holds its "
                 "negative).  deltaprop only."),
    "callback": P("callable or None", None, [callable, None],
                  "Called as ``callback(estimator)`` after every epoch (L-BFGS: every iteration), with "
                  "``loss_curve_`` and the network up to date; returning True stops training without a "
                  "ConvergenceWarning.  deltaprop only."),
    "dropout": P("float or list of float", _S.dropout, [_unit(), list, tuple],
                 "Inverted dropout in training (none at prediction): each hidden unit's output is kept "
                 "with probability 1 - p and then scaled by 1/(1 - p), with fresh masks drawn from "
                 "random_state every mini-batch; one rate p in [0, 1) for all hidden layers or one per "
                 "hidden layer.  δ_j^(l) = m_j f'(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1).  Fits with dropout "
                 "take the plain path (no compiled epoch, no buffered passes).  SGD, Adam and AdamW only "
                 "(L-BFGS needs one deterministic loss).  deltaprop only."),
    "weight_decay": P("float", _S.weight_decay, [_positive(Real)],
                      "AdamW's decoupled weight decay λ: before each step w ← w - η λ w (every parameter, as "
                      "PyTorch's AdamW), unlike alpha, whose gradient passes through Adam's moments.  Used "
                      'only when solver="adamw".  deltaprop only.'),
    "max_grad_norm": P("float or None", _S.max_grad_norm, [_positive(Real, closed="neither"), None],
                       "Clip the gradient by its global norm before each step: g ← g · min(1, c / ‖g‖).  "
                       "SGD, Adam and AdamW (not L-BFGS).  Fits with clipping take the numpy path.  "
                       "deltaprop only."),
    "warmup_iter": P("int", _S.warmup_iter, [_positive(Integral)],
                     'Epochs of linear warm-up of learning_rate="cosine": η = learning_rate_init (e + 1) / '
                     "warmup_iter in epoch e < warmup_iter, then η = learning_rate_init · ½ (1 + cos(π "
                     "(e - warmup_iter) / (max_iter - warmup_iter))).  deltaprop only."),
    "huber_epsilon": P("float", DEFAULT_PARAMS["huber"]["epsilon"], [_positive(Real, closed="neither")],
                       "Huber's ε, in units of y (scale y to use it as a number of standard deviations); "
                       'named so because ``epsilon`` is Adam\'s.  Used only when loss="huber".  '
                       "deltaprop only."),
    "quantile": P("float", DEFAULT_PARAMS["quantile"]["quantile"], [_unit("neither")],
                  'The quantile τ in (0, 1) that loss="quantile" estimates.  deltaprop only.'),
}

#: every parameter's default, as the estimators' signatures have it
DEFAULTS: dict[str, Any] = {name: row.default for name, row in PARAMETERS.items()}

#: the parameters both estimators take after ``*``, in signature order
SHARED = (
    "solver", "alpha", "batch_size", "learning_rate", "learning_rate_init", "power_t", "max_iter", "shuffle",
    "random_state", "tol", "verbose", "warm_start", "momentum", "nesterovs_momentum", "early_stopping",
    "validation_fraction", "beta_1", "beta_2", "epsilon", "n_iter_no_change", "max_fun",
)
#: the deltaprop-only parameters both take, after each estimator's own
EXTRA = ("scoring", "callback", "dropout", "weight_decay", "max_grad_norm", "warmup_iter")


def constraints(names: Sequence[str]) -> dict[str, list]:
    """scikit-learn's ``_parameter_constraints`` of the parameters ``names``."""
    return {name: PARAMETERS[name].constraint for name in names}


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def documentation(names: Sequence[str]) -> str:
    """The numpydoc entries of the parameters ``names``, in that order."""
    return "".join(
        f"    {name} : {row.kind}, default={_literal(row.default)}\n"
        + textwrap.fill(row.doc, 96, initial_indent=" " * 8, subsequent_indent=" " * 8,
                        break_long_words=False, break_on_hyphens=False) + "\n"
        for name, row in ((name, PARAMETERS[name]) for name in names)
    )
