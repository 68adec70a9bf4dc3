"""deltaprop against scikit-learn and PyTorch, side by side, on this machine.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py   # every workload, best of 5
    python benchmarks/run.py --quick              # a smoke run: small data, one repeat
    python benchmarks/run.py --workloads seed,online,tabular --fits 5

Users fit the way a grid search or cross-validation does: many fits in one process.  So each
measurement (``benchmarks/worker.py``, a process of its own, so that its peak memory is its
own) runs ``--fits`` fits one after another, nothing loaded beforehand; and, as a second
table, one fit as the first thing of a new process, timed whole (what a user's first fit
costs: numba's loading for deltaprop, first-call costs for the peers).
The tools alternate within every repeat.  Training in one process is timed epoch by epoch and
the fastest epoch of all fits and repeats is kept (the machine is shared: a whole run rarely
escapes every other process); L-BFGS keeps the best fit's time an iteration, predict the best
run, a fresh process the best whole fit.  numpy's float32 and float64 matrix-multiply
peaks are measured in the same run, and the targets of issue 6 are checked at the end.
The table goes to the terminal and, with the raw numbers, to ``benchmarks/results/``
(JSON and markdown).

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, set on some processors of this workplace for old
OpenBLAS builds, slow a current numpy: the workers run with both unset, and the table says
which BLAS kernel threadpoolctl reports.  (Tests and CI keep them as they are.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from workloads import WORKLOADS  # noqa: E402

TOOLS = ("deltaprop", "sklearn", "torch")
LABEL = {"deltaprop": "deltaprop", "deltaprop-plain": "deltaprop (plain path)",
         "sklearn": "scikit-learn", "torch": "PyTorch"}


#: the targets of issues 6 and 21, many fits in one process: (workload, deltaprop dtype,
#: against, at least)
TARGETS = [
    ("seed", "float64", "sklearn", 8.0), ("seed", "float64", "torch", 20.0),
    ("online", "float64", "sklearn", 50.0),
    ("tabular", "float64", "sklearn", 1.7), ("tabular", "float32", "torch", 1.0),
    ("wide", "float32", "torch", 1.0), ("wide", "float32", "sklearn", 5.0),
    ("wide", "float32", "peak", 0.70),
    ("lbfgs", "float64", "sklearn", 1.0), ("predict", "float64", "sklearn", 1.0),
]


def check_targets(summary):
    """One line per target: the measured value, the target, and whether it holds."""
    rows = {(s["workload"], s["dtype"]): s for s in summary}
    lines = []
    for name, dtype, against, target in TARGETS:
        s = rows.get((name, dtype))
        if s is None:
            continue
        if against == "peak":
            value, what = s["peak_share"], f"{100 * s['peak_share']:.0f}% of the float32 GEMM peak"
            goal = f"≥ {100 * target:.0f}%"
        elif against in s["ratios"]:
            value, what = s["ratios"][against], f"{s['ratios'][against]:.2f}× {LABEL[against]}"
            goal = f"≥ {target:g}×"
        else:
            continue
        verdict = "holds" if value >= target else "MISSED"
        lines.append(f"- {name} ({dtype}): {what} (target {goal}): {verdict}")
    for s in summary:
        mem = s["memory_mb"]
        if "sklearn" in mem:
            ok = mem["deltaprop"] <= mem["sklearn"]
            lines.append(f"- {s['workload']} ({s['dtype']}): run's peak memory "
                         f"{_fmt_mb(mem['deltaprop'])} MB vs scikit-learn {_fmt_mb(mem['sklearn'])} MB "
                         f"(target ≤): {'holds' if ok else 'MISSED'}")
    return lines


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def worker_env():
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


def measure(spec, timeout=900):
    """Run one worker; its JSON line, or an ``error`` entry."""
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / "worker.py"), json.dumps(spec)],
            capture_output=True, text=True, env=worker_env(), timeout=timeout,
        )
    except subprocess.TimeoutExpired:  # a loaded machine: this repeat fails, the others count
        return {"spec": spec, "error": [f"timed out after {timeout} s"]}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"spec": spec, "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    return json.loads(lines[-1])


def plan(args):
    """The measurements of one repeat: (workload, tool, dtype), deduplicated, in order."""
    jobs = []
    for name in args.workloads:
        w = WORKLOADS[name]
        for row in w.rows:
            for tool, dtype in (("deltaprop", row.dtype), *row.peers):
                if tool in args.tools and (name, tool, dtype) not in jobs:
                    jobs.append((name, tool, dtype))
            if args.plain and (name, "deltaprop-plain", row.dtype) not in jobs:
                jobs.append((name, "deltaprop-plain", row.dtype))
    return jobs


def run(args):
    results = {}
    peaks = {}
    jobs = [(*job, mode) for mode in args.modes for job in plan(args)]
    blas: list = []
    for repeat in range(args.repeats):
        for dtype in ("float32", "float64"):
            r = measure({"tool": "gemm", "dtype": dtype, "n": 2048})
            if "gflops" in r:
                peaks[dtype] = max(peaks.get(dtype, 0.0), r["gflops"])
                blas = r["blas"]
        # alternate: each repeat starts the tools of a workload from a different one
        by_workload: dict = {}
        for job in jobs:
            by_workload.setdefault((job[0], job[3]), []).append(job)
        for wjobs in by_workload.values():
            k = repeat % len(wjobs)
            for job in wjobs[k:] + wjobs[:k]:
                name, tool, dtype, mode = job
                fits = args.fits if mode == "grid" else 0
                r = measure({"workload": name, "tool": tool, "dtype": dtype, "quick": args.quick,
                             "fits": fits})
                key = f"{name}|{tool}|{dtype}|{mode}"
                if "error" in r:
                    print(f"  {key}: FAILED {r['error']}", file=sys.stderr)
                    results.setdefault(key, {"error": r["error"]})
                    continue
                # the fastest epoch (after the first) when the worker timed epochs: the
                # machine is shared, and a whole run rarely escapes every other process
                epochs = r.get("epoch_times") or []
                per_unit = min(epochs) if epochs else r["seconds"] / max(r["units"], 1)
                print(f"  repeat {repeat + 1}: {key:40s} {per_unit:.4g} s/unit  "
                      f"+{r['run_mb']:.0f} MB", file=sys.stderr, flush=True)
                best = results.get(key)
                if best is None or "error" in best or per_unit < best["per_unit"]:
                    results[key] = {**r, "per_unit": per_unit,
                                    "run_mb": min(r["run_mb"], (best or {}).get("run_mb", 1e18))}
                else:
                    best["run_mb"] = min(best["run_mb"], r["run_mb"])
    return results, peaks, blas


def _fmt_mb(mb):
    return f"{mb:.1f}" if mb < 10 else f"{mb:.0f}"


def _fmt_time(w, seconds):
    if w.task == "predict":
        return f"{1 / seconds / 1e6:.2f} M rows/s"
    return f"{seconds:.4g} s"


def table(args, results, peaks, mode="grid"):
    """Markdown table rows, one per workload row, with ratios peer ÷ deltaprop, for ``mode``
    (grid: many fits in one process; fresh: one fit in a new process)."""
    head = ("| workload | dtype | deltaprop | scikit-learn | PyTorch | sklearn ÷ dp | torch ÷ dp "
            "| dp GFLOP/s | % of GEMM peak | run's peak MB dp / sklearn / torch |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    summary = []
    for name in args.workloads:
        w = WORKLOADS[name]
        for row in w.rows:
            dp = results.get(f"{name}|deltaprop|{row.dtype}|{mode}")
            if dp is None or "error" in dp:
                continue
            cells = {"deltaprop": _fmt_time(w, dp["per_unit"])}
            ratios, mems = {}, {"deltaprop": dp["run_mb"]}
            for tool, dtype in row.peers:
                r = results.get(f"{name}|{tool}|{dtype}|{mode}")
                if r is None or "error" in r:
                    cells[tool] = "failed" if r else "—"
                    continue
                label = _fmt_time(w, r["per_unit"]) + ("" if dtype == row.dtype else f" ({dtype})")
                cells[tool] = label
                ratios[tool] = r["per_unit"] / dp["per_unit"]
                mems[tool] = r["run_mb"]
            # predict: 2 flops per weight per row; training: about 6 per weight per sample
            # (L-BFGS: per iteration, counting one loss evaluation)
            flop = 2 * w.n_weights if w.task == "predict" else 6 * w.n_weights * dp["n_samples"]
            gflops = flop / dp["per_unit"] / 1e9
            share = gflops / peaks[row.dtype] if row.dtype in peaks else float("nan")
            unit = "" if w.task == "predict" else (" / iteration" if w.solver == "lbfgs" else " / epoch")
            lines.append(
                f"| {name}{unit} | {row.dtype} | {cells['deltaprop']} | {cells.get('sklearn', '—')} "
                f"| {cells.get('torch', '—')} | "
                + (f"{ratios['sklearn']:.2f}×" if "sklearn" in ratios else "—") + " | "
                + (f"{ratios['torch']:.2f}×" if "torch" in ratios else "—")
                + f" | {gflops:.1f} | {100 * share:.0f}% | "
                + " / ".join(_fmt_mb(mems[t]) if t in mems else "—" for t in TOOLS) + " |"
            )
            summary.append({"workload": name, "dtype": row.dtype, "ratios": ratios, "gflops": gflops,
                            "peak_share": share, "memory_mb": mems})
            plain = results.get(f"{name}|deltaprop-plain|{row.dtype}|{mode}")
            if plain and "error" not in plain:
                summary[-1]["plain_speedup"] = plain["per_unit"] / dp["per_unit"]
    return lines, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated, from: {', '.join(WORKLOADS)}")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, from: " + ", ".join(TOOLS))
    parser.add_argument("--repeats", type=int, default=None,
                        help="best of this many runs (default 5; 1 with --quick)")
    parser.add_argument("--fits", type=int, default=5,
                        help="fits one after another in one process, as a grid search runs them (default 5)")
    parser.add_argument("--modes", default="grid,fresh",
                        help="grid (many fits in one process), fresh (one fit in a new process), or both")
    parser.add_argument("--quick", action="store_true", help="small data, one repeat: a smoke run")
    parser.add_argument("--plain", action="store_true", help="also time deltaprop's plain (unoptimised) path")
    parser.add_argument("--out", default=str(HERE / "results"), help="folder for the JSON and markdown")
    args = parser.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip() in ("grid", "fresh")]
    for name in args.workloads:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if "torch" in args.tools:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("PyTorch is not installed (make bench installs it): its column is skipped", file=sys.stderr)
            args.tools.remove("torch")

    started = time.time()
    load_before = os.getloadavg()[0]
    if load_before > 1.0:
        print(f"note: load average {load_before:.1f} on {os.cpu_count()} cores; other processes "
              "will slow some measurements (the best of the repeats is kept)", file=sys.stderr)
    results, peaks, blas = run(args)
    load_after = os.getloadavg()[0]
    tables = {mode: table(args, results, peaks, mode) for mode in args.modes}
    lines, summary = tables.get("grid", ([], []))
    kernel = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)"
                       for b in blas)
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = [
        f"Machine: {cpu_name()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; numpy BLAS: {kernel}.",
        f"numpy matrix-multiply peak (2048×2048): float32 {peaks.get('float32', float('nan')):.1f} GFLOP/s, "
        f"float64 {peaks.get('float64', float('nan')):.1f} GFLOP/s.",
        f"Best of {args.repeats}{' (quick: small data)' if args.quick else ''}; {args.fits} fits a "
        "process (grid search); "
        f"load average {load_before:.1f} before, {load_after:.1f} after; command: `{command.strip()}`.",
    ]
    notes = [
        "Times are seconds per epoch (L-BFGS: per iteration; predict: rows per second); ratios are "
        "peer time ÷ deltaprop time (above 1: deltaprop is faster). GFLOP/s counts 6 × weights × samples "
        "per epoch (predict: 2 × weights × rows); deltaprop skips δ of the input layer, so its real "
        "count is lower. Run's peak MB: how far the resident memory of the process rose, at its peak, "
        "above what was resident when the timed run began (imports, data, warm-up): the memory "
        "that training (or predicting) needed. The JSON also has the absolute peaks.",
    ]
    plain = [f"{s['workload']} ({s['dtype']}) {s['plain_speedup']:.2f}×"
             for s in summary if "plain_speedup" in s]
    if plain:
        notes.append("Plain path time ÷ deltaprop's time (the plain path: Network.backprop per "
                     "batch, inside fast.plain_paths()): " + ", ".join(plain) + ".")
    targets = check_targets(summary)
    text = "\n".join(header) + "\n\n"
    if lines:
        text += f"Many fits in one process ({args.fits}, as a grid search runs them):\n\n"
        text += "\n".join(lines) + "\n\n"
    if "fresh" in tables:
        text += ("One fit as the first thing of a new process (the whole fit ÷ its epochs: numba's "
                 "loading and the peers' first-call costs included):\n\n")
        text += "\n".join(tables["fresh"][0]) + "\n\n"
    text += "\n".join(notes) + "\n\n"
    text += "Targets (issues 6 and 21, many fits in one process):\n\n" + "\n".join(targets) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "quick" if args.quick else "latest"
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps(
        {"command": command.strip(), "peaks_gflops": peaks, "blas": blas, "results": results,
         "summary": summary, "fresh_summary": tables.get("fresh", ([], []))[1],
         "seconds": time.time() - started, "load": [load_before, load_after],
         "cpu": cpu_name(), "cores": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    main()
