"""Where the partitions live and how work reaches them: a ``distributed.Client``, or none.

:class:`ClusterExecutor` keeps each prepared partition as a future on its worker and sends each
task to its data (a dead worker's partitions are recomputed; when Dask gives up,
:class:`ClusterError`); :class:`LocalExecutor` runs the tasks in this process.  Results come
back, and are added, in partition order, whichever worker answered first.  See
``docs/distributed.md`` ("Faults").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ClusterError", "ClusterExecutor", "LocalExecutor", "executor", "current_client", "cached"]


class ClusterError(RuntimeError):
    """The cluster could not finish a task; the message is one line saying why."""


def current_client():
    """The ``distributed.Client`` of this context, or None (Dask's local scheduler)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):  # no distributed, or no client: the local scheduler
        return None


def executor(client=None):
    """A :class:`ClusterExecutor` on ``client`` (default: the current one), else a :class:`LocalExecutor`."""
    client = client if client is not None else current_client()
    return LocalExecutor() if client is None else ClusterExecutor(client)


class LocalExecutor:
    """Partitions in this process's memory; tasks run here, in partition order."""

    workers: Sequence[str] = ("local",)

    def persist(self, tasks: Sequence[Any]) -> list:
        """Compute ``tasks`` (dask.delayed) with the local scheduler; the results are the handles."""
        import dask

        return list(dask.compute(*tasks)) if tasks else []

    def broadcast(self, value):
        return value

    def map(self, func: Callable, handles: Sequence, *args) -> list:
        """``[func(h, *args) for h in handles]``."""
        return [func(h, *args) for h in handles]

    transform = map

    def chain(self, func: Callable, handles: Sequence, value, *args):
        for h in handles:
            value = func(h, value, *args)
        return value

    def release(self, handles: Sequence) -> None:
        pass


class ClusterExecutor:
    """Partitions as futures on the workers of ``client``; tasks go to their data."""

    def __init__(self, client):
        self.client = client

    @property
    def workers(self) -> list[str]:
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def _gather(self, futures):
        from distributed import KilledWorker

        try:
            return self.client.gather(futures)
        except KilledWorker as exc:
            raise ClusterError(
                f"the fit stopped: a worker died each time it ran task {exc.task!r} "
                "(out of memory?); give the workers more memory or use more, smaller partitions"
            ) from None
        except (OSError, TimeoutError) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise ClusterError(f"the fit stopped: lost the scheduler ({why})") from None

    def _wait(self, futures: list) -> list:
        """Wait for ``futures`` (their data stays on the workers); raise the first partition's error."""
        from distributed import wait

        wait(futures)
        for f in futures:
            if f.status != "finished":
                self._gather([f])  # raises the task's own error (or ClusterError)
        return futures

    def persist(self, tasks: Sequence[Any]) -> list:
        """Futures of ``tasks`` (dask.delayed), computed and kept on the workers."""
        return self._wait(self.client.compute(list(tasks)))

    def transform(self, func: Callable, handles: Sequence, *args) -> list:
        """Futures of ``func(h, *args)``, computed and kept where ``h`` is."""
        return self._wait([self.client.submit(func, h, *args, pure=False) for h in handles])

    def chain(self, func: Callable, handles: Sequence, value, *args):
        """``value = func(h, value, *args)`` for each handle in turn on its worker; the last value."""
        for h in handles:
            value = self.client.submit(func, h, value, *args, pure=False)
        return self._gather(value)

    def broadcast(self, value):
        """A future of ``value`` on every worker (a network to evaluate, sent once)."""
        return self.client.scatter(value, broadcast=True, hash=False)

    def map(self, func: Callable, handles: Sequence, *args) -> list:
        """``[func(h, *args) for h in handles]``, each where most of ``h``'s data is."""
        return self._gather([self.client.submit(func, h, *args, pure=False) for h in handles])

    def release(self, handles: Sequence) -> None:
        for h in handles:
            h.release()


_local = threading.local()


def cached(key, make: Callable[[], Any], *, clear_over: int | None = None):
    """The value of ``key`` in this worker thread's cache, made by ``make()`` when missing, after
    emptying a cache of more than ``clear_over`` entries (its values are rebuilt from a task's
    arguments: emptying it costs time, never a different answer)."""
    cache = _local.__dict__.setdefault("cache", {})  # a threading.local's __dict__ is this thread's
    if key not in cache:
        if clear_over is not None and len(cache) > clear_over:
            cache.clear()
        cache[key] = make()
    return cache[key]
