"""The plain/fast switches: inside :func:`plain_paths` every fast path takes its plain
version; inside :func:`numpy_paths` only the compiled ones (numba) do.

Each switch is a :class:`contextvars.ContextVar`: it holds for the thread (or asyncio task)
that entered the block and for nothing else.
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
    """Within this block no compiled path runs (no fused pass, no compiled epoch), so numba is
    not loaded; the buffered numpy paths still run, where :func:`plain_paths` turns those off
    too."""
    return _switched_on(_NUMPY)


def use_compiled() -> bool:
    """False inside :func:`plain_paths` or :func:`numpy_paths` (in this thread or task)."""
    return not (_PLAIN.get() or _NUMPY.get())
