"""Many numeric columns in one unit (an image's pixels) are scaled together, value / M;
any other table's columns each by their own spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deltaprop.tabular.encode import MAX_Z, SHARED_UNIT_COLUMNS, FeatureEncoder, shared_unit


def _pixels(n_columns, rows=50, seed=0, top=255):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, top + 1, size=(rows, n_columns)) * (rng.random((rows, n_columns)) < 0.5)
    pixels[:, 0] = 0
    pixels[3, 0] = 2  # a border pixel: 0 but once, and then barely
    return pd.DataFrame(pixels, columns=[f"p{k}" for k in range(n_columns)])


def test_pixel_columns_are_scaled_together_and_a_rare_border_pixel_stays_small():
    frame = _pixels(SHARED_UNIT_COLUMNS)
    notes: list[str] = []
    enc = FeatureEncoder().fit(frame, list(frame.columns), notes=notes)
    top = float(frame.to_numpy().max())
    assert all((c.mean, c.scale) == (0.0, top) for c in enc.columns)
    assert any("one unit" in n and f"value / {top:g}" in n for n in notes)
    # a test image whose border pixel is bright: an input of at most 1, not hundreds
    image = frame.iloc[[0]].copy()
    image["p0"] = 255
    assert np.abs(enc.transform(image)).max() <= 1.0
    np.testing.assert_array_equal(enc.transform(frame), frame.to_numpy() / top)


@pytest.mark.parametrize("change", ["fewer columns", "a negative column", "few reach half the top"])
def test_other_tables_keep_each_columns_own_scale(change):
    frame = _pixels(SHARED_UNIT_COLUMNS).astype(float)
    if change == "fewer columns":
        frame = frame.iloc[:, : SHARED_UNIT_COLUMNS - 1]
    elif change == "a negative column":
        frame["p5"] -= 1.0
    else:
        frame.iloc[:, 1:] = frame.iloc[:, 1:] / 10  # only one column in the upper half
        frame.iloc[0, 1] = 255.0
    enc = FeatureEncoder().fit(frame, list(frame.columns))
    assert not all(c.mean == 0.0 for c in enc.columns)
    border = enc.columns[0]
    assert border.scale >= 2.0 / MAX_Z * 0.9  # the per-column floor: within MAX_Z scales


def test_shared_unit_rule():
    lows, highs = [0.0] * 64, [1.0] * 32 + [0.2] * 32
    assert shared_unit(lows, highs) == 1.0
    assert shared_unit(lows, [1.0] * 31 + [0.2] * 33) is None
    assert shared_unit(lows[:63], highs[:63]) is None
    assert shared_unit([-0.1] + lows[1:], highs) is None
    assert shared_unit(lows, [0.0] * 64) is None


def test_scale_columns_turns_the_rule_off_in_the_command(tmp_path):
    from click.testing import CliRunner

    import deltaprop as dp
    from deltaprop.command.main import main

    frame = _pixels(SHARED_UNIT_COLUMNS, rows=60)
    frame["y"] = np.arange(60) % 2
    frame.to_csv(tmp_path / "img.csv", index=False)
    for scale, shared in (("auto", True), ("columns", False)):
        out = tmp_path / f"{scale}.dpm"
        args = ["train", str(tmp_path / "img.csv"), "--target", "y", "--epochs", "2", "--hidden", "3",
                "--no-report", "--scale", scale, "--out", str(out)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert ("one unit" in result.output and "--scale columns" in result.output) is shared
        columns = dp.load(out).features.columns
        assert all(c.mean == 0.0 for c in columns) is shared
        names = [f"p{k}" for k in range(64)]
        assert FeatureEncoder().fit(frame, names, shared_unit=shared).columns == columns


def test_the_encoder_says_how_it_scales_and_encodes_in_one_note_each():
    """The encoder itself tells what it inferred (one machine's run and the cluster's print the
    same notes): standardised columns, or one unit scaled together, never both; one-hot widths."""
    import pandas as pd

    from deltaprop.tabular.encode import FeatureEncoder

    notes: list[str] = []
    frame = pd.DataFrame({"a": [0.5, 3.0, -2.0], "b": [100.0, 250.0, 400.0], "town": ["x", "y", "x"]})
    FeatureEncoder().fit(frame, ["a", "b", "town"], notes=notes)
    assert [n for n in notes if "standardised" in n] == [
        "2 numeric column(s) are standardised, each as (value − mean) / standard deviation of the training "
        "rows (at least the farthest value's distance / 10); pass --categorical COL to treat one as "
        "categories"]
    onehot = "1 column(s) of words are one-hot encoded, one input per value: 'town' (2 inputs)"
    assert any(n.startswith(onehot) for n in notes)
    notes = []
    from deltaprop.tabular.encode import SHARED_UNIT_COLUMNS

    pixels = pd.DataFrame({f"p{k}": [0.0, 128.0, 255.0 - k] for k in range(SHARED_UNIT_COLUMNS)})
    FeatureEncoder().fit(pixels, list(pixels.columns), notes=notes)
    assert len(notes) == 1 and "are one unit" in notes[0]
