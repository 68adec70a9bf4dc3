"""Optimisers: the seed's gradient method, SGD with (Nesterov) momentum, Adam, L-BFGS.

Every stochastic optimiser updates a list of parameter arrays in place; its state
(velocities, moments) is held *per position* in that list, never keyed by ``id()``, so copying,
pickling or replacing the network's arrays cannot mix states up.  The rules and schedules
follow scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer`` operation for operation (the same
gradients give the same weights to the last bit):

    SGD, momentum μ, rate η:   v ← μ v - η g;          w ← w + v
    Nesterov momentum:         v ← μ v - η g;          w ← w + (μ v - η g)
    Adam (Kingma & Ba 2014):   m ← β₁ m + (1-β₁) g;    s ← β₂ s + (1-β₂) g²
                               η_t = η √(1-β₂ᵗ) / (1-β₁ᵗ)
                               w ← w - η_t m / (√s + ε)
    AdamW (Loshchilov & Hutter 2019): w ← w - η λ w, then Adam's step: the weight decay λ is
                               decoupled from the gradient (unlike the L2 term alpha, which
                               enters g and so Adam's moments)

Any of them can clip the gradient by its global norm first (``max_grad_norm`` c):
g ← g · min(1, c / ‖g‖), ‖g‖² the sum of squares over every parameter array.  The schedule
"cosine" sets the rate of epoch e (0-based) of E epochs, after W warm-up epochs, to

    η_e = η₀ (e + 1) / W                                  for e < W
    η_e = η₀ ½ (1 + cos(π (e - W) / (E - W)))             for e ≥ W

Each rule is written once (:func:`sgd_step`, :func:`adam_step`); ``SGD`` and ``Adam`` take a
``step`` of the same signature and roundings (:mod:`deltaprop.speed.fused`).  L-BFGS runs
through scipy's L-BFGS-B on the packed parameter vector (:meth:`Network.get_flat`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from deltaprop.core.network import Network

__all__ = [
    "gradient_descent", "SGD", "Adam", "AdamW", "lbfgs", "LEARNING_RATE_SCHEDULES", "sgd_step", "adam_step",
    "adam_rate", "cosine_rate", "clip_by_global_norm",
]

Work = Callable[[], tuple[np.ndarray, np.ndarray]]

#: scikit-learn's names for the learning-rate schedules of SGD, and cosine (SGD, Adam, AdamW)
LEARNING_RATE_SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")


def cosine_rate(learning_rate_init: float, epoch: int, n_epochs: int, warmup: int = 0) -> float:
    """η of epoch ``epoch`` (0-based) of ``n_epochs``: linear warm-up over ``warmup`` epochs,
    then half a cosine from η₀ down towards 0 (module docstring)."""
    if epoch < warmup:
        return float(learning_rate_init) * (epoch + 1) / warmup
    span = max(n_epochs - warmup, 1)
    return float(learning_rate_init) * 0.5 * (1.0 + math.cos(math.pi * min(epoch - warmup, span) / span))


def clip_by_global_norm(grads: list[np.ndarray], max_norm: float) -> float:
    """g ← g · c / ‖g‖ in place when ‖g‖ > c = ``max_norm``; returns ‖g‖ before clipping."""
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if norm > max_norm:
        scale = max_norm / norm
        for g in grads:
            g *= scale
    return norm


def gradient_descent(net: Network, X: ArrayLike, D: ArrayLike, *, learning_rate: float = 0.1,
                     n_epochs: int = 100, alpha: float = 0.0,
                     sample_weight: ArrayLike | None = None) -> list[float]:
    """Full-batch gradient descent, the seed's gradient method: w ← w - η ∂E/∂w.

    Updates ``net`` in place and returns the loss history: the loss before each step,
    followed by the loss after the last one (``n_epochs + 1`` numbers).
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive; got {learning_rate!r}")
    X, D, s, _ = net._checked(X, D, sample_weight, None)
    history = []
    for _ in range(int(n_epochs)):
        grads = net.backprop(X, D, float(alpha), s)
        history.append(grads.loss)
        if not np.isfinite(grads.loss):
            raise FloatingPointError(f"the loss became {grads.loss}; lower the learning rate "
                                     f"(now {learning_rate})")
        for l in net.layers:
            net.W[l] -= learning_rate * grads.W[l]
            net.b[l] -= learning_rate * grads.b[l]
    history.append(net._batch_loss(net._forward(X), D, float(alpha), s))
    return history


