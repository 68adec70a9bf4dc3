"""deltaprop on a Dask LocalCluster: 1 against 2 worker processes, and against numpy.

    python benchmarks/distributed.py                    # 2,000,000 rows x 20 features
    python benchmarks/distributed.py --rows 200000      # a quick run

Every cluster is a LocalCluster of processes with one thread each (numpy's BLAS held to one
thread too, in the workers and in the numpy baseline), so "2 workers" means two cores.  The
data are made on the workers (dask.array.random), so the client never holds them.

Measured, best of ``--repeats`` (the machine is shared; interleaved, the fastest kept):

- L-BFGS seconds per iteration (between the first and the last iteration's callback, so
  the one-time preparation of the partitions is left out) on 1 and 2 workers, and on numpy
  in one process on the same rows: the overhead of the cluster path on one worker;
- local Adam seconds per epoch on 1 and 2 workers;
- the scaling efficiency t(1) / (2 t(2));
- the bytes between client and workers per L-BFGS iteration: the pickled θ sent with each
  partition's task plus each partition's returned sums (payload, without Dask's framing);
- memory: a dataset larger than one worker's ``memory_limit`` trained on workers that each
  hold only their share (``--memory``).

The results go to the terminal and to ``benchmarks/results/distributed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
import warnings
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads, here and in the worker processes

HERE = Path(__file__).resolve().parent
# this file is named like the distributed package: keep its folder off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402

HIDDEN = (32,)


def make_data(rows, features, chunk_rows, seed=0):
    """X (rows, features) and y = a fixed smooth function of X plus noise, as Dask arrays."""
    import dask.array as da

    rs = da.random.RandomState(seed)
    X = rs.normal(size=(rows, features), chunks=(chunk_rows, features))
    w = np.random.default_rng(seed).normal(size=features) / np.sqrt(features)
    y = X.map_blocks(lambda b: np.tanh(b @ w) + 0.1 * np.sin(3 * b[:, 0]), drop_axis=1, dtype=float)
    return X, y


def timed_fit(est, X, y):
    """(seconds per iteration between the first and last callback, the fitted estimator)."""
    stamps = []
    est.set_params(callback=lambda e: stamps.append(time.perf_counter()) and False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1), est


def lbfgs_bytes(est, n_partitions):
    """Payload bytes client↔workers in one L-BFGS evaluation: θ out, (ΣE, Σ∇, Σs) back, per partition."""
    theta = est.network_.get_flat()
    sums = (1.0, np.zeros_like(theta), 1.0)
    return n_partitions * (len(pickle.dumps(theta)) + len(pickle.dumps(sums)))


def on_cluster(n_workers, args, memory_limit="auto"):
    from deltaprop import MLPRegressor
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=memory_limit, silence_logs=40)
    client = Client(cluster)
    try:
        X, y = make_data(args.rows, args.features, args.chunk_rows)
        X, y = client.persist([X, y])  # made on the workers, before the clocks start
        out = {"workers": n_workers}
        lb = MLPRegressor(hidden_layer_sizes=HIDDEN, solver="lbfgs", max_iter=args.iterations, random_state=0)
        out["lbfgs_s_per_iter"], lb = timed_fit(lb, X, y)
        out["lbfgs_bytes_per_iter"] = lbfgs_bytes(lb, X.numblocks[0])
        ad = MLPRegressor(hidden_layer_sizes=HIDDEN, solver="adam", max_iter=args.epochs + 1,
                          learning_rate_init=0.01, random_state=0, tol=0)
        out["adam_s_per_epoch"], ad = timed_fit(ad, X, y)
        return out
    finally:
        client.close()
        cluster.close()


def on_numpy(args):
    import dask

    from deltaprop import MLPRegressor

    X, y = make_data(args.rows, args.features, args.chunk_rows)
    X, y = dask.compute(X, y, scheduler="sync")
    lb = MLPRegressor(hidden_layer_sizes=HIDDEN, solver="lbfgs", max_iter=args.iterations, random_state=0)
    t_lbfgs, _ = timed_fit(lb, X, y)
    ad = MLPRegressor(hidden_layer_sizes=HIDDEN, solver="adam", max_iter=args.epochs + 1,
                      learning_rate_init=0.01, random_state=0, tol=0)
    t_adam, _ = timed_fit(ad, X, y)
    return {"lbfgs_s_per_iter": t_lbfgs, "adam_s_per_epoch": t_adam}


def memory_run(args):
    """A dataset larger than one worker's memory_limit, on workers that hold a share each."""
    from deltaprop import MLPRegressor
    from distributed import Client, LocalCluster

    limit = args.memory_limit_mb * 2**20
    rows = int(1.25 * limit / (8 * args.features))  # X alone: 1.25 x one worker's limit
    results = {"memory_limit_mb": args.memory_limit_mb, "rows": rows,
               "dataset_mb": round(rows * args.features * 8 / 2**20)}
    cluster = LocalCluster(n_workers=args.memory_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=limit, silence_logs=40)
    client = Client(cluster)
    try:
        X, y = make_data(rows, args.features, args.chunk_rows)
        est = MLPRegressor(hidden_layer_sizes=HIDDEN, solver="lbfgs", max_iter=3, random_state=0)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        results["workers"] = args.memory_workers
        results["seconds"] = round(time.perf_counter() - start, 1)
        results["n_iter"] = est.n_iter_
        mem = client.run(lambda dask_worker: dask_worker.monitor.get_process_memory())
        results["worker_rss_mb_after"] = sorted(round(v / 2**20) for v in mem.values())
        results["spilled_mb"] = sorted(round(v / 2**20) for v in client.run(
            lambda dask_worker: getattr(dask_worker.data, "slow", {}) and
            sum(getattr(dask_worker.data.slow, "weight_by_key", {}).values()) or 0).values())
    finally:
        client.close()
        cluster.close()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--memory", action="store_true", help="also run the memory demonstration")
    parser.add_argument("--memory-limit-mb", type=int, default=1000)
    parser.add_argument("--memory-workers", type=int, default=4)
    args = parser.parse_args()

    best: dict = {}
    for _ in range(args.repeats):
        for name, run in (("numpy", lambda: on_numpy(args)), ("1 worker", lambda: on_cluster(1, args)),
                          ("2 workers", lambda: on_cluster(2, args))):
            result = run()
            shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}
            print(name, shown, flush=True)
            kept = best.setdefault(name, result)
            for k, v in result.items():
                if k.endswith(("_iter", "_epoch")) and isinstance(v, float):
                    kept[k] = min(kept[k], v)
    one, two, ref = best["1 worker"], best["2 workers"], best["numpy"]
    summary = {
        "rows": args.rows, "features": args.features, "hidden": list(HIDDEN), "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "lbfgs_s_per_iter": {k: best[k]["lbfgs_s_per_iter"] for k in best},
        "adam_s_per_epoch": {k: best[k]["adam_s_per_epoch"] for k in best},
        "lbfgs_scaling_efficiency": one["lbfgs_s_per_iter"] / (2 * two["lbfgs_s_per_iter"]),
        "adam_scaling_efficiency": one["adam_s_per_epoch"] / (2 * two["adam_s_per_epoch"]),
        "lbfgs_overhead_vs_numpy_1_worker": one["lbfgs_s_per_iter"] / ref["lbfgs_s_per_iter"],
        "adam_overhead_vs_numpy_1_worker": one["adam_s_per_epoch"] / ref["adam_s_per_epoch"],
        "lbfgs_bytes_per_iter": {"1 worker": one["lbfgs_bytes_per_iter"],
                                 "2 workers": two["lbfgs_bytes_per_iter"]},
    }
    if args.memory:
        summary["memory"] = memory_run(args)
    print(json.dumps(summary, indent=2))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "distributed.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
