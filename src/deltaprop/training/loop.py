"""The training loop: epochs of shuffled mini-batches (SGD, Adam), or L-BFGS, step for step
scikit-learn's (the same ``random_state`` draws the same split and shuffles).

The epochs' backend (:func:`_epoch_backend`: the compiled epoch, else batch by batch) is chosen
from the call's arguments only, never from what the process ran before (``docs/performance.md``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from deltaprop.core.optim import SGD, Adam, AdamW
from deltaprop.speed import compiled, fused
from deltaprop.speed.backprop import DropoutBatchBackprop, batch_backprop, flat_parameters
from deltaprop.speed.switch import use_compiled, use_plain
from deltaprop.training import divergence, progress
from deltaprop.training.divergence import DivergenceWarning
from deltaprop.training.lbfgs import fit_lbfgs, gradient_norms
from deltaprop.training.state import TrainingSettings, TrainingState
from deltaprop.training.stopping import convergence_warning

__all__ = ["fit", "fit_stochastic", "fit_lbfgs", "gradient_norms", "DivergenceWarning",
           "make_optimizer", "resolve_batch_size", "warn_max_iter", "numpy_epoch",
           "follow_settings", "record_epoch", "holdout"]


#: the size of a block of gathered shuffled batches (_gather_blocks)
_GATHER_BLOCK_BYTES = 64 * 2**10


def fit(net, X, D, sample_weight, settings: TrainingSettings, state: TrainingState, *,
        incremental: bool = False, rng: Any = None, validation: tuple | None = None) -> TrainingState:
    """Train ``net`` in place, continuing ``state``; returns ``state``.

    X (C-ordered when dense) and D are of the network's dtype.  ``incremental``: ``partial_fit``'s
    one epoch, the optimiser kept.  ``rng``: a RandomState, or a function making it at the first
    draw.  ``validation``: the user's ``(X_val, D_val, sw_val)``; None holds out
    ``validation_fraction`` of X.
    """
    state.begin_call()
    if not settings.stochastic and (np.any(np.asarray(settings.dropout, dtype=float) > 0)
                                    or settings.max_grad_norm is not None):
        raise ValueError("dropout and max_grad_norm need a stochastic solver (sgd, adam or adamw); "
                         "L-BFGS minimises one deterministic loss without steps to clip")
    if settings.stochastic:
        fit_stochastic(net, X, D, sample_weight, settings, state, incremental=incremental, rng=rng,
                       validation=validation)
    else:
        state.backprop = None
        fit_lbfgs(net, X, D, sample_weight, settings, state, batch_backprop(net, X.shape[0], settings.alpha))
    return state


def make_optimizer(settings: TrainingSettings, params: list[np.ndarray]) -> SGD | Adam:
    """The stochastic optimiser (``solver`` "sgd", "adam" or "adamw") for ``params``."""
    s = settings
    if s.solver == "sgd":
        return SGD(params, s.learning_rate_init, s.learning_rate, s.momentum, s.nesterovs_momentum,
                   s.power_t, step=fused.sgd_step, max_grad_norm=s.max_grad_norm, n_epochs=s.max_iter,
                   warmup=s.warmup_iter)
    # Adam and AdamW follow only the cosine schedule (scikit-learn's others are SGD's)
    options: dict[str, Any] = dict(step=fused.adam_step, max_grad_norm=s.max_grad_norm, n_epochs=s.max_iter,
                                   warmup=s.warmup_iter,
                                   schedule="cosine" if s.learning_rate == "cosine" else "constant")
    if s.solver == "adamw":
        return AdamW(params, s.learning_rate_init, s.beta_1, s.beta_2, s.epsilon, s.weight_decay, **options)
    return Adam(params, s.learning_rate_init, s.beta_1, s.beta_2, s.epsilon, **options)


class _Data(NamedTuple):
    X: Any
    D: np.ndarray
    sample_weight: np.ndarray | None
    X_val: Any = None
    D_val: Any = None
    sw_val: Any = None


def holdout(n_samples: int, fraction: float, random_state: Any, stratify: Any = None, *,
            strict: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(train, val)`` rows of ``train_test_split`` (early stopping's and ``deltaprop train``'s).
    ``strict=False``: labels that cannot be stratified get a plain split instead of scikit-learn's
    ValueError (whose checks come before any draw, so ``random_state`` is as it was)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(n_samples)
    try:
        train, val = train_test_split(rows, test_size=fraction, random_state=random_state, stratify=stratify)
    except ValueError:
        if strict or stratify is None:
            raise
        train, val = train_test_split(rows, test_size=fraction, random_state=random_state)
    return train, val


def _split_validation(X, D, sample_weight, settings: TrainingSettings, random_state) -> _Data:
    """The held-out ``validation_fraction`` of the rows (:func:`holdout`), stratified for binary
    targets (policy "binary", scikit-learn's) or every single-label one where it can be ("classes")."""
    stratify = None
    if settings.stratify == "binary" and D.shape[1] == 1:
        stratify = D != 0  # the classes as boolean targets, so scikit-learn's messages name them alike
    elif settings.stratify == "classes":
        stratify = D[:, 0] != 0 if D.shape[1] == 1 else D.argmax(axis=1)
    train, val = holdout(X.shape[0], settings.validation_fraction, random_state, stratify,
                         strict=settings.stratify != "classes")
    if val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
        )
    sw = (None, None) if sample_weight is None else (sample_weight[train], sample_weight[val])
    return _Data(X[train], D[train], sw[0], _rows(X, val), D[val], sw[1])


