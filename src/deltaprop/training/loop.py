"""The training loop: epochs of shuffled mini-batches, stopping rules, history, progress.

The functions here train the ``network_`` of a deltaprop estimator (``MLPRegressor`` or
``MLPClassifier``): they read its hyperparameters (scikit-learn's names) and write its
fitted attributes (``loss_``, ``loss_curve_``, ``n_iter_``, ``t_`` …).  The semantics are
scikit-learn's, step for step, so that an estimator of each library with the same
``random_state`` draws the same initial weights, the same validation split and the same
shuffles:

- ``batch_size="auto"`` is min(200, n_samples); a larger one is clipped, with a warning.
- One epoch visits every training sample once, in an order reshuffled every epoch when
  ``shuffle`` is true (:func:`_shuffled`: the draw ``sklearn.utils.shuffle`` makes from the
  estimator's RandomState).
- ``loss_`` of an epoch is the mean of the mini-batch losses weighted by batch size; the
  losses are the network's (E_n summed over outputs, plus the L2 term).
- Without early stopping, an epoch "does not improve" when its loss is above
  ``best_loss_ - tol``; with early stopping, when its validation score is below
  ``best_validation_score_ + tol``.  More than ``n_iter_no_change`` such epochs in a row
  stop training (or, for ``learning_rate="adaptive"``, divide the learning rate by 5).
- ``t_`` counts the training samples seen, over all calls; ``n_iter_`` the epochs of the
  latest call.  Early stopping restores the weights of the best validation score.

Beyond scikit-learn: the validation loss curve, per-layer gradient norms, a callback after
every epoch, clean stops on Ctrl-C and on divergence, and a rich progress bar.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from deltaprop.core.optim import SGD, Adam, lbfgs
from deltaprop.speed import compiled, fused
from deltaprop.speed.backprop import batch_backprop, flat_parameters, foreign_blas_single_threaded
from deltaprop.speed.switch import use_plain

__all__ = ["fit_stochastic", "fit_lbfgs", "gradient_norms", "DivergenceWarning"]


#: shuffled data is gathered a block of batches of about this size at a time (fit_stochastic)
_GATHER_BLOCK_BYTES = 64 * 2**10


class DivergenceWarning(UserWarning):
    """Training stopped because the loss or the weights stopped being finite."""


def gradient_norms(grad_W):
    """{l: Frobenius norm of ∂E/∂W^(l)} for a dict of weight gradients keyed by layer."""
    return {l: float(np.linalg.norm(g)) for l, g in grad_W.items()}


def _rows(X, index):
    """Rows ``index`` of X as a dense array (sparse X is densified one batch at a time)."""
    batch = X[index]
    return batch.toarray() if hasattr(batch, "toarray") else batch


def _diverged_warning(est, what):
    rate = getattr(est, "learning_rate_init", None)
    warnings.warn(
        f"Training diverged: {what} stopped being finite, so training stopped and kept the "
        f"last finite weights. Lower learning_rate_init (now {rate}) or scale the data.",
        DivergenceWarning,
        stacklevel=4,
    )


def progress_bar(label, total, *, completed=0, stderr=False):
    """``(progress, task)`` of a :class:`deltaprop.training.progress.ProgressBar` (the
    command's bar until it uses that class)."""
    from deltaprop.training.progress import ProgressBar

    bar = ProgressBar(label, total, completed=completed, stderr=stderr)
    return bar.progress, bar.task


class _Progress:
    """The estimators' progress bar (epoch, loss, validation score) when ``verbose``; else nothing."""

    def __init__(self, verbose, total, label):
        self.bar = None
        if verbose:
            self.bar, self.task = progress_bar(label, total)

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False

    def epoch(self, loss, val_score=None):
        if self.bar is not None:
            val = "" if val_score is None else f"validation score {val_score:.4f}"
            self.bar.update(self.task, advance=1, loss=f"{loss:.6g}", val=val)

    def note(self, message):
        if self.bar is not None:
            self.bar.console.print(message)


def make_optimizer(est, params):
    """The estimator's stochastic optimiser (``solver`` "sgd" or "adam") for ``params``."""
    if est.solver == "sgd":
        return SGD(params, est.learning_rate_init, est.learning_rate, est.momentum,
                   est.nesterovs_momentum, est.power_t, step=fused.sgd_step)
    return Adam(params, est.learning_rate_init, est.beta_1, est.beta_2, est.epsilon, step=fused.adam_step)


def _random_state_source(rng):
    """A function returning ``rng``; when ``rng`` is itself a function, returning its result,
    made on the first call.  (functools.cache would do, but making it costs ≈1.5 µs, a
    partial_fit's worth of it; this closure ≈0.2 µs.)"""
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
    """``sample_idx`` in a random order: the draw ``sklearn.utils.shuffle(sample_idx,
    random_state=rng)`` makes (one ``rng.shuffle`` of an arange, rng = ``random_state()``),
    without its validation (≈0.1 ms, a partial_fit's worth).  One sample comes back as it
    is, without making rng: RandomState.shuffle draws nothing for it."""
    if sample_idx.shape[0] <= 1:
        return sample_idx
    order = np.arange(sample_idx.shape[0])
    random_state().shuffle(order)
    return sample_idx[order]


def _batch_backprop(est, net, batch_size, incremental):
    """A BatchBackprop for ``net`` and ``batch_size``.  For partial_fit it is kept on the
    estimator while network, batch size, L2 strength and path stay the same, so a loop of
    partial_fit calls does not allocate its buffers every call (the estimators leave it out
    of pickles); a fit (either solver) makes its own and drops any kept one (which would
    hold the buffers, and an old network, for as long as the estimator lives)."""
    if not incremental:
        est.__dict__.pop("_batch_backprop", None)
        return batch_backprop(net, batch_size, est.alpha)
    # the same network keeps its sizes, dtype, loss and output; its hidden activations may
    # change in place (the estimators' _follow_parameters)
    key = (batch_size, float(est.alpha), net.activation, use_plain())
    cached = est.__dict__.get("_batch_backprop")
    if cached is not None and cached[0] is net and cached[1] == key:
        return cached[2]
    backprop = batch_backprop(net, batch_size, est.alpha)
    est._batch_backprop = (net, key, backprop)
    return backprop


def _split_validation(est, X, D, sample_weight, rng):
    """scikit-learn's held-out split: ``validation_fraction`` of the samples, stratified by class.

    scikit-learn stratifies only binary targets; here every single-label classification is
    stratified (as its documentation says), where each class has at least two samples and
    both parts can hold every class.  Multilabel and regression targets are not stratified.
    """
    from sklearn.model_selection import train_test_split

    stratify = None
    if est._is_classifier() and not est._is_multilabel():
        labels = D[:, 0] if D.shape[1] == 1 else D.argmax(axis=1)
        _, counts = np.unique(labels, return_counts=True)
        n_val = math.ceil(est.validation_fraction * X.shape[0])
        if counts.min() >= 2 and min(n_val, X.shape[0] - n_val) >= counts.size:
            stratify = labels
    arrays = (X, D) if sample_weight is None else (X, D, sample_weight)
    parts = train_test_split(*arrays, random_state=rng, test_size=est.validation_fraction,
                             stratify=stratify)
    X_train, X_val, D_train, D_val = parts[:4]
    sw_train, sw_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
        )
    return X_train, X_val, D_train, D_val, sw_train, sw_val


