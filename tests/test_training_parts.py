"""The training ring's shared parts: the stopping rule, the validation split, the progress display."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from deltaprop.training.loop import holdout
from deltaprop.training.progress import IterationLines, ProgressBar, Silent, for_verbose
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


def test_stopping_rule_never_takes_a_nonfinite_best():
    sklearn_like = StoppingRule(3, 0.0)
    sklearn_like.update(1.0)
    assert sklearn_like.update(math.nan) is False
    assert sklearn_like.bad_epochs == 0  # NaN compares False: scikit-learn resets the count
    assert sklearn_like.best == 1.0


def test_stopping_rule_with_infinite_patience_is_never_exhausted():
    rule = StoppingRule(math.inf, 0.1)
    for _ in range(50):
        rule.update(1.0)
    assert not rule.exhausted


# ---------------------------------------------------------------------- split
def test_holdout_is_train_test_split_and_falls_back_to_a_shuffle_only_when_told():
    """The one validation split: scikit-learn's rows; ``strict=False`` (the command, the
    classifier's "classes" policy) splits unstratified where the classes cannot be stratified,
    drawing what the unstratified train_test_split draws from the same RandomState."""
    y = np.array([0] * 12 + [1] * 8)
    for stratify in (None, y):
        expected = train_test_split(np.arange(20), test_size=0.25, random_state=3, stratify=stratify)
        for got, want in zip(holdout(20, 0.25, 3, stratify), expected):
            np.testing.assert_array_equal(got, want)
    lonely = np.array([0] * 19 + [1])  # a class of one row
    with pytest.raises(ValueError, match="least populated class"):
        holdout(20, 0.25, 3, lonely)
    ours, theirs = np.random.RandomState(5), np.random.RandomState(5)
    got = holdout(20, 0.25, ours, lonely, strict=False)
    for g, want in zip(got, train_test_split(np.arange(20), test_size=0.25, random_state=theirs)):
        np.testing.assert_array_equal(g, want)
    assert ours.randint(2**31) == theirs.randint(2**31)


@pytest.mark.parametrize("policy", ["binary", "classes"])
def test_the_estimators_split_stratifies_by_its_policy(policy):
    """"binary" (scikit-learn's) stratifies binary targets only; "classes" every single-label
    target where it can (here, three classes)."""
    from sklearn.utils import check_random_state

    from deltaprop.training.loop import _split_validation
    from deltaprop.training.state import TrainingSettings

    X = np.arange(60.0).reshape(30, 2)
    D = np.eye(3)[np.arange(30) % 3]
    settings = TrainingSettings(early_stopping=True, validation_fraction=0.2, stratify=policy)
    data = _split_validation(X, D, None, settings, check_random_state(0))
    stratify = D.argmax(axis=1) if policy == "classes" else None
    _, val = train_test_split(np.arange(30), test_size=0.2, random_state=0, stratify=stratify)
    np.testing.assert_array_equal(data.X_val, X[val])
    if policy == "classes":
        assert sorted(data.D_val.argmax(axis=1)) == [0, 0, 1, 1, 2, 2]


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


@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_an_epoch_over_some_rows_steps_on_those_rows_only(alpha):
    """The cluster's local SGD hands numpy_epoch a share of a partition's rows: the epoch is
    over those rows (it went on to empty batches past them, and divided by N = 0)."""
    from deltaprop.core.network import Network
    from deltaprop.core.optim import Adam
    from deltaprop.speed.backprop import BatchBackprop, flat_parameters
    from deltaprop.training.loop import numpy_epoch

    rng = np.random.default_rng(4)
    X, D = rng.normal(size=(50, 3)), rng.normal(size=(50, 1))
    rows = rng.permutation(50)[:23]
    losses, thetas = [], []
    for data, order in (((X, D), rows), ((X[rows], D[rows]), None)):
        net = Network([3, 5, 1], activation="tanh", random_state=0)
        theta = flat_parameters(net)
        optimizer = Adam([theta], learning_rate_init=0.01)
        loss, finite, _ = numpy_epoch(BatchBackprop(net, 8, alpha), optimizer, [theta], *data, None, order, 8,
                                      None)
        assert finite
        losses.append(loss)
        thetas.append(theta.copy())
    assert losses[0] == losses[1]
    np.testing.assert_array_equal(thetas[0], thetas[1])


def test_batch_size_is_scikit_learns_and_only_a_size_above_n_warns():
    import warnings

    from deltaprop.training.loop import resolve_batch_size
    from deltaprop.training.state import TrainingSettings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_batch_size(TrainingSettings(batch_size="auto"), 50) == 50
        assert resolve_batch_size(TrainingSettings(batch_size="auto"), 500) == 200
        assert resolve_batch_size(TrainingSettings(batch_size=32), 50) == 32
        assert resolve_batch_size(TrainingSettings(batch_size=0), 50) == 1
    with pytest.warns(UserWarning, match="It is going to be clipped"):
        assert resolve_batch_size(TrainingSettings(batch_size=64), 50) == 50