def sgd_step(w: np.ndarray, g: np.ndarray, v: np.ndarray, mu: float, eta: float, nesterov: bool,
             work: Work) -> None:
    """One SGD step in place (module docstring); ``work()`` returns two work arrays of w's
    shape, called only when they are needed."""
    if mu == 0:
        # μ = 0: v = 0·v - η g is exactly -(η g), and so is the Nesterov step
        np.multiply(g, -eta, out=v)
        w += v
        return
    eta_g, step = work()
    np.multiply(g, eta, out=eta_g)
    v *= mu
    v -= eta_g
    if nesterov:
        np.multiply(v, mu, out=step)
        step -= eta_g
        w += step
    else:
        w += v


def adam_rate(base_rate: float, b1: float, b2: float, t: int) -> float:
    """η_t = η √(1-β₂ᵗ) / (1-β₁ᵗ) at step t ≥ 1 (the paper's "more efficient" ordering, end of
    its section 2); plain float arithmetic, so the compiled epoch compiles this same function."""
    return base_rate * math.sqrt(1 - b2 ** float(t)) / (1 - b1 ** float(t))


def adam_step(w: np.ndarray, g: np.ndarray, m: np.ndarray, s: np.ndarray, b1: float, b2: float,
              eps: float, lr: float, work: Work) -> None:
    """One Adam step in place (module docstring), η_t = ``lr``; ``work()`` as for :func:`sgd_step`."""
    t, step = work()
    m *= b1
    np.multiply(g, 1 - b1, out=t)
    m += t  # first moment: running mean of g
    s *= b2
    np.multiply(g, g, out=t)
    t *= 1 - b2
    s += t  # second moment: running mean of g²
    np.sqrt(s, out=t)
    t += eps
    np.multiply(m, -lr, out=step)
    step /= t
    w += step


