"""The training ring's shared parts: the stopping rule, the validation split, the progress display."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from deltaprop.training.progress import IterationLines, ProgressBar, Silent, for_verbose
from deltaprop.training.split import can_stratify, n_validation, split_rows, stratification
from deltaprop.training.stopping import StoppingRule


# ---------------------------------------------------------------------- stopping
def _sklearn_counts(values, tol, higher_is_better):
    """scikit-learn's _update_no_improvement_count, written out: (counts, bests)."""
    best = -np.inf if higher_is_better else np.inf
    count, counts, bests = 0, [], []
    for v in values:
        if higher_is_better:
            count = count + 1 if v < best + tol else 0
            best = v if v > best else best
        else:
            count = count + 1 if v > best - tol else 0
            best = v if v < best else best
        counts.append(count)
        bests.append(best)
    return counts, bests


@pytest.mark.parametrize("higher_is_better", [False, True])
def test_stopping_rule_counts_as_scikit_learn_counts(higher_is_better):
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(scale=0.05, size=60)) + 1.0
    rule = StoppingRule(3, 0.01, higher_is_better=higher_is_better)
    counts, bests = [], []
    for v in values:
        rule.update(v)
        counts.append(rule.bad_epochs)
        bests.append(rule.best)
    assert (counts, bests) == _sklearn_counts(values, 0.01, higher_is_better)


def test_stopping_rule_is_exhausted_after_more_than_patience_bad_epochs():
    rule = StoppingRule(patience=2, tol=0.1)
    assert rule.update(1.0) is True
    for expected in (False, False, True):
        rule.update(1.0)
        assert rule.exhausted is expected
    rule.restart()
    assert rule.bad_epochs == 0 and not rule.exhausted and rule.best == 1.0


def test_stopping_rule_remembers_the_epoch_of_the_best_value():
    rule = StoppingRule(5, 0.0, higher_is_better=True)
    for v in (0.1, 0.5, 0.3):
        rule.update(v)
    assert (rule.best, rule.best_epoch, rule.epochs) == (0.5, 2, 3)


def test_stopping_rule_never_takes_a_nonfinite_best_and_can_count_it_as_bad():
    sklearn_like = StoppingRule(3, 0.0)
    sklearn_like.update(1.0)
    assert sklearn_like.update(math.nan) is False
    assert sklearn_like.bad_epochs == 0  # NaN compares False: scikit-learn resets the count
    strict = StoppingRule(3, 0.0, count_nonfinite=True)
    strict.update(1.0)
    assert strict.update(math.nan) is False
    assert strict.bad_epochs == 1 and strict.best == 1.0


def test_stopping_rule_with_infinite_patience_is_never_exhausted():
    rule = StoppingRule(math.inf, 0.1)
    for _ in range(50):
        rule.update(1.0)
    assert not rule.exhausted


def test_stopping_rule_state_round_trips():
    rule = StoppingRule(4, 0.1)
    for v in (3.0, 2.0, 2.5):
        rule.update(v)
    again = StoppingRule.from_state(rule.state(), 4, 0.1)
    assert again == rule


# ---------------------------------------------------------------------- split
@pytest.mark.parametrize("test_size", [0.1, 0.33, 7])
def test_split_rows_are_the_rows_train_test_split_holds_out(test_size):
    X = np.arange(50.0).reshape(25, 2)
    y = np.arange(25)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=test_size, random_state=3)
    train, val = split_rows(25, test_size, random_state=3)
    np.testing.assert_array_equal(X[train], X_train)
    np.testing.assert_array_equal(y[val], y_val)
    assert len(val) == n_validation(25, test_size)


def test_stratified_split_rows_follow_train_test_split():
    y = np.array([0] * 12 + [1] * 8)
    _, y_val = train_test_split(y, test_size=0.25, random_state=np.random.RandomState(1), stratify=y)
    _, val = split_rows(20, 0.25, random_state=np.random.RandomState(1), stratify=y)
    np.testing.assert_array_equal(y[val], y_val)
    assert sorted(y[val]) == [0, 0, 0, 1, 1]


def test_scikit_learns_policy_stratifies_one_column_targets_only():
    binary = np.array([[0], [1]] * 5)
    onehot = np.eye(3)[np.arange(12) % 3]
    assert stratification("binary", binary, 2) is binary
    assert stratification("binary", onehot, 3) is None
    assert stratification(None, binary, 2) is None


def test_classes_policy_stratifies_every_class_where_it_can():
    onehot = np.eye(3)[np.arange(12) % 3]
    np.testing.assert_array_equal(stratification("classes", onehot, 3), np.arange(12) % 3)
    # a 2-row validation part cannot hold 3 classes
    assert stratification("classes", onehot, 2) is None
    assert not can_stratify([0, 0, 1], 1)  # a class with one row
    with pytest.raises(ValueError, match="unknown stratification"):
        stratification("all", onehot, 3)


# ---------------------------------------------------------------------- progress
def test_iteration_lines_are_scikit_learns():
    out = io.StringIO()
    with IterationLines(out) as lines:
        lines.epoch(1, 0.5)
        lines.epoch(2, 0.25, validation_score=0.75)
        lines.note("Training loss did not improve. Stopping.")
    assert out.getvalue().splitlines() == [
        "Iteration 1, loss = 0.50000000",
        "Iteration 2, loss = 0.25000000",
        "Validation score: 0.750000",
        "Training loss did not improve. Stopping.",
    ]


def test_for_verbose_picks_silence_lines_or_bar(monkeypatch):
    monkeypatch.setattr("sys.stdout", io.StringIO())  # not a terminal
    assert type(for_verbose(False, "x", 3)) is Silent
    assert type(for_verbose(True, "x", 3)) is IterationLines
    assert type(for_verbose(2, "x", 3)) is IterationLines
    assert type(for_verbose("bar", "x", 3)) is ProgressBar


def test_progress_bar_shows_epochs_and_losses(capsys):
    with ProgressBar("run", 4, stderr=True, loss_format=".3g") as bar:
        bar.epoch(2, 0.123456, validation_loss=0.5, validation_score=0.9)
    err = capsys.readouterr().err
    assert "2/4" in err and "loss 0.123" in err and "validation 0.5" in err and "0.9000" in err


def test_an_equal_value_improves_by_a_tol_of_zero_as_in_scikit_learn():
    rule = StoppingRule(0, 0.0)
    rule.update(1.0)
    rule.update(1.0)
    assert rule.bad_epochs == 0
