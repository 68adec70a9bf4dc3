"""Activation functions f and their derivatives f', written side by side.

Each activation maps u (shape ``(n_l, n_samples)``) to z = f(u).  ``derivative(u, z)`` takes
both and every element-wise one reads z alone (``tanh' = 1 - z**2``), so a path that keeps
only z can still take f'(u).  ``backward(u, z, grad_z)`` is ∂E/∂u given ∂E/∂z (for softmax the
Jacobian-vector product): the general δ^(L) = f'(u^(L)) ⊙ ∂E/∂y of a non-canonical pair.
``out=`` (which may be u itself) and ``backward_in_place`` let the buffered fast path
(:mod:`deltaprop.speed.backprop`) run these very definitions in place; where a compiled kernel
restates f or f', :mod:`deltaprop.speed.registry` lists it.

All functions keep the dtype of their input (float32 stays float32) and are stable for
|u| up to 1e4 (no overflow warnings).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Activation", "ACTIVATIONS", "HIDDEN_ACTIVATIONS", "OUTPUT_ACTIVATIONS", "get"]

LEAKY_RELU_SLOPE = 0.01


def _copy(a: np.ndarray, out: np.ndarray | None) -> np.ndarray:  # a, or a copied into out
    if out is None or out is a:
        return a
    np.copyto(out, a)
    return out


class Activation:
    """An activation f: ``f(u)``, ``derivative(u, z)`` = f'(u), ``backward(u, z, grad_z)``."""

    name: str = ""
    #: True when f'(u) can be written element-wise (every activation but softmax).
    elementwise: bool = True
    #: sup f' for the saturating activations (f' → 0 as |u| grows), None for the others
    max_derivative: float | None = None

    def f(self, u: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None) -> np.ndarray:
        """z = f(u), into ``out`` when given; ``work`` is scratch of u's shape (or None)."""
        raise NotImplementedError

    def derivative(self, u: np.ndarray | None, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """f'(u), element-wise; ``z`` must be ``f(u)``, into ``out`` when given."""
        raise NotImplementedError

    def backward(self, u: np.ndarray, z: np.ndarray, grad_z: np.ndarray) -> np.ndarray:
        """∂E/∂u = f'(u) ⊙ ∂E/∂z (the chain rule through an element-wise f)."""
        return self.derivative(u, z) * grad_z

    def backward_in_place(self, delta: np.ndarray, z: np.ndarray, work: np.ndarray) -> None:
        """δ ← f'(u) ⊙ δ in place, f' taken from z into ``work`` (an array of δ's shape)."""
        np.multiply(delta, self.derivative(None, z, out=work), out=delta)

    def __repr__(self):
        return f"<activation {self.name}>"


class Identity(Activation):
    """f(u) = u; f'(u) = 1."""

    name = "identity"

    def f(self, u, out=None, work=None):
        return _copy(u, out)

    def derivative(self, u, z, out=None):
        if out is None:
            return np.ones_like(z)
        out.fill(1)
        return out

    def backward(self, u, z, grad_z):
        return grad_z

    def backward_in_place(self, delta, z, work):
        pass  # f' = 1


class Logistic(Activation):
    """f(u) = 1 / (1 + exp(-u)); f'(u) = z (1 - z) with z = f(u)."""

    name = "logistic"
    max_derivative = 0.25

    def f(self, u, out=None, work=None):
        # imported here: scipy.special takes a noticeable share of the command's start-up,
        # and a network without a logistic layer never needs it
        from scipy.special import expit

        return expit(u, out=out)  # never overflows: exp is only taken of -|u|

    def derivative(self, u, z, out=None):
        out = np.subtract(1, z, out=out)
        return np.multiply(z, out, out=out)


class Tanh(Activation):
    """f(u) = tanh(u); f'(u) = 1 - z² with z = f(u)."""

    name = "tanh"
    max_derivative = 1.0

    def f(self, u, out=None, work=None):
        return np.tanh(u, out=out)

    def derivative(self, u, z, out=None):
        out = np.multiply(z, z, out=out)
        return np.subtract(1, out, out=out)


class Relu(Activation):
    """f(u) = max(u, 0); f'(u) = 1 where u > 0, else 0 (0 at the kink, as scikit-learn).

    u > 0 exactly where z > 0, so f' is taken from z.
    """

    name = "relu"

    def f(self, u, out=None, work=None):
        return np.maximum(u, 0, out=out)

    def derivative(self, u, z, out=None):
        return (z > 0).astype(z.dtype) if out is None else np.greater(z, 0, out=out)


class LeakyRelu(Activation):
    """f(u) = max(u, 0.01 u): u where u > 0, else 0.01 u; f'(u) = 1 or 0.01.

    f' is taken from z (z > 0 exactly where u > 0) as 0.01 + 0.99 [z > 0], which is exactly 1
    or 0.01 in float32 and float64.
    """

    name = "leaky_relu"
    slope = LEAKY_RELU_SLOPE

    def f(self, u, out=None, work=None):
        return np.maximum(u, np.multiply(u, self.slope, out=work), out=out)

    def derivative(self, u, z, out=None):
        out = np.greater(z, 0, out=np.empty_like(z) if out is None else out)
        np.multiply(out, 1 - self.slope, out=out)
        return np.add(out, self.slope, out=out)


class Softplus(Activation):
    """f(u) = log(1 + exp(u)), computed as logaddexp(0, u); f'(u) = logistic(u).

    From z: logistic(u) = 1 - exp(-softplus(u)) = -expm1(-z).
    """

    name = "softplus"
    max_derivative = 1.0

    def f(self, u, out=None, work=None):
        return np.logaddexp(0, u, out=out)

    def derivative(self, u, z, out=None):
        out = np.negative(z, out=out)
        return np.negative(np.expm1(out, out=out), out=out)


class Exp(Activation):
    """f(u) = exp(u); f'(u) = z.  The canonical output for the Poisson loss."""

    name = "exp"

    def f(self, u, out=None, work=None):
        return np.exp(u, out=out)

    def derivative(self, u, z, out=None):
        return z.copy() if out is None else _copy(z, out)


class Softmax(Activation):
    """y_k = exp(u_k) / Σ_k' exp(u_k'), over the units of a layer (axis 0).

    Computed after subtracting max_k u_k, so exp never overflows.  Its Jacobian
    ∂y_k/∂u_j = y_k (1[k = j] - y_j) is not diagonal, so ``backward`` is the
    Jacobian-vector product: ∂E/∂u_j = y_j (∂E/∂y_j - Σ_k y_k ∂E/∂y_k).
    """

    name = "softmax"
    elementwise = False

    def f(self, u, out=None, work=None):
        e = np.exp(u - u.max(axis=0, keepdims=True))
        e /= e.sum(axis=0, keepdims=True)
        return _copy(e, out)

    def derivative(self, u, z, out=None):
        raise ValueError("softmax has no element-wise derivative; use backward(u, z, grad_z)")

    def backward(self, u, z, grad_z):
        return z * (grad_z - (z * grad_z).sum(axis=0, keepdims=True))

    def backward_in_place(self, delta, z, work):
        delta[...] = self.backward(None, z, delta)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (Identity(), Logistic(), Tanh(), Relu(), LeakyRelu(), Softplus(), Exp(), Softmax())
}
HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu", "softplus")
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax", "exp")


def get(name: str, allowed: tuple[str, ...] = OUTPUT_ACTIVATIONS, role: str = "activation") -> Activation:
    """The activation called ``name``; ValueError naming the allowed ones otherwise."""
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"unknown {role} {name!r}; allowed: {', '.join(allowed)}")
    return ACTIVATIONS[name]