def fit_stochastic(est, X, D, sample_weight, *, incremental, rng):
    """Train ``est.network_`` by SGD or Adam: ``max_iter`` epochs, or one when ``incremental``.

    Parameters
    ----------
    est : the estimator
        Hyperparameters are read from it; fitted attributes are written to it.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The inputs, of the network's dtype.
    D : ndarray of shape (n_samples, n_outputs)
        The targets d (one-hot or 0/1 for classifiers), of the network's dtype.
    sample_weight : ndarray of shape (n_samples,) or None
    incremental : bool
        True for ``partial_fit``: one epoch, optimiser state kept from the last call.
    rng : numpy.random.RandomState, or a function returning one
        Draws the validation split and the shuffles; a function is called when the first
        draw is needed (a partial_fit of one sample draws nothing).
    """
    random_state = _random_state_source(rng)
    net = est.network_
    # one vector θ whose views are net.W and net.b: the optimiser steps all of it at once
    params = [flat_parameters(net)]
    if not incremental or not hasattr(est, "_optimizer"):
        est._optimizer = make_optimizer(est, params)
    optimizer = est._optimizer

    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    early_stopping = est.early_stopping
    if early_stopping:
        X_train, X_val, D_train, D_val, sw_train, sw_val = _split_validation(
            est, X, D, sample_weight, random_state()
        )
        X_val = _rows(X_val, slice(None))
    else:
        X_train, D_train, sw_train = X, D, sample_weight
        X_val = D_val = sw_val = None

    n_samples = X_train.shape[0]
    sample_idx = np.arange(n_samples, dtype=int)
    if est.batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if est.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                stacklevel=4,
            )
        batch_size = int(np.clip(est.batch_size, 1, n_samples))

    from sklearn.exceptions import ConvergenceWarning

    backprop = _batch_backprop(est, net, batch_size, incremental)
    # a small network runs each epoch in one compiled call (compiled.py), else batch by batch
    use_compiled = compiled.supported(net, optimizer, X_train, sw_train, batch_size)
    blocks = None  # the numpy loop's buffers for shuffled dense data (see _gather_blocks)
    if est.shuffle and not use_compiled and not hasattr(X_train, "toarray"):
        blocks = _gather_blocks(X_train, D_train, sw_train, batch_size)
    callback = getattr(est, "callback", None)
    est.n_iter_ = 0
    total = 1 if incremental else est.max_iter
    # overflow is detected below (non-finite loss or weights) and reported once, in words
    quiet = np.errstate(over="ignore", invalid="ignore")
    with _Progress(est.verbose, total, type(est).__name__) as progress, quiet:
        try:
            for _ in range(est.max_iter):
                last_finite = net.get_flat()
                if est.shuffle:
                    # shuffle indices, not data: the same draw as scikit-learn's
                    sample_idx = _shuffled(sample_idx, random_state)
                if use_compiled:
                    accumulated_loss, finite = compiled.run_epoch(
                        net, params[0], backprop.flat_grad, X_train, D_train, sw_train, sample_idx,
                        batch_size, est.alpha, optimizer,
                    )
                    grad_W = backprop.grad_W  # views of flat_grad: the last batch's gradient
                else:
                    accumulated_loss, finite, grad_W = _numpy_epoch(
                        backprop, optimizer, params, X_train, D_train, sw_train,
                        sample_idx if est.shuffle else None, batch_size, blocks,
                    )
                if not finite or not all(np.isfinite(p).all() for p in params):
                    net.set_flat(last_finite)
                    est.diverged_ = True
                    _diverged_warning(est, "the loss" if not finite else "the weights")
                    break

                est.n_iter_ += 1
                # a numpy float, as scikit-learn's (so est.loss_.round(3) works there and here)
                est.loss_ = np.float64(accumulated_loss / n_samples)
                est.t_ += n_samples
                est.loss_curve_.append(est.loss_)
                est.gradient_norms_.append(gradient_norms(grad_W))
                _update_no_improvement_count(est, early_stopping, X_val, D_val, sw_val)
                progress.epoch(est.loss_, est.validation_scores_[-1] if early_stopping else None)

                # for a learning rate that changes at the end of each epoch (invscaling)
                optimizer.iteration_ends(est.t_)
                stop_requested = bool(callback(est)) if callback is not None else False

                if est._no_improvement_count > est.n_iter_no_change:
                    what = "Validation score" if early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={est.tol:f} for "
                           f"{est.n_iter_no_change} consecutive epochs.")
                    is_stopping = optimizer.trigger_stopping()
                    progress.note(f"{msg} {optimizer.stopping_note()}")
                    if is_stopping:
                        break
                    est._no_improvement_count = 0

                if stop_requested or incremental:
                    break

                if est.n_iter_ == est.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                        "optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
        except KeyboardInterrupt:
            est.interrupted_ = True
            warnings.warn("Training interrupted by user.", stacklevel=3)
            if not all(np.isfinite(p).all() for p in params):
                net.set_flat(last_finite)

    if early_stopping:
        # restore the weights of the best validation score
        net.set_flat(est._best_theta)
    if "loss_" not in est.__dict__:
        est.loss_ = math.nan  # stopped (diverged or interrupted) before the first epoch ended


