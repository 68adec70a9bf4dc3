"""Optimisers: the seed's gradient method, SGD with (Nesterov) momentum, Adam, L-BFGS.

Every stochastic optimiser updates a list of parameter arrays in place, in the order of
:meth:`Network.parameters` (W^(2), b^(2), W^(3), b^(3), …).  Its state (velocities, moments)
is a list of arrays held *per position* in that list, never keyed by ``id()``, so copying,
pickling or replacing the network's arrays cannot mix states up.

The update rules and the learning-rate schedules follow scikit-learn's ``SGDOptimizer`` and
``AdamOptimizer`` operation for operation, so that with the same gradients both produce the
same weights to the last bit:

    SGD, momentum μ, rate η:   v ← μ v - η g;          w ← w + v
    Nesterov momentum:         v ← μ v - η g;          w ← w + (μ v - η g)
    Adam (Kingma & Ba 2014):   m ← β₁ m + (1-β₁) g;    s ← β₂ s + (1-β₂) g²
                               η_t = η √(1-β₂ᵗ) / (1-β₁ᵗ)
                               w ← w - η_t m / (√s + ε)

L-BFGS runs through ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` on the packed
parameter vector (:meth:`Network.get_flat` / :meth:`Network.set_flat`).
"""

from __future__ import annotations

import math

import numpy as np

from deltaprop.speed import fused

__all__ = ["gradient_descent", "SGD", "Adam", "lbfgs", "LEARNING_RATE_SCHEDULES"]

#: scikit-learn's names for the learning-rate schedules of SGD
LEARNING_RATE_SCHEDULES = ("constant", "invscaling", "adaptive")


def gradient_descent(net, X, D, *, learning_rate=0.1, n_epochs=100, alpha=0.0, sample_weight=None):
    """Full-batch gradient descent, the seed's gradient method: w ← w - η ∂E/∂w.

    Updates ``net`` in place and returns the loss history: the loss before each step,
    followed by the loss after the last one (``n_epochs + 1`` numbers).
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive; got {learning_rate!r}")
    X = net.check_X(X)
    D = net.check_D(D, X.shape[0])
    s = net.check_sample_weight(sample_weight, X.shape[0])
    history = []
    for _ in range(int(n_epochs)):
        grads = net.backprop(X, D, float(alpha), s)
        history.append(grads.loss)
        if not np.isfinite(grads.loss):
            raise FloatingPointError(
                f"the loss became {grads.loss}; lower the learning rate (now {learning_rate})"
            )
        for l in net.layers:
            net.W[l] -= learning_rate * grads.W[l]
            net.b[l] -= learning_rate * grads.b[l]
    history.append(net._batch_loss(net._forward(X), D, float(alpha), s))
    return history


class _Optimizer:
    """What the training loop needs of a stochastic optimiser.

    ``update(params, grads)`` changes each ``params[k]`` in place using ``grads[k]``;
    ``iteration_ends(t)`` is called after every epoch with t, the number of samples seen so
    far; ``trigger_stopping()`` is called when the loss (or validation score) stopped
    improving and returns True to stop, False to go on (with a lowered learning rate).
    """

    def __init__(self, learning_rate_init):
        self.learning_rate_init = learning_rate_init
        #: the learning rate of the next step
        self.learning_rate = float(learning_rate_init)

    def iteration_ends(self, t):
        pass

    def trigger_stopping(self):
        return True

    def stopping_note(self):
        """What :meth:`trigger_stopping` did, for verbose output."""
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
    schedule : {"constant", "invscaling", "adaptive"}
        constant: η stays ``learning_rate_init``.  invscaling: after each epoch
        η = learning_rate_init / (t + 1)^power_t, t the number of samples seen so far.
        adaptive: η stays until the loss stops improving (``trigger_stopping``), then is
        divided by 5; training stops once η ≤ 1e-6.
    momentum : float
        μ in [0, 1]; 0 is plain SGD.
    nesterov : bool
        Use Nesterov's momentum (scikit-learn's form, which steps by μ v - η g after the
        velocity update, i.e. it looks ahead along the new velocity).
    power_t : float
        The exponent of invscaling.
    """

    def __init__(self, params, learning_rate_init=0.1, schedule="constant", momentum=0.9,
                 nesterov=True, power_t=0.5):
        super().__init__(learning_rate_init)
        if schedule not in LEARNING_RATE_SCHEDULES:
            raise ValueError(f"unknown learning-rate schedule {schedule!r}; allowed: "
                             f"{', '.join(LEARNING_RATE_SCHEDULES)}")
        self.schedule = schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p) for p in params]
        self._note = "Stopping."

    def update(self, params, grads):
        """One step: v ← μ v - η g, then w ← w + v (Nesterov: w ← w + μ v - η g)."""
        mu, eta = self.momentum, self.learning_rate
        for k, (w, g, v) in enumerate(zip(params, grads, self.velocities)):
            # in place, in scikit-learn's order of roundings (μ v) - (η g); one compiled pass
            # for a large array, a few numpy calls (and two work arrays) for a small one
            fused.sgd_step(w, g, v, mu, eta, self.nesterov, lambda k=k: _scratch(self, params, 2)[k])

    def iteration_ends(self, t):
        if self.schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (t + 1) ** self.power_t

    def trigger_stopping(self):
        if self.schedule != "adaptive":
            self._note = "Stopping."
            return True
        if self.learning_rate <= 1e-6:
            self._note = "Learning rate too small. Stopping."
            return True
        self.learning_rate /= 5.0
        self._note = f"Setting learning rate to {self.learning_rate:f}"
        return False

    def stopping_note(self):
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
    """

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        super().__init__(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        #: the number of steps taken
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update(self, params, grads):
        """One step: update m and s, then w ← w - η_t m / (√s + ε)."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # the bias corrections 1/(1-β₁ᵗ) and 1/(1-β₂ᵗ) folded into one step size η_t,
        # as in the paper's "more efficient" ordering (end of its section 2)
        # (a Python float, so float32 parameters are updated in float32)
        self.learning_rate = float(self.learning_rate_init * math.sqrt(1 - b2**self.t) / (1 - b1**self.t))
        for k, (w, g, m, s) in enumerate(zip(params, grads, self.ms, self.vs)):
            # in place, with the roundings of the plain formulas (deltaprop.speed.fused)
            fused.adam_step(w, g, m, s, b1, b2, self.epsilon, self.learning_rate,
                            lambda k=k: _scratch(self, params, 2)[k])


def _scratch(optimizer, params, k):
    """k work arrays per parameter array, allocated when first asked for and kept (not state)."""
    scratch = optimizer.__dict__.get("_scratch_arrays")
    if (
        scratch is None
        or len(scratch) != len(params)
        or any(a[0].shape != p.shape for a, p in zip(scratch, params))
    ):
        scratch = optimizer._scratch_arrays = [tuple(np.empty_like(p) for _ in range(k)) for p in params]
    return scratch


def lbfgs(fun, theta0, *, max_iter=200, max_fun=15000, tol=1e-4, callback=None):
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

    scipy_callback = None
    if callback is not None:
        def scipy_callback(intermediate_result):
            if callback(intermediate_result.x, intermediate_result.fun):
                raise StopIteration  # scipy ends the run and returns the current point

    return scipy.optimize.minimize(
        fun,
        theta0,
        method="L-BFGS-B",
        jac=True,
        callback=scipy_callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )

