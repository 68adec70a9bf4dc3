"""Fast paths for training and prediction: the δ recursion with buffers allocated once.

The training loop asks a :class:`BatchBackprop` for the loss and gradients of each
mini-batch.  It computes exactly what :meth:`Network.backprop` computes (the plain path, kept
here as :class:`PlainBatchBackprop`), and the tests hold the two equal:

* in the seed's orientation, one sample per column: a batch of activations is ``(n_l, n)``,
  ``u^(l) = W^(l) z^(l-1) + b^(l)`` as the seed writes it, z^(1) = Xᵀ a transposed view;
* buffers allocated once, sized for ``max_batch_size``, flat, so that their first ``n_l·n``
  elements are a contiguous ``(n_l, n)`` array for a smaller (last) batch; every ufunc writes
  with ``out=``;
* hidden layers in place: u^(l) is overwritten by z^(l) = f(u^(l)), and f' is taken from z
  (each activation's ``derivative`` in :mod:`deltaprop.core.activations` can) and
  multiplied into δ; the canonical output/loss pairs through their in-place forms in
  :mod:`deltaprop.core.losses`;
* 1/N (with sample weights, s_n/N) folded into δ^(L): δ is linear in δ^(L), so every layer's
  δ, and every gradient, is already divided by N;
* gradients in one flat vector (``flat_grad``), packed as :meth:`Network.get_flat`;
* every product and reduction through numpy's BLAS (not scipy's, whose threads fight
  numpy's), dtype kept (float32 stays float32).

:func:`batch_backprop` and :func:`predict` give the plain versions inside
:func:`deltaprop.speed.plain_paths`.  ``docs/performance.md`` says what each choice bought.
"""

from __future__ import annotations