def _gather_blocks(X, D, sample_weight, batch_size):
    """Buffers for shuffled dense data, ``(X_block, D_block, sw_block)``: :func:`_numpy_epoch`
    gathers the rows in shuffled order a block of batches (about ``_GATHER_BLOCK_BYTES``) at
    a time into them, so each batch is a contiguous slice, a block costs two numpy calls
    however many batches it holds, and memory holds one block, never a second copy of X.
    The block holds a whole number of batches, so a block starts with a batch."""
    row_bytes = X.itemsize * X.shape[1] + D.itemsize * D.shape[1]
    batches_per_block = max(1, _GATHER_BLOCK_BYTES // (batch_size * row_bytes))
    block_rows = min(X.shape[0], batch_size * batches_per_block)
    X_block = np.empty((block_rows, X.shape[1]), dtype=X.dtype)
    D_block = np.empty((block_rows, D.shape[1]), dtype=D.dtype)
    sw_block = None if sample_weight is None else np.empty(block_rows, dtype=sample_weight.dtype)
    return X_block, D_block, sw_block


def _numpy_epoch(backprop, optimizer, params, X, D, sample_weight, order, batch_size, blocks):
    """One epoch batch by batch: ``(accumulated_loss, finite, grad_W)``, as
    :func:`deltaprop.speed.compiled.run_epoch` computes it in one call.

    The batches are the rows ``order[start:start + batch_size]`` (``order`` None: the rows
    in turn); ``blocks`` are :func:`_gather_blocks`' buffers for shuffled dense data, else
    None.  Each batch's loss is added times its row count to ``accumulated_loss`` and the
    optimiser steps ``params``; a batch whose loss is not finite stops the epoch before its
    step.  ``grad_W`` is the last batch's gradient."""
    n_samples = X.shape[0]
    accumulated_loss = 0.0
    grad_W = None
    if blocks is not None:
        X_block, D_block, sw_block = blocks
        block_rows = X_block.shape[0]
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        if blocks is not None:
            offset = start % block_rows
            if offset == 0:
                block = order[start : start + block_rows]
                k = block.shape[0]
                np.take(X, block, axis=0, out=X_block[:k], mode="clip")
                np.take(D, block, axis=0, out=D_block[:k], mode="clip")
                if sw_block is not None:
                    np.take(sample_weight, block, out=sw_block[:k], mode="clip")
            rows = slice(offset, offset + stop - start)
            X_batch, D_batch = X_block[rows], D_block[rows]
            sw_batch = None if sw_block is None else sw_block[rows]
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


def _update_no_improvement_count(est, early_stopping, X_val, D_val, sw_val):
    """Count epochs without improvement (scikit-learn's rule) and keep the best weights."""
    if early_stopping:
        net = est.network_
        fwd = net._forward(X_val)
        est.validation_loss_curve_.append(net._batch_loss(fwd, D_val, float(est.alpha), sw_val))
        score = est._score_output(np.ascontiguousarray(fwd.y.T), D_val, sw_val)
        est.validation_scores_.append(score)
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_theta = net.get_flat()
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]


