"""A whole epoch of a small network in one compiled call (numba).

For a small network the numpy path (:class:`deltaprop.speed.backprop.BatchBackprop` plus
:mod:`deltaprop.core.optim`) spends almost all of its time in the overhead of numpy calls.
Here one call of a numba-compiled kernel (:mod:`deltaprop.speed.epoch`) runs every mini-batch
of an epoch -- forward pass, loss, the δ recursion, gradients, the L2 term and the optimiser
step -- in the order of the numpy loop, :func:`deltaprop.training.loop.numpy_epoch`: batches
``order[start:start + batch_size]``, the batch loss (Σ_n s_n E_n + ½ α Σ_l ‖W^(l)‖²) / N and
its gradient, a batch whose loss is not finite ending the epoch before its step, the step of
:class:`~deltaprop.core.optim.SGD` or :class:`~deltaprop.core.optim.Adam` with their roundings.

Sums run in another order than numpy's BLAS: the results agree with the numpy path to
rounding, not to the bit.  One generic kernel (codes of :mod:`deltaprop.speed.registry`,
offset tables) serves every network, compiled once per dtype and cached on disk.
``docs/performance.md`` ("The compiled epoch") has the measurements behind the size limits.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from deltaprop.core.activations import LEAKY_RELU_SLOPE
from deltaprop.core.optim import SGD, Adam
from deltaprop.speed import fused
from deltaprop.speed.registry import EPOCH_HIDDEN, EPOCH_OUTPUT, EPOCH_STEPS
from deltaprop.speed.switch import use_compiled

__all__ = ["supported", "run_epoch"]

#: the compiled path is taken while (number of parameters P) × (batch size b) is at most this
#: (a hidden tanh, logistic or softplus: an exp or tanh per unit and sample), beyond which
#: the numpy path is faster
_MAX_WORK = 12000
#: the same for networks whose hidden layers are all identity, relu or leaky relu
_MAX_WORK_PIECEWISE_LINEAR = 30000
_PIECEWISE_LINEAR = frozenset({"identity", "relu", "leaky_relu"})


def supported(net: Any, optimizer: Any, X: Any, sample_weight: Any, batch_size: int) -> bool:
    """True when :func:`run_epoch` applies: dense float32/float64 data, a pair and hidden
    activations with a code in :mod:`deltaprop.speed.registry`, SGD or Adam without clipping (not
    AdamW), a network small enough that the compiled loops win, outside the switches.  It reads
    these arguments alone, never what the process loaded or ran before."""
    hidden = {net.layer_activation[l] for l in range(2, net.L)}
    if (not use_compiled() or type(optimizer) not in (SGD, Adam) or optimizer.max_grad_norm is not None
            or not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype != net.dtype
            or net.dtype not in (np.float32, np.float64)
            or EPOCH_OUTPUT.get((net.loss_name, net.output)) is None
            or any(EPOCH_HIDDEN.get(name) is None for name in hidden)):
        return False
    # a batch of zero weights has no mean loss: the numpy path raises there, as scikit-learn
    # does, where the kernel would see an infinite loss and call it divergence
    s = sample_weight
    if s is not None and not (isinstance(s, np.ndarray) and (s != 0).all()):
        return False
    limit = _MAX_WORK_PIECEWISE_LINEAR if hidden <= _PIECEWISE_LINEAR else _MAX_WORK
    return net.n_parameters * int(batch_size) <= limit and fused.numba_available()


def kernel() -> ModuleType:
    """:mod:`deltaprop.speed.epoch`, imported (numba loaded) on first use."""
    from deltaprop.speed import epoch

    return epoch


def _key(net: Any, batch_size: int) -> tuple:
    return (tuple(net.sizes), tuple(net.layer_activation.get(l) for l in range(2, net.L)),
            net.loss_name, net.output, np.dtype(net.dtype), int(batch_size))


class _Workspace:
    """The kernel's buffers and tables for one network and batch size, kept for a whole fit;
    tables indexed by the seed's layer number l = 1 … L (index 0 unused)."""

    def __init__(self, net: Any, batch_size: int) -> None:
        ep = kernel()
        self.key = _key(net, batch_size)
        dtype = net.dtype
        L, m = net.L, int(batch_size)
        self.sizes = np.array((0, *net.sizes), dtype=np.int64)
        self.codes = np.array([0, 0] + [EPOCH_HIDDEN[net.layer_activation[l]] for l in range(2, L)]
                              + [EPOCH_OUTPUT[(net.loss_name, net.output)]], dtype=np.int64)
        # offsets[l] = (where W^(l) starts in θ, where b^(l) starts, where layer l's rows start in A, Dl)
        n, weights = self.sizes[1:], self.sizes[2:] * self.sizes[1:-1]
        self.offsets = np.zeros((L + 1, 3), dtype=np.int64)
        self.offsets[2:, 0] = np.cumsum(weights + n[1:]) - weights - n[1:]
        self.offsets[2:, 1] = self.offsets[2:, 0] + weights
        self.offsets[1:, 2] = m * (np.cumsum(n) - n)
        self.A, self.Dl = np.zeros(m * n.sum(), dtype=dtype), np.zeros(m * n.sum(), dtype=dtype)
        # T: z^(l-1) or δ^(l), one row per sample; G: ∂E/∂W^(l)ᵀ (deltaprop.speed.epoch)
        self.T = np.zeros(m * max(net.sizes), dtype=dtype)
        self.G = np.zeros(max(w.size for w in net.W.values()), dtype=dtype)
        self.c = np.zeros(ep.C_SIZE, dtype=dtype)
        self.c[[ep.C_ONE, ep.C_SLOPE, ep.C_ONE_MINUS_SLOPE]] = (1.0, LEAKY_RELU_SLOPE,
                                                                1.0 - LEAKY_RELU_SLOPE)
        self.no_weights = self.no_state = np.zeros(0, dtype=dtype)


