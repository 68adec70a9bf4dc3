"""The progress line: it fits the terminal by dropping whole fields, and a pipe gets a line per epoch."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

from deltaprop.training.progress import ProgressBar

FIELDS = ("47/200", "loss 0.1298", "validation 0.3237", "validation score 0.2515")
SCRIPT = (
    "from deltaprop.training.progress import ProgressBar\n"
    "with ProgressBar('training', 200, stderr=True, loss_format='.4g') as bar:\n"
    "    bar.note('a note')\n"
    "    for n in (46, 47):\n"
    "        bar.epoch(n, 0.1298, validation_loss=0.3237, validation_score=0.2515)\n"
)


def _run_in_a_terminal(columns: int) -> str:
    """What SCRIPT draws on a pseudo-terminal ``columns`` wide, escape sequences removed."""
    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "TERM")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdin=child_fd, stdout=child_fd, stderr=child_fd, env=env
    )
    os.close(child_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode("utf-8", "replace")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _whole_fields(line: str) -> list[str]:
    """The fields of FIELDS the line shows; each must be whole (no '…', no cut number)."""
    assert "…" not in line, line
    shown = [f for f in FIELDS if f in line]
    for f in set(FIELDS) - set(shown):  # a field cut short would leave its number behind
        assert f.split()[-1] not in line, (f, line)
    return shown


def test_the_bar_fits_80_columns_of_a_terminal_with_every_field_whole():
    """It read `training ╸ 47… loss 0.1298 validation 0.3237 validation score 0.2515 0:00:…`."""
    out = _run_in_a_terminal(80)
    frames = [f.rstrip() for f in re.split(r"[\r\n]+", out) if "/200" in f]
    assert frames, out
    last = frames[-1]
    assert len(last) <= 80, last
    assert _whole_fields(last) == list(FIELDS), last
    assert re.search(r"\d+:\d\d:\d\d$", last), last  # the elapsed time, whole, at the end
    assert "a note" in out


@pytest.mark.parametrize("width", [30, 45, 60, 72, 80, 100, 140])
def test_fields_are_dropped_whole_in_a_fixed_order(width, capsys):
    bar = ProgressBar("training", 200, stderr=True, loss_format=".4g")
    bar.epoch(47, 0.1298, validation_loss=0.3237, validation_score=0.2515)
    line = bar.line(47, 75.0, width).plain
    assert len(line) <= width, line
    shown = _whole_fields(line)
    assert shown[:2] == ["47/200", "loss 0.1298"]  # never dropped
    kept = {"bar": "━" in line, "label": "training" in line, "time": "0:01:15" in line,
            "score": "validation score" in line, "validation": "validation 0.3237" in line}
    dropped = [name for name in ProgressBar.DROP_ORDER if not kept[name]]
    assert dropped == list(ProgressBar.DROP_ORDER[: len(dropped)]), (dropped, line)
    if width >= 80:
        assert dropped in (["bar"], []), line
    if width >= 120:
        assert not dropped


def test_a_pipe_gets_one_whole_line_per_epoch():
    """Off a terminal nothing is redrawn: each epoch's line, every field whole, once, so a log
    of a long run shows how far it got."""
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    ).stderr
    lines = out.splitlines()
    assert lines[0] == "a note" and len(lines) == 3, out
    for n, line in zip((46, 47), lines[1:]):
        assert re.fullmatch(
            rf"training {n}/200 loss 0\.1298 validation 0\.3237 validation score 0\.2515 \d+:\d\d:\d\d", line
        ), out
    assert "\x1b" not in out and "━" not in out


def test_a_failed_run_adds_nothing_after_its_last_epoch_line_off_a_terminal(capsys):
    with pytest.raises(RuntimeError), ProgressBar("training", 9, stderr=True) as bar:
        bar.epoch(1, 1e300)
        bar.clear()
        raise RuntimeError
    lines = capsys.readouterr().err.splitlines()
    # the epoch that ran, as it ran; no final line and no redrawn bar for the failure
    assert len(lines) == 1 and re.fullmatch(r"training 1/9 loss 1e\+300 \d+:\d\d:\d\d", lines[0]), lines
