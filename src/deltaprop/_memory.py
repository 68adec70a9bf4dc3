"""The memory this process may still allocate: one rule for every check that refuses, before
allocating, what would not fit (loading a model, building a network to train)."""

from __future__ import annotations

import contextlib
import os


def available_memory() -> int | None:
    """Bytes this process may still allocate: the smaller of the system's available memory
    and what an address-space limit (``ulimit -v``) leaves; None where neither is known."""
    limits = []
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo", encoding="ascii") as f:
        limits += [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
    with contextlib.suppress(ImportError, OSError, ValueError, IndexError):
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            limits.append(max(soft - used, 0))
    return min(limits) if limits else None
