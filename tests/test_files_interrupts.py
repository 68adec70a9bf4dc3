"""A bad moment cannot lose the work: two Ctrl-Cs still save the best model, and a second
``train`` to the same ``--out`` is refused while the first one runs.  Real processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import deltaprop as dp
from _cli import run

SRC = str(Path(dp.__file__).parents[1])
GAPS = [0.0, 0.02, 0.2, 1.0]
TRAIN_ARGS = ["train", "big.csv", "--target", "y", "--epochs", "100000", "--no-early-stopping",
              "--checkpoint-every", "1", "--no-report", "--quiet"]  # fmt: skip


def _train(tmp_path: Path, out: str) -> subprocess.Popen:
    """``deltaprop train`` for 100,000 epochs with a checkpoint every epoch, running."""
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-m", "deltaprop", *TRAIN_ARGS, "--out", out], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert path.exists(), proc.communicate()[1]


@pytest.fixture
def big(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2000, 6))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    frame["y"] = X.sum(axis=1)
    frame.to_csv(tmp_path / "big.csv", index=False)
    return tmp_path


def test_a_second_train_to_the_same_out_is_refused_and_two_ctrl_cs_at_any_gap_still_save(big):
    """One run per gap side by side, each pressed twice once training is under way; while they
    run, a second ``train`` to the first one's ``--out`` is refused naming its process."""
    procs = {gap: _train(big, f"m{k}.dpm") for k, gap in enumerate(GAPS)}
    try:
        for k, proc in enumerate(procs.values()):
            _wait_for(big / f"m{k}.ckpt.dpm", proc)
        # the refusal needs no process of its own: the lock is the first run's (tests/_cli.py)
        second = run(*TRAIN_ARGS, "--out", "m0.dpm", cwd=big)
        err = second.stderr
        assert second.returncode == 2, err
        assert err.strip().count("\n") == 0, err
        assert f"process {procs[GAPS[0]].pid}" in err and "--out" in err
        for gap, proc in procs.items():
            proc.send_signal(signal.SIGINT)
            time.sleep(gap)
            proc.send_signal(signal.SIGINT)
        for k, (gap, proc) in enumerate(procs.items()):
            _, err = proc.communicate(timeout=90)
            # a press landing after the save, as the process exits, ends it by the signal itself;
            # a shell reports 130 for both
            assert proc.returncode in (130, -signal.SIGINT), (gap, err)
            assert "saved the best model so far" in err and "Traceback" not in err, (gap, err)
            model = dp.load(big / f"m{k}.dpm")  # complete and valid, whatever the gap
            assert len(model.history["loss_curve"]) >= 1
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not [p.name for p in big.iterdir() if p.name.endswith((".tmp", ".lock"))]
