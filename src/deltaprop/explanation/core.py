"""The Explanation of one weight's gradient: the element-wise derivation checked against
backpropagation and a central difference, its paths to E, the transpose with numbers and the
gradient per layer; every number in float64 on a float64 copy of the network."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from deltaprop.core.derivation import SampleDerivation, parse_weight
from deltaprop.core.gradcheck import central_difference
from deltaprop.core.gradcheck import relative_error as _relative_error
from deltaprop.core.losses import CANONICAL_OUTPUT, is_canonical, total_weight
from deltaprop.core.network import Network
from deltaprop.core.units import unit_activity
from deltaprop.explanation.elementwise import BatchDerivation, BatchPass, batch_derivation, batch_pass
from deltaprop.explanation.latex import render_latex
from deltaprop.explanation.page import render_all, render_page
from deltaprop.explanation.text import render_text
from deltaprop.explanation.words import check_lang, say
from deltaprop.training.state import TrainingSettings

__all__ = ["explain", "Explanation", "Explanations", "Path", "LayerReport", "TransposeCheck", "as_network"]

#: paths listed one by one; the rest are summed into one "other N paths" entry
MAX_PATHS = 20
#: weight="all" explains every weight of a network of at most this many (biases included)
MAX_ALL = 300

# scikit-learn's out_activation_ → our loss: scikit-learn pairs each output with its canonical loss
_SKLEARN_LOSS = {output: loss for loss, output in CANONICAL_OUTPUT.items()}


# ---------------------------------------------------------------------- the model
def _is_sklearn_mlp(model):
    return hasattr(model, "coefs_") and hasattr(model, "intercepts_") and hasattr(model, "out_activation_")

def as_network(model: Any) -> tuple[Network, float, Any]:
    """(Network, default alpha, classes or None) for a Network, an estimator or a scikit-learn MLP.

    classes are a single-label classifier's ``classes_``; None for anything else.  A fitted
    scikit-learn MLP is rebuilt from ``coefs_`` (transposed to the seed's (n_l, n_{l−1})) with the
    canonical loss of its output (scikit-learn's squared error averages over outputs; ours sums).
    """
    if isinstance(model, Network):
        return model, 0.0, None
    net = getattr(model, "network_", None)
    if isinstance(net, Network):
        # a fitted estimator has alpha and classes_; a TabularModel keeps them in its record
        fitted = getattr(model, "fitted", None)
        if fitted is not None:
            alpha = fitted.params.get("alpha", TrainingSettings.alpha)  # the estimators' default
            multilabel = fitted.state.get("label_type", "").startswith("multilabel")
            classes = None if multilabel else fitted.attributes.get("classes_")
        else:
            alpha, classes = getattr(model, "alpha", 0.0), _label_classes(model)
        if getattr(model, "task", "classification") != "classification":
            classes = None
        return net, float(alpha or 0.0), classes
    if _is_sklearn_mlp(model):
        out = model.out_activation_
        loss = _SKLEARN_LOSS.get(out)
        if loss is None:
            raise ValueError(f"scikit-learn output activation {out!r} is not supported")
        coefs = [np.asarray(c).T for c in model.coefs_]
        net = Network.from_weights(coefs, list(model.intercepts_), activation=model.activation, output=out,
                                   loss=loss)
        return net, float(model.alpha), _label_classes(model)
    raise TypeError(
        "model must be a deltaprop Network, a fitted deltaprop estimator (with network_) or a fitted "
        f"scikit-learn MLPRegressor/MLPClassifier; got {type(model).__name__}"
        + (" (not fitted yet: call fit first)" if hasattr(model, "hidden_layer_sizes") else "")
    )


def _label_classes(est):
    """``classes_`` of a single-label classifier; None for multilabel, whose D is the indicator matrix."""
    binarizer = getattr(est, "_label_binarizer", None)
    if str(getattr(binarizer, "y_type_", "")).startswith("multilabel"):
        return None
    return getattr(est, "classes_", None)


def unit_names(model: Any, net: Network) -> tuple[list[str] | None, list[str] | None]:
    """The user's names of the input and output units (columns, targets or classes), or None;
    a binary classifier's one output is P(second class)."""
    inputs = getattr(model, "input_names_", None)
    if inputs is None:
        inputs = getattr(model, "feature_names_in_", None)
    inputs = [str(n) for n in inputs] if inputs is not None and len(inputs) == net.sizes[0] else None
    n_out = net.sizes[-1]
    outputs = None
    if getattr(model, "task", "classification") == "classification":
        classes = _label_classes(model) if not hasattr(model, "fitted") else getattr(model, "classes_", None)
        if classes is not None and len(classes) == n_out:
            outputs = [str(c) for c in classes]
        elif classes is not None and n_out == 1 and len(classes) == 2:
            outputs = [f"P({classes[1]})"]
    else:
        names = getattr(model, "target_names_", None)
        outputs = [str(n) for n in names] if names is not None and len(names) == n_out else None
    return inputs, outputs


def _labels_to_targets(D, classes, n_out):
    """Class labels → one-hot (softmax) or indicator (one logistic output) targets, else D."""
    if classes is None:
        return D
    D = np.atleast_1d(D)
    if D.ndim == 2 and not (D.shape[1] == 1 and n_out > 1):
        return D  # already one column per output (multilabel indicators, one-hot)
    labels, classes = D.reshape(-1), np.asarray(classes)
    if np.ndim(classes) != 1:
        return D  # multilabel: classes_ is a list of arrays; D must be the indicator matrix
    known = np.isin(labels, classes)
    if not known.all():
        bad = labels[~known][0]
        raise ValueError(
            f"D holds the label {bad.item()!r}, which is not one of the model's classes {classes.tolist()}"
        )
    one_hot = (labels[:, None] == classes[None, :]).astype(np.float64)
    return one_hot[:, -1:] if n_out == 1 else one_hot  # binary: one logistic output, d = 1 for classes_[1]


# ---------------------------------------------------------------------- results
@dataclass
class Path:
    """One path (l, j) … (L, m) from the weight to the loss with its batch-mean contribution
    z_i^(l−1) Π f′(u) w · δ_m^(L); the summed tail ("other ``count`` paths") has no ``units``."""

    units: tuple
    contribution: float
    count: int = 1

    @property
    def is_other(self):
        return not self.units


@dataclass
class TransposeCheck:
    """((W^(l+1))ᵀ δ^(l+1))_j by the matrix product against Σ_k w_kj δ_k term by term (``terms``:
    (k, w_kj, δ_k, product)) for the walked sample, the largest gap over all samples, and entry
    (j, i) of δ^(l) (z^(l−1))ᵀ / N against the mean of δ_j z_i."""

    sample: int
    matrix_row: float | None
    elementwise: float | None
    terms: list
    max_difference: float
    outer_matrix: float
    outer_elementwise: float


@dataclass
class LayerReport:
    """Layer l's ‖∂E/∂W^(l)‖, ‖∂E/∂b^(l)‖ and its shares of dead, saturated and flat units
    (:mod:`deltaprop.core.units`; None for the output layer)."""

    l: int
    n_units: int
    activation: str
    grad_norm: float
    bias_grad_norm: float
    dead: float | None
    saturated: float | None
    flat_share: float | None


@dataclass
class Explanation:
    """The derivation of ∂(loss)/∂w_ji^(l) for one weight, on the given samples.

    Attributes
    ----------
    net : Network
        The float64 network explained.
    l, j, i : int
        The weight w_ji^(l) in the derivation's numbering (i = 0: the bias w_j0^(l)).
    X, D : ndarray of shape (n_samples, n_1) and (n_samples, n_L)
    sample_weight : ndarray of shape (n_samples,)
    derivation : BatchDerivation
        u, z, f′(u) and δ of every unit and sample, by the element-wise formulas.
    walked : SampleDerivation
        The walked sample n (0-based ``n``) derived alone by the per-sample oracle.
    value, backprop, numerical, relative_error : float
    loss : float
        The reported loss on these samples (it sets the central difference's resolution).
    paths : list of Path
    transpose : TransposeCheck
    layers : list of LayerReport
    lang : str
        The language of the text and the page ("en" or "ja").
    outputs_summed : bool
        The model is a scikit-learn regressor with several outputs, whose reported loss
        averages over the outputs while its gradient (and this one) sums over them.
    inputs, outputs : list of str or None
        The user's name of each input unit (its column, or column=category) and each output (its
        target or class label); None: the network's own x_i, y_k.
    rows, raw
        Each sample's row of the user's table, and its values as written there (inputs per input
        unit, then targets), when a table gave them.
    """

    net: Network
    l: int
    j: int
    i: int
    X: np.ndarray
    D: np.ndarray
    alpha: float
    sample_weight: np.ndarray
    derivation: BatchDerivation
    backprop: float
    numerical: float
    paths: list[Path]
    paths_exhaustive: bool
    n_paths: int
    transpose: TransposeCheck
    layers: list[LayerReport]
    walked: SampleDerivation
    h: float = 1e-6
    source: str = "Network"
    loss: float = 0.0
    n: int = 0
    lang: str = "en"
    outputs_summed: bool = False
    inputs: list[str] | None = None
    outputs: list[str] | None = None
    rows: list[int] | None = None
    raw: tuple[list[list[str]], list[list[str]]] | None = None

    @property
    def value(self) -> float:
        """∂(loss)/∂w_ji^(l) from the element-wise derivation."""
        return self.derivation.value

    @property
    def relative_error(self) -> float:
        """max of |value − backprop| (floor 1e-8) and |backprop − numerical|, relative.

        A central difference of step h resolves a derivative only to about ε·|loss|/h, so the
        numerical comparison is absolute below 10⁶ times that (a dead ReLU unit's α·w/N is not flagged).
        """
        resolution = np.finfo(np.float64).eps * max(1.0, abs(self.loss)) / self.h
        return max(
            _relative_error(self.value, self.backprop, 1e-8),
            _relative_error(self.backprop, self.numerical, max(1e-8, 1e6 * resolution)),
        )

    @property
    def N(self) -> float:
        """Σ_n s_n, what the batch gradient divides by."""
        return total_weight(self.n_samples, self.sample_weight)

    @property
    def weight(self) -> tuple[int, int, int]:
        return (self.l, self.j, self.i)

    @property
    def L(self) -> int:
        return self.net.L

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def canonical(self) -> bool:
        return is_canonical(self.net.loss_name, self.net.output)

    @property
    def l2_term(self) -> float:
        return self.derivation.l2_term

    def sample_name(self, lang: str, n: int | None = None) -> str:
        """Sample n (0-based; default the walked one) in words: its table row where known."""
        n = self.n if n is None else n
        if self.rows is not None:
            return say(lang, "sample.row", row=self.rows[n])
        return say(lang, "sample.n", n=n + 1)

    def unit_name(self, layer: int, k: int) -> str | None:
        """The user's name of input or output unit k (1-based), None where there is none."""
        names = self.inputs if layer == 1 else self.outputs if layer == self.L else None
        return names[k - 1] if names and 1 <= k <= len(names) else None

    def unit_label(self, layer: int, k: int) -> str:
        """Unit k with the user's name beside it: "300 (px299)"."""
        name = self.unit_name(layer, k)
        return f"{k} ({name})" if name else str(k)

    def raw_value(self, layer: int, k: int, n: int | None = None) -> str | None:
        """Sample n's value of input k (layer 1) or target k (layer L) as the table has it."""
        if self.raw is None or layer not in (1, self.L):
            return None
        values = self.raw[0 if layer == 1 else 1][self.n if n is None else n]
        return values[k - 1] if 1 <= k <= len(values) else None

    def batch_mean(self, values: Any) -> float:
        """Σ_n s_n v_n / N of per-sample values."""
        return math.fsum(np.asarray(values, dtype=np.float64) * self.sample_weight) / self.N

    def to_text(self, lang: str | None = None) -> str:
        """The derivation for a terminal: Unicode sub- and superscripts, '=' aligned."""
        return render_text(self, lang or self.lang)

    def to_latex(self, lang: str | None = None) -> str:
        """The derivation as a standalone LaTeX document (diagrams in TikZ): English compiles
        with pdflatex, Japanese (``lang="ja"``) with LuaLaTeX and luatexja."""
        return render_latex(self, check_lang(lang or self.lang))

    def to_html(self, lang: str | None = None) -> str:
        """A self-contained HTML page: MathML, inline SVG, no JavaScript, nothing external."""
        return render_page(self, lang=lang or self.lang)

    def _repr_html_(self) -> str:
        return render_page(self, fragment=True)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        samples = "1 sample" if self.n_samples == 1 else f"{self.n_samples} samples"
        return (
            f"<Explanation ∂E/∂w_{self.j},{self.i}^({self.l}) = {self.value + 0.0:.6g} "
            f"(backprop {self.backprop + 0.0:.6g}, numerical {self.numerical + 0.0:.6g}; {samples})>"
        )


@dataclass
class Explanations:
    """Every weight's derivation, in the network's order (layer, then j, then i; i = 0 the bias):
    ``to_html()`` is one page with the network drawn once, each link an anchor to its weight's
    folded derivation, and a table of all gradients with the largest marked."""

    items: list[Explanation]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def largest(self) -> Explanation:
        """The weight with the largest |∂E/∂w| (the first, on a tie)."""
        return max(self.items, key=lambda ex: abs(ex.value))

    def to_text(self, lang: str | None = None) -> str:
        """The table of every gradient, the largest marked, for a terminal."""
        return render_all(self, lang or self.items[0].lang, html=False)

    def to_html(self, lang: str | None = None) -> str:
        return render_all(self, lang or self.items[0].lang)

    def _repr_html_(self) -> str:
        return self.to_html()


# ---------------------------------------------------------------------- computation
def _paths(net, l, j, i, fwd, delta, s, max_paths=MAX_PATHS, budget=4_000_000):
    """Every path from w_ji^(l) to E with its batch-mean contribution, the largest first.

    A prefix ending at u_k^(m) carries P_n = z_i^(l−1) ∂u_k^(m)/∂u_j^(l) along it; all its
    completions together contribute mean_n P_n δ_k^(m).  Past ``budget`` numbers only the prefixes
    with the largest flow are kept, and ``exhaustive`` is False.  ``fwd`` holds u, z and the mask,
    ``delta`` δ of every layer, one sample per column.
    """
    L = net.L
    n_samples = fwd.z[1].shape[1]
    weights = s / total_weight(n_samples, s)
    z_in = np.ones(n_samples) if i == 0 else fwd.z[l - 1][i - 1]
    units: list[tuple[int, ...]] = [(j - 1,)]
    P = z_in[None, :].copy()  # (n_prefixes, n_samples)
    exhaustive = True
    for m in range(l, L):
        n_next = net.sizes[m]
        if len(units) * n_next * n_samples > budget:
            # all completions of a prefix ending at u_k^(m) together carry mean_n P_n δ_k^(m)
            last = np.array([p[-1] for p in units])
            flow = np.abs((P * delta[m][last]) @ weights)
            n_keep = max(max_paths, budget // (n_samples * n_next))
            keep = np.sort(np.argsort(-flow, kind="stable")[:n_keep])
            P, units = P[keep], [units[t] for t in keep]
            exhaustive = False
        fp = fwd.fprime[m]  # (n_m, N), before the mask: hidden layers are element-wise
        if m in fwd.mask:
            fp = fwd.mask[m] * fp  # ∂z_k/∂u_k = m_k f′(u_k) under dropout
        last = np.array([p[-1] for p in units])
        W = net.W[m + 1]  # (n_{m+1}, n_m)
        # P · f'(u_k^(m)) · w_{k'k}^(m+1) for every next unit k'
        P = ((P * fp[last])[:, None, :] * W[:, last].T[:, :, None]).reshape(-1, n_samples)
        units = [p + (k,) for p in units for k in range(n_next)]
    last = np.array([p[-1] for p in units])
    contrib = (P * delta[L][last]) @ weights
    n_paths = int(np.prod([net.sizes[m - 1] for m in range(l + 1, L + 1)]))
    order = np.argsort(-np.abs(contrib), kind="stable")
    shown = order[:max_paths] if n_paths > max_paths else order
    paths = [
        Path(tuple((m, k + 1) for m, k in zip(range(l, L + 1), units[t])), float(contrib[t])) for t in shown
    ]
    return paths, exhaustive, n_paths


def _layer_reports(net: Network, fwd: BatchPass, grads: Any) -> list[LayerReport]:
    reports = []
    for l in net.layers:
        activity = None
        if l < net.L:
            z = net.f(l).f(fwd.u[l]) if l in fwd.mask else fwd.z[l]  # f(u), before any dropout
            activity = unit_activity(net.f(l), fwd.u[l], z)
        shares = (None, None, None) if activity is None else (
            activity.dead_share, activity.saturated_share, activity.flat_share)
        norms = float(np.linalg.norm(grads.W[l])), float(np.linalg.norm(grads.b[l]))
        reports.append(LayerReport(l, net.sizes[l - 1], net.layer_activation[l], *norms, *shares))
    return reports


def _transpose(net: Network, der: BatchDerivation, weight: tuple[int, int, int], s: np.ndarray, N: float,
               n: int) -> TransposeCheck:
    """Both transposes with numbers: row j of (W^(l+1))ᵀ δ^(l+1) and entry (j, i) of δ^(l)(z^(l−1))ᵀ."""
    l, j, i = weight
    z_prev = np.vstack([np.ones((1, s.shape[0])), der.z[l - 1]])  # row 0: the +1 unit
    # row j of δ^(l) (z^(l−1))ᵀ / N (bias column first): the matrix product, one row of it
    outer = float(((der.delta_j * s) @ z_prev.T / N)[i])
    outer_el = math.fsum(s * der.per_sample) / N  # the mean of δ_j z_i, sample by sample
    if l == net.L:
        return TransposeCheck(n, None, None, [], 0.0, outer, outer_el)
    W_next, delta_next = net.W[l + 1], der.delta[l + 1]
    rows = W_next.T @ delta_next  # (W^(l+1))ᵀ δ^(l+1): (n_l, N), the matrix product
    sums = np.sum(W_next[:, j - 1][:, None] * delta_next, axis=0)  # Σ_k w_kj δ_k term by term
    terms = [(k + 1, float(wk), float(dk), float(wk * dk)) for k, (wk, dk) in
             enumerate(zip(W_next[:, j - 1], delta_next[:, n]))]
    elementwise = math.fsum(t[3] for t in terms)
    gap = float(np.max(np.abs(rows[j - 1] - sums)))
    return TransposeCheck(n, float(rows[j - 1, n]), elementwise, terms, gap, outer, outer_el)


# ---------------------------------------------------------------------- checks of the arguments
def _real(value: Any, ok: Callable[[float], bool], refusal: str) -> float:
    """float(value) if finite and ``ok``, else ValueError: ``refusal``; got value."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and ok(v)):
        raise ValueError(f"{refusal}; got {value!r}")
    return v


def _whole(value: Any, first: int, refusal: str, last: float = math.inf) -> int:
    """int(value) if a whole number (not a bool) in first … last, else ValueError: ``refusal``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not first <= value <= last:
        raise ValueError(refusal)
    return int(value)


def _samples(net: Network, X: Any, D: Any, classes: Any) -> tuple[np.ndarray, np.ndarray]:
    """X (n_samples, n_1) and D (n_samples, n_L) in float64; one sample may be a vector."""
    X = np.asarray(X)
    n_in = net.sizes[0]
    if X.ndim == 1 and not (n_in == 1 and X.shape[0] != 1):
        if X.shape[0] != n_in:
            raise ValueError(
                f"X has {X.shape[0]} features but the network has n_1 = {n_in} inputs; "
                f"give X of shape (n_samples, {n_in}) or one sample of shape ({n_in},)"
            )
        X = X[None, :]
    if X.ndim == 2 and X.shape[0] == 0:
        raise ValueError("X has no samples (0 rows); give at least one sample to differentiate on")
    X = net.check_X(X)
    n_samples = X.shape[0]
    if not (n_samples == 1 and np.ndim(D) == 1 and np.size(D) == net.sizes[-1] > 1):
        if classes is not None and np.ndim(D) == 1 and np.size(D) != n_samples:
            raise ValueError(f"D holds {np.size(D)} class labels for the {n_samples} samples of X")
        D = _labels_to_targets(D, classes, net.sizes[-1])  # else one sample's one-hot row
    D = np.asarray(D)  # check_D below makes it float64, or refuses it
    if D.ndim <= 1 and n_samples == 1 and D.size == net.sizes[-1]:
        D = D.reshape(1, -1)
    return np.asarray(X, dtype=np.float64), np.asarray(net.check_D(D, n_samples), dtype=np.float64)


# ---------------------------------------------------------------------- explain
def _prepare(model: Any, converted: tuple[Network, float, Any], X: Any, D: Any, alpha: Any,
             sample_weight: Any, h: Any, max_paths: Any, sample: Any, lang: str,
             dropout_mask: Any) -> Callable[[tuple[int, int, int]], Explanation]:
    """What every weight's derivation shares, computed once; returns the function that explains
    one weight (l, j, i); ``converted`` is :func:`as_network` of ``model``."""
    net0, default_alpha, classes = converted
    net = net0.astype(np.float64)
    if alpha is not None:
        alpha = _real(alpha, lambda a: a >= 0, "alpha must be a number ≥ 0 (the L2 strength)")
    alpha = default_alpha if alpha is None else alpha
    h = _real(h, lambda v: v > 0, "h must be a step > 0 for the central difference, e.g. 1e-6")
    listed = f"max_paths must be a whole number ≥ 1 (paths listed one by one); got {max_paths!r}"
    max_paths = _whole(max_paths, 1, listed)
    X, D = _samples(net, X, D, classes)
    n_samples = X.shape[0]
    walk = f"sample={sample!r}: the samples are numbered n = 1 … {n_samples}; pick the one to walk through"
    n = _whole(sample, 1, walk, last=n_samples) - 1
    s = net.check_sample_weight(sample_weight, n_samples)
    s_arr = np.ones(n_samples) if s is None else np.asarray(s, dtype=np.float64)
    mask = net.check_dropout_mask(dropout_mask, n_samples)
    batch = batch_pass(net, X, D, mask)
    grads = net.backprop(X, D, alpha, s, mask)
    N = total_weight(n_samples, s_arr)
    loss = float(net.loss(X, D, alpha=alpha, sample_weight=s, dropout_mask=dropout_mask))
    inputs, outputs = unit_names(model, net)
    source = type(model).__module__.split(".")[0] + "." + type(model).__name__
    # a scikit-learn regressor with several outputs reports a loss that averages over them
    sk_regressor = _is_sklearn_mlp(model) and model.out_activation_ == "identity"
    summed = sk_regressor and int(getattr(model, "n_outputs_", 1)) > 1
    common: dict[str, Any] = dict(
        net=net, X=X, D=D, alpha=alpha, sample_weight=s_arr, h=h, source=source, loss=loss, n=n,
        layers=_layer_reports(net, batch, grads), walked=batch.sample(n), lang=lang, inputs=inputs,
        outputs=outputs, outputs_summed=summed,
    )

    def one(weight: tuple[int, int, int]) -> Explanation:
        l, j, i = weight
        der = batch_derivation(batch, weight, s_arr, alpha)
        numerical = central_difference(net, weight, X, D, alpha=alpha, sample_weight=s, h=h,
                                       dropout_mask=dropout_mask)
        paths, exhaustive, n_paths = _paths(net, l, j, i, batch, batch.delta, s_arr, max_paths)
        if n_paths > len(paths):
            listed = math.fsum(p.contribution for p in paths)
            paths.append(Path((), (der.value - der.l2_term) - listed, n_paths - len(paths)))
        backprop = float(grads.b[l][j - 1] if i == 0 else grads.W[l][j - 1, i - 1])
        return Explanation(
            l=l, j=j, i=i, derivation=der, backprop=backprop, numerical=float(numerical), paths=paths,
            paths_exhaustive=exhaustive, n_paths=n_paths,
            transpose=_transpose(net, der, weight, s_arr, N, n), **common,
        )

    return one


@overload
def explain(model: Any, weight: Literal["all"], X: Any, D: Any, *, alpha: float | None = ...,
            sample_weight: Any = ..., h: float = ..., max_paths: int = ..., sample: int = ...,
            lang: str = ..., dropout_mask: Any = ...) -> Explanations: ...


@overload
def explain(model: Any, weight: tuple[int, int, int] | str, X: Any, D: Any, *, alpha: float | None = ...,
            sample_weight: Any = ..., h: float = ..., max_paths: int = ..., sample: int = ...,
            lang: str = ..., dropout_mask: Any = ...) -> Explanation: ...


def explain(model: Any, weight: tuple[int, int, int] | str, X: Any, D: Any, *, alpha: float | None = None,
            sample_weight: Any = None, h: float = 1e-6, max_paths: int = MAX_PATHS, sample: int = 1,
            lang: str = "en", dropout_mask: Any = None) -> Explanation | Explanations:
    """The derivation of ∂(loss)/∂w_ji^(l) for one weight of a network, with numbers; with
    ``weight="all"``, of every weight of a small network (see :class:`Explanations`).

    Parameters
    ----------
    model : Network, fitted deltaprop estimator, or fitted scikit-learn MLPRegressor/MLPClassifier
        Anything with ``network_`` is explained through that network; a scikit-learn MLP is
        rebuilt from ``coefs_``/``intercepts_`` (see :func:`as_network`).
    weight : (l, j, i) or str
        w_ji^(l) in the derivation's numbering: layer l = 2 … L, unit j = 1 … n_l of layer l,
        unit i = 1 … n_{l−1} of layer l − 1, or i = 0 for the bias w_j0^(l).  "3:2,1" is w_21^(3).
        "all": every weight and bias, for a network of at most :data:`MAX_ALL` of them.
    X : array of shape (n_samples, n_1), or one sample of shape (n_1,)
    D : array of shape (n_samples, n_L), or one sample's targets (n_L,)
        For a classifier (a model with ``classes_``) D may be class labels, shape (n_samples,).
    alpha : float ≥ 0, optional
        L2 strength; None takes the estimator's ``alpha`` (0 for a bare Network), so the value
        is the batch gradient exactly as the optimiser uses it.
    sample_weight : array of shape (n_samples,), optional
    h : float > 0
        Step of the central difference.
    max_paths : int ≥ 1
        Paths listed one by one; the rest are summed into one "other N paths" entry.
    sample : int
        The sample n = 1 … n_samples whose numbers the steps walk through.
    lang : "en" or "ja"
        The language of ``to_text()`` and ``to_html()``.
    dropout_mask : dict {l: array of shape (n_samples, n_l)}, optional
        A fixed dropout mask of hidden layers (entries 0 or 1/(1−p); :meth:`Network.dropout_mask`
        draws one): z_j^(l) = m_j f(u_j^(l)) and δ_j^(l) = m_j f′(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1).
        The derivation, backpropagation and the central difference all use it, so they still agree.

    Returns
    -------
    Explanation
        ``.value``, ``.backprop``, ``.numerical``, ``.relative_error``, ``.paths``,
        ``.transpose``, ``.layers``; ``.to_text()``, ``.to_latex()``, ``.to_html()``.

    Raises
    ------
    ValueError
        A weight that does not exist (or whose indices are not whole numbers), a layer out of
        range, X or D of the wrong shape, no samples, alpha < 0, h ≤ 0, max_paths < 1, a
        sample out of range or an unknown lang; the message names the valid choice.
    """
    check_lang(lang)
    converted = as_network(model)
    net = converted[0]
    every = isinstance(weight, str) and weight.strip().lower() == "all"
    if every:
        count = sum(net.W[l].size + net.b[l].size for l in net.layers)
        if count > MAX_ALL:
            raise ValueError(
                f'weight="all" explains up to {MAX_ALL} weights on one page; this '
                f'{"-".join(map(str, net.sizes))} network has {count}: pick one weight, e.g. "2:1,1"'
            )
        weights = [(l, j, i) for l in net.layers for j in range(1, net.sizes[l - 1] + 1)
                   for i in range(net.sizes[l - 2] + 1)]
    else:
        weights = [parse_weight(net, weight)]
    one = _prepare(model, converted, X, D, alpha, sample_weight, h, max_paths, sample, lang, dropout_mask)
    return Explanations([one(w) for w in weights]) if every else one(weights[0])
