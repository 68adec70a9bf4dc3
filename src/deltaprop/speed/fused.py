"""Fused elementwise passes over the parameters and hidden layers, each one compiled loop.

A numpy expression such as SGD's Nesterov step is several ufunc calls, each a pass over
every parameter; on a large network those passes are what is left beside the matrix
products.  Each function here does its job in one pass, in a compiled loop
(:mod:`deltaprop.speed.kernels`, numba) that performs the same operations in the same order
as the numpy definition in :mod:`deltaprop.core`, so the results are bitwise equal.  The
numpy definition runs instead inside :func:`deltaprop.speed.plain_paths` and
:func:`deltaprop.speed.numpy_paths`, for arrays below :data:`FUSED_MIN_SIZE` elements (where
loading numba once per process would cost more than it saves), and where numba cannot be
imported.

Two limits keep numba out of a process that would not win its loading back (about 0.45 s:
importing numba, then its first compiled call, which sets up its code generation, then
reading each kernel from its disk cache):

* :data:`FUSED_MIN_SIZE`, per array: a small network's passes never pay;
* :func:`kernels_pay_off`, per fit: the training loop (:func:`deltaprop.training.loop.fit`)
  runs a fit whose estimated saving is below :data:`NUMBA_LOAD_SECONDS` inside
  :func:`deltaprop.speed.numpy_paths`, unless the kernels are already loaded in the process
  (:func:`kernels_loaded`: then they cost nothing more and always run).  That covers the
  compiled epoch (:mod:`deltaprop.speed.compiled`) too.  The fused passes give the numpy
  definition's bits, so such a fit is unchanged by it; where the compiled epoch would have
  run, the numpy path's sums run in another order, so a small network's fit agrees to
  rounding, not to the bit, with the same fit in a process whose kernels are loaded (the
  tolerances of ``tests/test_compiled.py``: 1e-10 relative in float64, 1e-4 in float32).
  :func:`predict_kernels_pay_off` is the same rule for
  :func:`deltaprop.speed.backprop.predict`, so a small fit's own predictions do not load
  numba either.

The tables :data:`FORWARD_KERNELS`, :data:`BACKWARD_KERNELS` and :data:`STEP_KERNELS` list,
for every activation and optimiser rule of the core, its kernel or None (the numpy
definition, on purpose); ``tests/test_registry.py`` walks them.

The kernels run on one thread: numba's threading layers either abort when two Python threads
train at once (workqueue) or hang in a process forked after use (GNU OpenMP), and a library
cannot impose either on its users.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from deltaprop.core import optim
from deltaprop.core.activations import ACTIVATIONS, LEAKY_RELU_SLOPE
from deltaprop.speed.switch import use_compiled

__all__ = [
    "FUSED_MIN_SIZE", "NUMBA_LOAD_SECONDS", "kernels_pay_off", "predict_kernels_pay_off",
    "kernels_loaded", "FORWARD_KERNELS", "BACKWARD_KERNELS", "STEP_KERNELS",
    "add_scaled", "sgd_step", "adam_step", "hidden_layer",
]

#: arrays with fewer elements take the numpy definition: the kernels win at every size, but
#: the first use in a process loads numba, which a small network's fit would not win back
FUSED_MIN_SIZE = 4096

#: what loading numba costs a process that has not loaded it (import, first compiled call,
#: reading the kernels from numba's disk cache), in seconds: ``docs/performance.md``
NUMBA_LOAD_SECONDS = 0.45
#: what the compiled paths save per optimiser step (the numpy calls of a mini-batch: about
#: 15-25 µs with the compiled epoch, 10-25 µs with the fused passes)
SAVED_SECONDS_PER_STEP = 15e-6
#: and per sample × parameter (the fused passes' fewer passes over memory)
SAVED_SECONDS_PER_WORK = 3e-11
#: what the fused forward pass saves in a prediction, per row × unit (hidden and output)
SAVED_SECONDS_PER_ACTIVATION = 2e-9


def kernels_loaded() -> bool:
    """Whether the kernels are loaded in this process, so that every fit takes them: deltaprop's
    kernels are imported (:mod:`deltaprop.speed.kernels`: by an earlier fit or prediction that
    used them, or by a caller who wants every fit on them), or numba has already compiled or
    loaded some function (its CPU target's implementations, which its first compiled call
    imports, are there), after which each kernel costs a few milliseconds to read from the
    cache.  numba merely imported does not count: its first compiled call still costs about
    0.35 s."""
    return "deltaprop.speed.kernels" in sys.modules or "numba.np.arrayobj" in sys.modules


def kernels_pay_off(steps: int, samples: int, n_parameters: int) -> bool:
    """Whether a fit of ``steps`` optimiser steps over ``samples`` samples in all (rows ×
    epochs) of a network of ``n_parameters`` should take the compiled paths: True when the
    kernels are loaded already (:func:`kernels_loaded`), or when their estimated saving,
    ``steps`` × :data:`SAVED_SECONDS_PER_STEP` + ``samples`` × ``n_parameters`` ×
    :data:`SAVED_SECONDS_PER_WORK`, is at least :data:`NUMBA_LOAD_SECONDS`: about 30,000
    steps, or 1.5·10¹⁰ samples × parameters.  Below, the training loop runs the fit inside
    :func:`deltaprop.speed.numpy_paths`, and numba is never loaded for it."""
    if kernels_loaded():
        return True
    saved = steps * SAVED_SECONDS_PER_STEP + samples * n_parameters * SAVED_SECONDS_PER_WORK
    return saved >= NUMBA_LOAD_SECONDS


def predict_kernels_pay_off(rows: int, units: int) -> bool:
    """The same for a prediction of ``rows`` rows through ``units`` units (hidden and output):
    its fused forward passes save about ``rows`` × ``units`` ×
    :data:`SAVED_SECONDS_PER_ACTIVATION`: 2.25·10⁸ rows × units (1.7 million rows of a 4-64-64-1
    network) win back loading numba."""
    return kernels_loaded() or rows * units * SAVED_SECONDS_PER_ACTIVATION >= NUMBA_LOAD_SECONDS


Forward = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
Backward = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
Builder = Callable[[Any, type], Callable[[np.ndarray, np.ndarray, np.ndarray], None]]

#: hidden activation → builder(kernels, scalar type) of its compiled forward pass
#: ``forward(a, b, t)``: a ← f(a + b) in one pass; None: numpy's f on purpose (the exp-based
#: ones: numpy's vectorised exp beats a compiled loop's call to the C library)
FORWARD_KERNELS: dict[str, Builder | None] = {
    "identity": lambda k, T: lambda a, b, t: k.add_bias(a, b),
    "relu": lambda k, T: _bind(k.add_bias_relu, T(0)),
    "leaky_relu": lambda k, T: _bind(k.add_bias_leaky_relu, T(LEAKY_RELU_SLOPE)),
    "tanh": None,
    "logistic": None,
    "softplus": None,
}

#: hidden activation → builder(kernels, scalar type) of its compiled ``backward(δ, z, t)``:
#: δ ← f'(u) ⊙ δ with f' from z, in one pass; None: the numpy definition (identity: f' = 1,
#: nothing to do; softplus: exp-based)
BACKWARD_KERNELS: dict[str, Builder | None] = {
    "identity": None,
    "relu": lambda k, T: _bind(k.relu_df, T(1), T(0)),
    "leaky_relu": lambda k, T: _bind(k.leaky_relu_df, T(1), T(0), T(1 - LEAKY_RELU_SLOPE),
                                     T(LEAKY_RELU_SLOPE)),
    "tanh": lambda k, T: _bind(k.tanh_df, T(1)),
    "logistic": lambda k, T: _bind(k.logistic_df, T(1)),
    "softplus": None,
}

def _bind(kernel: Any, *constants: Any) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """``pass_(x, y, t)`` calling ``kernel(x, y, *constants)``, the constants (scalars of the
    array's dtype) made once, not per call."""
    return lambda x, y, t: kernel(x, y, *constants)


#: optimiser rule of deltaprop.core.optim → the name of its one-pass kernel
STEP_KERNELS = {"sgd_step": "sgd_step", "adam_step": "adam_step"}


def _compiled_kernels(size: int) -> ModuleType | None:
    """The module of compiled kernels for arrays of ``size`` elements: None below
    FUSED_MIN_SIZE, inside :func:`deltaprop.speed.plain_paths` or
    :func:`deltaprop.speed.numpy_paths`, and where numba cannot be imported.  numba is
    imported, and the kernels compiled or read from its cache, on first use."""
    if size < FUSED_MIN_SIZE or not use_compiled() or not numba_available():
        return None
    from deltaprop.speed import kernels

    return kernels


@functools.cache
def numba_available() -> bool:
    """Whether numba imports.  It is a dependency, but an installation can still break it (a
    numpy newer than the numba release supports makes ``import numba`` raise): then deltaprop
    warns once and runs its numpy paths, which compute the same numbers."""
    try:
        import numba  # noqa: F401
    except Exception as error:  # ImportError, or numba's own check of numpy's version
        warnings.warn(
            f"numba could not be imported ({error}); deltaprop runs on its numpy paths, which "
            "are slower for small networks and large ones. Reinstall numba to get them back.",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def _flat(a: np.ndarray) -> np.ndarray:
    """A 1-D view of a C-contiguous array (callers check the flag: reshape then never copies)."""
    return a.reshape(-1)


def add_scaled_plain(g: np.ndarray, w: np.ndarray, c: float, work: Callable[[], np.ndarray]) -> None:
    """g ← g + w·c with numpy; ``work()`` returns a work array of w's shape."""
    scratch = work()
    np.multiply(w, c, out=scratch)
    np.add(g, scratch, out=g)


def add_scaled(g: np.ndarray, w: np.ndarray, c: float, work: Callable[[], np.ndarray]) -> None:
    """g ← g + w·c in place: the L2 gradient (α/N) W added to ∂E/∂W."""
    k = _compiled_kernels(g.size)
    if k is None or not (g.flags.c_contiguous and w.flags.c_contiguous):
        add_scaled_plain(g, w, c, work)
        return
    k.add_scaled(_flat(g), _flat(w), g.dtype.type(c))


def sgd_step(w: np.ndarray, g: np.ndarray, v: np.ndarray, mu: float, eta: float, nesterov: bool,
             work: optim.Work) -> None:
    """:func:`deltaprop.core.optim.sgd_step`, in one compiled pass for a large array."""
    k = _compiled_kernels(w.size)
    if k is None or not (w.flags.c_contiguous and g.flags.c_contiguous and v.flags.c_contiguous):
        optim.sgd_step(w, g, v, mu, eta, nesterov, work)
        return
    t = w.dtype.type
    k.sgd_step(_flat(w), _flat(g), _flat(v), t(mu), t(eta), bool(nesterov))


def adam_step(w: np.ndarray, g: np.ndarray, m: np.ndarray, s: np.ndarray, b1: float, b2: float,
              eps: float, lr: float, work: optim.Work) -> None:
    """:func:`deltaprop.core.optim.adam_step`, in one compiled pass for a large array."""
    k = _compiled_kernels(w.size)
    if k is None or not all(a.flags.c_contiguous for a in (w, g, m, s)):
        optim.adam_step(w, g, m, s, b1, b2, eps, lr, work)
        return
    t = w.dtype.type
    k.adam_step(_flat(w), _flat(g), _flat(m), _flat(s), t(b1), t(1 - b1), t(b2), t(1 - b2),
                t(eps), t(-lr))


def hidden_layer(name: str, dtype: Any, size: int) -> tuple[Forward, Backward]:
    """``(forward, backward)`` of a hidden layer of activation ``name`` in the seed's
    orientation, used by :class:`deltaprop.speed.backprop.BatchBackprop`; the forward pass
    of :func:`deltaprop.speed.backprop.predict` takes every layer's, the output's too (an
    activation without a kernel, softmax or exp, runs its numpy ``f``).

    ``forward(a, b, t)`` turns ``a = W z`` into ``z = f(a + b)`` in place (b added along the
    batch, axis 1); ``backward(delta, z, t)`` multiplies δ by f'(u), computed from z, in
    place; ``t`` is a work array of a's shape.  The numpy forms are the activation's own
    ``f`` and ``backward_in_place``; for arrays of ``size`` ≥ FUSED_MIN_SIZE elements outside
    :func:`deltaprop.speed.plain_paths` and :func:`deltaprop.speed.numpy_paths`, the kernels
    of :data:`FORWARD_KERNELS` and :data:`BACKWARD_KERNELS` replace them.
    """
    act = ACTIVATIONS[name]

    def plain_forward(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> None:
        np.add(a, b[:, None], out=a)
        act.f(a, out=a, work=t)

    forward: Forward = plain_forward
    backward: Backward = act.backward_in_place
    build_forward, build_backward = FORWARD_KERNELS.get(name), BACKWARD_KERNELS.get(name)
    # numba is loaded only for an activation that has a kernel (not softplus, softmax, exp)
    k = _compiled_kernels(size) if build_forward or build_backward else None
    if k is not None:
        T = np.dtype(dtype).type
        if build_forward is not None:
            forward = build_forward(k, T)
        if build_backward is not None:
            backward = build_backward(k, T)
    return forward, backward
