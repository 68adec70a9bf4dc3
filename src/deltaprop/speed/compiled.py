"""A whole epoch of a small network in one compiled call (numba).

For a small network the numpy path (:class:`deltaprop.speed.backprop.BatchBackprop` plus
:mod:`deltaprop.core.optim`) spends almost all of its time in the overhead of numpy calls: the
4-16-3 network of the seed, batch 32, takes about 20 µs per batch, of which the arithmetic
is well under 1 µs.  Here one call of a numba-compiled kernel runs every mini-batch of an
epoch -- forward pass, loss, the δ recursion, gradients, the L2 term and the optimiser
step -- so the interpreter is entered once per epoch, not a few dozen times per batch.

It computes what the numpy loop of :func:`deltaprop.training.loop.fit_stochastic` computes, in
the same order:

* batches are the rows ``order[start:start + batch_size]``, the last one smaller;
* the batch loss is (Σ_n s_n E_n + ½ α Σ_l ‖W^(l)‖²) / N, N the batch size or Σ_n s_n,
  the gradient that of exactly this number: δ^(L) = (y - d) s_n / N for the four
  canonical output/loss pairs, δ^(l) = f'(u^(l)) ⊙ (W^(l+1))ᵀ δ^(l+1), ∂E/∂W^(l) =
  Σ_n δ^(l) z^(l-1)ᵀ + (α/N) W^(l), as in :mod:`deltaprop.speed.backprop` (derivatives from z);
* a batch whose loss is not finite ends the epoch before the step (``finite`` False);
* the step of :class:`deltaprop.core.optim.SGD` (momentum, Nesterov) or
  :class:`deltaprop.core.optim.Adam`, with their formulas and order of roundings -- the step
  alone gives the same bits as the numpy optimiser (the tests hold it so).

Products are loops written here, in the network's dtype (float32 stays float32: every
constant enters as an element of an array of that dtype).  No ``fastmath`` (IEEE roundings
kept) and no ``np.dot`` inside (numba would call scipy's BLAS, whose threads fight numpy's;
see :mod:`deltaprop.speed.backprop`).  Without fastmath LLVM vectorises no reduction (it may not
reassociate the sum), so every hot loop is an elementwise "axpy" along contiguous memory:
u^(l)_j += w_ji z^(l-1)_i and δ^(l-1)_i += w_ji δ^(l)_j along the batch (a block holds a row
per unit, a column per sample), and ∂E/∂W^(l) as the samples' outer products added one after
another, along a row or a column of it, the batch's vectors transposed once into a small
buffer for it.  ReLU and leaky ReLU are selects, not branches (vectorised, and no mispredicted
branch per unit).  Sums run in another order than numpy's BLAS, so the loss and weights agree
with the numpy path to rounding (float64: ~1e-15 relative after a few epochs), not to the bit.

One generic kernel serves every architecture, activation, loss pair and optimiser: they
are integer codes and offset tables, so numba compiles it once per dtype.  numba is
imported on first use only (``import deltaprop`` stays fast), and the machine code is
cached on disk (``cache=True``).

Measured on this machine kind (AMD EPYC, 2 cores, AVX-512, float64, noisy), the seed's 4-16-3
network (P = 131 parameters), plain SGD, per batch through MLPRegressor, best of 2:

    ==========  ======  =============  =============  ======
    batch size  hidden  numpy path     compiled       ratio
    ==========  ======  =============  =============  ======
    1           tanh    15.9 µs        1.2 µs         13×
    8           tanh    19.9 µs        3.9 µs         5.1×
    32          tanh    22.3 µs        13.1 µs        1.7×
    32          relu    22.7 µs        5.2 µs         4.4×
    128         tanh    33.3 µs        56.7 µs        0.6× (not taken: _MAX_WORK)
    ==========  ======  =============  =============  ======

These were measured with the C library's tanh (about 11-22 ns a call, where numpy's
vectorised one takes 2.4 ns), most of the compiled time at batch 32 and above.  tanh is now
Cephes' formula (``_tanh``, 2.8-6.8 ns): the seed workload's epoch (batch 32) went from 7.85
to 6.34 ms in ``benchmarks/run.py --workloads seed``.  The compiled path is
for small P × b only (see ``_MAX_WORK``): the vectorised loops run 0.5-1 ns per P × b (ReLU;
transposes, loop overheads and loops of a few elements), BLAS much less.

Compile time: about 3.5 s per dtype on the first call ever (one kernel for float64, one for
float32); from numba's on-disk cache afterwards about 0.03 s, plus 0.27 s to import numba.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from deltaprop.core.activations import LEAKY_RELU_SLOPE
from deltaprop.core.optim import SGD, Adam
from deltaprop.speed import backprop as fast
from deltaprop.speed import fused

__all__ = ["supported", "run_epoch"]

#: hidden activations: the kernel's code for each name (fast._HIDDEN's activations)
_HIDDEN_CODES = {"identity": 0, "tanh": 1, "logistic": 2, "relu": 3, "leaky_relu": 4, "softplus": 5}
#: (loss, output) canonical pairs: δ^(L) = y - d
_OUTPUT_CODES = {
    ("squared_error", "identity"): 0,
    ("log_loss", "softmax"): 1,
    ("binary_log_loss", "logistic"): 2,
    ("poisson", "exp"): 3,
}
# optimiser codes
_SGD_PLAIN, _SGD_MOMENTUM, _SGD_NESTEROV, _ADAM = 0, 1, 2, 3

# the constants array c, of the network's dtype (so float32 arithmetic stays float32)
_C_ZERO, _C_ONE, _C_SLOPE, _C_ONE_MINUS_SLOPE = 0, 1, 2, 3
_C_ETA, _C_MU = 4, 5
_C_B1, _C_ONE_MINUS_B1, _C_B2, _C_ONE_MINUS_B2, _C_EPS = 6, 7, 8, 9, 10
_C_SCRATCH = 11  # to round a float64 to the dtype
_C_SIZE = 12

#: the compiled path is taken while (number of parameters P) × (batch size b) is at most this.
#: The compiled loops cost about 0.5-1.3 ns per P × b with ReLU and 1.1-3.4 ns with tanh (the C
#: library's tanh, 11-22 ns a call, per hidden unit and sample) from batch 8 on; the numpy path
#: about 20 µs per batch whatever the size, plus ~0.3 ns per P × b.  Measured per batch through
#: the estimators, float64, plain SGD, numpy ÷ compiled, tanh / relu (networks 4-16-3, 10-64-1,
#: 4-188-3, 20-128-1):
#: P=131: b=1 13/16×, b=8 5.1/11×, b=32 1.7/4.4×, b=128 0.59/1.3×;
#: P=769: b=1 3.8/4.7×, b=8 1.6/3.3×, b=32 0.50/1.6×, b=128 0.29/0.53×;
#: P=1507: b=1 1.7/2.1×, b=8 0.90/1.8×, b=32 0.37/0.55×;
#: P=2817: b=1 1.5/1.6×, b=8 1.35/1.5×, b=32 0.37/0.54×.
#: tanh broke even near P × b = 12,000 (with the C library's tanh; Cephes' is faster, so this
#: is cautious): the limit for networks with a hidden tanh, logistic or softplus (an exp or
#: tanh per unit and sample).  ReLU breaks even between 24,600 (1.6×)
#: and 48,000 (0.55×), near 33,000 by interpolation: the limit for networks whose hidden layers
#: are all identity, relu or leaky relu is 30,000.
_MAX_WORK = 12000
_MAX_WORK_PIECEWISE_LINEAR = 30000
_PIECEWISE_LINEAR = frozenset({"identity", "relu", "leaky_relu"})


def supported(net, optimizer, X, sample_weight, batch_size) -> bool:
    """True when :func:`run_epoch` applies to this network, optimiser, data and batch size.

    Dense float32/float64 data, a canonical output/loss pair, hidden activations of
    :mod:`deltaprop.speed.backprop`, SGD or Adam, and a network small enough that the compiled loops
    beat the numpy path (``_MAX_WORK``, or ``_MAX_WORK_PIECEWISE_LINEAR`` without
    exp-based hidden units).  Never inside :func:`deltaprop.speed.backprop.plain_paths`.
    """
    if fast._plain:
        return False
    if not isinstance(optimizer, (SGD, Adam)):
        return False
    if not isinstance(X, np.ndarray) or X.ndim != 2 or net.dtype not in (np.float32, np.float64):
        return False
    if X.dtype != net.dtype or (sample_weight is not None and not isinstance(sample_weight, np.ndarray)):
        return False
    if sample_weight is not None and not (sample_weight != 0).all():
        # a batch of zero weights has no mean loss: the numpy path raises there, as
        # scikit-learn does, where the kernel would see an infinite loss and call it divergence
        return False
    if (net.loss_name, net.output) not in _OUTPUT_CODES:
        return False
    if any(net.layer_activation[l] not in _HIDDEN_CODES for l in range(2, net.L)):
        return False
    hidden = {net.layer_activation[l] for l in range(2, net.L)}
    limit = _MAX_WORK_PIECEWISE_LINEAR if hidden <= _PIECEWISE_LINEAR else _MAX_WORK
    return net.n_parameters * int(batch_size) <= limit and fused.numba_available()


# ---------------------------------------------------------------------------------------
# The kernel.  Plain Python functions here; _kernels() compiles them (numba.njit) on first
# use and puts the compiled versions in their place, so that the calls between them are
# calls of compiled functions.  Arrays are flat; a batch is one sample per row.


def _cast(c, x):
    """x (float64) rounded to the dtype of c, as numpy rounds a Python float against an array."""
    c[_C_SCRATCH] = x
    return c[_C_SCRATCH]


# tanh as Cephes computes it (Moshier, tanh.c): x + x³ P(x²)/Q(x²) below 0.625, where
# 1 - 2/(e^{2x} + 1) would cancel, and that formula above.  Within 2 ulp of numpy's tanh on a
# grid of 2,000,001 points in [-30, 30] (the C library's tanh, called before, is too), and
# 2-4x faster than that call: 2.8-6.8 ns an element against 10.6-12.8 (float64, this machine).
_TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)


def _tanh(x):
    """tanh of a float64 (float32 values are widened, and rounded once when stored)."""
    ax = abs(x)
    if ax < 0.625:
        if x == 0.0:
            return x  # keeps the sign of -0.0, as numpy's tanh
        z = x * x
        p = (_TANH_P[0] * z + _TANH_P[1]) * z + _TANH_P[2]
        q = ((z + _TANH_Q[0]) * z + _TANH_Q[1]) * z + _TANH_Q[2]
        return x + x * z * (p / q)
    if ax > 22.0:  # tanh is ±1 to float64's precision; also ±inf
        return 1.0 if x > 0 else -1.0
    if ax != ax:  # NaN
        return x
    t = 1.0 - 2.0 / (math.exp(2.0 * ax) + 1.0)
    return t if x > 0 else -t


def _logaddexp0(u, zero, log2):
    """log(1 + exp(u)) = numpy's logaddexp(0, u), branch for branch."""
    if u == zero:
        return log2
    if -u > zero:
        return math.log1p(math.exp(u))
    if -u <= zero:
        return u + math.log1p(math.exp(-u))
    return -u  # NaN


