"""Data-parallel SGD and Adam: synchronous local SGD with parameter averaging.

    θ ← Σ_r n_r θ_r / Σ_r n_r        (and SGD's velocity, Adam's moments m and s alike)

Not the single-machine trajectory; ``docs/distributed.md`` ("Local SGD, stated plainly") says
how the replicas, rounds and epochs go.
"""

from __future__ import annotations

import functools
import math
import uuid
from dataclasses import replace

import numpy as np

from deltaprop.distributed.cluster import cached
from deltaprop.distributed.lbfgs import worker_network
from deltaprop.speed import compiled
from deltaprop.speed.backprop import BatchBackprop, flat_parameters
from deltaprop.training import progress
from deltaprop.training.divergence import warn_diverged
from deltaprop.training.lbfgs import gradient_norms
from deltaprop.training.loop import (
    _stopping_says_stop,
    follow_settings,
    make_optimizer,
    numpy_epoch,
    record_epoch,
    resolve_batch_size,
    warn_max_iter,
)

__all__ = ["fit_local_sgd", "local_round", "replicas", "MIN_SYNC_EVERY", "SYNCS_PER_EPOCH"]

#: the default sync frequency: at least SYNCS_PER_EPOCH averagings per epoch, but no more
#: often than every MIN_SYNC_EVERY mini-batches (a round must outweigh its scheduling cost)
SYNCS_PER_EPOCH = 8
MIN_SYNC_EVERY = 32

#: the optimiser's arrays that are averaged: SGD's velocity, Adam's moments
_MOMENTS = ("velocities", "ms", "vs")


def replicas(sizes: list[int], n_replicas: int) -> list[list[int]]:
    """Partition indices split into at most ``n_replicas`` contiguous groups of about equal rows."""
    n_replicas = max(1, min(n_replicas, len(sizes)))
    groups: list[list[int]] = []
    total, current, done = sum(sizes), [], 0
    for p, n in enumerate(sizes):
        current.append(p)
        done += n
        if done >= total * (len(groups) + 1) / n_replicas and len(groups) < n_replicas - 1:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _state(optimizer) -> dict:
    state = {k: getattr(optimizer, k)[0] for k in _MOMENTS if hasattr(optimizer, k)}
    return {**state, "t": getattr(optimizer, "t", 0), "lr": optimizer.learning_rate}


def _set_state(optimizer, state: dict) -> None:
    optimizer.learning_rate = state["lr"]
    for k in _MOMENTS:
        if k in state:
            getattr(optimizer, k)[0][...] = state[k]
    if hasattr(optimizer, "t"):
        optimizer.t = int(state["t"])


def _average(results) -> tuple[np.ndarray, dict]:
    """The row-weighted mean of the replicas' θ and states (Adam's t: the largest)."""
    n = sum(r["rows"] for r in results)
    theta = sum(r["theta"] * (r["rows"] / n) for r in results)
    state = {k: sum(r["state"][k] * (r["rows"] / n) for r in results) for k in _MOMENTS
             if k in results[0]["state"]}
    return theta, {**state, "t": max(r["state"]["t"] for r in results), "lr": results[0]["state"]["lr"]}


def _steps(net, theta, optimizer, X, D, s, rows, batch_size, alpha, token):
    """Steps over ``rows`` of one partition: (Σ batch loss × rows, finite, the last ∂E/∂W^(l))."""
    if compiled.supported(net, optimizer, X, s, batch_size):
        gradient = cached(("gradient", token), net.copy)
        flat_grad = flat_parameters(gradient)  # gradient.W: views of the vector the epoch fills
        loss, finite = compiled.run_epoch(net, theta, flat_grad, X, D, s, rows, batch_size, alpha, optimizer)
        return loss, finite, gradient.W
    backprop = cached(("sgd-backprop", token, batch_size), lambda: BatchBackprop(net, batch_size, alpha))
    return numpy_epoch(backprop, optimizer, [theta], X, D, s, rows, batch_size, None)


