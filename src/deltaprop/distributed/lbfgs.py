"""Exact distributed L-BFGS: the single-machine function and gradient, summed over partitions.

    E(θ) = (Σ_p Σ_{n∈p} s_n E_n + ½ alpha Σ_l ‖W^(l)‖²) / Σ_p Σ_{n∈p} s_n

and ∂E/∂θ likewise.  Each iteration ships θ to the workers, each partition returns its three
sums (:func:`partition_sums`), the client adds them in partition order with the L2 term, and
the single-machine L-BFGS (:func:`deltaprop.training.lbfgs.fit_lbfgs`) runs unchanged on
them: the same steps as on one machine, up to the order of the float additions.
"""

from __future__ import annotations

import math
import uuid

import numpy as np

from deltaprop.core.losses import l2_gradient, l2_penalty, total_weight
from deltaprop.distributed.cluster import cached
from deltaprop.distributed.partitions import Block
from deltaprop.speed.backprop import BatchBackprop, flat_parameters
from deltaprop.training import lbfgs as single_machine

__all__ = ["fit_lbfgs", "partition_sums", "ClusterBackprop", "EVAL_ROWS", "EVAL_ELEMENTS", "worker_network"]

#: a partition passes through backprop in chunks of rows whose widest activation array
#: holds about EVAL_ELEMENTS numbers (32 MiB in float64), at most EVAL_ROWS rows: large
#: enough for efficient matrix products, small enough to bound a worker's buffers
EVAL_ELEMENTS = 2**22
EVAL_ROWS = 65536


def _packed_copy(template):
    net = template.copy()
    flat_parameters(net)
    return net


def worker_network(template, token: str):
    """This worker thread's copy of ``template`` (kept across tasks by ``token``), its parameters
    views of one vector θ; a new fit's first task empties a cache of more than 16 entries."""
    return cached(("network", token), lambda: _packed_copy(template), clear_over=16)


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
    rows = max(1, min(EVAL_ROWS, EVAL_ELEMENTS // max(net.sizes), n))
    # without the L2 term: the client adds it once
    backprop = cached(("backprop", token, rows), lambda: BatchBackprop(net, rows, 0.0))
    total_E, total_w = 0.0, 0.0
    total_grad = np.zeros(net.n_parameters, dtype=np.float64)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        s_c = None if s is None else s[start:stop]
        weight = total_weight(stop - start, s_c)
        if weight == 0.0:
            continue  # rows of weight zero add nothing (and their mean is undefined)
        # the chunk's mean loss and gradient times its weight: its sums
        loss, _, _ = backprop(X[start:stop], D[start:stop], s_c)
        total_E += loss * weight
        total_grad += backprop.flat_grad * weight
        total_w += weight
    return total_E, total_grad, total_w


class ClusterBackprop:
    """E(θ) and ∂E/∂θ of the whole training set, summed over the partitions ``handles``: a
    :class:`deltaprop.speed.backprop.BatchBackprop` for the single-machine L-BFGS (its X, D and
    sample_weight arguments ignored)."""

    def __init__(self, ex, handles, net, alpha: float):
        self.ex, self.handles, self.net, self.alpha = ex, handles, net, float(alpha)
        self.template, self.token = ex.broadcast(net.copy()), uuid.uuid4().hex
        gradient = net.astype(np.float64)  # its W and b become views of flat_grad
        self.flat_grad = flat_parameters(gradient)
        self.grad_W, self.grad_b = gradient.W, gradient.b

    def __call__(self, X=None, D=None, sample_weight=None):
        theta = self.net.get_flat()
        sums = self.ex.map(partition_sums, self.handles, self.template, self.token, theta)
        N = math.fsum(r[2] for r in sums)
        # in partition order, whichever worker answered first
        self.flat_grad[...] = sum(r[1] for r in sums) / N
        for l, W in self.net.W.items():
            self.grad_W[l] += l2_gradient(self.alpha, N, W)
        loss = (math.fsum(r[0] for r in sums) + l2_penalty(self.alpha, self.net.W.values())) / N
        return loss, self.grad_W, self.grad_b


def fit_lbfgs(net, ex, handles, settings, state):
    """Train ``net`` by the single-machine L-BFGS with E and ∂E/∂θ from the cluster."""
    return single_machine.fit_lbfgs(net, None, None, None, settings, state,
                                    ClusterBackprop(ex, handles, net, settings.alpha))