def _rows(X, index):  # dense rows (sparse X is densified one batch at a time)
    batch = X[index]
    return batch.toarray() if hasattr(batch, "toarray") else batch


def _random_state_source(rng):
    """A function returning ``rng``, or ``rng()`` made at the first call (cheaper than functools.cache)."""
    if not callable(rng):
        return lambda: rng
    made = None

    def random_state():
        nonlocal made
        if made is None:
            made = rng()
        return made

    return random_state


def _shuffled(sample_idx, random_state):
    """``sklearn.utils.shuffle(sample_idx, random_state=rng)``'s order, without its validation."""
    if sample_idx.shape[0] <= 1:
        return sample_idx
    order = np.arange(sample_idx.shape[0])
    random_state().shuffle(order)
    return sample_idx[order]


def resolve_batch_size(settings: TrainingSettings, n_samples: int, *, warn: bool = True) -> int:
    """scikit-learn's: "auto" is min(200, n); a size above n is clipped, with its warning (none
    with ``warn=False``, for estimates made before the run)."""
    if settings.batch_size == "auto":
        return min(200, n_samples)
    if warn and int(settings.batch_size) > n_samples:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                      stacklevel=5)
    return int(np.clip(settings.batch_size, 1, n_samples))


def _batch_backprop(state: TrainingState, net, batch_size: int, alpha: float, incremental: bool,
                    dropout: Any = 0.0, random_state: Any = None):
    """A BatchBackprop, kept in the state for a loop of partial_fit calls while network, batch size,
    L2 strength and path stay the same (never with dropout: fresh masks)."""
    if not incremental or np.any(np.asarray(dropout, dtype=float) > 0):
        state.backprop = None
        return batch_backprop(net, batch_size, alpha, dropout=dropout, random_state=random_state)
    # the same network keeps its sizes, dtype, loss and output; its hidden activations may
    # change in place (warm starts follow ``activation``)
    key = (batch_size, float(alpha), net.activation, use_plain(), use_compiled())
    cached = state.backprop
    if cached is not None and cached[0] is net and cached[1] == key:
        return cached[2]
    backprop = batch_backprop(net, batch_size, alpha)
    state.backprop = (net, key, backprop)
    return backprop


def _epoch_backend(net, backprop, optimizer, params, data: _Data, batch_size: int, settings) -> Callable:
    """``run_epoch(order) -> (loss sum, finite, grad_W)``: one compiled call, else :func:`numpy_epoch`."""
    X, D, sw = data.X, data.D, data.sample_weight
    dropout = isinstance(backprop, DropoutBatchBackprop)  # the plain path: no compiled epoch
    if not dropout and compiled.supported(net, optimizer, X, sw, batch_size):
        def compiled_epoch(order):
            loss, finite = compiled.run_epoch(net, params[0], backprop.flat_grad, X, D, sw, order,
                                              batch_size, settings.alpha, optimizer)
            return loss, finite, backprop.grad_W  # views of flat_grad: the last batch's
        return compiled_epoch
    blocks = None
    if settings.shuffle and not hasattr(X, "toarray"):
        blocks = _gather_blocks(X, D, sw, batch_size)

    def batched_epoch(order):
        return numpy_epoch(backprop, optimizer, params, X, D, sw,
                            order if settings.shuffle else None, batch_size, blocks)
    return batched_epoch


