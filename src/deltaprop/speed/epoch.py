"""The compiled epoch's kernel (numba): every mini-batch of one epoch in one call.

Imported by :mod:`deltaprop.speed.compiled` on first use only (this module loads numba).
What the kernel computes, and when it is taken, is said there; here are its parts.

Layers keep the seed's numbering: the tables are indexed by l = 1 … L (index 0 unused).
``sizes[l]`` is n_l; ``codes[l]`` the activation of hidden layer l (2 ≤ l < L) and, at l = L,
the output/loss pair (codes of :mod:`deltaprop.speed.registry`); ``offsets[l] = (W, b, rows)``:
where W^(l) and b^(l) start in θ, and where layer l's block starts in A (u^(l), then z^(l)
in place; z^(1) = the batch's x) and in Dl (δ^(l)).  A block holds one row per unit and one
column per sample of the batch (z_j^(l) of sample n at [rows + j nb + n]), so the innermost
loops run along a row, over the samples: every hot loop is an elementwise "axpy" along
contiguous memory, which LLVM vectorises without fastmath.

Every constant enters through the array ``c`` of the network's dtype (slots ``C_*``), so
float32 arithmetic stays float32.  No fastmath (IEEE roundings kept), no ``np.dot`` (numba
would call scipy's BLAS, whose threads fight numpy's), helpers inlined (``docs/performance.md``).
Each restatement of a formula of :mod:`deltaprop.core` carries a ``# restates:`` marker
(:data:`deltaprop.speed.registry.RESTATEMENTS`).
"""

from __future__ import annotations

import math

from deltaprop.core.optim import adam_rate
from deltaprop.speed.kernels import adam_step, jit, sgd_step

# the constants array c
C_ZERO, C_ONE, C_SLOPE, C_ONE_MINUS_SLOPE = 0, 1, 2, 3
C_ETA, C_MU = 4, 5
C_B1, C_ONE_MINUS_B1, C_B2, C_ONE_MINUS_B2, C_EPS = 6, 7, 8, 9, 10
C_SCRATCH = 11  # to round a float64 to the dtype
C_SIZE = 12

# optimiser codes (deltaprop.speed.registry.EPOCH_STEPS)
SGD_PLAIN, SGD_MOMENTUM, SGD_NESTEROV, ADAM = 0, 1, 2, 3


def _inline(function):
    return jit(function, inline="always")


@_inline
def cast(c, x):  # pragma: no cover - compiled
    """x (float64) rounded to the dtype of c, as numpy rounds a Python float against an array."""
    c[C_SCRATCH] = x
    return c[C_SCRATCH]


# tanh as Cephes computes it (Moshier, tanh.c): x + x³ P(x²)/Q(x²) below 0.625, where
# 1 - 2/(e^{2x} + 1) would cancel, and that formula above; within 2 ulp of numpy's tanh, as
# Cephes with the C library's exp is.  Both branches are computed and one selected, and
# e^{2|x|} is our own branch-free exp, so that a loop of tanh vectorises (LLVM would not
# vectorise a call of the C library's tanh or exp, nor branches): 4× faster on the seed's
# network.  exp(y), 0 ≤ y ≤ 45: y = k ln 2 + r (Cody and Waite's two-part ln 2, k·LN2_HI
# exact), e^r by Taylor to r¹³ (|r| ≤ ½ ln 2: the tail is below 2⁻⁵⁵), and 2^k from k's
# bits, each a select: every step exact or one rounding.
_TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
_LOG2E, _LN2_HI, _LN2_LO = 1.4426950408889634, 6.93147180369123816490e-01, 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5·2⁵²: (v + _ROUND) - _ROUND rounds v to an integer
_INV_FACTORIAL = tuple(1.0 / math.factorial(k) for k in range(14))