def _hidden_f(code, a, start, stop, c):
    """z = f(u) in place on a[start:stop] (fast._HIDDEN's f)."""
    zero, one = c[_C_ZERO], c[_C_ONE]
    if code == 1:
        for q in range(start, stop):
            a[q] = _tanh(float(a[q]))
    elif code == 2:
        for q in range(start, stop):
            a[q] = one / (one + math.exp(-a[q]))  # scipy's expit
    elif code == 3:
        for q in range(start, stop):  # selects, not branches: vectorised
            u = a[q]
            a[q] = zero if u < zero else u  # np.maximum(u, 0): keeps NaN and -0.0
    elif code == 4:
        slope = c[_C_SLOPE]
        for q in range(start, stop):
            u = a[q]
            t = u * slope
            a[q] = u if (u >= t or u != u) else t  # np.maximum(u, 0.01 u)
    elif code == 5:
        log2 = _cast(c, math.log(2.0))
        for q in range(start, stop):
            a[q] = _logaddexp0(a[q], zero, log2)


def _hidden_df(code, delta, z, start, stop, c):
    """δ ← f'(u) ⊙ δ on delta[start:stop], f' from z[start:stop] (fast._HIDDEN's df)."""
    zero, one = c[_C_ZERO], c[_C_ONE]
    if code == 1:
        for q in range(start, stop):
            t = z[q] * z[q]
            delta[q] = delta[q] * (one - t)
    elif code == 2:
        for q in range(start, stop):
            t = z[q] * z[q]
            delta[q] = delta[q] * (z[q] - t)
    elif code == 3:
        for q in range(start, stop):
            delta[q] = delta[q] * (one if z[q] > zero else zero)
    elif code == 4:
        slope, rest = c[_C_SLOPE], c[_C_ONE_MINUS_SLOPE]
        for q in range(start, stop):
            t = (one if z[q] > zero else zero) * rest + slope
            delta[q] = delta[q] * t
    elif code == 5:
        for q in range(start, stop):
            t = math.expm1(-z[q])
            delta[q] = -(delta[q] * t)


