"""The plain/fast switch: inside :func:`plain_paths` every fast path takes its plain version.

The switch is a :class:`contextvars.ContextVar`, so it holds for the thread (or asyncio task)
that entered the block and for nothing else: a test that compares a training run on the
fast paths with one on the plain paths cannot change what another thread computes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["plain_paths", "use_plain"]

_PLAIN: ContextVar[bool] = ContextVar("deltaprop_plain_paths", default=False)


@contextlib.contextmanager
def plain_paths() -> Iterator[None]:
    """Within this block the plain paths run: :meth:`Network.backprop` per batch, the numpy
    optimiser steps and :meth:`Network.predict`; no compiled pass or compiled epoch.

    For tests that hold a whole training run on the fast paths equal to the plain one.
    """
    token = _PLAIN.set(True)
    try:
        yield
    finally:
        _PLAIN.reset(token)


def use_plain() -> bool:
    """True inside :func:`plain_paths` (in this thread or task)."""
    return _PLAIN.get()
