"""Running the ``deltaprop`` command in the test process (click's CliRunner), or as a real one.

``run`` gives what a subprocess gives (``returncode``, ``stdout``, ``stderr``) without paying
a new interpreter's imports; ``run_process`` starts the installed command for what only a
real process shows (exit status on a signal, pipes, ``python -m deltaprop``, tracebacks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

EXE = Path(sys.executable).with_name("deltaprop")
COMMAND = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "deltaprop"]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(*args, cwd, input=None):
    """``deltaprop ARGS`` in this process, in the directory ``cwd``."""
    from deltaprop.command.main import main

    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)
    finally:
        os.chdir(before)
    return Ran(result.exit_code, result.stdout, result.stderr)


def run_process(*args, cwd, module=False, timeout=120, input=None):
    """``deltaprop ARGS`` as a new process (``python -m deltaprop`` with ``module``)."""
    cmd = ([sys.executable, "-m", "deltaprop"] if module else COMMAND) + [str(a) for a in args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input)


def one_error_line(r) -> str:
    """The one line a refused command prints (exit 2, ``error: …`` and nothing else)."""
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]