class _Optimizer:
    """What the training loop needs of a stochastic optimiser: ``update(params, grads)`` in
    place; ``iteration_ends(t)`` after every epoch, t the samples seen so far;
    ``trigger_stopping()`` when the loss (or validation score) stopped improving: True to stop,
    False to go on (with a lowered learning rate)."""

    _scratch_arrays: list[tuple[np.ndarray, np.ndarray]]  # set when first needed (_work)

    def __init__(self, learning_rate_init: float, max_grad_norm: float | None, schedule: str,
                 allowed: tuple[str, ...], n_epochs: int | None, warmup: int) -> None:
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be positive or None; got {max_grad_norm!r}")
        if schedule not in allowed:
            raise ValueError(f"unknown learning-rate schedule {schedule!r}; allowed: {', '.join(allowed)}")
        self.schedule, self.n_epochs, self.warmup = schedule, n_epochs or 0, warmup
        if schedule == "cosine" and (n_epochs is None or n_epochs < 1):
            raise ValueError(f"the cosine schedule needs n_epochs ≥ 1; got {n_epochs!r}")
        if schedule == "cosine" and not 0 <= warmup < self.n_epochs:
            raise ValueError(f"warm-up must last 0 … n_epochs - 1 = {self.n_epochs - 1} epochs; "
                             f"got {warmup!r}")
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)  # η of the next step
        self.max_grad_norm = max_grad_norm  # c of the clipping by global norm, or None
        self.epoch = 0  # epochs finished (iteration_ends calls), for the cosine schedule

    def _rate(self) -> float:  # η₀, or under the cosine schedule this epoch's rate
        if self.schedule == "cosine":
            return cosine_rate(self.learning_rate_init, self.epoch, self.n_epochs, self.warmup)
        return float(self.learning_rate_init)

    def clip(self, grads: list[np.ndarray]) -> None:
        if self.max_grad_norm is not None:
            clip_by_global_norm(grads, self.max_grad_norm)

    def iteration_ends(self, t: int) -> None:
        self.epoch += 1

    def trigger_stopping(self) -> bool:
        return True

    def stopping_note(self) -> str:  # what trigger_stopping did, for verbose output
        return "Stopping."


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum or Nesterov momentum.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update, e.g. ``[a for _, _, a in net.parameters()]``; only their
        shapes and dtypes are read here (the velocities start at zero).
    learning_rate_init : float
        η at the first step.
    schedule : {"constant", "invscaling", "adaptive", "cosine"}
        constant: η stays ``learning_rate_init``.  invscaling: after each epoch
        η = learning_rate_init / (t + 1)^power_t, t the number of samples seen so far.
        adaptive: η stays until the loss stops improving (``trigger_stopping``), then is
        divided by 5; training stops once η ≤ 1e-6.  cosine: :func:`cosine_rate` of each
        epoch, over ``n_epochs`` with ``warmup`` warm-up epochs.
    momentum : float
        μ in [0, 1]; 0 is plain SGD.
    nesterov : bool
        Use Nesterov's momentum (scikit-learn's form, which steps by μ v - η g after the
        velocity update, i.e. it looks ahead along the new velocity).
    power_t : float
        The exponent of invscaling.
    step : callable, optional
        Computes the rule on one array, with :func:`sgd_step`'s signature and roundings
        (default: :func:`sgd_step` itself).
    max_grad_norm : float, optional
        Clip the gradient by its global norm to at most this before each step.
    n_epochs, warmup : int
        The cosine schedule's length and warm-up, in epochs.
    """

    def __init__(self, params: list[np.ndarray], learning_rate_init: float = 0.1,
                 schedule: str = "constant", momentum: float = 0.9, nesterov: bool = True,
                 power_t: float = 0.5, *, step: Callable[..., None] | None = None,
                 max_grad_norm: float | None = None, n_epochs: int | None = None, warmup: int = 0):
        super().__init__(learning_rate_init, max_grad_norm, schedule, LEARNING_RATE_SCHEDULES, n_epochs,
                         warmup)
        self.momentum, self.nesterov, self.power_t = momentum, nesterov, power_t
        self.learning_rate = self._rate()
        self.velocities = [np.zeros_like(p) for p in params]
        self.step = sgd_step if step is None else step
        self._note = "Stopping."

    def update(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.clip(grads)
        mu, eta = self.momentum, self.learning_rate
        for k, (w, g, v) in enumerate(zip(params, grads, self.velocities)):
            self.step(w, g, v, mu, eta, self.nesterov, functools.partial(_work, self, params, k))

    def iteration_ends(self, t: int) -> None:
        super().iteration_ends(t)
        if self.schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (t + 1) ** self.power_t
        elif self.schedule == "cosine":
            self.learning_rate = self._rate()

    def trigger_stopping(self) -> bool:
        if self.schedule != "adaptive":
            self._note = "Stopping."
            return True
        if self.learning_rate <= 1e-6:
            self._note = "Learning rate too small. Stopping."
            return True
        self.learning_rate /= 5.0
        self._note = f"Setting learning rate to {self.learning_rate:f}"
        return False

    def stopping_note(self) -> str:
        return self._note


class Adam(_Optimizer):
    """Adam with bias-corrected moments (Kingma & Ba 2014, Algorithm 1).

    Parameters
    ----------
    params : list of ndarray
        The arrays to update; the moments m and s start at zero with their shapes.
    learning_rate_init : float
        η.
    beta_1, beta_2 : float
        Decay rates of the first moment m (mean of g) and second moment s (mean of g²).
    epsilon : float
        Added to √s so the step stays finite where s = 0.
    step : callable, optional
        Computes the rule on one array, with :func:`adam_step`'s signature and roundings
        (default: :func:`adam_step` itself).
    max_grad_norm : float, optional
        Clip the gradient by its global norm to at most this before each step.
    schedule : {"constant", "cosine"}
        How η changes from epoch to epoch (``n_epochs``, ``warmup``: as for :class:`SGD`).
    """

    def __init__(self, params: list[np.ndarray], learning_rate_init: float = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8, *,
                 step: Callable[..., None] | None = None, max_grad_norm: float | None = None,
                 schedule: str = "constant", n_epochs: int | None = None, warmup: int = 0):
        super().__init__(learning_rate_init, max_grad_norm, schedule, ("constant", "cosine"), n_epochs,
                         warmup)
        #: η of this epoch, before the bias corrections (learning_rate_init, or its cosine schedule)
        self.base_rate = self._rate()
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0  # the number of steps taken
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]
        self.step = adam_step if step is None else step

    def update(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.clip(grads)
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # η_t a Python float, so float32 parameters are updated in float32
        self.learning_rate = float(adam_rate(self.base_rate, b1, b2, self.t))
        for k, (w, g, m, s) in enumerate(zip(params, grads, self.ms, self.vs)):
            self.decay(w)
            self.step(w, g, m, s, b1, b2, self.epsilon, self.learning_rate,
                      functools.partial(_work, self, params, k))

    def decay(self, w: np.ndarray) -> None:  # Adam decays nothing (AdamW: w ← w - η λ w)
        pass

    def iteration_ends(self, t: int) -> None:
        super().iteration_ends(t)
        self.base_rate = self._rate()


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): before each Adam step,
    w ← w - η λ w, η this epoch's rate (without Adam's bias corrections), λ ``weight_decay``.

    Unlike the L2 strength alpha, the decay never enters the gradient, so Adam's moments do
    not rescale it.  Every parameter array passed is decayed (as PyTorch's AdamW does); other
    parameters as :class:`Adam`.
    """

    def __init__(self, params: list[np.ndarray], learning_rate_init: float = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 weight_decay: float = 0.01, **options: Any):
        super().__init__(params, learning_rate_init, beta_1, beta_2, epsilon, **options)
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be ≥ 0; got {weight_decay!r}")
        self.weight_decay = weight_decay

    def decay(self, w: np.ndarray) -> None:
        if self.weight_decay:
            w *= 1.0 - self.base_rate * self.weight_decay