@_inline
def tanh(x):  # pragma: no cover - compiled
    """tanh of a float64 (float32 values are widened, and rounded once when stored)."""
    # restates: core.activations.Tanh.f
    ax = abs(x)
    z = x * x
    p = (_TANH_P[0] * z + _TANH_P[1]) * z + _TANH_P[2]
    q = ((z + _TANH_Q[0]) * z + _TANH_Q[1]) * z + _TANH_Q[2]
    # e^y, y = 2|x| ≤ 45 (no helper function: numba would not inline it this deep)
    y = 2.0 * ax if ax < 22.5 else 45.0
    k = (y * _LOG2E + _ROUND) - _ROUND
    r = (y - k * _LN2_HI) - k * _LN2_LO
    f = _INV_FACTORIAL
    e = ((((((f[13] * r + f[12]) * r + f[11]) * r + f[10]) * r + f[9]) * r + f[8]) * r + f[7]) * r
    e = ((((((e + f[6]) * r + f[5]) * r + f[4]) * r + f[3]) * r + f[2]) * r + 1.0) * r + 1.0
    for w in (2.0, 4.0, 16.0, 256.0, 65536.0, 4294967296.0):  # 2^k: k < 2⁷, bit by bit
        half = (k * 0.5 - 0.25 + _ROUND) - _ROUND  # ⌊k/2⌋
        e = e * w if k - 2.0 * half > 0.5 else e
        k = half
    e = e * 18446744073709551616.0 if k > 0.5 else e
    t = 1.0 - 2.0 / (e + 1.0)
    t = x + x * z * (p / q) if ax < 0.625 else (t if x > 0 else -t)
    t = (1.0 if x > 0 else -1.0) if ax > 22.0 else t  # ±1 to float64's precision; also ±inf
    return x if (x == 0.0 or ax != ax) else t  # keeps -0.0's sign and NaN, as numpy's tanh


@_inline
def logaddexp0(u, zero, log2):  # pragma: no cover - compiled
    """log(1 + exp(u)) = numpy's logaddexp(0, u), branch for branch."""
    # restates: core.activations.Softplus.f
    if u == zero:
        return log2
    if -u > zero:
        return math.log1p(math.exp(u))
    if -u <= zero:
        return u + math.log1p(math.exp(-u))
    return -u  # NaN


@_inline
def hidden_f(code, a, start, stop, c):  # pragma: no cover - compiled
    """z = f(u) in place on a[start:stop]: deltaprop.core.activations' f of each code.

    The loops run over a slice from 0, not over range(start, stop): an index numba cannot
    prove ≥ 0 gets a negative-index select, and the loop is then not vectorised."""
    zero, one = c[C_ZERO], c[C_ONE]
    a = a[start:stop]
    if code == 1:
        for q in range(a.shape[0]):
            a[q] = tanh(float(a[q]))
    elif code == 2:
        for q in range(a.shape[0]):
            # restates: core.activations.Logistic.f
            a[q] = one / (one + math.exp(-a[q]))  # scipy's expit
    elif code == 3:
        for q in range(a.shape[0]):  # selects, not branches: vectorised
            u = a[q]
            # restates: core.activations.Relu.f
            a[q] = zero if u < zero else u  # np.maximum(u, 0): keeps NaN and -0.0
    elif code == 4:
        slope = c[C_SLOPE]
        for q in range(a.shape[0]):
            u = a[q]
            t = u * slope
            # restates: core.activations.LeakyRelu.f
            a[q] = u if (u >= t or u != u) else t  # np.maximum(u, 0.01 u)
    elif code == 5:
        log2 = cast(c, math.log(2.0))
        for q in range(a.shape[0]):
            a[q] = logaddexp0(a[q], zero, log2)


@_inline
def hidden_df(code, delta, z, start, stop, c):  # pragma: no cover - compiled
    """δ ← f'(u) ⊙ δ on delta[start:stop], f' from z: deltaprop.core.activations' derivative."""
    zero, one = c[C_ZERO], c[C_ONE]
    delta, z = delta[start:stop], z[start:stop]
    if code == 1:
        for q in range(delta.shape[0]):
            t = z[q] * z[q]  # restates: core.activations.Tanh.derivative
            delta[q] = delta[q] * (one - t)
    elif code == 2:
        for q in range(delta.shape[0]):
            # restates: core.activations.Logistic.derivative
            delta[q] = delta[q] * (z[q] * (one - z[q]))
    elif code == 3:
        for q in range(delta.shape[0]):
            # restates: core.activations.Relu.derivative
            delta[q] = delta[q] * (one if z[q] > zero else zero)
    elif code == 4:
        slope, rest = c[C_SLOPE], c[C_ONE_MINUS_SLOPE]
        for q in range(delta.shape[0]):
            # restates: core.activations.LeakyRelu.derivative
            t = (one if z[q] > zero else zero) * rest + slope
            delta[q] = delta[q] * t
    elif code == 5:
        for q in range(delta.shape[0]):
            # restates: core.activations.Softplus.derivative
            t = -math.expm1(-z[q])
            delta[q] = delta[q] * t