def _output(code, u, delta, d, start, stride, n_out, c):
    """One sample: y from u[start + k stride], k < n_out; δ^(L) = y - d into delta at the same
    places; returns E_n (squared error: without its ½, applied to the batch sum)."""
    zero, one = c[_C_ZERO], c[_C_ONE]
    E = zero
    if code == 0:  # identity, squared error
        for k in range(n_out):
            q = start + k * stride
            r = u[q] - d[k]
            delta[q] = r
            E += r * r
    elif code == 1:  # softmax, cross-entropy, through log-sum-exp
        m = u[start]
        for k in range(1, n_out):
            if not (m >= u[start + k * stride]):
                m = u[start + k * stride]
        S = zero
        for k in range(n_out):
            S += math.exp(u[start + k * stride] - m)
        lse = m + math.log(S)
        acc = zero
        for k in range(n_out):
            q = start + k * stride
            acc += d[k] * (u[q] - lse)
            delta[q] = math.exp(u[q] - m) / S - d[k]
        E = -acc
    elif code == 2:  # logistic, binary cross-entropy: softplus(u) - d u
        log2 = _cast(c, math.log(2.0))
        for k in range(n_out):
            q = start + k * stride
            x = u[q]
            E += _logaddexp0(x, zero, log2) - d[k] * x
            delta[q] = one / (one + math.exp(-x)) - d[k]
    else:  # exp, Poisson half deviance: xlogy(d, d) - d u - d + y
        for k in range(n_out):
            q = start + k * stride
            x = u[q]
            y = math.exp(x)
            xlogy = zero if d[k] == zero else d[k] * math.log(d[k])
            E += xlogy - d[k] * x - d[k] + y
            delta[q] = y - d[k]
    return E


