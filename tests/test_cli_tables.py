"""Reading the tables the command is given, and the preprocessing stored in its models (in process)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deltaprop.errors import UserError
from deltaprop.tabular import FeatureEncoder, TargetEncoder, detect_task, read_table


@pytest.fixture
def frame():
    return pd.DataFrame({"x": [1.5, 2.5, 3.0, 4.0], "town": ["a", "b", "a", "c"], "y": [1.0, 2.0, 3.0, 5.0]})


@pytest.mark.parametrize("style", ["comma", "semicolon", "tab", "bom", "saved_index", "parquet", "gzip"])
def test_every_common_table_style_reads_the_same(tmp_path, frame, style):
    path = tmp_path / "d.csv"
    if style == "comma":
        frame.to_csv(path, index=False)
    elif style == "semicolon":
        frame.to_csv(path, index=False, sep=";")
    elif style == "tab":
        path = tmp_path / "d.tsv"
        frame.to_csv(path, index=False, sep="\t")
    elif style == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())
    elif style == "saved_index":
        frame.to_csv(path)  # pandas' default writes the index as an unnamed first column
    elif style == "parquet":
        pytest.importorskip("pyarrow")
        path = tmp_path / "d.parquet"
        frame.to_parquet(path)
    else:
        path = tmp_path / "d.csv.gz"
        frame.to_csv(path, index=False, compression="gzip")
    got = read_table(path)
    assert list(got.columns) == ["x", "town", "y"]
    enc = FeatureEncoder().fit(got, ["x", "town"])
    np.testing.assert_allclose(enc.transform(got)[:, 0], (frame.x - frame.x.mean()) / frame.x.std(ddof=0))
    assert enc.columns[1].categories == ["a", "b", "c"]


def test_one_hot_encoding_and_unseen_categories(frame):
    enc = FeatureEncoder().fit(frame, ["town"])
    notes = []
    X = enc.transform(pd.DataFrame({"town": ["c", "zz", "a"]}), notes=notes)
    np.testing.assert_array_equal(X, [[0, 0, 1], [0, 0, 0], [1, 0, 0]])
    assert len(notes) == 1 and "'zz'" in notes[0]


def test_impute_fills_the_training_median_and_no_category():
    train = pd.DataFrame({"x": ["1", "2", "10", None], "c": ["p", None, "q", "p"]})
    with pytest.raises(UserError, match="column 'c' has a missing value in row 2"):
        FeatureEncoder().fit(train, ["x", "c"])
    with pytest.raises(UserError, match="column 'x' has a missing value in row 4"):
        FeatureEncoder().fit(train, ["x"]).transform(train)
    enc = FeatureEncoder(impute=True).fit(train, ["x", "c"])
    X = enc.transform(train)
    x = np.array([1.0, 2.0, 10.0])
    assert X[3, 0] == pytest.approx((2.0 - x.mean()) / x.std())
    np.testing.assert_array_equal(X[1, 1:], [0, 0])


def test_regression_targets_are_standardised_and_restored(frame):
    target = TargetEncoder(["y"], "regression")
    y, keep = target.values(frame)
    target.fit(y)
    D = target.encode(y)
    assert D.mean() == pytest.approx(0) and D.std() == pytest.approx(1)
    np.testing.assert_allclose(target.decode(D)[:, 0], frame.y)


def test_task_detection():
    frame = pd.DataFrame({"n": ["1", "2.5", "-3"], "s": ["a", "b", "a"], "mixed": ["1", "x", "2"]})
    assert detect_task(frame, ["n"]) == "regression"
    assert detect_task(frame, ["s"]) == "classification"
    assert detect_task(frame, ["n", "s"]) == "classification"