@_inline
def output(code, u, delta, d, start, stride, n_out, c):  # pragma: no cover - compiled
    """One sample: y from u[start + k stride], k < n_out; δ^(L) = y - d into delta at the same
    places; returns E_n (deltaprop.core.losses; squared error without its ½, applied to the
    batch sum)."""
    zero, one = c[C_ZERO], c[C_ONE]
    E = zero
    if code == 0:  # identity, squared error
        # restates: core.losses.per_sample[squared_error]
        # restates: core.losses.output_delta[squared_error]
        for k in range(n_out):
            q = start + k * stride
            r = u[q] - d[k]
            delta[q] = r
            E += r * r
    elif code == 1:  # softmax, cross-entropy, through log-sum-exp
        # restates: core.losses.per_sample[log_loss]
        # restates: core.losses.output_delta[log_loss]
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
        # restates: core.losses.per_sample[binary_log_loss]
        # restates: core.losses.output_delta[binary_log_loss]
        log2 = cast(c, math.log(2.0))
        for k in range(n_out):
            q = start + k * stride
            x = u[q]
            E += logaddexp0(x, zero, log2) - d[k] * x
            delta[q] = one / (one + math.exp(-x)) - d[k]
    else:  # exp, Poisson half deviance: xlogy(d, d) - d u - d + y
        # restates: core.losses.per_sample[poisson]
        # restates: core.losses.output_delta[poisson]
        for k in range(n_out):
            q = start + k * stride
            x = u[q]
            y = math.exp(x)
            xlogy = zero if d[k] == zero else d[k] * math.log(d[k])
            E += xlogy - d[k] * x - d[k] + y
            delta[q] = y - d[k]
    return E


@_inline
def batch_sum(a, ia, n, zero):  # pragma: no cover - compiled
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


@_inline
def sgd(code, theta, g, v, c):  # pragma: no cover - compiled
    """optim.SGD.update on the flat vectors: the same compiled step (deltaprop.speed.kernels)."""
    sgd_step(theta, g, v, c[C_MU] if code else c[C_ZERO], c[C_ETA], code == SGD_NESTEROV)


_adam_rate = _inline(adam_rate)  # the core's definition itself, compiled: no restatement


@_inline
def adam(theta, g, m, s, c, lr_init, b1, b2, t):  # pragma: no cover - compiled
    """optim.Adam.update, step number t (≥ 1), with the same η_t (optim.adam_rate, compiled)
    and the same compiled step: returns η_t."""
    lr = _adam_rate(lr_init, b1, b2, t)
    adam_step(theta, g, m, s, c[C_B1], c[C_ONE_MINUS_B1], c[C_B2], c[C_ONE_MINUS_B2],
              c[C_EPS], cast(c, -lr))
    return lr


@_inline
def load_batch(X, order, start, nb, n_in, A):  # pragma: no cover - compiled
    """z^(1): the batch's rows of X, one column per sample, at the start of A."""
    for n in range(nb):
        r = order[start + n]
        for i in range(n_in):
            A[i * nb + n] = X[r, i]


@_inline
def batch_weight(s, has_s, order, start, nb, zero):  # pragma: no cover - compiled
    """N: the batch size, or Σ s_n (summed in the dtype, as numpy)."""
    # restates: core.losses.total_weight
    if not has_s:
        return float(nb)
    s_sum = zero
    for n in range(nb):
        s_sum += s[order[start + n]]
    return float(s_sum)