def _sum(a, ia, n, zero):
    """Σ_q a[ia + q], q < n, in four interleaved partial sums (four independent chains of
    additions, where one chain would wait on each addition's latency)."""
    s0 = s1 = s2 = s3 = zero
    n4 = n - n % 4
    for q in range(0, n4, 4):
        s0 += a[ia + q]
        s1 += a[ia + q + 1]
        s2 += a[ia + q + 2]
        s3 += a[ia + q + 3]
    for q in range(n4, n):
        s0 += a[ia + q]
    return (s0 + s1) + (s2 + s3)


def _sgd_step(code, theta, g, v, c):
    """optim.SGD.update on the flat vectors: the same compiled step (deltaprop.speed.kernels)."""
    _steps.sgd_step(theta, g, v, c[_C_MU] if code else c[_C_ZERO], c[_C_ETA], code == 2)


def _adam_step(theta, g, m, s, c, lr_init, b1, b2, t):
    """optim.Adam.update, step number t (≥ 1), with the same compiled step: returns η_t."""
    lr = lr_init * math.sqrt(1 - b2 ** float(t)) / (1 - b1 ** float(t))
    _steps.adam_step(theta, g, m, s, c[_C_B1], c[_C_ONE_MINUS_B1], c[_C_B2], c[_C_ONE_MINUS_B2],
                     c[_C_EPS], _cast(c, -lr))
    return lr


