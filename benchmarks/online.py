"""Online learning: deltaprop against scikit-learn, side by side, as ratios.

    python benchmarks/online.py            # best of 5, the tools alternating

Two ways users learn online, on the seed's 4-16-3 tanh network (plain SGD) and a 3-class
classifier of the same size: ``partial_fit`` called once per mini-batch of 1 and of 32 rows
(the time is per call: validation, one step, bookkeeping), and ``fit`` with ``batch_size=1``
(the time is per sample).  Both libraries run in this one process, alternating; the machine
is shared and noisy, so each figure is the best of the repeats.

Each case is measured once before the repeats (a warm-up: imports, deltaprop's loading of
numba on its first fit), as in a process that has fitted before.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def _estimators(kind):
    import sklearn.neural_network as sk

    import deltaprop

    name = "MLPRegressor" if kind == "regression" else "MLPClassifier"
    return {"deltaprop": getattr(deltaprop, name), "scikit-learn": getattr(sk, name)}


def _data(kind, n=4000):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2], X[:, 3]] if kind == "regression" else rng.integers(0, 3, n)
    return X, y


def _params():
    return dict(hidden_layer_sizes=(16,), activation="tanh", solver="sgd", momentum=0.0,
                learning_rate_init=0.01, random_state=0)


def partial_fit_per_call(cls, kind, batch):
    X, y = _data(kind)
    extra = {} if kind == "regression" else {"classes": [0, 1, 2]}
    est = cls(**_params()).partial_fit(X[:batch], y[:batch], **extra)
    calls = 0
    start = time.perf_counter()
    for i in range(batch, X.shape[0] - batch + 1, batch):
        est.partial_fit(X[i : i + batch], y[i : i + batch])
        calls += 1
    return (time.perf_counter() - start) / calls


def fit_batch_one_per_sample(cls, kind, n=2000, epochs=3):
    X, y = _data(kind, n)
    est = cls(**_params(), batch_size=1, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1)
    start = time.perf_counter()
    est.fit(X, y)
    return (time.perf_counter() - start) / (n * est.n_iter_)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    def rows(b):
        return lambda cls, kind: partial_fit_per_call(cls, kind, b)

    cases = [
        ("partial_fit, 1 row a call", "regression", rows(1), "µs a call"),
        ("partial_fit, 32 rows a call", "regression", rows(32), "µs a call"),
        ("partial_fit, 32 rows a call", "classification", rows(32), "µs a call"),
        ("fit, batch_size=1", "regression", fit_batch_one_per_sample, "µs a sample"),
        ("fit, batch_size=1", "classification", fit_batch_one_per_sample, "µs a sample"),
    ]
    print("| case | task | deltaprop | scikit-learn | scikit-learn ÷ deltaprop |")
    print("|---|---|---|---|---|")
    for label, kind, measure, unit in cases:
        tools = _estimators(kind)
        for cls in tools.values():
            measure(cls, kind)  # warm-up: imports, numba's cache
        best = {name: measure(cls, kind) for name, cls in tools.items()}
        for _ in range(args.repeats - 1):
            for name, cls in tools.items():
                best[name] = min(best[name], measure(cls, kind))
        dp, sk = best["deltaprop"], best["scikit-learn"]
        print(f"| {label} | {kind} | {dp * 1e6:.1f} {unit} | {sk * 1e6:.1f} {unit} | {sk / dp:.2f}× |",
              flush=True)


if __name__ == "__main__":
    main()
