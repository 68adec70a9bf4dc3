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


def test_nearly_constant_columns_are_not_blown_up():
    """A pixel column nonzero in one row of 1,000 became |z| ≈ 30 in training (and hundreds on
    test images); no training value lies more than MAX_Z scales from the mean now."""
    from deltaprop.tabular.encode import MAX_Z

    rng = np.random.default_rng(0)
    rare = np.zeros(1000)
    rare[7] = 0.5
    normal = rng.normal(3.0, 2.0, 1000)
    frame = pd.DataFrame({"rare": rare, "normal": normal})
    enc = FeatureEncoder().fit(frame, ["rare", "normal"])
    X = enc.transform(frame)
    assert np.abs(X[:, 0]).max() == pytest.approx(MAX_Z, rel=1e-3)
    # an ordinary column is standardised as before: its scale is its standard deviation
    np.testing.assert_allclose(X[:, 1], (normal - normal.mean()) / normal.std())


def test_integer_targets_with_few_values_are_classes():
    from deltaprop.tabular.encode import MAX_CODES

    digits = pd.DataFrame({"d": np.arange(200) % 10, "many": np.arange(200) % (MAX_CODES + 1),
                           "half": np.arange(200) / 2, "once": np.arange(200)})
    assert detect_task(digits, ["d"]) == "classification"
    assert detect_task(digits, ["many"]) == "regression"
    assert detect_task(digits, ["half"]) == "regression"
    assert detect_task(digits, ["once"]) == "regression"


def test_classification_metrics_agree_with_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss, roc_auc_score

    from deltaprop.command.metrics import classification_metrics

    rng = np.random.default_rng(0)
    for k in (2, 3):
        y = rng.integers(0, k, 200)
        P = rng.dirichlet(np.ones(k), 200)
        P[np.arange(200), y] += 0.3
        P /= P.sum(axis=1, keepdims=True)
        got = classification_metrics(list(y), P, list(range(k)))
        pred = P.argmax(axis=1)
        assert got["accuracy"] == pytest.approx(np.mean(pred == y))
        assert got["balanced accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
        assert got["macro F1"] == pytest.approx(f1_score(y, pred, average="macro"))
        auc = roc_auc_score(y, P[:, 1]) if k == 2 else roc_auc_score(y, P, multi_class="ovr")
        assert got["ROC AUC"] == pytest.approx(auc)
        assert got["log-loss"] == pytest.approx(log_loss(y, P))


def test_a_numeric_csv_arrives_as_numbers_and_errors_still_name_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n1, 2.5 ,x\n3,4,y \n")
    frame = read_table(path)
    assert frame["a"].dtype.kind == "i" and frame["b"].dtype.kind == "f"
    assert frame["c"].tolist() == ["x", "y"]
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    with pytest.raises(UserError, match="line 3 has 2 fields but the header has 3"):
        read_table(path)


def test_metrics_as_json_write_a_missing_number_as_null():
    import json

    from deltaprop.command.metrics import as_json, regression_metrics

    metrics = regression_metrics([2.0, 2.0], [1.0, 3.0], ["y"])
    metrics["ROC AUC"] = float("nan")  # undefined (one class only)
    doc = json.loads(as_json({"metrics": metrics}))
    assert doc["metrics"]["ROC AUC"] is None and doc["metrics"]["RMSE"] == 1.0
    assert doc["metrics"]["R²"] == 0.0  # scikit-learn's convention for a constant target


def test_a_clean_table_is_parsed_once(tmp_path, monkeypatch):
    """Only a table whose last column has a gap (a possibly short row) is read line by line."""
    from deltaprop.tabular import read

    def refuse(*args):
        raise AssertionError("the line-by-line check ran on a clean table")

    monkeypatch.setattr(read, "_check_short_rows", refuse)
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n1,,3\n4,5,6\n")  # a gap in the middle: not a short row
    assert read_table(path)["b"].isna().sum() == 1


def test_one_rule_tells_the_task_and_refuses_fractions_as_classes_from_the_column_summaries():
    """task_note reads what one machine and the cluster both have, the column summaries (and
    the distinct labels): fractions are no classes, whole numbers are class codes, words classes."""
    from deltaprop.tabular.encode import ColumnSummary, column_summary, task_note

    def summary(values):
        s = column_summary(pd.Series(values))
        s.categories = set(pd.Series(values).dropna().unique())
        return s

    refusal = "'band' holds fractions, which are not classes; pass --task regression"
    with pytest.raises(UserError, match=refusal):
        task_note(["band"], [summary([0.5, 1.5, 2.5] * 4)], "classification")
    many = summary([float(v) for v in range(30)] * 2)  # more whole numbers than class codes: still classes
    assert "holds words" in task_note(["n"], [many], "classification")
    assert "holds 3 distinct whole numbers" in task_note(["y"], [summary([0, 1, 2] * 4)], "classification")
    assert task_note(["kind"], [summary(["b", "a", "b"])], "classification").endswith("its classes: a, b")
    assert "so this is a regression" in task_note(["y"], [ColumnSummary()], "regression")
    combined = ColumnSummary.combine([summary([0.5, 1.0]), summary([2.0, 3.0])])  # the cluster's summary
    combined.categories = {0.5, 1.0, 2.0, 3.0}
    with pytest.raises(UserError, match="holds fractions"):
        task_note(["band"], [combined], "classification")
