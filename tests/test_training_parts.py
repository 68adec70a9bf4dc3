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


def _labels(kind, n, rng):
    """Class labels of ``kind`` for n rows (every class of at least two rows)."""
    if kind == "none":
        return None
    if kind == "binary":
        return np.arange(n) % 2 if n < 6 else rng.randint(0, 2, n)
    if kind == "three":
        return np.arange(n) % 3
    if kind == "strings":
        return np.array(["cat", "dog", "emu", "yak"])[np.arange(n) % 4]
    if kind == "imbalanced":  # a large class, a middling one, a small one of two or three rows
        small = 2 + n % 2
        middle = max(2, n // 5)
        return np.array([0] * (n - middle - small) + [1] * middle + [2] * small)[rng.permutation(n)]
    if kind == "many":  # classes of uneven sizes (ties in _approximate_mode's remainders)
        return np.repeat(np.arange(8), [2, 2, 3, 3, 5, 7, 11, n - 33])
    if kind == "2d":  # rows joined into strings, as scikit-learn joins them
        return np.c_[np.arange(n) % 2, np.arange(n) // (n // 2 + 1)]
    if kind == "bool column":  # the estimators' binary targets D != 0
        return (np.arange(n) % 3 == 0)[:, None]
    raise AssertionError(kind)


def _both(n, test_size, random_state, stratify):
    """(scikit-learn's (train, test) or its ValueError, split_rows's likewise); ``random_state``
    a function making it, so each side gets its own."""
    out = []
    for draw in (lambda: train_test_split(np.arange(n), test_size=test_size, random_state=random_state(),
                                          stratify=stratify),
                 lambda: split_rows(n, test_size, random_state=random_state(), stratify=stratify)):
        try:
            out.append(tuple(draw()))
        except ValueError as error:
            out.append(error)
    return out


@pytest.mark.parametrize("kind", ["none", "binary", "three", "strings", "imbalanced", "many", "2d",
                                  "bool column"])
def test_split_rows_draws_the_rows_train_test_split_draws(kind):
    """The same rows in the same order, for float and int sizes, int seeds and RandomStates."""
    rng = np.random.RandomState(0)
    compared = 0
    for n in (40, 41, 57, 100, 150, 301) if kind == "many" else (4, 7, 23, 40, 57, 150, 301):
        stratify = _labels(kind, n, rng)
        for test_size in (0.1, 0.2, 0.25, 1 / 3, 0.5, 0.8, 0.1 + 0.2, 1, 2, 3, n // 3, np.int64(5)):
            for seed in (0, 42, 2**32 - 1, np.int64(7)):
                for random_state in (lambda s=seed: s, lambda s=seed: np.random.RandomState(s)):
                    expected, got = _both(n, test_size, random_state, stratify)
                    if isinstance(expected, ValueError):  # too few rows for a class in a part
                        assert isinstance(got, ValueError), (n, test_size, seed)
                        continue
                    assert not isinstance(got, ValueError), (n, test_size, seed, got)
                    for e, g in zip(expected, got):
                        where = f"n={n} test_size={test_size} seed={seed}"
                        np.testing.assert_array_equal(g, e, err_msg=where)
                        assert g.dtype == e.dtype
                    compared += 1
    assert compared > 100


@pytest.mark.parametrize("stratify", [None, np.arange(30) % 3])
def test_split_rows_advances_a_random_state_as_scikit_learn_does(stratify):
    """The estimators draw their shuffles from the RandomState after the split: it must be
    left where scikit-learn leaves it.  None draws from numpy's global RandomState."""
    ours, theirs = np.random.RandomState(5), np.random.RandomState(5)
    train_test_split(np.arange(30), test_size=0.2, random_state=theirs, stratify=stratify)
    split_rows(30, 0.2, random_state=ours, stratify=stratify)
    assert ours.randint(2**31) == theirs.randint(2**31)
    state = np.random.get_state()
    try:
        np.random.seed(11)
        expected = train_test_split(np.arange(30), test_size=0.2, random_state=None, stratify=stratify)
        after = np.random.randint(2**31)
        np.random.seed(11)
        got = split_rows(30, 0.2, random_state=None, stratify=stratify)
        assert np.random.randint(2**31) == after
    finally:
        np.random.set_state(state)
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("n, test_size, random_state, stratify", [
    (10, 0.0, 0, None), (10, 1.0, 0, None), (10, 1.5, 0, None), (10, -0.1, 0, None),
    (10, 0, 0, None), (10, 10, 0, None), (10, 11, 0, None), (10, -2, 0, None),
    (10, 0.99, 0, None), (1, 0.5, 0, None), (0, 0.5, 0, None), (10, "0.2", 0, None),
    (10, 0.2, "seed", None), (10, 0.2, 1.5, None),
    (10, 0.2, 0, np.array([0] * 9 + [1])),          # a class of one row
    (10, 0.2, 0, np.arange(10) % 5),                # 8 rows to train, 2 to validate, 5 classes
    (10, 0.8, 0, np.arange(10) % 3),                # 2 rows to train, 3 classes
    (10, 0.2, 0, np.arange(9) % 3),                 # labels for another number of rows
    (10, 0.2, 0, np.r_[np.zeros(9), np.nan]),       # NaN label
    (10, 0.2, 0, np.r_[np.zeros(9), np.inf]),       # infinite label
    (10, 0.2, 0, np.array([0] * 9 + [np.nan], dtype=object)),
    (10, 0.2, 0, np.zeros((10, 2, 2))),             # 3-D labels
    (10, 0.2, 0, np.zeros((10, 0))),                # no label
    (10, 0.2, 0, np.zeros(10, complex)),
    (10, 0.2, 0, 5),                                # not an array
])
def test_split_rows_raises_where_train_test_split_raises(n, test_size, random_state, stratify):
    expected, got = _both(n, test_size, lambda: random_state, stratify)
    assert isinstance(expected, ValueError)
    with pytest.raises(ValueError):
        split_rows(n, test_size, random_state=random_state, stratify=stratify)
    if "parameter of train_test_split" not in str(expected):  # not its parameter check
        assert str(got) == str(expected)


def test_split_imports_neither_scikit_learn_nor_scipy():
    """The command's split paid ~0.8 s importing scikit-learn; it is drawn with numpy alone."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys\nimport numpy as np\nimport deltaprop.training.split as s\n"
        "y = np.array(['a', 'b', 'c'] * 50)\n"
        "n_val = s.n_validation(150, 0.1)\n"
        "assert s.can_stratify(y, n_val)\n"
        "stratify = s.stratification('classes', y, n_val)\n"
        "train, val = s.split_rows(150, 0.1, random_state=0, stratify=stratify)\n"
        "train, val = s.split_rows(150, 15, random_state=np.random.RandomState(0))\n"
        "assert len(train) == 135 and len(val) == 15\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))\n"
    )
    src = str(Path(__file__).resolve().parent.parent / "src")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": src})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


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
