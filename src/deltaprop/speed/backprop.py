"""Fast paths for training and prediction: the δ recursion with buffers allocated once.

The training loop asks a :class:`BatchBackprop` for the loss and gradients of each
mini-batch.  It computes exactly what :meth:`Network.backprop` computes -- the plain path,
kept here as :class:`PlainBatchBackprop` -- and the tests hold the two equal.  What makes it
fast, in the order the profile asked for it:

* **The seed's orientation, one sample per column.**  A batch of activations is
  ``(n_l, n)``: ``u^(l) = W^(l) z^(l-1) + b^(l)`` exactly as the seed writes it, the input
  ``z^(1) = Xᵀ`` a transposed view of the row-major batch.  OpenBLAS runs these products
  faster than their transposes, measured product by product on the 784-512-512-10 network
  (float32, batch 128): 514 µs for ``W^(2) Xᵀ`` against 610 µs for ``X W^(2)ᵀ``, 340 against
  415 µs for the 512×512 layer.  Buffers are flat, so the first ``n_l·n`` elements of a
  buffer sized for the largest batch are a contiguous ``(n_l, n)`` array for a smaller
  (last) batch; ``W^(l)ᵀ`` and ``z^(l-1)ᵀ`` in the products are views, never copies.
* **Buffers allocated once**, sized for ``max_batch_size`` and reused by every call; every
  ufunc writes with ``out=``.  No array is allocated in the hot loop for the seed's pair,
  squared error with an identity output, nor for the classifiers' pairs, log loss with a
  softmax output and binary log loss with a logistic one (log y from u, as in
  :mod:`deltaprop.core.losses`; softmax on a (10, 128) float32 batch: 14 µs in place, 37 µs
  through the losses module); every other pair goes through :mod:`deltaprop.core.losses`, on
  views, and allocates there.
* **Activations in place, derivatives from z.**  Hidden layers keep one buffer each: u is
  overwritten by z = f(u), since every hidden f' can be had from z alone (tanh' = 1 - z²,
  logistic' = z - z², relu' = [z > 0], softplus' = 1 - exp(-z)), and f' is fused into δ in
  place.
* **1/N folded into δ^(L)** (with sample weights, s_n/N): δ is linear in δ^(L), so every
  layer's δ, and so every gradient, is already divided by N.
* **Gradients in one flat vector** (``flat_grad``) in the packing order of
  :meth:`Network.get_flat`; ``grad_W[l]``/``grad_b[l]`` are views of it, so an optimiser can
  update all parameters with a few calls on one vector.
* **Parameters packed in one vector θ** by the training loop (:func:`flat_parameters`:
  ``net.W[l]``/``net.b[l]`` become views of θ), so the optimiser steps every layer at once,
  and a small network's L2 term takes four calls on θ whatever its depth.
* **One pass per elementwise job on large arrays**: bias + f and f' into δ, the L2
  gradient (here) and the optimiser's step (:mod:`deltaprop.core.optim`) run as compiled loops
  (:mod:`deltaprop.speed.fused`) with the numpy sequence's roundings, instead of a ufunc call -- a
  pass over memory -- per operation.
* **One BLAS.**  Every product and reduction goes through numpy's OpenBLAS.  scipy bundles
  another OpenBLAS with its own threads; calling it between numpy's products (an axpy for
  the L2 gradient) made the threads of the two fight for the two cores, and one batch took
  a hundred times longer.
* **dtype kept**: float32 networks compute in float32 throughout (scalars are Python floats,
  which never promote an array).

:func:`predict` is the same forward pass, chunked, beside :meth:`Network.predict`.

Inside :func:`plain_paths` both names give the plain versions, and neither the compiled
passes (:mod:`deltaprop.speed.fused`) nor the compiled epoch (:mod:`deltaprop.speed.compiled`) run, so a
test can run a whole training with each path and compare.
"""

from __future__ import annotations

import contextlib

import numpy as np
from scipy.special import expit

from deltaprop.core import losses as _losses
from deltaprop.core.activations import LEAKY_RELU_SLOPE
from deltaprop.speed import fused

__all__ = [
    "BatchBackprop", "PlainBatchBackprop", "flat_parameters", "foreign_blas_single_threaded",
    "predict", "plain_predict", "plain_paths",
]

_plain = False


@contextlib.contextmanager
def plain_paths():
    """Within this block :class:`BatchBackprop` and :func:`predict` take the plain paths.

    For tests that hold a whole training run on the fast path equal to the plain one.
    """
    global _plain
    before, _plain = _plain, True
    try:
        yield
    finally:
        _plain = before