@_inline
def affine(theta, A, sizes, offsets, l, nb, zero):  # pragma: no cover - compiled
    """u^(l) = W^(l) z^(l-1) + b^(l) into layer l's block of A."""
    # restates: core.network.Network.forward
    n_l, n_prev = sizes[l], sizes[l - 1]
    wo, bo, ao, apo = offsets[l, 0], offsets[l, 1], offsets[l, 2], offsets[l - 1, 2]
    for j in range(n_l):
        u = A[ao + j * nb:ao + (j + 1) * nb]
        for n in range(nb):
            u[n] = zero
        w_row = theta[wo + j * n_prev:wo + (j + 1) * n_prev]
        for i in range(n_prev):
            w = w_row[i]
            z = A[apo + i * nb:apo + (i + 1) * nb]
            for n in range(nb):  # axpy along the batch: vectorised
                u[n] += w * z[n]
        bj = theta[bo + j]
        for n in range(nb):
            u[n] += bj


@_inline
def batch_loss(A, Dl, D, s, has_s, order, start, nb, sizes, codes, offsets, L, theta, alpha, N,
               c):  # pragma: no cover - compiled
    """δ^(L) = y - d into Dl, and (Σ_n s_n E_n + ½ α Σ_l ‖W^(l)‖²) / N."""
    zero = c[C_ZERO]
    out_code, n_out, ao = codes[L], sizes[L], offsets[L, 2]
    data = zero
    for n in range(nb):
        r = order[start + n]
        E = output(out_code, A, Dl, D[r], ao + n, nb, n_out, c)
        if has_s:
            data += E * s[r]
        else:
            data += E
    loss = 0.5 * float(data) if out_code == 0 else float(data)
    if alpha != 0.0:  # restates: core.losses.l2_penalty
        squares = zero
        for l in range(2, L + 1):
            wo = offsets[l, 0]
            for q in range(wo, wo + sizes[l] * sizes[l - 1]):
                squares += theta[q] * theta[q]
        loss += 0.5 * alpha * float(squares)
    return loss / N


@_inline
def scale_output_delta(Dl, s, has_s, order, start, nb, row0, n_out, inv_N):  # pragma: no cover
    """δ^(L) ← δ^(L) s_n / N: every δ, and so every gradient, is then divided by N."""
    # restates: core.network.Network.backprop
    for k in range(n_out):
        row = Dl[row0 + k * nb:row0 + (k + 1) * nb]  # a slice from 0: vectorised (see hidden_f)
        if has_s:
            for n in range(nb):
                row[n] = row[n] * (s[order[start + n]] * inv_N)
        else:
            for n in range(nb):
                row[n] = row[n] * inv_N


@_inline
def outer_sum(M, mo, P, po, Q, qo, n_p, n_q, nb, T, zero):  # pragma: no cover - compiled
    """M[mo + p n_q + q] = Σ_n P_p[n] Q_q[n] (rows of nb samples at po, qo) as the samples'
    outer products added one after another, each an axpy along a row of M; T: Q, one row per
    sample."""
    for q in range(n_q):
        col = Q[qo + q * nb:qo + (q + 1) * nb]
        for n in range(nb):
            T[n * n_q + q] = col[n]
    for p in range(n_p):
        m_row = M[mo + p * n_q:mo + (p + 1) * n_q]
        for q in range(n_q):
            m_row[q] = zero
        p_row = P[po + p * nb:po + (p + 1) * nb]
        for n in range(nb):
            x = p_row[n]
            t_row = T[n * n_q:(n + 1) * n_q]
            for q in range(n_q):
                m_row[q] += x * t_row[q]


@_inline
def delta_below(theta, Dl, A, wo, do, dpo, n_l, n_prev, nb, code, c):  # pragma: no cover - compiled
    """δ^(l-1) = f'(u^(l-1)) ⊙ (W^(l))ᵀ δ^(l): δ_i^(l-1) = f'(u_i^(l-1)) Σ_j w_ji^(l) δ_j^(l)."""
    # restates: core.network.Network.backprop
    zero = c[C_ZERO]
    Dl[dpo:dpo + n_prev * nb] = zero
    for j in range(n_l):
        d_row = Dl[do + j * nb:do + (j + 1) * nb]
        w_row = theta[wo + j * n_prev:wo + (j + 1) * n_prev]
        for i in range(n_prev):
            w = w_row[i]
            p_row = Dl[dpo + i * nb:dpo + (i + 1) * nb]
            for n in range(nb):
                p_row[n] += w * d_row[n]
    hidden_df(code, Dl, A, dpo, dpo + n_prev * nb, c)


