"""Fast paths for training: loss and gradients of mini-batches with reused buffers.

The training loop asks a :class:`BatchBackprop` for the loss and gradients of each
mini-batch.  This plain version delegates to :meth:`Network.backprop`; a faster
implementation keeps the same interface and is held equal to it by the tests.
"""

from __future__ import annotations

__all__ = ["BatchBackprop"]


class BatchBackprop:
    """Loss and gradients of mini-batches of one network.

    Parameters
    ----------
    net : Network
        The network; its parameters are read (never written) at every call.
    max_batch_size : int
        The largest batch that will be passed (buffers may be sized for it).
    alpha : float
        L2 strength, as in :meth:`Network.loss`.

    Calling it with X (n, n_1), D (n, n_L) of the network's dtype, and optional sample
    weights (n,), returns ``(loss, grad_W, grad_b)``: the batch loss as a float and dicts
    keyed by layer l = 2 … L.  The returned arrays may be reused by the next call.
    """

    def __init__(self, net, max_batch_size, alpha=0.0):
        self.net = net
        self.max_batch_size = int(max_batch_size)
        self.alpha = float(alpha)

    def __call__(self, X, D, sample_weight=None):
        g = self.net.backprop(X, D, self.alpha, sample_weight)
        return g.loss, g.W, g.b