@contextlib.contextmanager
def foreign_blas_single_threaded():
    """Within this block every BLAS library but numpy's runs on one thread.

    scipy's wheels bundle an OpenBLAS of their own, with its own threads.  When scipy code
    that calls it (L-BFGS-B) runs between numpy's threaded matrix products, the threads of
    the two libraries fight for the cores: a product that takes 50 µs alone took 7 ms, and
    an L-BFGS fit ran twenty times slower.  With the other library on one thread they do
    not fight.  Where numpy and scipy share one BLAS, or threadpoolctl (a scikit-learn
    dependency) is missing, this does nothing.
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


# ---------------------------------------------------------------------------------------
# Hidden activations in place: forward replaces u by z = f(u); backward multiplies δ by
# f'(u), computed from z.  ``t`` is scratch of the same shape.


def _identity_f(a, t):
    pass


def _identity_df(delta, z, t):
    pass


def _tanh_f(a, t):
    np.tanh(a, out=a)


def _tanh_df(delta, z, t):
    # tanh'(u) = 1 - z²
    np.multiply(z, z, out=t)
    np.subtract(1.0, t, out=t)
    np.multiply(delta, t, out=delta)


def _logistic_f(a, t):
    expit(a, out=a)


def _logistic_df(delta, z, t):
    # σ'(u) = z (1 - z) = z - z²
    np.multiply(z, z, out=t)
    np.subtract(z, t, out=t)
    np.multiply(delta, t, out=delta)


def _relu_f(a, t):
    np.maximum(a, 0.0, out=a)


def _relu_df(delta, z, t):
    # relu'(u) = 1 where u > 0, else 0; and u > 0 exactly where z > 0
    np.greater(z, 0.0, out=t)
    np.multiply(delta, t, out=delta)


def _leaky_relu_f(a, t):
    # max(u, 0.01 u) is u where u > 0 and 0.01 u elsewhere
    np.multiply(a, LEAKY_RELU_SLOPE, out=t)
    np.maximum(a, t, out=a)


def _leaky_relu_df(delta, z, t):
    # f'(u) = 1 where u > 0, else 0.01, i.e. 0.01 + 0.99 [z > 0] (z > 0 exactly where u > 0)
    np.greater(z, 0.0, out=t)
    np.multiply(t, 1.0 - LEAKY_RELU_SLOPE, out=t)
    np.add(t, LEAKY_RELU_SLOPE, out=t)
    np.multiply(delta, t, out=delta)


def _softplus_f(a, t):
    np.logaddexp(0.0, a, out=a)


def _softplus_df(delta, z, t):
    # softplus'(u) = σ(u) = 1 - exp(-softplus(u)) = -expm1(-z)
    np.negative(z, out=t)
    np.expm1(t, out=t)
    np.multiply(delta, t, out=delta)
    np.negative(delta, out=delta)


_HIDDEN = {
    "identity": (_identity_f, _identity_df),
    "tanh": (_tanh_f, _tanh_df),
    "logistic": (_logistic_f, _logistic_df),
    "relu": (_relu_f, _relu_df),
    "leaky_relu": (_leaky_relu_f, _leaky_relu_df),
    "softplus": (_softplus_f, _softplus_df),
}


def flat_parameters(net):
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


def packed_parameters(net):
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

    Inside :func:`plain_paths` the constructor returns a :class:`PlainBatchBackprop`.
    """

    def __new__(cls, net, max_batch_size, alpha=0.0):
        if _plain and cls is BatchBackprop:
            return PlainBatchBackprop(net, max_batch_size, alpha)
        return super().__new__(cls)

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
        # θ (flat_parameters), in four calls on θ whatever the depth: a 10-32-32-32-1 batch of
        # 64 took 57 µs so against 66 µs layer by layer
        self._packed = (None, {}, {})
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
        self._output_loss = {
            ("squared_error", "identity"): self._squared_error,
            ("log_loss", "softmax"): self._softmax_log_loss,
            ("binary_log_loss", "logistic"): self._logistic_log_loss,
        }.get((net.loss_name, net.output), self._any_loss)
        self._lse = np.empty(m, dtype=dtype) if net.output == "softmax" else None
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
        N = n if s is None else float(s.sum())
        dL = delta[L]
        data = self._output_loss(u_out, D.T, dL, scratch[L], E, s)
        alpha = self.alpha
        theta = None
        if alpha:
            theta = self._packed_theta(W, b) if self._flat_penalty else None
            if theta is not None:
                # P = (alpha/N) θ ⊙ [θ is a weight]: the L2 gradient of every layer at once
                P = self._penalty_flat
                np.multiply(theta, self._is_weight, out=P)
                data += 0.5 * alpha * float(np.vdot(P, theta))
                np.multiply(P, alpha / N, out=P)
            else:
                data += 0.5 * alpha * sum(float(np.vdot(W[l], W[l])) for l in self._layers)
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
                fused.add_scaled(gW[l], W[l], alpha / N, lambda l=l: self._penalty_work(l))
            if l > 2:
                np.dot(W[l].T, delta[l], out=delta[l - 1])
                self._hidden[l - 1][1](delta[l - 1], a[l - 1], scratch[l - 1])
        if theta is not None:
            np.add(self.flat_grad, self._penalty_flat, out=self.flat_grad)
        return loss, gW, gb

    def _squared_error(self, u, d, delta, t, E, s):
        """Σ_n s_n E_n with E_n = ½ Σ_k (y_k - d_k)², y = u (identity output), and
        δ^(L) = y - d in place (u, d, δ, t of shape (K, n); E a work vector)."""
        np.subtract(u, d, out=delta)
        if s is None:
            return 0.5 * float(np.vdot(delta, delta))
        np.multiply(delta, delta, out=t)
        np.add.reduce(t, axis=0, out=E)
        return 0.5 * float(np.dot(E, s))

    def _softmax_log_loss(self, u, d, delta, t, E, s):
        """Σ_n s_n E_n with E_n = -Σ_k d_k log y_k, y = softmax(u), and δ^(L) = y - d in place
        (u, d, δ, t of shape (K, n); E a work vector).  log y = u - lse(u), from u: no log(0)."""
        lse = self._lse[: E.shape[0]]
        np.max(u, axis=0, out=E)  # m, for an exp that cannot overflow
        np.subtract(u, E, out=delta)
        np.exp(delta, out=delta)
        np.add.reduce(delta, axis=0, out=lse)  # S = Σ_k exp(u_k - m)
        np.divide(delta, lse, out=delta)  # y
        np.subtract(delta, d, out=delta)  # δ^(L) = y - d
        np.log(lse, out=lse)
        np.add(lse, E, out=lse)  # lse = m + log S
        np.subtract(lse, u, out=t)  # -log y_k
        np.multiply(t, d, out=t)
        np.add.reduce(t, axis=0, out=E)  # E_n
        return float(E.sum()) if s is None else float(np.dot(E, s))

    def _logistic_log_loss(self, u, d, delta, t, E, s):
        """Σ_n s_n E_n with E_n = Σ_k [softplus(u_k) - d_k u_k] (= -d log σ(u) - (1-d) log(1-σ(u)))
        and δ^(L) = σ(u) - d in place."""
        np.multiply(d, u, out=delta)  # d u, in δ's buffer until δ is computed
        np.logaddexp(0.0, u, out=t)  # softplus(u)
        np.subtract(t, delta, out=t)
        np.add.reduce(t, axis=0, out=E)  # E_n
        expit(u, out=delta)
        np.subtract(delta, d, out=delta)  # δ^(L) = σ(u) - d
        return float(E.sum()) if s is None else float(np.dot(E, s))

    def _any_loss(self, u, d, delta, t, E, s):
        """Any other output/loss pair, through :mod:`deltaprop.core.losses` (which allocates)."""
        net = self.net
        y = net.f(net.L).f(u)
        per = _losses.per_sample(net.loss_name, u, y, d, net.output)
        delta[...] = _losses.output_delta(net.loss_name, net.output, u, y, d)
        return float(per.sum()) if s is None else float(per @ s)

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


