"""One measurement in its own process: ``python benchmarks/worker.py '<json spec>'``.

The spec names a workload, a tool (deltaprop, deltaprop-plain, sklearn, torch or gemm), a
dtype and a ``fits`` count.  The worker makes the data and, as a grid search does, runs
``fits`` training runs one after another in this one process (random_state 0, 1, …), each
timed epoch by epoch; with ``fits`` 0 it runs one fit as the first thing of a new process,
without warm-up, timed whole (imports excepted: what a user's first fit costs, numba's loading
included).  It prints one JSON line: seconds, epochs (or L-BFGS iterations, or
rows), the duration of each epoch, the BLAS it ran on (threadpoolctl) and the memory:
``peak_mb``, the high-water mark of resident memory during the timed run (Linux VmHWM, reset
just before it); ``run_mb``, how far that peak rose above what was resident when the run
began (imports and data), i.e. the memory the run itself needed at its peak; and
``maxrss_mb``, the process's whole-life ``ru_maxrss``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import QUICK, WORKLOADS, make_data  # noqa: E402

SEED = 0


def _estimator_kwargs(w, max_iter, seed=SEED):
    kwargs = dict(
        hidden_layer_sizes=w.sizes[1:-1], activation=w.activation, solver=w.solver,
        max_iter=max_iter, random_state=seed,
    )
    if w.solver in ("sgd", "adam"):
        # every epoch runs: no stopping on a loss that stops improving
        kwargs.update(batch_size=w.batch_size, learning_rate_init=w.learning_rate, tol=0.0,
                      n_iter_no_change=max_iter + 10)
    if w.solver == "sgd":
        kwargs.update(momentum=w.momentum)
    if w.solver == "lbfgs":
        kwargs.update(tol=0.0)
    return kwargs


def _estimator_class(tool, w):
    if tool == "sklearn":
        from sklearn.neural_network import MLPClassifier, MLPRegressor
    else:
        from deltaprop import MLPClassifier, MLPRegressor
    return MLPClassifier if w.task == "classification" else MLPRegressor


PREDICT_REPEATS = 3


_resident_at_reset = [0.0]


def _status_mb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_memory():
    """Start a new high-water mark of resident memory (Linux: VmHWM, reset by clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    _resident_at_reset[0] = _status_mb("VmRSS") or 0.0


def peak_memory_mb():
    """(high-water mark since :func:`reset_peak_memory`, the part of it above what was resident
    at the reset), in MB; ru_maxrss where /proc is missing."""
    peak = _status_mb("VmHWM")
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak, peak - _resident_at_reset[0]


def _epoch_clock(tool, cls):
    """(estimator class, list of epoch-end times): the estimator records when each epoch ends.

    deltaprop calls ``callback(estimator)`` after every epoch; scikit-learn has no callback,
    so a subclass records the time in ``_update_no_improvement_count``, which its training
    loop calls once at the end of every epoch.  Either way nothing else changes.
    """
    ends = []
    if tool == "sklearn":
        class Timed(cls):
            def _update_no_improvement_count(self, *args, **kwargs):
                ends.append(time.perf_counter())
                return super()._update_no_improvement_count(*args, **kwargs)

        Timed.__name__ = cls.__name__
        return Timed, ends, {}
    return cls, ends, {"callback": lambda est: ends.append(time.perf_counter()) and False}


def run_estimator(tool, w, dtype, n_samples, epochs, fits):
    """deltaprop's or scikit-learn's estimator.

    Returns (seconds of the fits, units, epoch times): units are epochs (L-BFGS: iterations;
    predict: rows) of all the fits, epoch times the duration of each epoch after the first of
    every fit (with ``fits`` 0 none: the one fit is timed whole).
    """
    cls = _estimator_class(tool, w)
    if w.task == "predict":
        X_fit, y_fit = make_data(w, dtype, 2000, seed=SEED + 7)
        model = cls(**_estimator_kwargs(w, 1)).fit(X_fit, y_fit)
        X, _ = make_data(w, dtype, n_samples)
        if fits:
            model.predict(X[:1000])  # warm-up
        times = []
        reset_peak_memory()
        for _ in range(max(1, fits and PREDICT_REPEATS)):
            t = time.perf_counter()
            model.predict(X)
            times.append(time.perf_counter() - t)
        return min(times), n_samples, []
    X, y = make_data(w, dtype, n_samples)
    seconds, units, epoch_times = 0.0, 0, []
    for k in range(max(1, fits)):
        timed, ends, extra = _epoch_clock(tool, cls)
        model = timed(**_estimator_kwargs(w, epochs, SEED + k), **extra)
        reset_peak_memory()  # the memory is the last fit's: what each fit of a grid search needs
        t = time.perf_counter()
        model.fit(X, y)
        fit_seconds = time.perf_counter() - t
        seconds, units = seconds + fit_seconds, units + model.n_iter_
        if fits and w.solver != "lbfgs":
            epoch_times += list(np.diff(ends))
        elif fits and (k > 0 or fits == 1):  # L-BFGS: seconds an iteration of each fit but the first
            epoch_times.append(fit_seconds / max(model.n_iter_, 1))
    return seconds, units, epoch_times


def _torch_model(w, dtype, seed=SEED):
    import torch
    from torch import nn

    activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid}[w.activation]
    layers = []
    for k, (a, b) in enumerate(zip(w.sizes[:-1], w.sizes[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(w.sizes) - 2:
            layers.append(activation())
    torch.manual_seed(seed)
    return nn.Sequential(*layers).to(getattr(torch, dtype))


def run_torch(w, dtype, n_samples, epochs, fits):
    """An eager PyTorch loop doing the same work as the estimators' fit (or predict), ``fits``
    times in this process (one, without warm-up, for 0)."""
    if w.task == "predict" or w.solver == "lbfgs" or fits == 0:
        return _run_torch(w, dtype, n_samples, epochs, fits)
    seconds, units, epoch_times = 0.0, 0, []
    for k in range(fits):
        s, u, e = _run_torch(w, dtype, n_samples, epochs, fits, SEED + k)
        seconds, units, epoch_times = seconds + s, units + u, epoch_times + e
    return seconds, units, epoch_times


def _run_torch(w, dtype, n_samples, epochs, fits, seed=SEED):
    import torch
    from torch import nn

    model = _torch_model(w, dtype, seed)
    if w.task == "predict":
        X, _ = make_data(w, dtype, n_samples)
        Xt = torch.from_numpy(X)
        times = []
        with torch.no_grad():
            if fits:
                model(Xt[:1000])
            reset_peak_memory()
            for _ in range(max(1, fits and PREDICT_REPEATS)):
                t = time.perf_counter()
                model(Xt).numpy()
                times.append(time.perf_counter() - t)
        return min(times), n_samples, []

    X, y = make_data(w, dtype, n_samples)
    Xt = torch.from_numpy(X)
    if w.task == "classification":
        yt = torch.from_numpy(y.astype(np.int64))
        loss_fn = nn.CrossEntropyLoss()
    else:
        yt = torch.from_numpy(y.reshape(n_samples, -1))
        loss_fn = nn.MSELoss()
    alpha = 1e-4  # the estimators' default L2, alpha/(2N)‖W‖² per batch: weight decay alpha/N
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]

    if w.solver == "lbfgs":
        opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=epochs, history_size=10,
                                tolerance_grad=0.0, tolerance_change=0.0,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = loss_fn(model(Xt), yt) + alpha / (2 * n_samples) * sum((p * p).sum() for p in weights)
            loss.backward()
            return loss

        reset_peak_memory()
        t = time.perf_counter()
        opt.step(closure)
        seconds = time.perf_counter() - t
        return seconds, opt.state[opt._params[0]]["n_iter"], []

    groups = [{"params": weights, "weight_decay": alpha / w.batch_size}, {"params": biases}]
    if w.solver == "sgd":
        opt = torch.optim.SGD(groups, lr=w.learning_rate, momentum=w.momentum,
                              nesterov=w.momentum > 0)
    else:
        opt = torch.optim.Adam(groups, lr=w.learning_rate)

    ends = []

    def train(n, n_epochs):
        for _ in range(n_epochs):
            order = torch.randperm(n)
            total = 0.0
            for start in range(0, n, w.batch_size):
                index = order[start : start + w.batch_size]
                opt.zero_grad()
                loss = loss_fn(model(Xt[index]), yt[index])
                loss.backward()
                opt.step()
                total += loss.item() * index.shape[0]
            ends.append(time.perf_counter())

    if fits == 0:
        ends.clear()
        reset_peak_memory()
        t = time.perf_counter()
        train(n_samples, epochs)
        return time.perf_counter() - t, epochs, []
    if seed == SEED:
        train(min(n_samples, 10 * w.batch_size), 1)  # warm-up, once a process
    ends.clear()
    reset_peak_memory()
    t = time.perf_counter()
    train(n_samples, epochs)
    return time.perf_counter() - t, epochs, list(np.diff(ends))


def run_gemm(dtype, n):
    """numpy's matrix-multiply peak: best of 10 products of two n×n matrices, in GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype=dtype)
    np.dot(a, b, out=c)
    best = min(_timed(lambda: np.dot(a, b, out=c)) for _ in range(10))
    return best, 2.0 * n**3 / best / 1e9


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def blas_info():
    from threadpoolctl import threadpool_info

    return [
        {k: i.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
        for i in threadpool_info()
    ]


def main(spec):
    warnings.filterwarnings("ignore")
    tool, dtype = spec["tool"], spec["dtype"]
    out = {"spec": spec}
    if tool == "gemm":
        seconds, gflops = run_gemm(dtype, spec.get("n", 2048))
        out.update(seconds=seconds, gflops=gflops)
    else:
        w = WORKLOADS[spec["workload"]]
        n = QUICK[w.name] if spec.get("quick") else w.n_samples
        epochs = max(3, w.epochs // 4) if spec.get("quick") and w.solver != "lbfgs" else w.epochs
        fits = int(spec.get("fits", 1))
        if tool == "torch":
            import torch

            out["torch_threads"] = torch.get_num_threads()
            seconds, units, epoch_times = run_torch(w, dtype, n, epochs, fits)
        elif tool == "deltaprop-plain":
            from deltaprop.speed import backprop as fast

            with fast.plain_paths():
                seconds, units, epoch_times = run_estimator("deltaprop", w, dtype, n, epochs, fits)
        else:
            seconds, units, epoch_times = run_estimator(tool, w, dtype, n, epochs, fits)
        out.update(seconds=seconds, units=int(units), n_samples=n, epoch_times=epoch_times)
    out["peak_mb"], out["run_mb"] = peak_memory_mb()
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["blas"] = blas_info()
    print(json.dumps(out))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