def _epoch(X, D, s, has_s, order, batch_size, sizes, codes, offsets, theta, grad, A, Dl, T, G, c,
           alpha, opt, st1, st2, lr_init, b1, b2, t, lr):
    """Every batch of one epoch; returns (Σ batch loss × batch rows, finite, t, lr).

    sizes[k], k = 0 … K: units of layer k+1 (seed numbering); codes[k]: the activation of
    layer k+1 (k = 1 … K-1) and the output pair (k = K); offsets[k] = (W, b, rows): where
    W^(k+1) and b^(k+1) start in θ, and where layer k+1's block starts in A (its u, then z)
    and in Dl (its δ).  A block holds one row per unit and one column per sample of the
    batch (the seed's orientation: z_j^(l) of sample n at [j nb + n]), so the innermost
    loops of the forward pass and of the δ recursion run along a row, over the samples.
    """
    K = sizes.shape[0] - 1
    n_total = order.shape[0]
    zero = c[_C_ZERO]
    out_code = codes[K]
    n_out = sizes[K]
    accumulated = 0.0
    finite = True
    start = 0
    while start < n_total:
        nb = min(batch_size, n_total - start)
        # the batch's inputs z^(1), one column per sample
        n_in = sizes[0]
        for n in range(nb):
            r = order[start + n]
            for i in range(n_in):
                A[i * nb + n] = X[r, i]
        # N: the batch size, or Σ s_n (summed in the dtype, as numpy)
        if has_s:
            s_sum = zero
            for n in range(nb):
                s_sum += s[order[start + n]]
            N = float(s_sum)
        else:
            N = float(nb)

        # forward: u^(l) = W^(l) z^(l-1) + b^(l), z^(l) = f(u^(l))
        for k in range(1, K + 1):
            nk, nprev = sizes[k], sizes[k - 1]
            wo, bo, ao, apo = offsets[k, 0], offsets[k, 1], offsets[k, 2], offsets[k - 1, 2]
            for j in range(nk):
                u = A[ao + j * nb:ao + (j + 1) * nb]
                for n in range(nb):
                    u[n] = zero
                w_row = theta[wo + j * nprev:wo + (j + 1) * nprev]
                for i in range(nprev):
                    w = w_row[i]
                    z = A[apo + i * nb:apo + (i + 1) * nb]
                    for n in range(nb):  # axpy along the batch: vectorised
                        u[n] += w * z[n]
                bj = theta[bo + j]
                for n in range(nb):
                    u[n] += bj
            if k < K:
                _hidden_f(codes[k], A, ao, ao + nk * nb, c)

        # δ^(L) = y - d and the loss
        ao = offsets[K, 2]
        data = zero
        for n in range(nb):
            r = order[start + n]
            E = _output(out_code, A, Dl, D[r], ao + n, nb, n_out, c)
            if has_s:
                data += E * s[r]
            else:
                data += E
        loss = 0.5 * float(data) if out_code == 0 else float(data)
        if alpha != 0.0:
            squares = zero
            for k in range(1, K + 1):
                wo = offsets[k, 0]
                for q in range(wo, wo + sizes[k] * sizes[k - 1]):
                    squares += theta[q] * theta[q]
            loss += 0.5 * alpha * float(squares)
        loss = loss / N

        # δ^(L) scaled by s_n / N: every δ, and so every gradient, is then divided by N
        inv_N = _cast(c, 1.0 / N)
        for k in range(n_out):
            row = ao + k * nb
            if has_s:
                for n in range(nb):
                    Dl[row + n] = Dl[row + n] * (s[order[start + n]] * inv_N)
            else:
                for n in range(nb):
                    Dl[row + n] = Dl[row + n] * inv_N

        # backward: ∂E/∂w_ji^(l) = Σ_n δ_j^(l) z_i^(l-1) (+ (α/N) w_ji^(l)),
        # ∂E/∂b_j^(l) = Σ_n δ_j^(l), δ_i^(l-1) = f'(u_i^(l-1)) Σ_j w_ji^(l) δ_j^(l)
        a_N = _cast(c, alpha / N)
        for k in range(K, 0, -1):
            nk, nprev = sizes[k], sizes[k - 1]
            wo, bo, do, dpo = offsets[k, 0], offsets[k, 1], offsets[k, 2], offsets[k - 1, 2]
            for j in range(nk):
                grad[bo + j] = _sum(Dl, do + j * nb, nb, zero)
            # Σ_n δ_j z_i, a sum along the batch, would be a reduction (not vectorised without
            # fastmath): instead the samples' outer products are added one after another, an
            # axpy along the longer of a row of ∂E/∂W^(l) (i) or of a column (j), the vectors
            # of the batch transposed into T (one row per sample) for it.
            if nprev >= nk:
                for i in range(nprev):
                    z = A[dpo + i * nb:dpo + (i + 1) * nb]
                    for n in range(nb):
                        T[n * nprev + i] = z[n]
                for j in range(nk):
                    g_row = grad[wo + j * nprev:wo + (j + 1) * nprev]
                    for i in range(nprev):
                        g_row[i] = zero
                    d_row = Dl[do + j * nb:do + (j + 1) * nb]
                    for n in range(nb):
                        d = d_row[n]
                        z_t = T[n * nprev:(n + 1) * nprev]
                        for i in range(nprev):
                            g_row[i] += d * z_t[i]
            else:
                # T: δ^(l) one row per sample, then ∂E/∂W^(l)ᵀ, one row per i, in G
                for j in range(nk):
                    d_row = Dl[do + j * nb:do + (j + 1) * nb]
                    for n in range(nb):
                        T[n * nk + j] = d_row[n]
                for i in range(nprev):
                    g_col = G[i * nk:(i + 1) * nk]
                    for j in range(nk):
                        g_col[j] = zero
                    z = A[dpo + i * nb:dpo + (i + 1) * nb]
                    for n in range(nb):
                        zi = z[n]
                        d_t = T[n * nk:(n + 1) * nk]
                        for j in range(nk):
                            g_col[j] += d_t[j] * zi
                for j in range(nk):
                    g_row = grad[wo + j * nprev:wo + (j + 1) * nprev]
                    for i in range(nprev):
                        g_row[i] = G[i * nk + j]
            if alpha != 0.0:
                for q in range(wo, wo + nk * nprev):
                    grad[q] = grad[q] + theta[q] * a_N
            if k > 1:
                for q in range(dpo, dpo + nprev * nb):
                    Dl[q] = zero
                for j in range(nk):
                    d_row = Dl[do + j * nb:do + (j + 1) * nb]
                    w_row = theta[wo + j * nprev:wo + (j + 1) * nprev]
                    for i in range(nprev):
                        w = w_row[i]
                        p_row = Dl[dpo + i * nb:dpo + (i + 1) * nb]
                        for n in range(nb):
                            p_row[n] += w * d_row[n]
                _hidden_df(codes[k - 1], Dl, A, dpo, dpo + nprev * nb, c)

        if not math.isfinite(loss):
            finite = False
            break
        accumulated += loss * nb
        if opt == _ADAM:
            t += 1
            lr = _adam_step(theta, grad, st1, st2, c, lr_init, b1, b2, t)
        else:
            _sgd_step(opt, theta, grad, st1, c)
        start += nb
    return accumulated, finite, t, lr


