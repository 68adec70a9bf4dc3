"""The command as a newcomer meets it (issue 24): what the run inferred is told before the
first epoch, Ctrl-C before any epoch says that nothing was saved, a misspelt column points at
the near name that is there, and the help says whole sentences, defaults included."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import numpy as np
import pandas as pd
import pytest

from _cli import COMMAND, run


@pytest.fixture
def mixed(tmp_path):
    """A table with every inference: numbers, words, a numeric column with a typo, a gap."""
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame({"area": rng.normal(size=n), "rooms": rng.normal(size=n),
                          "town": rng.choice(["north", "south", "east"], n), "age": ["1", "2", "x", "4"] * 10,
                          "price": rng.normal(size=n), "kind": rng.choice(["flat", "house"], n)})
    frame.loc[3, "area"] = np.nan
    frame.to_csv(tmp_path / "d.csv", index=False)
    return frame


INFERRED = [
    "target 'price' holds numbers, so this is a regression; pass --task classification",
    "2 numeric column(s) are standardised",
    "3 column(s) of words are one-hot encoded, one input per value: 'town' (3 inputs), 'age' (4 inputs), "
    "'kind' (2 inputs); pass --drop COL",
    "--impute fills 1 missing value(s) in 1 column(s)",
]


def test_every_inference_is_told_before_the_first_epoch_one_line_each(tmp_path, mixed):
    r = run("train", "d.csv", "--target", "price", "--epochs", "2", "--hidden", "3", "--no-report",
            "--impute", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    first_epoch = next(k for k, line in enumerate(lines) if line.startswith("training "))
    for expected in INFERRED:
        told = [k for k, line in enumerate(lines) if line.startswith("note: ") and expected in line]
        assert len(told) == 1 and told[0] < first_epoch, (expected, r.stderr)


def test_a_class_target_is_told_with_its_classes(tmp_path, mixed):
    r = run("train", "d.csv", "--target", "kind", "--epochs", "1", "--hidden", "3", "--no-report",
            "--impute", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "note: target 'kind' holds words, so this is a classification of its classes: flat, house" \
        in r.stderr, r.stderr


def test_with_quiet_the_notes_go_to_the_metrics_json(tmp_path, mixed):
    r = run("train", "d.csv", "--target", "price", "--epochs", "2", "--hidden", "3", "--no-report",
            "--impute", "-q", "--metrics-json", "m.json", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "" and r.stdout == "", (r.stdout, r.stderr)
    notes = json.loads((tmp_path / "m.json").read_text())["notes"]
    for expected in INFERRED:
        assert sum(expected in note for note in notes) == 1, (expected, notes)


def test_ctrl_c_before_the_first_epoch_says_that_nothing_was_saved(tmp_path):
    """A real process (exit status 130 on SIGINT): the signal comes once the notes are out,
    while the first epoch (2,000 rows one at a time) runs."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2_000, 4))
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "d": X[:, 3], "y": X.sum(axis=1)}).to_csv(
        tmp_path / "big.csv", index=False)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([*COMMAND, "train", "big.csv", "--target", "y", "--batch-size", "1", "--hidden",
                          "64,64", "--epochs", "1", "--no-report"], cwd=tmp_path, stderr=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stderr is not None
        first = p.stderr.readline()
        assert first.startswith("note: "), first
        p.send_signal(signal.SIGINT)
        rest = p.stderr.read()
        assert p.wait(timeout=120) == 130, first + rest
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()
    lines = [line for line in rest.splitlines() if not line.startswith(("note: ", "training "))]
    assert lines == ["interrupted before the first epoch finished; nothing was saved"], rest
    assert not (tmp_path / "big.dpm").exists()


def test_a_misspelt_column_points_at_the_near_name_that_is_there(tmp_path, mixed):
    r = run("train", "d.csv", "--target", "price", "--epochs", "1", "--hidden", "3", "--no-report",
            "--impute", "--out", "m.dpm", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    mixed.rename(columns={"rooms": "roms"}).to_csv(tmp_path / "typo.csv", index=False)
    mixed.rename(columns={"price": "Price"}).to_csv(tmp_path / "label.csv", index=False)
    cases = {
        ("predict", "m.dpm", "typo.csv"): "'rooms' (did you mean 'roms'?)",
        ("evaluate", "m.dpm", "label.csv"): "did you mean 'Price'?",
        ("explain", "m.dpm", "-w", "2:1,1", "-d", "typo.csv", "--row", "1"): "'rooms' (did you mean 'roms'?)",
        ("train", "d.csv", "--target", "price", "--drop", "rom"): "did you mean 'rooms'?",
        ("train", "d.csv", "--target", "price", "--categorical", "Town"): "did you mean 'town'?",
    }
    for args, expected in cases.items():
        r = run(*args, cwd=tmp_path)
        assert r.returncode == 2 and expected in r.stderr, (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1, r.stderr


OURS = ("train", "predict", "evaluate", "info", "demo")


def test_the_command_list_gives_whole_descriptions_and_never_an_unexplained_seed(tmp_path):
    from deltaprop.command.main import main

    r = run("--help", cwd=tmp_path)
    commands = r.stdout.split("Commands:")[1]
    assert r.returncode == 0 and "..." not in commands and "…" not in commands, r.stdout
    listed = " ".join(commands.split())
    for name in OURS:
        short = main.commands[name].short_help
        assert short and " ".join(short.split()) in listed, (name, r.stdout)
    for args in [("--help",), *((name, "--help") for name in OURS)]:
        text = run(*args, cwd=tmp_path).stdout
        assert "the seed's" not in text.lower(), (args, text)
    assert "the worked 4-5-3 network of" in listed


def test_every_option_shows_its_default(tmp_path):
    import click

    from deltaprop.command.main import main

    for name in OURS:
        command = main.commands[name]
        context = click.Context(command, parent=main.make_context("deltaprop", [name]), info_name=name)
        for option in command.params:
            if not isinstance(option, click.Option) or (option.is_flag and not option.secondary_opts):
                continue  # a flag is off unless given
            record = option.get_help_record(context)
            assert record is not None and ("default:" in record[1] or "required" in record[1]), (name, record)


def test_the_notes_are_told_before_the_first_epoch_begins(tmp_path, mixed, monkeypatch):
    """In the process: the order of what train() tells and the epochs its monitor sees."""
    from deltaprop.command import monitor
    from deltaprop.command.train import TrainOptions, train

    events: list[str] = []
    seen = monitor.Monitor.__call__

    def watched(self, est):
        events.append("epoch")
        return seen(self, est)

    monkeypatch.setattr(monitor.Monitor, "__call__", watched)
    opts = TrainOptions(str(tmp_path / "d.csv"), targets=("price",), hidden=(3,), epochs=2, impute=True,
                        no_report=True, quiet=True, out=str(tmp_path / "m.dpm"))
    result = train(opts, tell=events.append)
    assert events.count("epoch") == 2 and events[-2:] == ["epoch", "epoch"], events
    told = events[:-2]
    for expected in INFERRED:
        assert sum(expected in note for note in told) == 1, (expected, told)
    assert not [note for note in result.notes if note in told]  # each note once


def test_a_parquet_index_kept_as_a_column_is_told_before_the_first_epoch(tmp_path):
    frame = pd.DataFrame({"a": np.arange(30.0), "y": np.arange(30.0) % 4},
                         index=pd.Index(range(100, 130), name="row_id"))
    frame.to_parquet(tmp_path / "t.parquet")
    r = run("train", str(tmp_path / "t.parquet"), "--target", "y", "--epochs", "2", "--no-report",
            "--task", "regression", "--out", str(tmp_path / "m.dpm"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    note = r.stderr.index("the Parquet index 'row_id' is read as column(s)")
    assert note < r.stderr.index("training")
