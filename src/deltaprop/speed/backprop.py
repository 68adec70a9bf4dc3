"""Fast paths for training and prediction: the δ recursion with buffers allocated once.

:class:`BatchBackprop` computes what :meth:`Network.backprop` computes (the plain path,
:class:`PlainBatchBackprop`; the tests hold the two equal), in the seed's orientation, with
buffers reused across batches, activations in place, 1/N folded into δ^(L) and the gradient
in one flat vector: ``docs/performance.md`` ("Buffered backpropagation") says why and what
each choice bought.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from deltaprop.core import losses as _losses
from deltaprop.speed import fused
from deltaprop.speed.switch import numpy_paths, plain_paths, use_compiled, use_plain

__all__ = [
    "BatchBackprop", "PlainBatchBackprop", "DropoutBatchBackprop", "batch_backprop", "flat_parameters",
    "foreign_blas_single_threaded", "predict", "plain_paths",
]


@contextlib.contextmanager
def foreign_blas_single_threaded() -> Iterator[None]:
    """Within this block every BLAS library but numpy's (scipy's own OpenBLAS, which L-BFGS-B
    calls) runs on one thread, so the two libraries' threads do not fight for the cores
    (``docs/performance.md``); a no-op where they share one BLAS or threadpoolctl is missing."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        yield
        return
    controller = ThreadpoolController()
    paths = [lib.filepath for lib in controller.lib_controllers if lib.user_api == "blas"]
    others = [p for p in paths if "numpy" not in p]
    with (controller.select(filepath=others).limit(limits=1) if 0 < len(others) < len(paths)
          else contextlib.nullcontext()):
        yield


def flat_parameters(net: Any) -> np.ndarray:
    """One vector θ holding every parameter of ``net``, packed as :meth:`Network.get_flat`;
    ``net.W[l]`` and ``net.b[l]`` become views of θ (values unchanged, or already so), so an
    optimiser updates the whole network with a few calls on θ."""
    theta = packed_parameters(net)
    if theta is not None:
        return theta
    theta = net.get_flat()
    start = 0
    for name, l, a in list(net.parameters()):
        getattr(net, name)[l] = theta[start : start + a.size].reshape(a.shape)
        start += a.size
    return theta


def packed_parameters(net: Any) -> np.ndarray | None:
    """θ when every parameter of ``net`` is a view of one vector θ packed as
    :meth:`Network.get_flat` (as :func:`flat_parameters` leaves them); None otherwise."""
    theta = net.W[min(net.W)].base
    if theta is None or theta.ndim != 1 or theta.size != net.n_parameters or theta.dtype != net.dtype:
        return None
    start, address = 0, theta.__array_interface__["data"][0]
    for _, _, a in net.parameters():
        at = address + start * theta.itemsize
        if a.base is not theta or not a.flags.c_contiguous or a.__array_interface__["data"][0] != at:
            return None
        start += a.size
    return theta


class PlainBatchBackprop:
    """The plain path: :meth:`Network.backprop` per batch.  Same interface as BatchBackprop."""

    def __init__(self, net, max_batch_size, alpha=0.0):
        self.net, self.max_batch_size, self.alpha = net, int(max_batch_size), float(alpha)
        self.flat_grad = None

    def _mask(self, n):  # the dropout mask {l: (n_l, n)} of a batch: none
        return None

    def __call__(self, X, D, sample_weight=None):
        g = self.net.backprop(X, D, self.alpha, sample_weight, self._mask(X.shape[0]))
        self.flat_grad = g.flat()
        return g.loss, g.W, g.b


class DropoutBatchBackprop(PlainBatchBackprop):
    """The plain path with inverted dropout: each call draws a fresh mask
    (:meth:`Network.dropout_mask`, rate p per hidden layer, from ``random_state()``) and
    returns the thinned network's loss and gradients.  The buffered and compiled paths have
    no dropout; fits with dropout take this one."""

    def __init__(self, net, max_batch_size, alpha, dropout, random_state):
        super().__init__(net, max_batch_size, alpha)
        self.dropout = dropout
        self._random_state = random_state if callable(random_state) else (lambda: random_state)

    def _mask(self, n):
        # drawn here, so valid: only turned to the seed's orientation, without
        # check_dropout_mask's per-batch passes over it (finite, non-negative)
        drawn = self.net.dropout_mask(self.dropout, n, self._random_state())
        return {l: np.ascontiguousarray(m.T) for l, m in drawn.items()}


def batch_backprop(net: Any, max_batch_size: int, alpha: float = 0.0, *, dropout: Any = 0.0,
                   random_state: Any = None) -> BatchBackprop | PlainBatchBackprop:
    """A :class:`BatchBackprop` for ``net``; inside :func:`deltaprop.speed.plain_paths` a
    :class:`PlainBatchBackprop`; with ``dropout`` (a rate, or one per hidden layer, not all 0) a
    :class:`DropoutBatchBackprop` drawing from ``random_state`` (or a function returning one)."""
    if np.any(np.asarray(dropout, dtype=float) > 0):
        return DropoutBatchBackprop(net, max_batch_size, alpha, dropout, random_state)
    return (PlainBatchBackprop if use_plain() else BatchBackprop)(net, max_batch_size, alpha)