#: the functions compiled, callees before callers
#: deltaprop.speed.kernels once _kernels() ran (its import loads numba, so not at import time)
_steps = None
_COMPILED = ("_cast", "_tanh", "_logaddexp0", "_hidden_f", "_hidden_df", "_output", "_sum", "_sgd_step",
             "_adam_step", "_epoch")
_compiled = False


_compile_lock = threading.Lock()


def _kernels():
    """Compile (or load from numba's cache) the kernel on first use; returns it.

    Under a lock, and the compiled functions put in place all at once: two threads fitting
    their first small networks at the same moment would otherwise both decorate the helpers,
    the second an already compiled one.
    """
    global _compiled
    with _compile_lock:
        if not _compiled:
            from deltaprop.speed import kernels as steps
            from deltaprop.speed.kernels import jit

            g = globals()
            g["_steps"] = steps  # the optimisers' compiled steps, called from the kernel
            # helpers inlined into the kernel: a call passing arrays costs reference counting,
            # and inlining halved the epoch of an identity network.  error_model="numpy": x/0
            # is inf or nan, as in numpy, not ZeroDivisionError.
            done = {name: jit(g[name], inline="never" if name == "_epoch" else "always")
                    for name in _COMPILED}
            g.update(done)
            _compiled = True
    return _epoch


class _Workspace:
    """The kernel's buffers and tables for one network and batch size, kept for a whole fit."""

    def __init__(self, net, batch_size):
        self.key = (tuple(net.sizes), tuple(net.layer_activation.get(l) for l in range(2, net.L)),
                    net.loss_name, net.output, np.dtype(net.dtype), int(batch_size))
        dtype = net.dtype
        sizes = np.asarray(net.sizes, dtype=np.int64)
        K = len(sizes) - 1
        self.sizes = sizes
        self.codes = np.zeros(K + 1, dtype=np.int64)
        for k in range(1, K):
            self.codes[k] = _HIDDEN_CODES[net.layer_activation[k + 1]]
        self.codes[K] = _OUTPUT_CODES[(net.loss_name, net.output)]
        # (W, b, rows) offsets: where W^(k+1), b^(k+1) start in θ, and layer k+1's rows in A, Dl
        self.offsets = np.zeros((K + 1, 3), dtype=np.int64)
        m = int(batch_size)
        theta_at, rows_at = 0, 0
        for k in range(K + 1):
            if k:
                self.offsets[k, 0] = theta_at
                theta_at += sizes[k] * sizes[k - 1]
                self.offsets[k, 1] = theta_at
                theta_at += sizes[k]
            self.offsets[k, 2] = rows_at
            rows_at += m * sizes[k]
        self.A = np.zeros(rows_at, dtype=dtype)
        self.Dl = np.zeros(rows_at, dtype=dtype)
        # T: z^(l-1) or δ^(l), one row per sample; G: ∂E/∂W^(l)ᵀ (see _epoch)
        self.T = np.zeros(m * int(sizes.max()), dtype=dtype)
        self.G = np.zeros(max(int(sizes[k] * sizes[k - 1]) for k in range(1, K + 1)), dtype=dtype)
        self.c = np.zeros(_C_SIZE, dtype=dtype)
        self.c[_C_ONE] = 1.0
        self.c[_C_SLOPE] = LEAKY_RELU_SLOPE
        self.c[_C_ONE_MINUS_SLOPE] = 1.0 - LEAKY_RELU_SLOPE
        self.no_weights = np.zeros(0, dtype=dtype)
        self.no_state = np.zeros(0, dtype=dtype)