def _workspace(optimizer: Any, net: Any, batch_size: int) -> _Workspace:
    """The workspace cached on the optimiser (which lives as long as the fit)."""
    ws = optimizer.__dict__.get("_compiled_workspace")
    if ws is None or ws.key != _key(net, batch_size):
        ws = optimizer._compiled_workspace = _Workspace(net, batch_size)
    return ws


def _optimizer_state(optimizer: Any, ws: _Workspace) -> tuple:
    """(code, state 1, state 2, η_0, β₁, β₂, t) of the optimiser, its constants set in ws.c."""
    ep, c = kernel(), ws.c
    if isinstance(optimizer, Adam):
        b1, b2 = float(optimizer.beta_1), float(optimizer.beta_2)
        c[ep.C_B1], c[ep.C_ONE_MINUS_B1] = b1, 1 - b1
        c[ep.C_B2], c[ep.C_ONE_MINUS_B2] = b2, 1 - b2
        c[ep.C_EPS] = optimizer.epsilon
        return (EPOCH_STEPS["adam"], optimizer.ms[0], optimizer.vs[0],
                float(optimizer.base_rate), b1, b2, int(optimizer.t))
    mu, eta = optimizer.momentum, float(optimizer.learning_rate)
    kind = "sgd" if mu == 0 else ("nesterov" if optimizer.nesterov else "momentum")
    c[ep.C_ETA], c[ep.C_MU] = eta, mu
    return EPOCH_STEPS[kind], optimizer.velocities[0], ws.no_state, 0.0, 0.0, 0.0, 0


def run_epoch(net: Any, theta: np.ndarray, flat_grad: np.ndarray, X: np.ndarray, D: np.ndarray,
              sample_weight: np.ndarray | None, order: np.ndarray, batch_size: int, alpha: float,
              optimizer: SGD | Adam) -> tuple[float, bool]:
    """One epoch of mini-batches in one compiled call (module docstring): ``(accumulated_loss,
    finite)``, each batch's loss added times its row count, ``finite`` False when a batch's loss
    was not (the epoch ends before its step).  ``theta`` is the vector ``net.W``/``net.b`` are
    views of (:func:`deltaprop.speed.backprop.flat_parameters`); ``flat_grad``, packed alike, holds
    the last batch's gradient on return; the optimiser's state is updated as its ``update`` would.
    """
    ep, ws, dtype = kernel(), _workspace(optimizer, net, batch_size), net.dtype
    X, D = np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(D, dtype=dtype)
    has_s = sample_weight is not None
    s = np.ascontiguousarray(sample_weight, dtype=dtype) if has_s else ws.no_weights
    order = np.ascontiguousarray(order, dtype=np.int64)
    opt, st1, st2, lr_init, b1, b2, t = _optimizer_state(optimizer, ws)
    accumulated, finite, t, lr = ep.epoch(
        X, D, s, has_s, order, int(batch_size), ws.sizes, ws.codes, ws.offsets, theta, flat_grad,
        ws.A, ws.Dl, ws.T, ws.G, ws.c, float(alpha), opt, st1, st2, lr_init, b1, b2, t,
        float(optimizer.learning_rate),
    )
    if isinstance(optimizer, Adam):
        optimizer.t = int(t)
        optimizer.learning_rate = float(lr)
    return float(accumulated), bool(finite)
