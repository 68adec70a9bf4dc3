"""Fused elementwise passes over the parameters and hidden layers, each one compiled loop.

Each function does in one compiled pass (:mod:`deltaprop.speed.kernels`) what a numpy
definition of :mod:`deltaprop.core` does in several ufunc calls, the same operations in the
same order, so the results are bitwise equal.  The numpy definition runs instead inside the
switches of :mod:`deltaprop.speed.switch`, below :data:`FUSED_MIN_SIZE` elements, for a
prediction below :data:`PREDICT_MIN_WORK` rows × units, and where numba cannot be imported: a
rule on the call's arguments only, never on what the process loaded before.
:data:`FORWARD_KERNELS`, :data:`BACKWARD_KERNELS` and :data:`STEP_KERNELS` list each
activation's and rule's kernel, or None (the definition, on purpose).  ``docs/performance.md``
("Fused passes") has the measurements, the price of loading numba, and why one thread.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from deltaprop.core import losses, optim
from deltaprop.core.activations import ACTIVATIONS, LEAKY_RELU_SLOPE
from deltaprop.speed.switch import use_compiled

__all__ = [
    "FUSED_MIN_SIZE", "PREDICT_MIN_WORK", "predict_uses_kernels", "FORWARD_KERNELS",
    "BACKWARD_KERNELS", "STEP_KERNELS", "add_l2_gradient", "sgd_step", "adam_step", "hidden_layer",
]

#: arrays with fewer elements take the numpy definition (the same bits): below it a pass is
#: a few microseconds either way
FUSED_MIN_SIZE = 4096

#: a prediction of fewer rows × units (hidden and output) runs its forward passes on numpy (the
#: same bits) and does not load numba: the fused passes win back its loading from here on
#: (``docs/performance.md``)
PREDICT_MIN_WORK = 225_000_000


def predict_uses_kernels(rows: int, units: int) -> bool:
    """Whether a prediction of ``rows`` rows through ``units`` units takes the fused passes."""
    return rows * units >= PREDICT_MIN_WORK


Pass = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
Builder = Callable[[Any, type], Pass]


def _bind(kernel: Any, *constants: Any) -> Pass:
    """``pass_(x, y, t)`` calling ``kernel(x, y, *constants)``, the constants made once."""
    return lambda x, y, t: kernel(x, y, *constants)


#: hidden activation → builder(kernels, scalar type) of its compiled ``forward(a, b, t)``:
#: a ← f(a + b) in one pass; None: numpy's f on purpose (the exp-based ones: numpy's
#: vectorised exp beats a compiled loop's call to the C library)
FORWARD_KERNELS: dict[str, Builder | None] = {
    "identity": lambda k, T: lambda a, b, t: k.add_bias(a, b),
    "relu": lambda k, T: _bind(k.add_bias_relu, T(0)),
    "leaky_relu": lambda k, T: _bind(k.add_bias_leaky_relu, T(LEAKY_RELU_SLOPE)),
    "tanh": None,
    "logistic": None,
    "softplus": None,
}

#: hidden activation → builder of its compiled ``backward(δ, z, t)``: δ ← f'(u) ⊙ δ with f'
#: from z, in one pass; None: the numpy definition (identity: f' = 1; softplus: exp-based)
BACKWARD_KERNELS: dict[str, Builder | None] = {
    "identity": None,
    "relu": lambda k, T: _bind(k.relu_df, T(1), T(0), T(1), T(0)),
    "leaky_relu": lambda k, T: _bind(k.relu_df, T(1), T(0), T(1 - LEAKY_RELU_SLOPE), T(LEAKY_RELU_SLOPE)),
    "tanh": lambda k, T: _bind(k.tanh_df, T(1)),
    "logistic": lambda k, T: _bind(k.logistic_df, T(1)),
    "softplus": None,
}

#: optimiser rule of deltaprop.core.optim → the name of its one-pass kernel
STEP_KERNELS = {"sgd_step": "sgd_step", "adam_step": "adam_step"}


def _compiled_kernels(size: int) -> ModuleType | None:
    """:mod:`deltaprop.speed.kernels` for arrays of ``size`` elements, or None (module docstring)."""
    if size < FUSED_MIN_SIZE or not use_compiled() or not numba_available():
        return None
    from deltaprop.speed import kernels  # numba loaded, the kernels compiled or read from its cache

    return kernels


@functools.cache
def numba_available() -> bool:
    """Whether numba imports (a numpy newer than numba supports makes it raise): if not, warn once;
    the numpy paths compute the same numbers."""
    try:
        import numba  # noqa: F401
    except Exception as error:  # ImportError, or numba's own check of numpy's version
        warnings.warn(f"numba could not be imported ({error}); deltaprop runs on its numpy paths, which "
                      "are slower for small networks and large ones. Reinstall numba to get them back.",
                      RuntimeWarning, stacklevel=3)
        return False
    return True


def _kernels_for(*arrays: np.ndarray) -> ModuleType | None:
    """:func:`_compiled_kernels`, None unless every array is C-contiguous (reshape(-1): no copy)."""
    k = _compiled_kernels(arrays[0].size)
    return k if k is not None and all(a.flags.c_contiguous for a in arrays) else None


def add_l2_gradient(g: np.ndarray, w: np.ndarray, alpha: float, N: float,
                    work: Callable[[], np.ndarray]) -> None:
    """g ← g + (α/N) w in place (:func:`deltaprop.core.losses.l2_gradient`), in one compiled pass
    for a large array; ``work()`` returns a work array of w's shape for the numpy definition."""
    k = _kernels_for(g, w)
    if k is None:
        np.add(g, losses.l2_gradient(alpha, N, w, out=work()), out=g)
    else:  # restates: core.losses.l2_gradient (α/N in w's dtype, as numpy multiplies by it)
        k.add_scaled(g.reshape(-1), w.reshape(-1), g.dtype.type(alpha / N))


