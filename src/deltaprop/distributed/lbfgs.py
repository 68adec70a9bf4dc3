"""Exact distributed L-BFGS: the single-machine function and gradient, summed over partitions.

The loss of the whole training set (design.md) is

    E(θ) = (Σ_p Σ_{n∈p} s_n E_n + ½ alpha Σ_l ‖W^(l)‖²) / Σ_p Σ_{n∈p} s_n

and its gradient is the same sum of Σ_{n∈p} s_n ∂E_n/∂θ, plus alpha W^(l), over the same
denominator.  Each iteration ships θ to the workers; each partition returns its three sums
(:func:`partition_sums`); the client adds them in partition order and adds the L2 term.
scipy's L-BFGS-B then sees the same numbers as on one machine, up to the order of the float
additions, so it takes the same steps.
"""

from __future__ import annotations

import math
import uuid
import warnings

import numpy as np

from deltaprop.core.optim import lbfgs
from deltaprop.distributed.cluster import worker_cache
from deltaprop.distributed.partitions import Block
from deltaprop.speed.backprop import BatchBackprop, flat_parameters
from deltaprop.training.loop import DivergenceWarning, lbfgs_iterations

__all__ = ["fit_lbfgs", "partition_sums", "EVAL_ROWS", "worker_network"]

#: rows of a partition passed through backprop at once (bounds a worker's activations)
EVAL_ROWS = 8192


def worker_network(template, token: str):
    """This worker thread's copy of the network ``template`` (kept across tasks by ``token``),
    its parameters views of one vector θ (:func:`deltaprop.speed.backprop.flat_parameters`)."""
    cache = worker_cache()
    key = ("network", token)
    net = cache.get(key)
    if net is None:
        if len(cache) > 16:
            cache.clear()
        net = cache[key] = template.copy()
        flat_parameters(net)
    return net


def _backprop(net, token: str, rows: int, alpha: float):
    cache = worker_cache()
    key = ("backprop", token, rows, alpha)
    backprop = cache.get(key)
    if backprop is None:
        backprop = cache[key] = BatchBackprop(net, rows, alpha)
    return backprop


def partition_sums(block: Block, template, token: str, theta: np.ndarray):
    """``(Σ s_n E_n, Σ s_n ∂E_n/∂θ, Σ s_n)`` over the rows of one partition, without the L2 term.

    Parameters
    ----------
    block : Block
        X of shape (n_p, n_1), D of shape (n_p, n_L) (in ``block.y``), s of shape (n_p,) or None.
    template, token
        The network (sent once to each worker) and the key of its worker-side copy.
    theta : ndarray of shape (n_parameters,)
        The parameters, packed as ``Network.get_flat`` packs them.

    Returns
    -------
    (float, ndarray of shape (n_parameters,) in float64, float)
    """
    net = worker_network(template, token)
    net.set_flat(theta)
    X, D, s = block
    assert D is not None, "partition_sums needs the targets D"
    n = X.shape[0]
    rows = max(1, min(EVAL_ROWS, n))
    backprop = _backprop(net, token, rows, 0.0)
    total_E, total_w = 0.0, 0.0
    total_grad = np.zeros(net.n_parameters, dtype=np.float64)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        s_c = None if s is None else s[start:stop]
        weight = float(stop - start) if s_c is None else float(s_c.sum())
        if weight == 0.0:
            continue  # rows of weight zero add nothing (and their mean is undefined)
        # the chunk's mean loss and gradient times its weight: its sums
        loss, _, _ = backprop(X[start:stop], D[start:stop], s_c)
        total_E += loss * weight
        total_grad += backprop.flat_grad * weight
        total_w += weight
    return total_E, total_grad, total_w


def _layer_slices(net):
    """{l: slice of θ holding W^(l)} and a 0/1 vector marking the weights (biases unpenalised)."""
    slices, start = {}, 0
    is_weight = np.zeros(net.n_parameters)
    for name, l, a in net.parameters():
        if name == "W":
            slices[l] = slice(start, start + a.size)
            is_weight[start : start + a.size] = 1.0
        start += a.size
    return slices, is_weight


def fit_lbfgs(est, ex, handles) -> None:
    """Train ``est.network_`` by L-BFGS on the partitions ``handles`` (see the module).

    ``loss_curve_``, ``gradient_norms_``, ``n_iter_``, ``loss_`` and the callback behave as
    in :func:`deltaprop.training.loop.fit_lbfgs`.
    """
    net = est.network_
    alpha = float(est.alpha)
    template, token = ex.broadcast(net.copy()), uuid.uuid4().hex
    slices, is_weight = _layer_slices(net)
    best = {"loss": math.inf, "theta": net.get_flat()}
    norms: dict = {}

    def loss_and_gradient(theta):
        nonlocal norms
        sums = ex.map(partition_sums, handles, template, token, np.asarray(theta, dtype=net.dtype))
        E = math.fsum(r[0] for r in sums)
        N = math.fsum(r[2] for r in sums)
        grad = np.zeros(theta.shape[0])
        for r in sums:  # in partition order, whichever worker answered first
            grad += r[1]
        penalised = theta * is_weight
        loss = (E + 0.5 * alpha * float(np.vdot(penalised, theta))) / N
        grad = (grad + alpha * penalised) / N
        norms = {l: float(np.linalg.norm(grad[sl])) for l, sl in slices.items()}
        if math.isfinite(loss) and loss < best["loss"] and np.isfinite(grad).all():
            best["loss"], best["theta"] = loss, np.array(theta, copy=True)
        return loss, grad

    callback = getattr(est, "callback", None)
    est.loss_curve_, est.gradient_norms_ = [], []
    stopped_by_callback, n_iter = False, 0

    def after_iteration(theta, loss):
        nonlocal stopped_by_callback, n_iter
        n_iter += 1
        est.n_iter_, est.loss_ = n_iter, float(loss)
        est.loss_curve_.append(float(loss))
        est.gradient_norms_.append(norms)
        if callback is not None:
            net.set_flat(theta)
            stopped_by_callback = bool(callback(est))
        return stopped_by_callback

    with np.errstate(over="ignore", invalid="ignore"):
        result = lbfgs(loss_and_gradient, net.get_flat().astype(np.float64), max_iter=est.max_iter,
                       max_fun=est.max_fun, tol=est.tol, callback=after_iteration)
    theta, loss = result.x, float(result.fun)
    if not (math.isfinite(loss) and np.isfinite(theta).all()):
        est.diverged_ = True
        warnings.warn("Training diverged: the loss stopped being finite; kept the last finite weights. "
                      "Scale the data or raise alpha.", DivergenceWarning, stacklevel=4)
        theta, loss = best["theta"], best["loss"]
        est.n_iter_ = min(result.nit, est.max_iter)
    elif stopped_by_callback:
        est.n_iter_ = n_iter
    else:
        est.n_iter_ = lbfgs_iterations(result, est.max_iter)
    est.loss_ = loss
    net.set_flat(theta)