def fit_stochastic(net, X, D, sample_weight, settings: TrainingSettings, state: TrainingState, *,
                   incremental: bool, rng: Any, validation: tuple | None = None) -> TrainingState:
    """:func:`fit` by SGD or Adam: ``max_iter`` epochs, or one when ``incremental``."""
    if settings.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    random_state = _random_state_source(rng)
    # one vector θ whose views are net.W and net.b: the optimiser steps all of it at once
    params = [flat_parameters(net)]
    if not incremental or state.optimizer is None:
        state.optimizer = make_optimizer(settings, params)
    if settings.early_stopping and validation is not None:
        data = _Data(X, D, sample_weight, *validation)
    elif settings.early_stopping:
        data = _split_validation(X, D, sample_weight, settings, random_state())
    else:
        data = _Data(X, D, sample_weight)
    batch_size = resolve_batch_size(settings, data.X.shape[0])
    backprop = _batch_backprop(state, net, batch_size, settings.alpha, incremental, settings.dropout,
                               random_state)
    run_epoch = _epoch_backend(net, backprop, state.optimizer, params, data, batch_size, settings)
    follow_settings(state, settings)
    state.n_iter = 0
    total = 1 if incremental else settings.max_iter
    # overflow is detected (non-finite loss or weights) and reported once, in words
    quiet = np.errstate(over="ignore", invalid="ignore")
    with progress.for_verbose(settings.verbose, settings.label, total) as display, quiet:
        if state.finite_epochs == 0 and not math.isfinite(state.reference_loss):
            state.reference_loss = divergence.reference_loss(net, data.X, data.D, data.sample_weight,
                                                             settings.alpha)
        _run_epochs(net, params, data, settings, state, run_epoch, display, random_state, incremental)
    if settings.early_stopping and state.best_theta is not None:
        net.set_flat(state.best_theta)  # the weights of the best validation score
    return state


def follow_settings(state: TrainingState, settings: TrainingSettings) -> None:
    """The stopping rule takes the current ``tol`` and ``n_iter_no_change``, as scikit-learn's (a run
    continued from L-BFGS gets its first rule here)."""
    if state.stopping is None:
        fresh = TrainingState.start(settings, np.empty(0))
        state.stopping, state.validation_scores = fresh.stopping, fresh.validation_scores
        state.validation_loss_curve = fresh.validation_loss_curve
    assert state.stopping is not None  # a stochastic run's state always has one
    state.stopping.patience, state.stopping.tol = settings.n_iter_no_change, settings.tol


def _run_epochs(net, params, data: _Data, settings, state, run_epoch, display, random_state,
                incremental) -> None:
    sample_idx = np.arange(data.X.shape[0], dtype=int)
    last = None
    try:
        for _ in range(settings.max_iter):
            last = net.get_flat()
            if settings.shuffle:
                # shuffle indices, not data: the same draw as scikit-learn's
                sample_idx = _shuffled(sample_idx, random_state)
            loss_sum, finite, grad_W = run_epoch(sample_idx)
            loss = np.float64(loss_sum / data.X.shape[0])  # a numpy float, as scikit-learn's
            if divergence.after_epoch(net, last, finite, params, loss, settings, state):
                break
            record_epoch(state, loss, data.X.shape[0], gradient_norms(grad_W))
            score = _validate(net, data, settings, state)
            display.epoch(state.n_iter, loss, validation_score=score)
            state.optimizer.iteration_ends(state.t)  # for invscaling
            stop_requested = bool(settings.on_epoch(state)) if settings.on_epoch is not None else False
            if _stopping_says_stop(settings, state, display) or stop_requested or incremental:
                break
            if state.n_iter == settings.max_iter:
                warn_max_iter(settings.max_iter)
    except KeyboardInterrupt:
        state.interrupted = True
        warnings.warn("Training interrupted by user.", stacklevel=5)
        if last is not None and not all(np.isfinite(p).all() for p in params):
            net.set_flat(last)


def record_epoch(state: TrainingState, loss, n_samples: int, norms: dict[int, float]) -> None:
    state.n_iter += 1
    state.finite_epochs += 1
    state.loss = loss
    state.t += n_samples
    state.loss_curve.append(loss)
    state.gradient_norms.append(norms)