def sgd_step(w: np.ndarray, g: np.ndarray, v: np.ndarray, mu: float, eta: float, nesterov: bool,
             work: optim.Work) -> None:
    """:func:`deltaprop.core.optim.sgd_step`, in one compiled pass for a large array."""
    k = _kernels_for(w, g, v)
    if k is None:
        optim.sgd_step(w, g, v, mu, eta, nesterov, work)
    else:
        t = w.dtype.type
        k.sgd_step(w.reshape(-1), g.reshape(-1), v.reshape(-1), t(mu), t(eta), bool(nesterov))


def adam_step(w: np.ndarray, g: np.ndarray, m: np.ndarray, s: np.ndarray, b1: float, b2: float,
              eps: float, lr: float, work: optim.Work) -> None:
    """:func:`deltaprop.core.optim.adam_step`, in one compiled pass for a large array."""
    k = _kernels_for(w, g, m, s)
    if k is None:
        optim.adam_step(w, g, m, s, b1, b2, eps, lr, work)
    else:
        t = w.dtype.type
        k.adam_step(w.reshape(-1), g.reshape(-1), m.reshape(-1), s.reshape(-1), t(b1), t(1 - b1), t(b2),
                    t(1 - b2), t(eps), t(-lr))


def hidden_layer(name: str, dtype: Any, size: int) -> tuple[Pass, Pass]:
    """``(forward, backward)`` of a layer of activation ``name`` in the seed's orientation:
    ``forward(a, b, t)``: a = W z ← f(a + b) in place; ``backward(delta, z, t)``: δ ← f'(u) ⊙ δ,
    f' from z; ``t`` a work array of a's shape.  The activation's own ``f`` and
    ``backward_in_place``, or the kernels of :data:`FORWARD_KERNELS` and :data:`BACKWARD_KERNELS`
    where :func:`_compiled_kernels` hands them out for ``size`` elements."""
    act = ACTIVATIONS[name]

    def forward(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> None:
        np.add(a, b[:, None], out=a)
        act.f(a, out=a, work=t)

    passes: list[Pass] = [forward, act.backward_in_place]
    builders = (FORWARD_KERNELS.get(name), BACKWARD_KERNELS.get(name))
    # numba is loaded only for an activation that has a kernel (not softplus, softmax, exp)
    k = _compiled_kernels(size) if any(builders) else None
    for i, build in enumerate(builders):
        if k is not None and build is not None:
            passes[i] = build(k, np.dtype(dtype).type)
    return passes[0], passes[1]
