"""The plain/fast switches: inside :func:`plain_paths` every fast path takes its plain
version; inside :func:`numpy_paths` only the compiled ones (numba) do.

Each switch is a :class:`contextvars.ContextVar`, so it holds for the thread (or asyncio
task) that entered the block and for nothing else: a test that compares a training run on
the fast paths with one on the plain paths cannot change what another thread computes, and
prediction kept off numba does not keep a fit in another thread off it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["plain_paths", "use_plain", "numpy_paths", "use_compiled"]

_PLAIN: ContextVar[bool] = ContextVar("deltaprop_plain_paths", default=False)
_NUMPY: ContextVar[bool] = ContextVar("deltaprop_numpy_paths", default=False)


@contextlib.contextmanager
def _switched_on(switch: ContextVar[bool]) -> Iterator[None]:
    token = switch.set(True)
    try:
        yield
    finally:
        switch.reset(token)


def plain_paths() -> contextlib.AbstractContextManager[None]:
    """Within this block the plain paths run: :meth:`Network.backprop` per batch, the numpy
    optimiser steps and :meth:`Network.predict`; no compiled pass or compiled epoch.

    For tests that hold a whole training run on the fast paths equal to the plain one.
    """
    return _switched_on(_PLAIN)


def use_plain() -> bool:
    """True inside :func:`plain_paths` (in this thread or task)."""
    return _PLAIN.get()


def numpy_paths() -> contextlib.AbstractContextManager[None]:
    """Within this block no compiled path runs -- no fused pass (:mod:`deltaprop.speed.fused`),
    no compiled epoch (:mod:`deltaprop.speed.compiled`) -- so numba is not loaded; the
    buffered numpy paths (:class:`~deltaprop.speed.backprop.BatchBackprop`,
    :func:`~deltaprop.speed.backprop.predict`) still run, where :func:`plain_paths` turns
    those off too.  :func:`deltaprop.speed.backprop.predict` enters it for a prediction below
    :data:`deltaprop.speed.fused.PREDICT_MIN_WORK` rows × units.
    """
    return _switched_on(_NUMPY)


def use_compiled() -> bool:
    """False inside :func:`plain_paths` or :func:`numpy_paths` (in this thread or task)."""
    return not (_PLAIN.get() or _NUMPY.get())