def _forward(W, b, z, a, passes, scratch, layers):
    """z^(l) = f(W^(l) z^(l-1) + b^(l)) into a[l] for l in ``layers`` (passes[l]: bias and f,
    deltaprop.speed.fused); returns the last z."""
    for l in layers:
        np.dot(W[l], z, out=a[l])
        passes[l](a[l], b[l], scratch[l])
        z = a[l]
    return z


class BatchBackprop:
    """Loss and gradients of mini-batches of one network, with buffers reused across batches.

    Parameters
    ----------
    net : Network
        The network; its parameters are read (never written) at every call, so an
        optimiser may update ``net.W``/``net.b`` in place between calls.
    max_batch_size : int
        The largest batch that will be passed; buffers are sized for it.  Smaller batches
        use the first rows.
    alpha : float
        L2 strength, as in :meth:`Network.loss`.

    Calling it with X (n, n_1), D (n, n_L) of the network's dtype (n ≤ max_batch_size) and
    optional sample weights (n,) returns ``(loss, grad_W, grad_b)``: the batch loss as a
    float and dicts keyed by layer l = 2 … L, equal to :meth:`Network.backprop`'s.  The
    returned arrays are views of ``flat_grad`` and are overwritten by the next call.
    """

    def __init__(self, net, max_batch_size, alpha=0.0):
        self.net = net
        self.max_batch_size = m = int(max_batch_size)
        if m < 1:
            raise ValueError(f"max_batch_size must be at least 1; got {max_batch_size!r}")
        self.alpha = float(alpha)
        dtype, sizes, L = net.dtype, net.sizes, net.L
        self._layers = layers = tuple(net.layers)
        self._L = L
        # the gradient, packed as Network.get_flat packs the parameters (grad_W, grad_b: views)
        self.flat_grad = np.empty(net.n_parameters, dtype=dtype)
        self.grad_W, self.grad_b = {}, {}
        is_weight = np.zeros(net.n_parameters, dtype=dtype)  # 1 where θ holds a weight, 0 a bias
        start = 0
        for l in layers:
            w = net.W[l]
            self.grad_W[l] = self.flat_grad[start : start + w.size].reshape(w.shape)
            is_weight[start : start + w.size] = 1
            self.grad_b[l] = self.flat_grad[start + w.size : start + w.size + w.shape[0]]
            start += w.size + w.shape[0]
        # the L2 gradient layer by layer (fused.add_l2_gradient), or, below FUSED_MIN_SIZE with the
        # parameters views of one θ (flat_parameters), in two calls on θ whatever the depth
        self._packed: tuple[np.ndarray | None, dict, dict] = (None, {}, {})
        self._flat_penalty = bool(self.alpha) and net.n_parameters < fused.FUSED_MIN_SIZE
        if self._flat_penalty:
            self._is_weight, self._penalty_flat = is_weight, np.empty_like(is_weight)
        self._penalty = np.empty(max(w.size for w in net.W.values()), dtype=dtype)  # numpy's L2 gradient
        # a[l]: u^(l), then z^(l) in place (a[L]: u^(L)); delta[l]: δ^(l).  Flat, so that the
        # first n_l·n elements are a contiguous (n_l, n) array for any n ≤ m.
        self._a = {l: np.empty(sizes[l - 1] * m, dtype=dtype) for l in layers}
        self._delta = {l: np.empty(sizes[l - 1] * m, dtype=dtype) for l in layers}
        self._scratch = np.empty(m * max(sizes[1:]), dtype=dtype)
        self._E, self._lse, self._ones = np.empty(m, dtype=dtype), np.empty(m, dtype=dtype), np.ones(m, dtype)
        # (forward, backward) of each hidden layer: bias and f, and f' into δ (deltaprop.speed.fused);
        # the output layer adds its bias only (f and δ^(L) come with the loss)
        self._hidden = {l: fused.hidden_layer(net.layer_activation[l] if l < L else "identity", dtype,
                                              m * sizes[l - 1]) for l in layers}
        self._forward_passes = {l: self._hidden[l][0] for l in layers}
        # the loss and δ^(L) of the output/loss pair: in place for the seed's pair and the
        # classifiers' pairs, through deltaprop.core.losses for any other
        self._in_place = _losses.CANONICAL_IN_PLACE.get((net.loss_name, net.output))
        self._views = {}

    def _views_for(self, n):
        """Views of every buffer for a batch of n samples (cached: at most two sizes occur)."""
        v = self._views.get(n)
        if v is None:
            sizes = self.net.sizes

            def first(buffer, l):
                return buffer[: sizes[l - 1] * n].reshape(sizes[l - 1], n)

            v = self._views[n] = ({l: first(self._a[l], l) for l in self._layers},
                                  {l: first(self._delta[l], l) for l in self._layers},
                                  {l: first(self._scratch, l) for l in self._layers},
                                  self._E[:n], self._ones[:n])
        return v

    def __call__(self, X, D, sample_weight=None):
        net, W, b, L, s, n = self.net, self.net.W, self.net.b, self._L, sample_weight, X.shape[0]
        if n > self.max_batch_size:
            raise ValueError(f"a batch of {n} samples is larger than max_batch_size={self.max_batch_size}")
        a, delta, scratch, E, ones = self._views_for(n)
        u_out = _forward(W, b, X.T, a, self._forward_passes, scratch, self._layers)

        # δ^(L) and the loss; N = n, or Σ s_n with sample weights
        N = _losses.total_weight(n, s)
        dL = delta[L]
        if self._in_place is not None:
            data = self._in_place(u_out, D.T, dL, scratch[L], E, s, self._lse[:n])
        else:
            data = _losses.weighted_loss_and_delta(net.loss_name, net.output, u_out, D.T, dL, s,
                                                   net.loss_params)
        alpha, theta = self.alpha, None
        if alpha:  # the penalty layer by layer whatever the layout: its bits must not depend on it
            data += _losses.l2_penalty(alpha, (W[l] for l in self._layers))
            theta = self._packed_theta(W, b) if self._flat_penalty else None
        if theta is not None:
            # P = (alpha/N) θ ⊙ [θ is a weight]: the L2 gradient of every layer at once (the same
            # bits as layer by layer: an element-wise product)
            P = np.multiply(theta, self._is_weight, out=self._penalty_flat)
            _losses.l2_gradient(alpha, N, P, out=P)
        # δ is linear in δ^(L): scaling it by s_n / N scales every layer's δ and gradient
        np.multiply(dL, 1.0 / N if s is None else np.multiply(s, 1.0 / N, out=E), out=dL)

        # backward: ∂E/∂W^(l) = δ^(l) z^(l-1)ᵀ summed over the batch, one product; ∂E/∂b^(l) =
        # δ^(l) 1; δ^(l-1) = f'(u^(l-1)) ⊙ W^(l)ᵀ δ^(l)
        gW, gb = self.grad_W, self.grad_b
        for l in range(L, 1, -1):
            np.dot(delta[l], a[l - 1].T if l > 2 else X, out=gW[l])
            np.dot(delta[l], ones, out=gb[l])
            if alpha and theta is None:
                # ∂/∂W^(l) of alpha/(2N) ‖W^(l)‖² is (alpha/N) W, added in one compiled pass
                # (deltaprop.speed.fused; not scipy's BLAS axpy, whose threads fight numpy's)
                work = self._penalty[: W[l].size].reshape(W[l].shape)
                fused.add_l2_gradient(gW[l], W[l], alpha, N, work.view)
            if l > 2:
                np.dot(W[l].T, delta[l], out=delta[l - 1])
                self._hidden[l - 1][1](delta[l - 1], a[l - 1], scratch[l - 1])
        if theta is not None:
            np.add(self.flat_grad, self._penalty_flat, out=self.flat_grad)
        return data / N, gW, gb

    def _packed_theta(self, W, b):  # packed_parameters, cached while the arrays stay the same
        theta, cached_W, cached_b = self._packed
        if any(W[l] is not cached_W.get(l) or b[l] is not cached_b.get(l) for l in self._layers):
            theta = packed_parameters(self.net)
            self._packed = (theta, dict(W), dict(b))
        return theta


