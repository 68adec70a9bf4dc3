"""How long the ``deltaprop`` command takes to start, and how much memory, best of 5.

    .venv/bin/python benchmarks/cli_startup.py [--repeats 5]

Each measurement is a new process (as a user runs the command): wall time from start to
exit, and the process's peak resident memory.  Goals: ``deltaprop --help`` ≤ 0.25 s;
``deltaprop predict`` of a small model on 150 rows ≤ 0.6 s and ≤ 150 MB.  ``deltaprop train``
has no start-up goal since it trains through the estimators (issue 21): it pays scikit-learn's
import and numba's first load (the compiled epoch every fit takes where it applies).  Each of
predict and train is timed for a regression (``predict``, ``train``) and a 3-class
classification (``predict-c``, ``train-c``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: runs the command and reports the process's peak resident memory (VmHWM, KiB) last on
#: stderr (getrusage's ru_maxrss would carry the benchmark's own peak over the fork)
WRAPPER = (
    "import runpy, sys\n"
    "sys.argv = ['deltaprop'] + sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_module('deltaprop', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
    "    print('maxrss', hwm, file=sys.stderr)\n"
)

GOALS = {"--help": (0.25, None), "predict": (0.6, 150.0), "predict-c": (0.6, 150.0),
         "train": (None, None), "train-c": (None, None)}


def measure(args: list[str], cwd: str) -> tuple[float, float]:
    """(seconds, peak MB) of one run of ``deltaprop ARGS``."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"deltaprop {' '.join(args)} failed: {out.stderr}")
    kib = int(out.stderr.strip().splitlines()[-1].split()[1])
    return seconds, kib / 1024


def write_table(path: Path, n: int = 150) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["y"] = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(scale=0.1, size=n)
    frame["kind"] = np.array(["low", "mid", "high"])[np.digitize(frame["y"], [-1.0, 1.0])]
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as tmp:
        write_table(Path(tmp) / "d.csv")
        for target, out in (("y", "m.dpm"), ("kind", "c.dpm")):
            subprocess.run(
                [sys.executable, "-m", "deltaprop", "train", "d.csv", "--target", target, "--drop",
                 "kind" if target == "y" else "y", "--hidden", "8", "--epochs", "5", "--no-report",
                 "--quiet", "--out", out],
                cwd=tmp, check=True,
            )
        cases = {
            "--help": ["--help"],
            "predict": ["predict", "m.dpm", "d.csv", "--out", "p.csv"],
            "predict-c": ["predict", "c.dpm", "d.csv", "--proba", "--out", "p.csv"],
            "train": ["train", "d.csv", "--target", "y", "--drop", "kind", "--no-report", "--quiet",
                      "--out", "t.dpm"],
            "train-c": ["train", "d.csv", "--target", "kind", "--drop", "y", "--no-report", "--quiet",
                        "--out", "t.dpm"],
        }
        print(f"deltaprop startup, best of {repeats} (a new process each; {os.cpu_count()} CPUs)")
        print(f"{'command':10} {'seconds':>8} {'goal':>6} {'peak MB':>8} {'goal':>6}  verdict")
        for name, args in cases.items():
            runs = [measure(args, tmp) for _ in range(repeats)]
            seconds = min(s for s, _ in runs)
            mb = min(m for _, m in runs)
            goal_s, goal_mb = GOALS[name]
            ok = (goal_s is None or seconds <= goal_s) and (goal_mb is None or mb <= goal_mb)
            shown_s = "-" if goal_s is None else f"{goal_s:.2f}"
            shown_mb = "-" if goal_mb is None else f"{goal_mb:.0f}"
            verdict = "-" if goal_s is None and goal_mb is None else "holds" if ok else "MISSED"
            print(f"{name:10} {seconds:8.3f} {shown_s:>6} {mb:8.1f} {shown_mb:>6}  {verdict}")


if __name__ == "__main__":
    main()