import contextlib
import functools
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
    """Within this block every BLAS library but numpy's runs on one thread.

    scipy's wheels bundle an OpenBLAS of their own, with its own threads.  When scipy code
    that calls it (L-BFGS-B) runs between numpy's threaded matrix products, the threads of
    the two libraries fight for the cores and every product slows down many times over
    (``docs/performance.md``).  With the other library on one thread they do not fight.
    Where numpy and scipy share one BLAS, or threadpoolctl (a scikit-learn dependency) is
    missing, this does nothing.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        yield
        return
    controller = ThreadpoolController()
    paths = [lib.filepath for lib in controller.lib_controllers if lib.user_api == "blas"]
    others = [p for p in paths if "numpy" not in p]
    if len(others) == len(paths) or not others:
        yield
        return
    with controller.select(filepath=others).limit(limits=1):
        yield


def flat_parameters(net: Any) -> np.ndarray:
    """One vector θ holding every parameter of ``net``, packed as :meth:`Network.get_flat`.

    ``net.W[l]`` and ``net.b[l]`` become views of θ (their values unchanged), so an
    optimiser updates the whole network with a few calls on θ instead of a few per array.
    When they already are views of one such vector, that vector is returned.
    """
    theta = packed_parameters(net)
    if theta is not None:
        return theta
    theta = net.get_flat()
    start = 0
    for l in net.layers:
        for params in (net.W, net.b):
            shape = params[l].shape
            size = int(np.prod(shape))
            params[l] = theta[start : start + size].reshape(shape)
            start += size
    return theta


def packed_parameters(net: Any) -> np.ndarray | None:
    """θ when every parameter of ``net`` is a view of one vector θ packed as
    :meth:`Network.get_flat` (as :func:`flat_parameters` leaves them); None otherwise."""
    theta = net.W[min(net.W)].base
    if theta is None or theta.ndim != 1 or theta.size != net.n_parameters or theta.dtype != net.dtype:
        return None
    start, address = 0, theta.__array_interface__["data"][0]
    for _, _, a in net.parameters():
        if (
            a.base is not theta
            or not a.flags.c_contiguous
            or a.__array_interface__["data"][0] != address + start * theta.itemsize
        ):
            return None
        start += a.size
    return theta


class PlainBatchBackprop:
    """The plain path: :meth:`Network.backprop` per batch.  Same interface as BatchBackprop."""

    def __init__(self, net, max_batch_size, alpha=0.0):
        self.net = net
        self.max_batch_size = int(max_batch_size)
        self.alpha = float(alpha)
        self.flat_grad = None

    def __call__(self, X, D, sample_weight=None):
        g = self.net.backprop(X, D, self.alpha, sample_weight)
        self.flat_grad = g.flat()
        return g.loss, g.W, g.b


class DropoutBatchBackprop(PlainBatchBackprop):
    """The plain path with inverted dropout: each call draws a fresh mask
    (:meth:`Network.dropout_mask`, rate p per hidden layer, from ``random_state()``) and
    returns the thinned network's loss and gradients.  The buffered and compiled paths have
    no dropout; fits with dropout take this one."""

    def __init__(self, net, max_batch_size, alpha=0.0, dropout=0.0, random_state=None):
        super().__init__(net, max_batch_size, alpha)
        self.dropout = dropout
        self._random_state = random_state if callable(random_state) else (lambda: random_state)

    def __call__(self, X, D, sample_weight=None):
        n = X.shape[0]
        mask = self.net.dropout_mask(self.dropout, n, self._random_state())
        # drawn here, so valid: only turned to the seed's orientation {l: (n_l, n)}, without
        # check_dropout_mask's per-batch passes over it (finite, non-negative)
        seed_mask = {l: np.ascontiguousarray(m.T) for l, m in mask.items()}
        g = self.net.backprop(X, D, self.alpha, sample_weight, seed_mask)
        self.flat_grad = g.flat()
        return g.loss, g.W, g.b


def batch_backprop(net: Any, max_batch_size: int, alpha: float = 0.0, *, dropout: Any = 0.0,
                   random_state: Any = None) -> BatchBackprop | PlainBatchBackprop:
    """The loss and gradients of ``net``'s mini-batches: a :class:`BatchBackprop`; inside
    :func:`deltaprop.speed.plain_paths` a :class:`PlainBatchBackprop`; with ``dropout`` (a
    rate, or one per hidden layer, not all 0) a :class:`DropoutBatchBackprop` drawing its
    masks from ``random_state`` (a RandomState, or a function returning one)."""
    if np.any(np.asarray(dropout, dtype=float) > 0):
        return DropoutBatchBackprop(net, max_batch_size, alpha, dropout, random_state)
    if use_plain():
        return PlainBatchBackprop(net, max_batch_size, alpha)
    return BatchBackprop(net, max_batch_size, alpha)


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

    :func:`batch_backprop` makes one, or a :class:`PlainBatchBackprop` inside
    :func:`deltaprop.speed.plain_paths`.
    """

    def __init__(self, net, max_batch_size, alpha=0.0):
        self.net = net
        self.max_batch_size = m = int(max_batch_size)
        if m < 1:
            raise ValueError(f"max_batch_size must be at least 1; got {max_batch_size!r}")
        self.alpha = float(alpha)
        dtype = net.dtype
        L = net.L
        sizes = net.sizes
        layers = range(2, L + 1)
        self._layers = tuple(layers)
        self._L = L

        # the gradient, packed as Network.get_flat packs the parameters
        self.flat_grad = np.empty(net.n_parameters, dtype=dtype)
        self.grad_W, self.grad_b = {}, {}
        weight_slices = []
        start = 0
        for l in layers:
            n_out, n_in = net.W[l].shape
            self.grad_W[l] = self.flat_grad[start : start + n_out * n_in].reshape(n_out, n_in)
            weight_slices.append(slice(start, start + n_out * n_in))
            start += n_out * n_in
            self.grad_b[l] = self.flat_grad[start : start + n_out]
            start += n_out

        # the L2 term: layer by layer (its gradient one compiled pass a layer, deltaprop.speed.fused),
        # or, for a network below the size of those passes whose parameters are views of one
        # θ (flat_parameters), in four calls on θ whatever the depth (fewer calls than
        # layer by layer for a deep small network)
        self._packed: tuple[np.ndarray | None, dict, dict] = (None, {}, {})
        self._flat_penalty = bool(self.alpha) and net.n_parameters < fused.FUSED_MIN_SIZE
        if self._flat_penalty:
            # _is_weight: 1 where θ holds a weight, 0 where a bias (biases are not penalised)
            self._is_weight = np.zeros(net.n_parameters, dtype=dtype)
            for weights in weight_slices:
                self._is_weight[weights] = 1
            self._penalty_flat = np.empty(net.n_parameters, dtype=dtype)
        self._penalty = None  # a work array for the plain L2 gradient, made when first needed

        # a[l]: u^(l), then z^(l) in place (hidden layers); delta[l]: δ^(l); u_out: u^(L).
        # Flat, so that the first n_l·n elements are a contiguous (n_l, n) array for any n ≤ m.
        widest = max(sizes[1:])
        self._a = {l: np.empty(sizes[l - 1] * m, dtype=dtype) for l in range(2, L)}
        self._u_out = np.empty(sizes[-1] * m, dtype=dtype)
        self._delta = {l: np.empty(sizes[l - 1] * m, dtype=dtype) for l in layers}
        self._scratch = np.empty(m * widest, dtype=dtype)
        self._E = np.empty(m, dtype=dtype)
        self._ones = np.ones(m, dtype=dtype)

        # (forward, backward) of each hidden layer: bias and f, and f' into δ (deltaprop.speed.fused)
        self._hidden = {
            l: fused.hidden_layer(net.layer_activation[l], dtype, m * sizes[l - 1]) for l in range(2, L)
        }
        # the loss and δ^(L) of the output/loss pair: in place for the seed's pair and the
        # classifiers' pairs, through deltaprop.core.losses for any other
        self._in_place = _losses.CANONICAL_IN_PLACE.get((net.loss_name, net.output))
        self._lse = np.empty(m, dtype=dtype)
        self._views = {}

    def _views_for(self, n):
        """Views of every buffer for a batch of n samples (cached: at most two sizes occur)."""
        v = self._views.get(n)
        if v is None:
            L, sizes = self._L, self.net.sizes

            def first(buffer, l):
                return buffer[: sizes[l - 1] * n].reshape(sizes[l - 1], n)

            a = {l: first(self._a[l], l) for l in range(2, L)}
            delta = {l: first(self._delta[l], l) for l in self._layers}
            scratch = {l: first(self._scratch, l) for l in self._layers}
            v = self._views[n] = (a, first(self._u_out, L), delta, scratch, self._E[:n], self._ones[:n])
        return v

    def __call__(self, X, D, sample_weight=None):
        net = self.net
        W, b = net.W, net.b
        L = self._L
        n = X.shape[0]
        if n > self.max_batch_size:
            raise ValueError(f"a batch of {n} samples is larger than max_batch_size={self.max_batch_size}")
        a, u_out, delta, scratch, E, ones = self._views_for(n)
        s = sample_weight

        # forward in the seed's orientation, one sample per column: u^(l) = W^(l) z^(l-1) + b^(l),
        # z^(l) = f(u^(l)); z^(1) = Xᵀ, a transposed view
        z = X.T
        for l in range(2, L):
            np.dot(W[l], z, out=a[l])
            self._hidden[l][0](a[l], b[l], scratch[l])
            z = a[l]
        np.dot(W[L], z, out=u_out)
        np.add(u_out, b[L][:, None], out=u_out)

        # δ^(L) and the loss; N = n, or Σ s_n with sample weights
        N = _losses.total_weight(n, s)
        dL = delta[L]
        if self._in_place is not None:
            data = self._in_place(u_out, D.T, dL, scratch[L], E, s, self._lse[:n])
        else:
            data = _losses.weighted_loss_and_delta(net.loss_name, net.output, u_out, D.T, dL, s,
                                                   net.loss_params)
        alpha = self.alpha
        theta = None
        if alpha:
            theta = self._packed_theta(W, b) if self._flat_penalty else None
            if theta is not None:
                # P = (alpha/N) θ ⊙ [θ is a weight]: the L2 gradient of every layer at once
                P = self._penalty_flat
                np.multiply(theta, self._is_weight, out=P)
                data += _losses.l2_penalty(alpha, (P,))  # P holds exactly the weights
                _losses.l2_gradient(alpha, N, P, out=P)
            else:
                data += _losses.l2_penalty(alpha, (W[l] for l in self._layers))
        loss = data / N
        # δ is linear in δ^(L): scaling it by s_n / N scales every layer's δ and gradient
        if s is None:
            np.multiply(dL, 1.0 / N, out=dL)
        else:
            np.multiply(s, 1.0 / N, out=E)
            np.multiply(dL, E, out=dL)

        # backward: δ^(l) = f'(u^(l)) ⊙ W^(l+1)ᵀ δ^(l+1); ∂E/∂W^(l) = δ^(l) z^(l-1)ᵀ summed over
        # the batch, one product; ∂E/∂b^(l) = δ^(l) 1
        gW, gb = self.grad_W, self.grad_b
        for l in range(L, 1, -1):
            if l > 2:
                np.dot(delta[l], a[l - 1].T, out=gW[l])
            else:
                np.dot(delta[l], X, out=gW[l])
            np.dot(delta[l], ones, out=gb[l])
            if alpha and theta is None:
                # ∂/∂W^(l) of alpha/(2N) ‖W^(l)‖² is (alpha/N) W, added in one compiled pass
                # (deltaprop.speed.fused; not scipy's BLAS axpy, whose threads fight numpy's)
                fused.add_l2_gradient(gW[l], W[l], alpha, N, functools.partial(self._penalty_work, l))
            if l > 2:
                np.dot(W[l].T, delta[l], out=delta[l - 1])
                self._hidden[l - 1][1](delta[l - 1], a[l - 1], scratch[l - 1])
        if theta is not None:
            np.add(self.flat_grad, self._penalty_flat, out=self.flat_grad)
        return loss, gW, gb

    def _packed_theta(self, W, b):
        """The vector θ that net.W and net.b are views of (see flat_parameters), or None."""
        theta, cached_W, cached_b = self._packed
        for l in self._layers:
            if W[l] is not cached_W.get(l) or b[l] is not cached_b.get(l):
                theta = packed_parameters(self.net)
                self._packed = (theta, dict(W), dict(b))
                break
        return theta

    def _penalty_work(self, l):
        """A work array of W^(l)'s shape for the plain L2 gradient (one buffer for all l)."""
        if self._penalty is None:
            self._penalty = np.empty(max(w.size for w in self.net.W.values()), dtype=self.net.dtype)
        return self._penalty[: self.net.W[l].size].reshape(self.net.W[l].shape)