def plain_predict(net, X):
    """The plain path: :meth:`Network.predict`."""
    return net.predict(X)


def predict(net, X, *, chunk_size=PREDICT_CHUNK):
    """The output y of every sample, shape (n_samples, n_L), equal to ``net.predict(X)``.

    The forward pass runs ``chunk_size`` rows at a time through buffers allocated once, in
    the seed's orientation as :class:`BatchBackprop` (``u^(l) = W^(l) z^(l-1) + b^(l)``, one
    sample per column, bias and f in one pass where :mod:`deltaprop.speed.fused` has one), so
    memory stays at one chunk of activations however many rows are predicted.  Inside
    :func:`plain_paths` it is :meth:`Network.predict`.
    """
    if _plain:
        return net.predict(X)
    X = net.check_X(X)
    n = X.shape[0]
    L = net.L
    sizes = net.sizes
    dtype = net.dtype
    out = np.empty((n, sizes[-1]), dtype=dtype)
    m = max(1, min(int(chunk_size), n))
    bufs = {l: np.empty(m * sizes[l - 1], dtype=dtype) for l in range(2, L + 1)}
    scratch = np.empty(m * max(sizes[1:]), dtype=dtype)
    hidden = {l: fused.hidden_layer(net.layer_activation[l], dtype, m * sizes[l - 1])[0] for l in range(2, L)}
    if net.output in _HIDDEN:
        output = fused.hidden_layer(net.output, dtype, m * sizes[-1])[0]
    else:
        f_out = net.f(L)

        def output(a, b, t):
            np.add(a, b[:, None], out=a)
            a[...] = f_out.f(a)

    for start in range(0, n, m):
        stop = min(start + m, n)
        k = stop - start
        z = X[start:stop].T
        for l in range(2, L + 1):
            a = bufs[l][: sizes[l - 1] * k].reshape(sizes[l - 1], k)
            np.dot(net.W[l], z, out=a)
            (hidden[l] if l < L else output)(a, net.b[l], scratch[: a.size].reshape(a.shape))
            z = a
        out[start:stop] = z.T
    return out