def fit_lbfgs(est, X, D, sample_weight):
    """Train ``est.network_`` by L-BFGS on the whole training set (scikit-learn's lbfgs solver).

    ``max_iter`` bounds the iterations, ``max_fun`` the loss evaluations, ``tol`` the largest
    gradient component.  ``loss_curve_`` and ``gradient_norms_`` get one entry per L-BFGS
    iteration, and ``callback(est)`` is called after each; True ends the run.
    """
    net = est.network_
    X = _rows(X, slice(None))
    backprop = _batch_backprop(est, net, X.shape[0], incremental=False)
    best = {"loss": math.inf, "theta": net.get_flat()}
    norms = {}  # gradient_norms of the latest evaluation

    def loss_and_gradient(theta):
        nonlocal norms
        net.set_flat(theta)
        loss, grad_W, _ = backprop(X, D, sample_weight)
        grad = backprop.flat_grad  # packed as get_flat packs θ
        norms = gradient_norms(grad_W)
        if math.isfinite(loss) and loss < best["loss"] and np.isfinite(grad).all():
            best["loss"], best["theta"] = loss, np.array(theta, copy=True)
        # scipy's L-BFGS-B works in float64
        return loss, np.array(grad, dtype=np.float64)  # a copy: the buffer is reused

    callback = getattr(est, "callback", None)
    stopped_by_callback = False
    est.loss_curve_ = []
    est.gradient_norms_ = []
    n_iter = 0

    def after_iteration(theta, loss):
        nonlocal stopped_by_callback, n_iter
        n_iter += 1
        # the callback sees the run as far as it got, as with sgd and adam
        est.n_iter_, est.loss_ = n_iter, float(loss)
        est.loss_curve_.append(float(loss))
        est.gradient_norms_.append(norms)
        progress.epoch(float(loss))
        if callback is not None:
            net.set_flat(theta)
            if callback(est):
                stopped_by_callback = True
                return True
        return False

    label = type(est).__name__ + " (lbfgs)"
    quiet = np.errstate(over="ignore", invalid="ignore")
    with _Progress(est.verbose, est.max_iter, label) as progress, quiet:
        try:
            # scipy's own BLAS on one thread, so it does not fight numpy's (see fast.py)
            with foreign_blas_single_threaded():
                result = lbfgs(loss_and_gradient, net.get_flat(), max_iter=est.max_iter,
                               max_fun=est.max_fun, tol=est.tol, callback=after_iteration)
        except KeyboardInterrupt:
            est.interrupted_ = True
            warnings.warn("Training interrupted by user.", stacklevel=3)
            net.set_flat(best["theta"])
            est.n_iter_ = n_iter
            est.loss_ = best["loss"]
            return

    theta, loss = result.x, float(result.fun)
    if not (math.isfinite(loss) and np.isfinite(theta).all()):
        est.diverged_ = True
        _diverged_warning(est, "the loss")
        theta, loss = best["theta"], best["loss"]
        est.n_iter_ = min(result.nit, est.max_iter)
    elif stopped_by_callback:
        est.n_iter_ = n_iter
    else:
        est.n_iter_ = lbfgs_iterations(result, est.max_iter)
    est.loss_ = loss
    net.set_flat(theta)


def lbfgs_iterations(result, max_iter):
    """The iterations an L-BFGS run made, warning as scikit-learn does when it did not converge."""
    from sklearn.exceptions import ConvergenceWarning

    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        message = (
            f"lbfgs failed to converge after {n_iter} iteration(s) (status={result.status}):\n"
            f"{result.message}\n"
        )
        if n_iter == max_iter:
            message += (
                f"\nIncrease the number of iterations to improve the convergence (max_iter={max_iter})."
            )
        message += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html"
        )
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    return n_iter
