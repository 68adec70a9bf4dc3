"""Activation functions f and their derivatives f', written side by side.

Each activation maps the input of a layer, ``u`` (shape ``(n_l, n_samples)``), to its
output ``z = f(u)``.  The backward pass needs ``f'(u)``; several derivatives are cheapest
from ``z`` (``tanh' = 1 - z**2``), so ``derivative`` takes both ``u`` and ``z = f(u)`` and
uses whichever is exact and cheap -- each one says which.

``backward(u, z, grad_z)`` returns ∂E/∂u given ∂E/∂z.  For the element-wise activations
it is ``f'(u) ⊙ grad_z``; softmax, whose Jacobian is not diagonal, overrides it with the
Jacobian-vector product.  That is how the general output delta
δ^(L) = f'(u^(L)) ⊙ ∂E/∂y is computed for non-canonical output/loss pairs.

All functions keep the dtype of their input (float32 stays float32) and are stable for
|u| up to 1e4 (no overflow warnings).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["Activation", "ACTIVATIONS", "HIDDEN_ACTIVATIONS", "OUTPUT_ACTIVATIONS", "get"]

LEAKY_RELU_SLOPE = 0.01


class Activation:
    """An activation f: ``f(u)``, ``derivative(u, z)`` = f'(u), ``backward(u, z, grad_z)``."""

    name: str = ""
    #: True when f'(u) can be written element-wise (every activation but softmax).
    elementwise: bool = True
    #: sup f' for the saturating activations (f' → 0 as |u| grows), None for the others
    max_derivative: float | None = None

    def f(self, u):
        raise NotImplementedError

    def derivative(self, u, z):
        """f'(u), element-wise; ``z`` must be ``f(u)``."""
        raise NotImplementedError

    def backward(self, u, z, grad_z):
        """∂E/∂u = f'(u) ⊙ ∂E/∂z (the chain rule through an element-wise f)."""
        return self.derivative(u, z) * grad_z

    def __repr__(self):
        return f"<activation {self.name}>"


class Identity(Activation):
    name = "identity"

    def f(self, u):
        return u

    def derivative(self, u, z):
        return np.ones_like(u)

    def backward(self, u, z, grad_z):
        return grad_z


class Logistic(Activation):
    """f(u) = 1 / (1 + exp(-u)); f'(u) = z (1 - z) with z = f(u)."""

    name = "logistic"
    max_derivative = 0.25

    def f(self, u):
        return expit(u)  # never overflows: exp is only taken of -|u|

    def derivative(self, u, z):
        return z * (1 - z)


class Tanh(Activation):
    """f(u) = tanh(u); f'(u) = 1 - z² with z = f(u)."""

    name = "tanh"
    max_derivative = 1.0

    def f(self, u):
        return np.tanh(u)

    def derivative(self, u, z):
        return 1 - z * z


class Relu(Activation):
    """f(u) = max(u, 0); f'(u) = 1 where u > 0, else 0 (0 at the kink, as scikit-learn)."""

    name = "relu"

    def f(self, u):
        return np.maximum(u, 0)

    def derivative(self, u, z):
        return (u > 0).astype(u.dtype)


class LeakyRelu(Activation):
    """f(u) = u where u > 0, else 0.01 u; f'(u) = 1 or 0.01."""

    name = "leaky_relu"
    slope = LEAKY_RELU_SLOPE

    def f(self, u):
        return np.where(u > 0, u, u * u.dtype.type(self.slope))

    def derivative(self, u, z):
        return np.where(u > 0, u.dtype.type(1), u.dtype.type(self.slope))


class Softplus(Activation):
    """f(u) = log(1 + exp(u)), computed as logaddexp(0, u); f'(u) = logistic(u)."""

    name = "softplus"
    max_derivative = 1.0

    def f(self, u):
        return np.logaddexp(u.dtype.type(0), u)

    def derivative(self, u, z):
        return expit(u)


class Exp(Activation):
    """f(u) = exp(u); f'(u) = z.  The canonical output for the Poisson loss."""

    name = "exp"

    def f(self, u):
        return np.exp(u)

    def derivative(self, u, z):
        return z


class Softmax(Activation):
    """y_k = exp(u_k) / Σ_k' exp(u_k'), over the units of a layer (axis 0).

    Computed after subtracting max_k u_k, so exp never overflows.  Its Jacobian
    ∂y_k/∂u_j = y_k (1[k = j] - y_j) is not diagonal, so ``backward`` is the
    Jacobian-vector product: ∂E/∂u_j = y_j (∂E/∂y_j - Σ_k y_k ∂E/∂y_k).
    """

    name = "softmax"
    elementwise = False

    def f(self, u):
        e = np.exp(u - u.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    def derivative(self, u, z):
        raise ValueError("softmax has no element-wise derivative; use backward(u, z, grad_z)")

    def backward(self, u, z, grad_z):
        return z * (grad_z - (z * grad_z).sum(axis=0, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (Identity(), Logistic(), Tanh(), Relu(), LeakyRelu(), Softplus(), Exp(), Softmax())
}
HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu", "softplus")
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax", "exp")


def get(name: str, allowed=OUTPUT_ACTIVATIONS, role: str = "activation") -> Activation:
    """The activation called ``name``; ValueError naming the allowed ones otherwise."""
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"unknown {role} {name!r}; allowed: {', '.join(allowed)}")
    return ACTIVATIONS[name]
