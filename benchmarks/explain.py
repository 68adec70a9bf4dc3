"""explain: one weight of a 64-64-64-10 network on 2,000 samples, against the per-sample oracle.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/explain.py   # best of 5

``deltaprop.explain`` computes the derivation's element-wise formulas unit by unit with every
sample at once (explain/elementwise.py) and derives only the walked sample alone.  The peer is
the per-sample oracle ``deltaprop.derive`` (core/derivation.py), which walks the same formulas
one sample at a time in Python, as explain did before.  The goal is one weight in under 1 s
(a hidden weight, whose δ runs through every layer above it), rendering included.  The
machine is shared and noisy, so each figure is the best of the repeats.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _case(n_samples):
    import deltaprop as dp

    net = dp.Network([64, 64, 64, 10], activation="relu", loss="log_loss", random_state=0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, 64))
    D = np.eye(10)[rng.integers(0, 10, n_samples)]
    return net, X, D


def _best(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    import deltaprop as dp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    net, X, D = _case(args.samples)
    for weight in [(2, 7, 30), (3, 5, 0), (4, 3, 12)]:
        explain = _best(lambda w=weight: dp.explain(net, w, X, D), args.repeats)
        page = _best(lambda w=weight: dp.explain(net, w, X, D).to_html(), args.repeats)
        oracle = _best(lambda w=weight: dp.derive(net, w, X, D), 1)
        print(
            f"w{weight}: explain {explain:.3f} s, explain + page {page:.3f} s; "
            f"per-sample oracle derive {oracle:.2f} s (1 run): {oracle / explain:.0f}× the time of explain"
        )


if __name__ == "__main__":
    main()