def _workspace(optimizer, net, batch_size):
    """The workspace cached on the optimiser (which lives as long as the fit), made afresh
    when the network or batch size changed."""
    ws = optimizer.__dict__.get("_compiled_workspace")
    key = (tuple(net.sizes), tuple(net.layer_activation.get(l) for l in range(2, net.L)),
           net.loss_name, net.output, np.dtype(net.dtype), int(batch_size))
    if ws is None or ws.key != key:
        ws = optimizer._compiled_workspace = _Workspace(net, batch_size)
    return ws


def run_epoch(net, theta, flat_grad, X, D, sample_weight, order, batch_size, alpha, optimizer):
    """One epoch of mini-batches in one compiled call: ``(accumulated_loss, finite)``.

    Exactly the numpy loop of :func:`deltaprop.training.loop.fit_stochastic`: the batches are the
    rows ``order[start:start + batch_size]``; each batch's loss (L2 term included) is added
    times its row count to ``accumulated_loss`` and the optimiser takes one step on θ.  A
    batch whose loss is not finite stops the epoch before its step (``finite`` False).
    ``theta`` is the vector that ``net.W``/``net.b`` are views of
    (:func:`deltaprop.speed.backprop.flat_parameters`); ``flat_grad``, packed alike, holds the last
    batch's gradient on return.  The optimiser's state (velocity; moments, t and the
    learning rate) is updated as its ``update`` would.
    """
    kernel = _kernels()
    ws = _workspace(optimizer, net, batch_size)
    dtype = net.dtype
    X = np.ascontiguousarray(X, dtype=dtype)
    D = np.ascontiguousarray(D, dtype=dtype)
    has_s = sample_weight is not None
    s = np.ascontiguousarray(sample_weight, dtype=dtype) if has_s else ws.no_weights
    order = np.ascontiguousarray(order, dtype=np.int64)
    c = ws.c
    if isinstance(optimizer, Adam):
        opt = _ADAM
        st1, st2 = optimizer.ms[0], optimizer.vs[0]
        b1, b2 = float(optimizer.beta_1), float(optimizer.beta_2)
        c[_C_B1], c[_C_ONE_MINUS_B1] = b1, 1 - b1
        c[_C_B2], c[_C_ONE_MINUS_B2] = b2, 1 - b2
        c[_C_EPS] = optimizer.epsilon
        lr_init, t = float(optimizer.learning_rate_init), int(optimizer.t)
    else:
        mu, eta = optimizer.momentum, float(optimizer.learning_rate)
        opt = _SGD_PLAIN if mu == 0 else (_SGD_NESTEROV if optimizer.nesterov else _SGD_MOMENTUM)
        st1, st2 = optimizer.velocities[0], ws.no_state
        c[_C_ETA], c[_C_MU] = eta, mu
        lr_init, b1, b2, t = 0.0, 0.0, 0.0, 0
    accumulated, finite, t, lr = kernel(
        X, D, s, has_s, order, int(batch_size), ws.sizes, ws.codes, ws.offsets, theta, flat_grad,
        ws.A, ws.Dl, ws.T, ws.G, c, float(alpha), opt, st1, st2, lr_init, b1, b2, t,
        float(optimizer.learning_rate),
    )
    if opt == _ADAM:
        optimizer.t = int(t)
        optimizer.learning_rate = float(lr)
    return float(accumulated), bool(finite)
