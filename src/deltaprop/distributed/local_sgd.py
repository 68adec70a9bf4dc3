"""Data-parallel SGD and Adam: synchronous local SGD with parameter averaging.

The partitions are split once into R replicas (one per worker, contiguous and balanced by
rows; the split does not change during the fit, so neither does the result when a worker
dies and its partitions are recomputed elsewhere).  Every round, each replica starts from
the same θ and optimiser state, takes ``sync_every`` mini-batch steps on its own rows on its
worker, and returns θ_r and its state; the client averages them, weighted by the rows each
replica used:

    θ ← Σ_r n_r θ_r / Σ_r n_r        (and SGD's velocity, Adam's moments m and s alike)

An epoch is over when every replica has seen each of its rows once (each partition in its
own shuffled order).  This is *not* the single-machine trajectory: R replicas take R steps
where one machine takes one, from the same θ, and their average is a different point.  On
one replica (one worker, or no client) it is single-machine mini-batch training walking the
partitions in turn.
"""

from __future__ import annotations

import math
import uuid
import warnings

import numpy as np

from deltaprop.core.optim import SGD, Adam
from deltaprop.distributed.cluster import worker_cache
from deltaprop.distributed.lbfgs import worker_network
from deltaprop.speed import compiled
from deltaprop.speed.backprop import BatchBackprop, packed_parameters
from deltaprop.training.loop import DivergenceWarning, make_optimizer

__all__ = ["fit_local_sgd", "local_round", "replicas", "MIN_SYNC_EVERY", "SYNCS_PER_EPOCH"]

#: the default sync frequency: at least SYNCS_PER_EPOCH averagings per epoch, but no more
#: often than every MIN_SYNC_EVERY mini-batches (a round must outweigh its scheduling cost)
SYNCS_PER_EPOCH = 8
MIN_SYNC_EVERY = 32


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
    if isinstance(optimizer, Adam):
        return {"m": optimizer.ms[0], "v": optimizer.vs[0], "t": optimizer.t, "lr": optimizer.learning_rate}
    return {"velocity": optimizer.velocities[0], "lr": optimizer.learning_rate}


def _set_state(optimizer, state: dict) -> None:
    optimizer.learning_rate = state["lr"]
    if isinstance(optimizer, Adam):
        optimizer.ms[0][...] = state["m"]
        optimizer.vs[0][...] = state["v"]
        optimizer.t = int(state["t"])
    else:
        optimizer.velocities[0][...] = state["velocity"]


def _average(results) -> tuple[np.ndarray, dict]:
    """The row-weighted mean of the replicas' θ and optimiser states (Adam's t: the largest)."""
    n = sum(r["rows"] for r in results)
    theta = sum(r["theta"] * (r["rows"] / n) for r in results)
    state = {}
    for key in results[0]["state"]:
        if key == "t":
            state[key] = max(r["state"][key] for r in results)
        elif key == "lr":
            state[key] = results[0]["state"][key]
        else:
            state[key] = sum(r["state"][key] * (r["rows"] / n) for r in results)
    return theta, state


def _order(seed, p: int, n: int) -> np.ndarray:
    """Partition p's rows in the epoch's shuffled order (``seed`` None: in turn), cached."""
    if seed is None:
        return np.arange(n)
    cache = worker_cache()
    key = ("order", seed, p, n)
    order = cache.get(key)
    if order is None:
        for k in [k for k in cache if k[0] == "order" and k[1] != seed]:
            del cache[k]
        order = cache[key] = np.random.default_rng([seed, p]).permutation(n)
    return order


def _steps(net, theta, optimizer, X, D, s, rows, batch_size, alpha, token):
    """Mini-batch steps over ``rows`` of one partition: (Σ batch loss × rows, finite)."""
    if compiled.supported(net, optimizer, X, s, batch_size):
        cache = worker_cache()
        grad = cache.setdefault(("grad", token), np.empty(net.n_parameters, dtype=net.dtype))
        return compiled.run_epoch(net, theta, grad, X, D, s, rows, batch_size, alpha, optimizer)
    cache = worker_cache()
    backprop = cache.get(("sgd-backprop", token, batch_size))
    if backprop is None:
        backprop = cache[("sgd-backprop", token, batch_size)] = BatchBackprop(net, batch_size, alpha)
    total = 0.0
    for start in range(0, rows.shape[0], batch_size):
        index = rows[start : start + batch_size]
        loss, _, _ = backprop(X[index], D[index], None if s is None else s[index])
        if not math.isfinite(loss):
            return total, False
        total += loss * index.shape[0]
        optimizer.update([theta], [backprop.flat_grad])
    return total, True


def local_round(blocks, template, token, theta, state, plan, spec) -> dict:
    """One replica's round on its worker: the mini-batches of ``plan`` from θ and ``state``.

    ``blocks`` are the replica's partitions; ``plan`` lists ``(k, p, first_batch, end_batch)``
    (block k of the replica, partition number p); ``spec`` holds the batch size, alpha,
    the epoch's seed and the optimiser's hyperparameters.  Returns θ, the state, the rows
    used, the summed loss and whether every loss was finite.
    """
    net = worker_network(template, token)
    net.set_flat(theta)
    flat = packed_parameters(net)  # worker_network made every parameter a view of it
    cache = worker_cache()
    optimizer = cache.get(("optimizer", token))
    if optimizer is None:
        optimizer = cache[("optimizer", token)] = spec["make"]([flat])
    _set_state(optimizer, state)
    bs, total, used, finite = spec["batch_size"], 0.0, 0, True
    for k, p, first, end in plan:
        X, D, s = blocks[k]
        rows = _order(spec["seed"], p, X.shape[0])[first * bs : end * bs]
        loss, finite = _steps(net, flat, optimizer, X, D, s, rows, bs, spec["alpha"], token)
        total += loss
        used += rows.shape[0]
        if not finite:
            break
    return {"theta": flat.copy(), "state": {k: np.copy(v) for k, v in _state(optimizer).items()},
            "rows": used, "loss": total, "finite": finite}