def _validate(net, data: _Data, settings: TrainingSettings, state: TrainingState) -> float | None:
    """Feed the stopping rule the validation score (keeping the best weights) or the training loss."""
    rule = state.stopping
    if not settings.early_stopping:
        if rule is not None:
            rule.update(state.loss)
        return None
    fwd = net._forward(data.X_val)
    assert state.validation_loss_curve is not None and state.validation_scores is not None
    assert rule is not None
    loss = net._batch_loss(fwd, data.D_val, float(settings.alpha), data.sw_val)
    state.validation_loss_curve.append(loss)
    # no score given: the validation loss itself is watched (its negative: higher is better)
    score = -loss if settings.score is None else settings.score(
        data.X_val, np.ascontiguousarray(fwd.y.T), data.D_val, data.sw_val)
    state.validation_scores.append(score)
    if rule.update(score):
        state.best_theta = net.get_flat()
    return score


def _stopping_says_stop(settings: TrainingSettings, state: TrainingState, display) -> bool:
    rule = state.stopping
    if rule is None or not rule.exhausted:
        return False
    what = "Validation score" if settings.early_stopping else "Training loss"
    msg = (f"{what} did not improve more than tol={settings.tol:f} for "
           f"{settings.n_iter_no_change} consecutive epochs.")
    is_stopping = state.optimizer.trigger_stopping()
    display.note(f"{msg} {state.optimizer.stopping_note()}")
    if not is_stopping:
        rule.restart()
    return bool(is_stopping)


def warn_max_iter(max_iter: int, stacklevel: int = 6) -> None:
    """scikit-learn's warning for a run that ends at ``max_iter`` epochs without stopping."""
    warnings.warn(
        f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
        "optimization hasn't converged yet.",
        convergence_warning(),
        stacklevel=stacklevel,
    )


def _gather_blocks(X, D, sample_weight, batch_size):
    """Buffers into which :func:`numpy_epoch` gathers shuffled rows a block of whole batches at a
    time: each batch a contiguous slice, two numpy calls a block, never a second copy of X."""
    row_bytes = X.itemsize * X.shape[1] + D.itemsize * D.shape[1]
    batches_per_block = max(1, _GATHER_BLOCK_BYTES // (batch_size * row_bytes))
    block_rows = min(X.shape[0], batch_size * batches_per_block)
    X_block = np.empty((block_rows, X.shape[1]), dtype=X.dtype)
    D_block = np.empty((block_rows, D.shape[1]), dtype=D.dtype)
    sw_block = None if sample_weight is None else np.empty(block_rows, dtype=sample_weight.dtype)
    return X_block, D_block, sw_block


def _batch_from_block(X, D, sample_weight, order, blocks, start, stop):
    X_block, D_block, sw_block = blocks
    block_rows = X_block.shape[0]
    offset = start % block_rows
    if offset == 0:
        block = order[start : start + block_rows]
        k = block.shape[0]
        np.take(X, block, axis=0, out=X_block[:k], mode="clip")
        np.take(D, block, axis=0, out=D_block[:k], mode="clip")
        if sw_block is not None:
            np.take(sample_weight, block, out=sw_block[:k], mode="clip")
    rows = slice(offset, offset + stop - start)
    return X_block[rows], D_block[rows], None if sw_block is None else sw_block[rows]


def numpy_epoch(backprop, optimizer, params, X, D, sample_weight, order, batch_size, blocks):
    """One epoch batch by batch, ``(loss sum, finite, last grad_W)``, as the compiled ``run_epoch``.
    ``order`` None: rows in turn; shorter than X: those rows only.  A non-finite batch loss ends
    the epoch before its step."""
    n_samples = X.shape[0] if order is None else len(order)
    accumulated_loss = 0.0
    grad_W = None
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        if blocks is not None:
            X_batch, D_batch, sw_batch = _batch_from_block(X, D, sample_weight, order, blocks, start, stop)
        else:
            index = slice(start, stop) if order is None else order[start:stop]
            X_batch = _rows(X, index)
            D_batch = D[index]
            sw_batch = None if sample_weight is None else sample_weight[index]
        batch_loss, grad_W, _ = backprop(X_batch, D_batch, sw_batch)
        if not math.isfinite(batch_loss):
            return accumulated_loss, False, grad_W
        accumulated_loss += batch_loss * (stop - start)
        optimizer.update(params, [backprop.flat_grad])
    return accumulated_loss, True, grad_W
