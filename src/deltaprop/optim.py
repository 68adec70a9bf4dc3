"""Optimisers.  For now the seed's "gradient method": plain full-batch gradient descent."""

from __future__ import annotations

import numpy as np

__all__ = ["gradient_descent"]


def gradient_descent(net, X, D, *, learning_rate=0.1, n_epochs=100, alpha=0.0, sample_weight=None):
    """Full-batch gradient descent, the seed's gradient method: w ← w - η ∂E/∂w.

    Updates ``net`` in place and returns the loss history: the loss before each step,
    followed by the loss after the last one (``n_epochs + 1`` numbers).
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive; got {learning_rate!r}")
    X = net.check_X(X)
    D = net.check_D(D, X.shape[0])
    s = net.check_sample_weight(sample_weight, X.shape[0])
    history = []
    for _ in range(int(n_epochs)):
        grads = net.backprop(X, D, float(alpha), s)
        history.append(grads.loss)
        if not np.isfinite(grads.loss):
            raise FloatingPointError(
                f"the loss became {grads.loss}; lower the learning rate (now {learning_rate})"
            )
        for l in net.layers:
            net.W[l] -= learning_rate * grads.W[l]
            net.b[l] -= learning_rate * grads.b[l]
    history.append(net._batch_loss(net._forward(X), D, float(alpha), s))
    return history