def rounds_per_epoch(batches: list[list[tuple]], sync_every: int) -> int:
    return max(math.ceil(len(b) / sync_every) for b in batches)


def _plan(batches: list[tuple], r: int, sync_every: int) -> list[tuple]:
    """Round r's batches of one replica as (k, p, first, end) runs within a partition."""
    runs: list[list] = []
    for k, p, j in batches[r * sync_every : (r + 1) * sync_every]:
        if runs and runs[-1][0] == k and runs[-1][3] == j:
            runs[-1][3] = j + 1
        else:
            runs.append([k, p, j, j + 1])
    return [tuple(run) for run in runs]


class _OptimizerFactory:
    """Makes the estimator's optimiser for given parameters (picklable, for the workers)."""

    def __init__(self, est):
        self.solver = est.solver
        self.args = ((est.learning_rate_init, est.learning_rate, est.momentum, est.nesterovs_momentum,
                      est.power_t) if est.solver == "sgd"
                     else (est.learning_rate_init, est.beta_1, est.beta_2, est.epsilon))

    def __call__(self, params):
        return SGD(params, *self.args) if self.solver == "sgd" else Adam(params, *self.args)


def _batch_size(est, n_total: int) -> int:
    if est.batch_size == "auto":
        return min(200, n_total)
    if est.batch_size > n_total:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                      stacklevel=5)
    return int(np.clip(est.batch_size, 1, n_total))


def fit_local_sgd(est, ex, handles, sizes: list[int], sync_every: int | None = None) -> None:
    """Train ``est.network_`` by local SGD/Adam on the partitions ``handles`` (rows ``sizes``).

    ``sync_every`` is the mini-batches each replica takes between averagings; None chooses
    at least ``SYNCS_PER_EPOCH`` averagings an epoch, each after at least ``MIN_SYNC_EVERY``
    mini-batches.  Writes ``loss_``, ``loss_curve_``, ``n_iter_``, ``t_``, ``best_loss_``.
    """
    net = est.network_
    n_total = sum(sizes)
    bs = _batch_size(est, n_total)
    groups = replicas(sizes, len(ex.workers))
    batches = [[(k, p, j) for k, p in enumerate(g) for j in range(math.ceil(sizes[p] / bs))] for g in groups]
    if sync_every is None:
        longest = max(len(b) for b in batches)
        sync_every = max(MIN_SYNC_EVERY, math.ceil(longest / SYNCS_PER_EPOCH))
    template, token = ex.broadcast(net.copy()), uuid.uuid4().hex
    optimizer = make_optimizer(est, [net.get_flat()])
    spec = {"batch_size": bs, "alpha": float(est.alpha), "make": _OptimizerFactory(est), "seed": None}
    rng = est._random_state()
    theta, state = net.get_flat(), _state(optimizer)
    est.n_iter_ = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(est.max_iter):
            spec["seed"] = int(rng.randint(2**31 - 1)) if est.shuffle else None
            epoch_loss, last = 0.0, theta
            for r in range(rounds_per_epoch(batches, sync_every)):
                plans = [_plan(b, r, sync_every) for b in batches]
                work = [(g, (template, token, theta, state, plan, spec))
                        for g, plan in zip(groups, plans) if plan]
                results = ex.run_groups(local_round, [[handles[p] for p in g] for g, _ in work],
                                        [a for _, a in work])
                if not all(res["finite"] for res in results):
                    break
                theta, state = _average(results)
                epoch_loss += sum(res["loss"] for res in results)
            finite = all(res["finite"] for res in results) and np.isfinite(theta).all()
            if not finite:
                theta = last
                est.diverged_ = True
                warnings.warn("Training diverged: the loss stopped being finite, so training stopped and "
                              "kept the last finite weights. Lower learning_rate_init (now "
                              f"{est.learning_rate_init}) or scale the data.", DivergenceWarning,
                              stacklevel=4)
                break
            if _end_of_epoch(est, net, theta, optimizer, state, epoch_loss / n_total, n_total):
                break
            state = _state(optimizer)  # the schedule may have changed the learning rate
    net.set_flat(theta)


def _end_of_epoch(est, net, theta, optimizer, state, loss, n_total) -> bool:
    """The single-machine loop's bookkeeping after an epoch; True to stop."""
    from sklearn.exceptions import ConvergenceWarning

    _set_state(optimizer, state)
    est.n_iter_ += 1
    est.loss_ = np.float64(loss)
    est.t_ += n_total
    est.loss_curve_.append(est.loss_)
    if est.loss_ > est.best_loss_ - est.tol:
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    est.best_loss_ = min(est.best_loss_, est.loss_)
    optimizer.iteration_ends(est.t_)
    callback = getattr(est, "callback", None)
    if callback is not None:
        net.set_flat(theta)
        if callback(est):
            return True
    if est._no_improvement_count > est.n_iter_no_change:
        if optimizer.trigger_stopping():
            return True
        est._no_improvement_count = 0
    if est.n_iter_ == est.max_iter:
        warnings.warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                      "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=5)
    return False
