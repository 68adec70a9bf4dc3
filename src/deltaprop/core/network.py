"""The multilayer perceptron of the seed, its forward pass and the δ recursion.

Layers are numbered as in the seed: the input layer is l = 1, the output layer is l = L
(the seed's network, ``Network([4, 5, 3])``, has L = 3).  For l = 2 … L:

    W[l]  shape (n_l, n_{l-1})   W[l][j-1, i-1] is w_ji^(l), unit i of layer l-1 → unit j of l
    b[l]  shape (n_l,)           b[l][j-1] is w_j0^(l), the link from the "+1" bias unit

One mini-batch flows through the network one sample per column (the textbook orientation):
X of shape ``(n_samples, n_features)`` is transposed once, on the way in, to z^(1) = Xᵀ.  The
forward pass and the δ recursion are the matrix form of ``docs/derivation.md``.

The loss of a batch is the (sample-weighted) mean of E_n plus alpha / (2N) Σ_l ‖W^(l)‖²,
biases not penalised; with sample weights s_n, N is Σ_n s_n.  ``gradients`` returns the
gradient of exactly the number ``loss`` returns.

Dropout (inverted, in training only): a fixed mask m^(l) per hidden layer, m_j ∈ {0, 1/(1-p)},
multiplies the layer's output, z^(l) = m^(l) ⊙ f(u^(l)), and so its δ:
δ_j^(l) = m_j f'(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1).  With the mask fixed the loss is an
ordinary function of the weights, so the finite-difference and element-wise checks hold
exactly (``loss``, ``gradients``, ``gradcheck`` and ``derive`` take ``dropout_mask``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from deltaprop.core import activations as _act
from deltaprop.core import losses as _losses

__all__ = ["Network", "Forward", "Gradients"]


@dataclass
class Forward:
    """One forward pass: ``u[l]`` (l = 2 … L) and ``z[l]`` (l = 1 … L, z[1] = Xᵀ, z[L] = y),
    shape ``(n_l, n_samples)``."""

    u: dict
    z: dict
    #: the dropout mask m^(l) of each hidden layer, (n_l, n_samples); empty without dropout
    mask: dict = field(default_factory=dict)

    @property
    def y(self) -> np.ndarray:
        return self.z[max(self.z)]


@dataclass
class Gradients:
    """∂(loss)/∂W^(l) in ``W[l]`` and ∂(loss)/∂b^(l) in ``b[l]`` of ``loss``; ``delta[l]``: δ^(l)
    of every sample, ``(n_l, n_samples)``, times the sample weights when given."""

    W: dict
    b: dict
    loss: float
    delta: dict = field(default_factory=dict, repr=False)

    def flat(self) -> np.ndarray:
        """All gradients in one vector, in the order of ``Network.parameters()``."""
        return np.concatenate([a.ravel() for l in sorted(self.W) for a in (self.W[l], self.b[l])])


def _as_random_state(random_state):
    """numpy's legacy RandomState as scikit-learn's check_random_state makes it."""
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    if isinstance(random_state, Integral):
        return np.random.RandomState(int(random_state))
    raise ValueError(f"random_state must be None, an int, or a numpy RandomState/Generator; "
                     f"got {random_state!r}")


def _check_dtype(dtype: DTypeLike) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64; got {dtype}")
    return dtype


class Network:
    """A multilayer perceptron with the seed's notation.

    Parameters
    ----------
    sizes : sequence of int
        Units in every layer, input and output included: ``[4, 5, 3]`` is the seed's
        network (4 inputs, 5 hidden units, 3 outputs).  At least two layers.
    activation : str or sequence of str, default "tanh"
        f of the hidden layers, one name for all or one per hidden layer: identity,
        logistic, tanh, relu, leaky_relu, softplus.
    output : str, optional
        f of the output layer L: identity, logistic, softmax, exp or any hidden activation.
        Defaults to the loss's canonical partner (identity for squared_error, softmax for
        log_loss, logistic for binary_log_loss, exp for poisson).
    loss : str, default "squared_error"
        squared_error, log_loss (categorical cross-entropy), binary_log_loss, poisson,
        absolute_error, huber or quantile (:mod:`deltaprop.core.losses`).
    random_state : None, int, RandomState or Generator
        Seeds the initial weights.  With an int, every array is reproduced bit for bit.
    dtype : numpy.float32 or numpy.float64
        The dtype of every parameter and every computation; inputs are converted to it.
    epsilon : float, optional
        Huber's ε (loss="huber"; default 1.35): the residual where E_n turns from quadratic
        to linear.
    quantile : float, optional
        The quantile τ in (0, 1) of loss="quantile" (default 0.5, the median).

    Initialisation is Glorot-uniform as scikit-learn does it: for each layer in turn, W^(l)
    and then b^(l) are drawn from U(-r, r) with r = sqrt(6 / (n_{l-1} + n_l)) (6 becomes 2
    when the hidden activation is logistic), in float64 and then cast to ``dtype``.  The
    draws are made in scikit-learn's (fan_in, fan_out) order and transposed, so a network and
    a scikit-learn MLP seeded alike start from the same weights.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "tanh",
        output: str | None = None,
        loss: str = "squared_error",
        *,
        random_state: Any = None,
        dtype: DTypeLike = np.float64,
        epsilon: float | None = None,
        quantile: float | None = None,
    ) -> None:
        names = self._configure(sizes, activation, output, loss, dtype, epsilon, quantile)
        rng = _as_random_state(random_state)
        self.W, self.b = {}, {}
        for l in self.layers:
            fan_in, fan_out = self.sizes[l - 2], self.sizes[l - 1]
            # as in scikit-learn, the output layer's bound follows the last hidden activation
            # (the one name given, when there is no hidden layer)
            name = self.layer_activation[l] if l < self.L else names[-1] if names else None
            bound = np.sqrt((2.0 if name == "logistic" else 6.0) / (fan_in + fan_out))
            coef = rng.uniform(-bound, bound, (fan_in, fan_out))
            self.W[l] = np.ascontiguousarray(coef.T, dtype=self.dtype)
            self.b[l] = rng.uniform(-bound, bound, fan_out).astype(self.dtype)

    def _configure(self, sizes, activation, output, loss, dtype, epsilon=None, quantile=None):
        """Everything but the weights, checked; returns the hidden activations' names as given."""
        try:
            sizes = list(sizes)
        except TypeError:
            raise ValueError(f"sizes must be a list of layer widths such as [4, 5, 3]; got {sizes!r}"
                             ) from None
        if len(sizes) < 2:
            raise ValueError(f"a network needs at least two layers (input and output); got sizes={sizes!r}")
        if any(isinstance(n, bool) or not isinstance(n, Integral) or n < 1 for n in sizes):
            raise ValueError(f"every layer size must be a positive integer; got sizes={sizes!r}")
        self.sizes = sizes = tuple(int(n) for n in sizes)
        self.L = len(sizes)
        hidden, names = self._hidden_names(activation)
        if loss not in _losses.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(_losses.LOSSES)}")
        if output is None:
            output = _losses.DEFAULT_OUTPUT[loss]
        _act.get(output, _losses.ALLOWED_OUTPUTS[loss], f"output activation for loss {loss!r}")
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("a softmax output needs at least 2 output units (over one unit it is "
                             "constant 1); use a logistic output for a single unit")
        self.output, self.loss_name = output, loss
        #: the loss's parameters: {"epsilon": ε} for huber, {"quantile": τ} for quantile
        self.loss_params = _losses.loss_params(loss, epsilon, quantile)
        self.dtype: np.dtype = _check_dtype(dtype)
        self._set_hidden(hidden)
        return names

    @classmethod
    def from_weights(cls, W: Any, b: Any, activation: str | Sequence[str] = "tanh", output: str | None = None,
                     loss: str = "squared_error", *, copy: bool = True) -> Network:
        """A network with the given parameters (seed orientation), copied.

        ``W`` and ``b`` are sequences (for l = 2 … L in order) or dicts keyed by l.  With
        ``copy=False`` arrays already C-ordered in the network's dtype are used as they are
        (a model file's freshly read arrays: loading holds one copy of the weights, no more).
        """
        Ws = [W[k] for k in sorted(W)] if isinstance(W, dict) else list(W)
        bs = [b[k] for k in sorted(b)] if isinstance(b, dict) else list(b)
        if len(Ws) != len(bs) or not Ws:
            raise ValueError("W and b must list the same (non-zero) number of layers")
        dtype = np.result_type(*map(np.asarray, Ws), *bs)
        dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        sizes = [Ws[0].shape[1]] + [w.shape[0] for w in Ws]
        net = cls.__new__(cls)  # no Glorot draw: the weights are given
        net._configure(sizes, activation, output, loss, dtype)
        net.W, net.b = {}, {}
        for l, (w, bias) in enumerate(zip(Ws, bs), start=2):
            w = np.asarray(w, dtype=dtype)
            bias = np.asarray(bias, dtype=dtype).reshape(-1)
            shape = (sizes[l - 1], sizes[l - 2])
            if w.shape != shape or bias.shape != shape[:1]:
                raise ValueError(f"layer {l}: W has shape {w.shape} and b {bias.shape}; expected "
                                 f"{shape} and {shape[:1]}")
            net.W[l] = np.array(w, order="C") if copy else np.ascontiguousarray(w)  # numpy 1.x too
            net.b[l] = bias.copy() if copy else bias
        return net

    def _hidden_names(self, activation):
        """(f of each hidden layer, the names to check) for one name or one per hidden layer."""
        n_hidden = self.L - 2
        if isinstance(activation, str):
            hidden = (activation,) * n_hidden
        else:
            hidden = tuple(activation)
            if len(hidden) != n_hidden:
                raise ValueError(f"activation lists {len(hidden)} names but the network has {n_hidden} "
                                 "hidden layers; give one name, or one per hidden layer")
        # with no hidden layer a single name is still checked, so typos never pass silently
        names = hidden or ((activation,) if isinstance(activation, str) else ())
        for name in names:
            _act.get(name, _act.HIDDEN_ACTIVATIONS, "hidden activation")
        return hidden, names

    def _set_hidden(self, hidden):
        self.activation = hidden
        self.layer_activation = {l: hidden[l - 2] for l in range(2, self.L)}
        self.layer_activation[self.L] = self.output
        self._f = {l: _act.ACTIVATIONS[name] for l, name in self.layer_activation.items()}

    def set_hidden_activation(self, activation: str | Sequence[str]) -> None:
        """Change f of the hidden layers, keeping the weights (one name, or one per hidden
        layer), as a warm start with another ``activation`` does in scikit-learn."""
        self._set_hidden(self._hidden_names(activation)[0])

    def copy(self) -> Network:
        """An independent copy (parameters copied)."""
        return self.astype(self.dtype)

    def astype(self, dtype: DTypeLike) -> Network:
        """An independent copy whose parameters and computations are of ``dtype`` (float64: how
        gradcheck and explain take exact differences of a float32 network's loss)."""
        dtype = _check_dtype(dtype)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.dtype = dtype
        new.loss_params = dict(self.loss_params)
        new.W = {l: w.astype(dtype, order="C") for l, w in self.W.items()}
        new.b = {l: v.astype(dtype, order="C") for l, v in self.b.items()}
        return new

    def __repr__(self):
        hidden = self.activation[0] if len(set(self.activation)) == 1 else list(self.activation)
        return (f"Network({list(self.sizes)}, activation={hidden!r}, output={self.output!r}, "
                f"loss={self.loss_name!r}, dtype={self.dtype.name})")

    def f(self, l: int) -> _act.Activation:
        """The activation object of layer l (2 … L)."""
        return self._f[l]

    @property
    def layers(self) -> range:
        """The layer numbers that carry parameters: 2 … L."""
        return range(2, self.L + 1)

    @property
    def n_parameters(self) -> int:
        return sum(w.size + v.size for w, v in zip(self.W.values(), self.b.values()))

    def parameters(self) -> Iterator[tuple[str, int, np.ndarray]]:
        """(name, l, array) for W^(2), b^(2), W^(3), b^(3), …: the packing order everywhere."""
        for l in self.layers:
            yield "W", l, self.W[l]
            yield "b", l, self.b[l]

    def get_flat(self) -> np.ndarray:
        return np.concatenate([a.ravel() for _, _, a in self.parameters()])

    def set_flat(self, theta: ArrayLike) -> None:
        """Set every parameter from one vector packed as ``get_flat``."""
        theta = np.asarray(theta)
        if theta.shape != (self.n_parameters,):
            raise ValueError(f"expected a vector of {self.n_parameters} parameters; got {theta.shape}")
        start = 0
        for _, _, a in self.parameters():
            a[...] = theta[start : start + a.size].reshape(a.shape)
            start += a.size

    def check_X(self, X: ArrayLike) -> np.ndarray:
        """X as a (n_samples, n_1) array of the network's dtype; ValueError otherwise."""
        X = np.asarray(X)
        if X.ndim == 1 and self.sizes[0] == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (n_samples, {self.sizes[0]}) for this network; "
                             f"got {X.shape}")
        return self._numeric_finite(X, "X", "remove or impute those values")

    def _numeric_finite(self, A: np.ndarray, name: str, remedy: str) -> np.ndarray:
        if A.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be numeric; got dtype {A.dtype}")
        A = A.astype(self.dtype, copy=False)
        if not np.isfinite(A).all():
            raise ValueError(f"{name} contains NaN or infinity; {remedy}")
        return A

    def check_D(self, D: ArrayLike, n_samples: int) -> np.ndarray:
        """D as a (n_samples, n_L) array of the network's dtype; ValueError otherwise."""
        D = np.asarray(D)
        n_out = self.sizes[-1]
        if D.ndim == 1 and n_out == 1:
            D = D.reshape(-1, 1)
        if D.ndim != 2 or D.shape != (n_samples, n_out):
            raise ValueError(f"D must have shape ({n_samples}, {n_out}) (one row per sample of X, one column "
                             f"per output); got {D.shape}")
        D = self._numeric_finite(D, "D", "remove those samples")
        loss = self.loss_name
        if loss in ("log_loss", "binary_log_loss") and ((D < 0).any() or (D > 1).any()):
            raise ValueError(f"{loss} needs targets d in [0, 1]; got values outside it")
        if loss == "log_loss" and self.output == "softmax":
            if not np.allclose(D.sum(axis=1), 1, atol=1e-4 if self.dtype == np.float32 else 1e-8):
                raise ValueError("log_loss needs each row of D to sum to 1 (one-hot or probabilities)")
        if loss == "poisson" and (D < 0).any():
            raise ValueError("poisson needs non-negative targets d")
        return D

    def check_sample_weight(self, sample_weight: ArrayLike | None, n_samples: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        s = np.asarray(sample_weight, dtype=self.dtype)
        if s.ndim == 0:
            s = np.full(n_samples, s, dtype=self.dtype)
        if s.shape != (n_samples,):
            raise ValueError(f"sample_weight must have shape ({n_samples},); got {s.shape}")
        if not np.isfinite(s).all() or (s < 0).any() or s.sum() <= 0:
            raise ValueError("sample_weight must be finite, non-negative and not all zero")
        return s

    def forward(self, X: ArrayLike, *, dropout_mask: Any = None) -> Forward:
        """The forward pass of X (n_samples, n_1): u^(l) = W^(l) z^(l-1) + b^(l), z^(l) = f(u^(l))
        (times m^(l) with a dropout mask), one sample per column."""
        X = self.check_X(X)
        return self._forward(X, self.check_dropout_mask(dropout_mask, X.shape[0]))

    def _forward(self, X, mask=None):
        u, z, mask = {}, {1: X.T}, mask or {}
        for l in self.layers:
            u[l] = self.W[l] @ z[l - 1] + self.b[l][:, None]
            z[l] = self._f[l].f(u[l])
            if l in mask:
                z[l] = mask[l] * z[l]  # inverted dropout: z^(l) = m^(l) ⊙ f(u^(l))
        return Forward(u=u, z=z, mask=mask)

    def dropout_mask(self, rate: float | Sequence[float], n_samples: int,
                     random_state: Any = None) -> dict[int, np.ndarray]:
        """Draw an inverted-dropout mask: {l: array (n_samples, n_l)} for each hidden layer l
        whose rate p > 0 (``rate``: one p in [0, 1) for all, or one per hidden layer), each entry
        0 with probability p and 1/(1-p) otherwise, drawn from ``random_state`` layer by layer."""
        hidden = range(2, self.L)
        rates: list[Any] = [rate] * len(hidden) if np.ndim(rate) == 0 else list(rate)  # type: ignore[arg-type]
        if len(rates) != len(hidden):
            raise ValueError(f"dropout lists {len(rates)} rates but the network has {len(hidden)} hidden "
                             "layers; give one rate, or one per hidden layer")
        for p in rates:
            if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p < 1:
                raise ValueError(f"every dropout rate must be a number in [0, 1); got {rate!r}")
        rng = _as_random_state(random_state)
        return {l: ((rng.uniform(size=(n_samples, self.sizes[l - 1])) >= p) / (1.0 - p)).astype(self.dtype)
                for l, p in zip(hidden, [float(p) for p in rates]) if p > 0}

    def check_dropout_mask(self, dropout_mask: Any, n_samples: int) -> dict[int, np.ndarray]:
        """The mask {l: (n_samples, n_l)} as {l: (n_l, n_samples)} of the network's dtype, checked."""
        if dropout_mask is None:
            return {}
        if not isinstance(dropout_mask, dict):
            raise ValueError("dropout_mask must be a dict {l: array of shape (n_samples, n_l)} "
                             "for hidden layers l")
        mask = {}
        for key, m in dropout_mask.items():
            l = int(key) if isinstance(key, Integral) else 0
            if not 2 <= l < self.L:
                raise ValueError(f"dropout_mask has layer {key!r}; only hidden layers 2 … {self.L - 1} "
                                 "drop units")
            m = np.asarray(m, dtype=self.dtype)
            shape = (n_samples, self.sizes[l - 1])
            if m.shape != shape or not np.isfinite(m).all() or (m < 0).any():
                raise ValueError(f"dropout_mask[{l}] must be a finite, non-negative array of shape {shape}; "
                                 f"got shape {m.shape}")
            mask[l] = np.ascontiguousarray(m.T)
        return mask

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The output y of every sample, shape (n_samples, n_L)."""
        return np.ascontiguousarray(self._forward(self.check_X(X)).y.T)

    def _batch_loss(self, fwd, D, alpha, s):  # the loss of a forward pass
        E = _losses.per_sample(self.loss_name, fwd.u[self.L], fwd.y, D.T, self.output, self.loss_params)
        data = E.sum() if s is None else E @ s
        penalty = _losses.l2_penalty(alpha, self.W.values())
        return float((data + penalty) / _losses.total_weight(E.shape[0], s))

    def loss(self, X: ArrayLike, D: ArrayLike, *, alpha: float = 0.0,
             sample_weight: ArrayLike | None = None, dropout_mask: Any = None) -> float:
        """The batch loss: weighted mean over samples of E_n, plus alpha/(2N) Σ_l ‖W^(l)‖²
        (with ``dropout_mask``, {l: (n_samples, n_l)}, the loss of the thinned network)."""
        X, D, s, mask = self._checked(X, D, sample_weight, dropout_mask)
        return self._batch_loss(self._forward(X, mask), D, float(alpha), s)

    def _checked(self, X: ArrayLike, D: ArrayLike, sample_weight: ArrayLike | None,
                 dropout_mask: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict]:
        """(X, D, s, mask) checked: the arguments of :meth:`backprop`."""
        X = self.check_X(X)
        n = X.shape[0]
        return X, self.check_D(D, n), self.check_sample_weight(sample_weight, n), self.check_dropout_mask(
            dropout_mask, n)

    def gradients(self, X: ArrayLike, D: ArrayLike, *, alpha: float = 0.0,
                  sample_weight: ArrayLike | None = None, dropout_mask: Any = None) -> Gradients:
        """∂(loss)/∂W^(l) and ∂(loss)/∂b^(l) for l = 2 … L, by backpropagation.

        Returns a :class:`Gradients` whose ``W[l]``, ``b[l]`` have the shapes of the
        network's, and whose ``loss`` is ``self.loss(X, D, alpha=…, sample_weight=…,
        dropout_mask=…)``.  ``dropout_mask`` is {l: array (n_samples, n_l)} for hidden layers,
        entries 0 or 1/(1-p) (:meth:`dropout_mask` draws one).
        """
        X, D, s, mask = self._checked(X, D, sample_weight, dropout_mask)
        return self.backprop(X, D, float(alpha), s, mask)

    def backprop(self, X: np.ndarray, D: np.ndarray, alpha: float = 0.0,
                 sample_weight: np.ndarray | None = None, mask: dict | None = None) -> Gradients:
        """:meth:`gradients` of checked arguments (:meth:`_checked`: the mask {l: (n_l, n_samples)})."""
        fwd = self._forward(X, mask)
        L, s, u, z = self.L, sample_weight, fwd.u, fwd.z
        n = _losses.total_weight(X.shape[0], s)
        delta = {L: _losses.output_delta(self.loss_name, self.output, u[L], z[L], D.T, self.loss_params)}
        if s is not None:
            delta[L] = delta[L] * s  # δ is linear in δ^(L): weighting it once weights every layer's δ
        for l in range(L - 1, 1, -1):
            f = self._f[l]
            # f′(u^(l)), times m^(l) under dropout (z^(l) is then m ⊙ f(u): f′ is taken from f(u))
            f_prime = (f.derivative(u[l], z[l]) if l not in fwd.mask
                       else fwd.mask[l] * f.derivative(u[l], f.f(u[l])))
            delta[l] = f_prime * (self.W[l + 1].T @ delta[l + 1])  # δ^(l) = f′(u^(l)) ⊙ (W^(l+1))ᵀ δ^(l+1)
        grad_W = {l: delta[l] @ z[l - 1].T / n for l in self.layers}
        for l in self.layers if alpha else ():
            grad_W[l] += _losses.l2_gradient(alpha, n, self.W[l])
        grad_b = {l: delta[l].sum(axis=1) / n for l in self.layers}
        return Gradients(W=grad_W, b=grad_b, loss=self._batch_loss(fwd, D, alpha, s), delta=delta)
