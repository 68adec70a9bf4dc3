"""What loading numba costs a process, and where a fit wins it back, best of N.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=src \
        .venv/bin/python benchmarks/numba_load.py [--repeats 5]

Each fit runs in a new process (as ``deltaprop train`` does), once on the numpy paths and
once on the kernels (``deltaprop.speed.fused.NUMBA_LOAD_SECONDS`` set to infinity, or to 0,
so that the rule of ``kernels_pay_off`` does not choose), and the wall time of the fit alone
is kept, best of ``--repeats``.  The first two fits are small: their difference is the cost
of loading numba (``NUMBA_LOAD_SECONDS``).  The others sit at the rule's break-even, where
the two paths should take about as long: 30,000 steps of the compiled epoch, and a fit of
the fused passes whose estimated saving is just under the cost.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys

FIT = """
import sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from deltaprop import MLPRegressor
from deltaprop.speed import fused
fused.NUMBA_LOAD_SECONDS = {limit}
rows, epochs, batch, hidden, activation, solver = {case!r}
X = np.random.default_rng(0).normal(size=(rows, 4))
est = MLPRegressor(hidden_layer_sizes=hidden, activation=activation, solver=solver, batch_size=batch,
                   max_iter=epochs, tol=0.0, n_iter_no_change=10**6, random_state=0)
t = time.perf_counter()
est.fit(X, X[:, 0] - X[:, 1])
print(time.perf_counter() - t, "numba" in sys.modules)
"""

#: (what, (rows, epochs, batch size, hidden layers, activation, solver))
CASES = [
    ("the command's default fit (4-64-64-1, 135 rows, 45 epochs)", (135, 45, 200, (64, 64), "relu", "adam")),
    ("a compiled-epoch fit (4-16-1, 300 rows, 20 epochs of batch 32)", (300, 20, 32, (16,), "tanh", "sgd")),
    ("30,000 steps of the compiled epoch (4-16-1, 20,000 rows, 48 epochs)",
     (20000, 48, 32, (16,), "tanh", "sgd")),
    ("fused passes, estimated saving 0.42 s (4-64-64-1, 20,000 rows, 100 epochs)",
     (20000, 100, 200, (64, 64), "relu", "adam")),
]


def fit_seconds(case, kernels: bool) -> float:
    limit = "0.0" if kernels else "float('inf')"
    out = subprocess.run([sys.executable, "-c", FIT.format(limit=limit, case=case)], capture_output=True,
                         text=True, check=True)
    seconds, loaded = out.stdout.split()
    assert loaded == str(kernels), (case, kernels, loaded)
    return float(seconds)


def estimate(case) -> float:
    """kernels_pay_off's estimate of the seconds the kernels save on this fit."""
    from deltaprop.speed import fused

    rows, epochs, batch, hidden, _, _ = case
    sizes = [4, *hidden, 1]
    n_parameters = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    steps = epochs * math.ceil(rows / min(batch, rows))
    return steps * fused.SAVED_SECONDS_PER_STEP + rows * epochs * n_parameters * fused.SAVED_SECONDS_PER_WORK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    print(f"fit seconds in a new process, best of {repeats}")
    print(f"{'numpy':>7} {'kernels':>7} {'numpy-kernels':>13} {'estimated saving':>16}  fit")
    for what, case in CASES:
        numpy_s, kernels_s = math.inf, math.inf
        for _ in range(repeats):  # alternate: the machine is shared and bursty
            numpy_s = min(numpy_s, fit_seconds(case, kernels=False))
            kernels_s = min(kernels_s, fit_seconds(case, kernels=True))
        print(f"{numpy_s:7.3f} {kernels_s:7.3f} {numpy_s - kernels_s:13.3f} {estimate(case):16.3f}  {what}",
              flush=True)


if __name__ == "__main__":
    main()