@_inline
def layer_gradient(theta, grad, A, Dl, T, G, sizes, offsets, l, nb, alpha, a_N, zero):  # pragma: no cover
    """∂E/∂w_ji^(l) = Σ_n δ_j^(l) z_i^(l-1) (+ (α/N) w_ji^(l)), ∂E/∂b_j^(l) = Σ_n δ_j^(l)."""
    # restates: core.network.Network.backprop
    n_l, n_prev = sizes[l], sizes[l - 1]
    wo, bo, do, dpo = offsets[l, 0], offsets[l, 1], offsets[l, 2], offsets[l - 1, 2]
    for j in range(n_l):
        grad[bo + j] = batch_sum(Dl, do + j * nb, nb, zero)
    # Σ_n δ_j z_i along the batch would be a reduction, not vectorised without fastmath: the
    # axpys run along the longer side, rows of ∂E/∂W^(l), or rows of G = ∂E/∂W^(l)ᵀ copied back
    if n_prev >= n_l:
        outer_sum(grad, wo, Dl, do, A, dpo, n_l, n_prev, nb, T, zero)
    else:
        outer_sum(G, 0, A, dpo, Dl, do, n_prev, n_l, nb, T, zero)
        for j in range(n_l):
            g_row = grad[wo + j * n_prev:wo + (j + 1) * n_prev]
            for i in range(n_prev):
                g_row[i] = G[i * n_l + j]
    if alpha != 0.0:  # restates: core.losses.l2_gradient (a_N = α/N)
        g, w = grad[wo:wo + n_l * n_prev], theta[wo:wo + n_l * n_prev]
        for q in range(g.shape[0]):
            g[q] = g[q] + w[q] * a_N


@jit
def epoch(X, D, s, has_s, order, batch_size, sizes, codes, offsets, theta, grad, A, Dl, T, G, c,
          alpha, opt, st1, st2, lr_init, b1, b2, t, lr):  # pragma: no cover - compiled
    """Every batch of one epoch; returns (Σ batch loss × batch rows, finite, t, lr)."""
    L = sizes.shape[0] - 1
    n_total = order.shape[0]
    accumulated = 0.0
    finite = True
    start = 0
    while start < n_total:
        nb = min(batch_size, n_total - start)
        load_batch(X, order, start, nb, sizes[1], A)
        N = batch_weight(s, has_s, order, start, nb, c[C_ZERO])
        # forward: u^(l) = W^(l) z^(l-1) + b^(l), z^(l) = f(u^(l)) (hidden_f called here, not
        # from a helper: one level less of inlining keeps tanh inlined into its loop)
        for l in range(2, L + 1):
            affine(theta, A, sizes, offsets, l, nb, c[C_ZERO])
            if l < L:
                hidden_f(codes[l], A, offsets[l, 2], offsets[l, 2] + sizes[l] * nb, c)
        loss = batch_loss(A, Dl, D, s, has_s, order, start, nb, sizes, codes, offsets, L, theta, alpha,
                          N, c)
        scale_output_delta(Dl, s, has_s, order, start, nb, offsets[L, 2], sizes[L], cast(c, 1.0 / N))
        # backward, l = L … 2: the gradients of layer l, then δ^(l-1) from δ^(l)
        a_N = cast(c, alpha / N)  # restates: core.losses.l2_gradient
        for l in range(L, 1, -1):
            layer_gradient(theta, grad, A, Dl, T, G, sizes, offsets, l, nb, alpha, a_N, c[C_ZERO])
            if l > 2:
                delta_below(theta, Dl, A, offsets[l, 0], offsets[l, 2], offsets[l - 1, 2], sizes[l],
                            sizes[l - 1], nb, codes[l - 1], c)
        if not math.isfinite(loss):
            finite = False
            break
        accumulated += loss * nb
        if opt == ADAM:
            t += 1
            lr = adam(theta, grad, st1, st2, c, lr_init, b1, b2, t)
        else:
            sgd(opt, theta, grad, st1, c)
        start += nb
    return accumulated, finite, t, lr