def local_round(replica, template, token, theta, state, spec) -> dict:
    """One replica's round on its worker from θ and ``state``: ``replica`` is ``(blocks, parts,
    first, end)``, its partitions, their numbers and the round's batches, counted through the
    partitions in turn; ``spec``: batch size, alpha, the epoch's seed, what makes the optimiser."""
    blocks, parts, first, end = replica
    net = worker_network(template, token)
    net.set_flat(theta)
    flat = flat_parameters(net)  # the vector whose views worker_network made the parameters
    optimizer = cached(("optimizer", token), lambda: spec["make"]([flat]))
    _set_state(optimizer, state)
    bs, total, used, finite, offset = spec["batch_size"], 0.0, 0, True, 0
    for (X, D, s), p in zip(blocks, parts):
        lo, hi = max(first - offset, 0), min(end - offset, math.ceil(X.shape[0] / bs))
        offset += math.ceil(X.shape[0] / bs)
        if lo >= hi:
            continue
        rows = _order(spec["seed"], p, X.shape[0])[lo * bs : hi * bs]
        loss, finite, grad_W = _steps(net, flat, optimizer, X, D, s, rows, bs, spec["alpha"], token)
        total += loss
        used += rows.shape[0]
        if not finite:
            break
    return {"theta": flat.copy(), "state": {k: np.copy(v) for k, v in _state(optimizer).items()},
            "rows": used, "loss": total, "finite": finite, "norms": gradient_norms(grad_W)}


def _order(seed, p: int, n: int) -> np.ndarray:
    """Partition p's rows in the epoch's shuffled order (``seed`` None: in turn), cached for the epoch."""
    if seed is None:
        return np.arange(n)
    seed_order = cached(("order", p, n), lambda: [None, None])
    if seed_order[0] != seed:
        seed_order[:] = [seed, np.random.default_rng([seed, p]).permutation(n)]
    return seed_order[1]


def fit_local_sgd(net, ex, handles, sizes: list[int], settings, state, rng, sync_every: int | None = None):
    """Train ``net`` by local SGD/Adam on the partitions ``handles`` (rows ``sizes``); returns
    ``state``, updated as the single-machine loop updates it.  ``sync_every``: the mini-batches
    each replica takes between averagings (None: see SYNCS_PER_EPOCH); ``rng`` (a RandomState)
    draws each epoch's shuffling seed."""
    n_total = sum(sizes)
    bs = resolve_batch_size(settings, n_total)
    groups = replicas(sizes, len(ex.workers))
    n_batches = [sum(math.ceil(sizes[p] / bs) for p in g) for g in groups]
    if sync_every is None:
        sync_every = max(MIN_SYNC_EVERY, math.ceil(max(n_batches) / SYNCS_PER_EPOCH))
    template, token = ex.broadcast(net.copy()), uuid.uuid4().hex
    if state.optimizer is None:
        state.optimizer = make_optimizer(settings, [net.get_flat()])
    follow_settings(state, settings)
    # the optimiser the workers make, of picklable settings
    make = functools.partial(make_optimizer, replace(settings, on_epoch=None, score=None))
    spec = {"batch_size": bs, "alpha": float(settings.alpha), "make": make, "seed": None}
    theta = net.get_flat()
    state.n_iter = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(settings.max_iter):
            spec["seed"] = int(rng.randint(2**31 - 1)) if settings.shuffle else None
            start, opt_state, loss, norms = theta, _state(state.optimizer), 0.0, {}
            # one epoch of rounds; a loss or θ that is not finite ends the fit with the θ and
            # optimiser state of the epoch's start
            for first in range(0, max(n_batches), sync_every):
                work = [([handles[p] for p in g], g, first, min(first + sync_every, n))
                        for g, n in zip(groups, n_batches) if first < n]
                results = ex.map(local_round, work, template, token, theta, opt_state, spec)
                new_theta, opt_state = _average(results)
                if not (all(res["finite"] for res in results) and np.isfinite(new_theta).all()):
                    state.diverged = True
                    warn_diverged("the loss stopped being finite", settings.learning_rate_init, stacklevel=4)
                    net.set_flat(start)
                    return state
                theta = new_theta
                loss += sum(res["loss"] for res in results)
                norms = results[-1]["norms"]
            _set_state(state.optimizer, opt_state)
            net.set_flat(theta)
            # the single-machine loop's bookkeeping (early stopping is refused on Dask: the
            # stopping rule watches the training loss)
            record_epoch(state, np.float64(loss / n_total), n_total, norms)
            if state.stopping is not None:
                state.stopping.update(state.loss)
            state.optimizer.iteration_ends(state.t)
            stop_requested = settings.on_epoch is not None and bool(settings.on_epoch(state))
            if _stopping_says_stop(settings, state, progress.Silent()) or stop_requested:
                break
            if state.n_iter == settings.max_iter:
                warn_max_iter(settings.max_iter, stacklevel=4)
    return state
