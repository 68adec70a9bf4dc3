"""Reading a wide numeric CSV: deltaprop's ``read_table`` against ``pandas.read_csv``, best of 5.

    .venv/bin/python benchmarks/read_csv.py [--rows 10000] [--columns 785] [--repeats 5]

The table is image-like: 784 pixel columns in [0, 1], most of them zero, and a label
column, written once to a temporary file.  Goal: ``read_table`` within 2× of
``pandas.read_csv`` on the same file.  Then ``train --epochs 1`` on it, step by step, to
show that training, not reading, takes the time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def write_table(path: Path, rows: int, columns: int) -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    pixels = rng.random((rows, columns - 1))
    pixels[pixels < 0.8] = 0.0
    frame = pd.DataFrame(np.round(pixels, 3), columns=[f"pixel{k}" for k in range(columns - 1)])
    frame["label"] = rng.integers(0, 10, rows)
    frame.to_csv(path, index=False)


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def train_steps(path: Path, out: Path) -> dict[str, float]:
    """Seconds of each step of ``deltaprop train DATA --target label --epochs 1``."""
    from deltaprop.command import train as t

    opts = t.TrainOptions(data=str(path), targets=("label",), epochs=1, no_report=True, quiet=True,
                          out=str(out))
    seconds = {}
    start = time.perf_counter()
    import deltaprop.estimators.mlp  # noqa: F401  (scikit-learn: a cost of the process, not of the data)

    seconds["imports (scikit-learn)"] = time.perf_counter() - start
    start = time.perf_counter()
    run = t.read_step(opts)
    seconds["read"] = time.perf_counter() - start
    start = time.perf_counter()
    t.resume_step(run)
    t.columns_step(run)
    t.encode_step(run)
    t.split_step(run)
    seconds["columns, encode, split"] = time.perf_counter() - start
    start = time.perf_counter()
    fitted = t.fit_step(run)
    seconds["fit (1 epoch)"] = time.perf_counter() - start
    return seconds | {"epochs": float(len(fitted.est.loss_curve_))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=785)
    parser.add_argument("--repeats", type=int, default=5)
    a = parser.parse_args()
    import pandas as pd

    from deltaprop.tabular.read import read_table

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pixels.csv"
        write_table(path, a.rows, a.columns)
        ours = best(lambda: read_table(path), a.repeats)
        theirs = best(lambda: pd.read_csv(path), a.repeats)
        ratio = ours / theirs
        print(f"{a.rows:,} × {a.columns} CSV ({path.stat().st_size / 1e6:.0f} MB), best of {a.repeats}")
        print(f"  pandas.read_csv        {theirs:7.3f} s")
        print(f"  deltaprop read_table   {ours:7.3f} s   {ratio:.2f}× pandas (goal ≤ 2×: "
              f"{'holds' if ratio <= 2 else 'MISSED'})")
        print("train --epochs 1, step by step:")
        for step, seconds in train_steps(path, Path(tmp) / "m.dpm").items():
            if step != "epochs":
                print(f"  {step:24} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