def _work(optimizer: _Optimizer, params: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The two work arrays of parameter array k, allocated when first asked for (not state)."""
    scratch = optimizer.__dict__.get("_scratch_arrays")
    if scratch is None or [a.shape for a, _ in scratch] != [p.shape for p in params]:
        scratch = optimizer._scratch_arrays = [(np.empty_like(p), np.empty_like(p)) for p in params]
    return scratch[k]


def lbfgs(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], theta0: np.ndarray, *, max_iter: int = 200,
          max_fun: int = 15000, tol: float = 1e-4,
          callback: Callable[[np.ndarray, float], bool | None] | None = None) -> Any:
    """Minimise ``fun`` by L-BFGS-B (scipy), as scikit-learn's MLP does.

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (loss, grad)``, theta and grad of shape (n_parameters,).
    theta0 : ndarray of shape (n_parameters,)
        The starting point, e.g. ``net.get_flat()``.
    max_iter, max_fun : int
        At most this many iterations and loss evaluations.
    tol : float
        scipy's ``gtol``: stop when the largest gradient component is below it.
    callback : callable, optional
        ``callback(theta, loss)`` after every iteration; returning True ends the minimisation.

    Returns
    -------
    scipy.optimize.OptimizeResult
        With ``x``, ``fun``, ``nit``, ``status`` and ``message``.
    """
    import scipy.optimize

    def scipy_callback(intermediate_result):
        if callback is not None and callback(intermediate_result.x, intermediate_result.fun):
            raise StopIteration  # scipy ends the run and returns the current point

    return scipy.optimize.minimize(fun, theta0, method="L-BFGS-B", jac=True,
                                   callback=None if callback is None else scipy_callback,
                                   options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol})