#: rows per chunk in :func:`predict`: large enough for BLAS, small enough for the cache
PREDICT_CHUNK = 2048


def predict(net, X, *, chunk_size=PREDICT_CHUNK):
    """``net.predict(X)``, ``chunk_size`` rows at a time through buffers allocated once (memory:
    one chunk of activations).  Inside :func:`plain_paths` it is :meth:`Network.predict`; below
    :data:`deltaprop.speed.fused.PREDICT_MIN_WORK` rows × units the fused passes are numpy's
    (the same bits), so a small table's prediction does not load numba.
    """
    if use_plain():
        return net.predict(X)
    X = net.check_X(X)
    small = use_compiled() and not fused.predict_uses_kernels(X.shape[0], sum(net.sizes[1:]))
    with numpy_paths() if small else contextlib.nullcontext():
        n, sizes, dtype = X.shape[0], net.sizes, net.dtype
        out = np.empty((n, sizes[-1]), dtype=dtype)
        m = max(1, min(int(chunk_size), n))
        bufs = {l: np.empty(m * sizes[l - 1], dtype=dtype) for l in net.layers}
        scratch = np.empty(m * max(sizes[1:]), dtype=dtype)
        # bias and f of every layer, the output's included (softmax and exp have no kernel:
        # their numpy f, as for any activation without one)
        passes = {l: fused.hidden_layer(net.layer_activation[l], dtype, m * sizes[l - 1])[0]
                  for l in net.layers}
        for start in range(0, n, m):
            k = min(start + m, n) - start
            a = {l: bufs[l][: sizes[l - 1] * k].reshape(sizes[l - 1], k) for l in net.layers}
            t = {l: scratch[: a[l].size].reshape(a[l].shape) for l in net.layers}
            z = _forward(net.W, net.b, X[start : start + k].T, a, passes, t, net.layers)
            out[start : start + k] = z.T
        return out