# ---------------------------------------------------------------------------------------
# prediction

#: rows per chunk in :func:`predict`: large enough for BLAS, small enough for the cache
PREDICT_CHUNK = 2048


def predict(net, X, *, chunk_size=PREDICT_CHUNK):
    """The output y of every sample, shape (n_samples, n_L), equal to ``net.predict(X)``.

    The forward pass runs ``chunk_size`` rows at a time through buffers allocated once, in
    the seed's orientation as :class:`BatchBackprop` (``u^(l) = W^(l) z^(l-1) + b^(l)``, one
    sample per column, bias and f in one pass where :mod:`deltaprop.speed.fused` has one), so
    memory stays at one chunk of activations however many rows are predicted.  Inside
    :func:`plain_paths` it is :meth:`Network.predict`; below
    :data:`deltaprop.speed.fused.PREDICT_MIN_WORK` rows × units the fused passes are numpy's
    (the same bits), so a small table's prediction does not load numba.
    """
    if use_plain():
        return net.predict(X)
    X = net.check_X(X)
    if use_compiled() and not fused.predict_uses_kernels(X.shape[0], sum(net.sizes[1:])):
        with numpy_paths():
            return _predict(net, X, chunk_size)
    return _predict(net, X, chunk_size)


def _predict(net, X, chunk_size):
    """:func:`predict` of checked ``X``, on the paths the switches allow."""
    n = X.shape[0]
    L = net.L
    sizes = net.sizes
    dtype = net.dtype
    out = np.empty((n, sizes[-1]), dtype=dtype)
    m = max(1, min(int(chunk_size), n))
    bufs = {l: np.empty(m * sizes[l - 1], dtype=dtype) for l in range(2, L + 1)}
    scratch = np.empty(m * max(sizes[1:]), dtype=dtype)
    # bias and f of every layer, the output's included (softmax and exp have no kernel:
    # their numpy f, as for any activation without one)
    forward = {l: fused.hidden_layer(net.layer_activation[l], dtype, m * sizes[l - 1])[0]
               for l in range(2, L + 1)}
    for start in range(0, n, m):
        stop = min(start + m, n)
        k = stop - start
        z = X[start:stop].T
        for l in range(2, L + 1):
            a = bufs[l][: sizes[l - 1] * k].reshape(sizes[l - 1], k)
            np.dot(net.W[l], z, out=a)
            forward[l](a, net.b[l], scratch[: a.size].reshape(a.shape))
            z = a
        out[start:stop] = z.T
    return out
